// `ablate import-log FILE [--sweep S] [--dry-run] [--json]`: a tuning diary -> runs,
// checkpoints and evaluations, stored by one ImportDiary call (one transaction).
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "common/atomic_file.h"
#include "server/diary/diary_parser.h"

namespace ablate::cli {
namespace {

nlohmann::json EvalSettingsJson(const diary::DiaryEvalSettings& s, const std::string& dataset) {
  nlohmann::json j;
  j["iou_type"] = s.iou_type;
  j["score_threshold"] = s.score_threshold ? nlohmann::json(*s.score_threshold) : nullptr;
  j["top_k"] = s.top_k ? nlohmann::json(*s.top_k) : nullptr;
  j["nms_iou"] = s.nms_iou ? nlohmann::json(*s.nms_iou) : nullptr;
  j["max_dets"] = s.max_dets ? nlohmann::json(*s.max_dets) : nullptr;
  j["dataset"] = dataset;
  return j;
}

}  // namespace

void RegisterImportLogCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string file;
    std::optional<std::string> sweep;
    bool dry_run = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "import-log", "import a tuning diary (pasted pycocotools summaries and notes)");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("FILE", flags->file, "the diary text file")->required();
  cmd->add_option("--sweep", flags->sweep, "sweep for the runs (default: the file's stem)");
  cmd->add_flag("--dry-run", flags->dry_run, "parse and print only; no server needed");
  cmd->callback([flags] {
    const std::string text = OrFail(ReadFile(flags->file));
    const std::string base = std::filesystem::path(flags->file).filename().string();
    const std::string dataset = "diary:" + base;
    const diary::DiaryParseResult parsed = diary::ParseDiary(text, base);

    std::vector<v1::ImportedEntry> imported;
    v1::ImportDiaryResponse resp;
    if (!flags->dry_run && !parsed.evaluations.empty()) {
      v1::ImportDiaryRequest req;
      req.set_source(base);
      req.set_sweep(flags->sweep.value_or(std::filesystem::path(base).stem().string()));
      for (const auto& e : parsed.evaluations) {
        auto* p = req.add_entries();
        p->set_line(e.line);
        p->set_run_name(e.run_name);
        p->set_new_run(e.new_run);
        p->set_config_json(e.config.dump());
        p->set_checkpoint_name(e.checkpoint.value_or(""));
        p->set_checkpoint_uri(e.checkpoint_file);
        p->set_parent_checkpoint(e.parent_checkpoint.value_or(""));
        auto* s = p->mutable_settings();
        s->set_iou_type(e.eval.iou_type == "segm" ? v1::IOU_TYPE_SEGM : v1::IOU_TYPE_BBOX);
        if (e.eval.score_threshold) s->set_score_threshold(*e.eval.score_threshold);
        if (e.eval.top_k) s->set_top_k(static_cast<int32_t>(*e.eval.top_k));
        if (e.eval.nms_iou) s->set_nms_iou(*e.eval.nms_iou);
        if (e.eval.max_dets) s->set_max_dets(static_cast<int32_t>(*e.eval.max_dets));
        s->set_dataset_fingerprint(dataset);
        StatsToProto(e.stats, p->mutable_stats());
      }
      CoordinatorClient client = ConnectOrFail(flags->client);
      resp = OrFail(client.ImportDiary(req));
      imported.assign(resp.entries().begin(), resp.entries().end());
    }

    if (flags->client.json) {
      nlohmann::json out;
      out["evaluations"] = nlohmann::json::array();
      for (size_t i = 0; i < parsed.evaluations.size(); ++i) {
        const auto& e = parsed.evaluations[i];
        nlohmann::json j;
        j["line"] = e.line;
        j["checkpoint"] = e.checkpoint ? nlohmann::json(*e.checkpoint) : nullptr;
        v1::CocoStats ps;
        StatsToProto(e.stats, &ps);
        j["stats"] = StatsJson(ps);
        j["config"] = e.config;
        j["run"] = i < imported.size()  ? nlohmann::json(imported[i].run_name())
                   : e.run_name.empty() ? nlohmann::json(nullptr)
                                        : nlohmann::json(e.run_name);
        j["new_run"] = e.new_run;
        j["parent_checkpoint"] =
            e.parent_checkpoint ? nlohmann::json(*e.parent_checkpoint) : nullptr;
        j["eval_settings"] = EvalSettingsJson(e.eval, dataset);
        if (i < imported.size()) {
          j["evaluation_id"] = imported[i].evaluation_id();
          j["created"] = imported[i].evaluation_created();
        }
        out["evaluations"].push_back(j);
      }
      out["skipped"] = nlohmann::json::array();
      for (const auto& s : parsed.skipped) {
        out["skipped"].push_back({{"line", s.line}, {"reason", s.reason}});
      }
      if (!flags->dry_run) {
        out["created"] = {{"runs", resp.runs_created()},
                          {"checkpoints", resp.checkpoints_created()},
                          {"evaluations", resp.evaluations_created()}};
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::vector<std::string> headers = {"line",     "run", "checkpoint", "iou",
                                        "settings", "AP",  "AP50",       "AR100"};
    if (!flags->dry_run) headers.push_back("stored");
    Table t(headers);
    for (size_t i = 0; i < parsed.evaluations.size(); ++i) {
      const auto& e = parsed.evaluations[i];
      std::string settings =
          "score_threshold=" +
          (e.eval.score_threshold ? nlohmann::json(*e.eval.score_threshold).dump() : "?") +
          " top_k=" + (e.eval.top_k ? std::to_string(*e.eval.top_k) : "?");
      std::vector<std::string> row = {std::to_string(e.line),
                                      i < imported.size() ? imported[i].run_name() : e.run_name,
                                      e.checkpoint.value_or("-"),
                                      e.eval.iou_type,
                                      settings,
                                      Fixed(e.stats[0]),
                                      Fixed(e.stats[1]),
                                      Fixed(e.stats[8])};
      if (!flags->dry_run) {
        row.push_back(i < imported.size() && imported[i].evaluation_created() ? "new"
                                                                              : "already there");
      }
      t.AddRow(row);
    }
    std::cout << base << ": " << parsed.evaluations.size() << " evaluation"
              << (parsed.evaluations.size() == 1 ? "" : "s") << " found, " << parsed.skipped.size()
              << " block" << (parsed.skipped.size() == 1 ? "" : "s") << " skipped\n";
    if (!t.empty()) std::cout << t.Render();
    for (const auto& s : parsed.skipped) {
      std::cout << "skipped line " << s.line << ": " << s.reason << "\n";
    }
    if (!flags->dry_run) {
      std::cout << "stored: " << resp.runs_created() << " new runs, " << resp.checkpoints_created()
                << " new checkpoints, " << resp.evaluations_created() << " new evaluations\n";
    }
  });
}

}  // namespace ablate::cli
