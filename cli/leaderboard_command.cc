// `ablate leaderboard [--by STAT] [--iou bbox|segm] [--top N] [--sweep S] ...`
#include <iostream>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/eval_settings_flags.h"
#include "cli/proto_json.h"
#include "cli/text_format.h"
#include "server/proto_convert.h"

namespace ablate::cli {

void RegisterLeaderboardCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string by = "AP";
    std::string iou = "bbox";
    int top = 0;
    std::string sweep;
    std::vector<std::string> statuses;
    EvalSettingsFlags eval;
    std::string dataset;
    std::string group;
    bool all_groups = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "leaderboard", "rank runs by their best evaluation; different eval settings never mix");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("--by", flags->by,
                  "stat to sort by: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl")
      ->capture_default_str();
  cmd->add_option("--iou", flags->iou, "bbox or segm")->capture_default_str();
  cmd->add_option("--top", flags->top, "rows per group (0: all)");
  cmd->add_option("--sweep", flags->sweep, "only runs of this sweep");
  cmd->add_option("--status", flags->statuses, "only runs with this status; repeatable");
  AddEvalSettingsFlags(cmd, flags->eval, "only evaluations with this ");
  cmd->add_option("--dataset", flags->dataset, "only evaluations on this dataset fingerprint");
  cmd->add_option("--group", flags->group, "show this eval key's group (see the group list)");
  cmd->add_flag("--all-groups", flags->all_groups, "rank every group (each on its own)");
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    v1::LeaderboardRequest req;
    req.set_sort_by(flags->by);
    if (flags->iou == "bbox") {
      req.set_iou_type(v1::IOU_TYPE_BBOX);
    } else if (flags->iou == "segm") {
      req.set_iou_type(v1::IOU_TYPE_SEGM);
    } else {
      Fail(absl::InvalidArgumentError("--iou must be bbox or segm, not '" + flags->iou + "'"));
    }
    req.set_top(flags->top);
    req.set_sweep(flags->sweep);
    for (const std::string& s : flags->statuses) {
      std::string up = "RUN_STATUS_";
      for (char c : s) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      v1::RunStatus st;
      if (!v1::RunStatus_Parse(up, &st) || st == v1::RUN_STATUS_UNSPECIFIED) {
        Fail(absl::InvalidArgumentError("unknown status '" + s + "'"));
      }
      req.add_statuses(st);
    }
    SetEvalSettings(flags->eval, &req);
    req.set_dataset_fingerprint(flags->dataset);
    req.set_group(flags->group);
    req.set_all_groups(flags->all_groups);
    auto resp = OrFail(client.Leaderboard(req));

    if (flags->client.json) {
      // The dashboard's /api/leaderboard vocabulary (docs/dashboard.md): groups, and rows of
      // every group shown, each {rank, run, evaluation, value}; a row's group is its
      // evaluation's eval_key.
      nlohmann::json out;
      out["sort_by"] = resp.sort_by();
      out["iou_type"] = IouName(resp.iou_type());
      out["groups"] = nlohmann::json::array();
      out["rows"] = nlohmann::json::array();
      for (const auto& g : resp.groups()) {
        out["groups"].push_back(LeaderboardGroupJson(g));
        for (const auto& row : g.rows()) out["rows"].push_back(LeaderboardRowJson(row));
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (resp.groups_size() == 0) {
      std::cout << "no " << IouName(resp.iou_type()) << " evaluations match\n";
      return;
    }
    const int ngroups = resp.groups_size();
    int index = 0;
    for (const auto& g : resp.groups()) {
      ++index;
      if (!g.selected()) continue;
      std::cout << IouName(resp.iou_type()) << " leaderboard by " << resp.sort_by() << " — group "
                << index << " of " << ngroups << " (" << g.run_count()
                << (g.run_count() == 1 ? " run" : " runs") << "): " << SettingsText(g.settings())
                << "\n";
      std::vector<std::string> headers = {"rank", "run", "status", "checkpoint"};
      for (auto n : kCocoStatNames) headers.emplace_back(n);
      Table t(headers);
      for (const auto& row : g.rows()) {
        const auto& e = row.evaluation();
        std::vector<std::string> cells = {std::to_string(row.rank()), row.run().name(),
                                          RunStatusText(row.run()),
                                          e.checkpoint_name().empty() ? "-" : e.checkpoint_name()};
        for (double v : server::StatsFromProto(e.stats())) cells.push_back(Fixed(v));
        t.AddRow(cells);
      }
      std::cout << t.Render() << "\n";
    }
    bool header = false;
    index = 0;
    for (const auto& g : resp.groups()) {
      ++index;
      if (g.selected()) continue;
      if (!header) {
        std::cout << "Not ranked with the above (different eval settings or dataset; use "
                     "--group KEY or --all-groups):\n";
        header = true;
      }
      std::cout << "  group " << index << ": " << g.run_count()
                << (g.run_count() == 1 ? " run" : " runs") << ", " << SettingsText(g.settings())
                << "\n    key: " << g.eval_key() << "\n";
    }
  });
}

}  // namespace ablate::cli
