// `ablate import-log FILE [--sweep S] [--iou bbox|segm] [--dry-run] [--json]`: a tuning diary ->
// runs, checkpoints and evaluations, stored by one ImportDiary call (one transaction per block).
// Every block is either stored or listed as skipped with its line and reason; the exit code is 0
// either way (the skipped blocks are the report, not a failure).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/text_format.h"
#include "common/atomic_file.h"
#include "diary/diary_parser.h"
#include "server/proto_convert.h"
#include "server/record_json.h"

namespace ablate::cli {
namespace {

// The diary's settings as the coordinator will store them (server/record_json.h vocabulary).
nlohmann::json EvalSettingsJson(const diary::DiaryEvalSettings& s, const std::string& dataset) {
  server::EvalSettings settings;
  settings.iou_type = s.iou_type == "segm" ? server::IouType::kSegm : server::IouType::kBbox;
  settings.score_threshold = s.score_threshold;
  settings.top_k = s.top_k;
  settings.nms_iou = s.nms_iou;
  settings.max_dets = s.max_dets;
  settings.dataset_fingerprint = dataset;
  return server::EvalSettingsJson(settings);
}

}  // namespace

void RegisterImportLogCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string file;
    std::optional<std::string> sweep;
    std::optional<std::string> iou;
    bool dry_run = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "import-log", "import a tuning diary (pasted pycocotools summaries and notes)");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("FILE", flags->file, "the diary text file")->required();
  cmd->add_option("--sweep", flags->sweep, "sweep for the runs (default: the file's stem)");
  cmd->add_option("--iou", flags->iou,
                  "table kind where the text does not say it (default: bbox, and a table right "
                  "after its bbox table is segm)")
      ->check(CLI::IsMember({"bbox", "segm"}));
  cmd->add_flag("--dry-run", flags->dry_run, "parse and print only; no server needed");
  cmd->callback([flags] {
    const std::string text = OrFail(ReadFile(flags->file));
    const std::string base = std::filesystem::path(flags->file).filename().string();
    const std::string dataset = "diary:" + base;
    diary::DiaryParseOptions options;
    options.default_iou_type = flags->iou;
    const diary::DiaryParseResult parsed = diary::ParseDiary(text, base, options);

    std::map<int, v1::ImportedEntry> imported;  // by line
    std::vector<diary::DiarySkip> skipped = parsed.skipped;
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
        server::ToProto(e.stats, p->mutable_stats());
      }
      CoordinatorClient client = ConnectOrFail(flags->client);
      resp = OrFail(client.ImportDiary(req));
      for (const auto& e : resp.entries()) imported[e.line()] = e;
      for (const auto& s : resp.skipped()) skipped.push_back({s.line(), s.reason()});
      std::stable_sort(skipped.begin(), skipped.end(),
                       [](const auto& a, const auto& b) { return a.line < b.line; });
    }
    std::set<int> skipped_lines;
    for (const auto& s : skipped) skipped_lines.insert(s.line);
    // What is shown as stored: parsed evaluations the server did not skip.
    std::vector<const diary::DiaryEvaluation*> shown;
    for (const auto& e : parsed.evaluations) {
      if (!skipped_lines.count(e.line)) shown.push_back(&e);
    }

    if (flags->client.json) {
      nlohmann::json out;
      out["evaluations"] = nlohmann::json::array();
      for (const diary::DiaryEvaluation* ep : shown) {
        const auto& e = *ep;
        auto stored = imported.find(e.line);
        nlohmann::json j;
        j["line"] = e.line;
        j["checkpoint"] = e.checkpoint ? nlohmann::json(*e.checkpoint) : nullptr;
        j["stats"] = server::StatsJson(e.stats);
        j["config"] = e.config;
        j["run"] = stored != imported.end() ? nlohmann::json(stored->second.run_name())
                   : e.run_name.empty()     ? nlohmann::json(nullptr)
                                            : nlohmann::json(e.run_name);
        j["new_run"] = e.new_run;
        j["parent_checkpoint"] =
            e.parent_checkpoint ? nlohmann::json(*e.parent_checkpoint) : nullptr;
        j["eval_settings"] = EvalSettingsJson(e.eval, dataset);
        if (stored != imported.end()) {
          j["evaluation_id"] = stored->second.evaluation_id();
          j["created"] = stored->second.evaluation_created();
        }
        out["evaluations"].push_back(j);
      }
      out["skipped"] = nlohmann::json::array();
      for (const auto& s : skipped) {
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
    std::vector<std::string> headers = {"line",     "run", "checkpoint", "parent", "iou",
                                        "settings", "AP",  "AP50",       "AR100"};
    if (!flags->dry_run) headers.push_back("stored");
    Table t(headers);
    for (const diary::DiaryEvaluation* ep : shown) {
      const auto& e = *ep;
      auto stored = imported.find(e.line);
      std::string settings =
          "score_threshold=" +
          (e.eval.score_threshold ? nlohmann::json(*e.eval.score_threshold).dump() : "?") +
          " top_k=" + (e.eval.top_k ? std::to_string(*e.eval.top_k) : "?");
      std::vector<std::string> row = {
          std::to_string(e.line),
          stored != imported.end() ? stored->second.run_name() : e.run_name,
          e.checkpoint.value_or("-"),
          e.new_run ? e.parent_checkpoint.value_or("-") : "",
          e.eval.iou_type,
          settings,
          Fixed(e.stats[0]),
          Fixed(e.stats[1]),
          Fixed(e.stats[8])};
      if (!flags->dry_run) {
        row.push_back(stored != imported.end() && stored->second.evaluation_created()
                          ? "new"
                          : "already there");
      }
      t.AddRow(row);
    }
    std::cout << base << ": " << shown.size() << " evaluation" << (shown.size() == 1 ? "" : "s")
              << (flags->dry_run ? " found, " : " stored, ") << skipped.size() << " block"
              << (skipped.size() == 1 ? "" : "s") << " skipped\n";
    if (!t.empty()) std::cout << t.Render();
    for (const auto& s : skipped) {
      std::cout << "skipped line " << s.line << ": " << s.reason << "\n";
    }
    if (!flags->dry_run) {
      std::cout << "stored: " << resp.runs_created() << " new runs, " << resp.checkpoints_created()
                << " new checkpoints, " << resp.evaluations_created() << " new evaluations\n";
    }
  });
}

}  // namespace ablate::cli
