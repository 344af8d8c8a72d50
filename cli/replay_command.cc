// `ablate replay [SWEEP] [--run RUN]... [--out FILE | --out-dir DIR]`: sweep YAML that re-runs the
// recorded runs of a sweep or an imported diary (cli/replay_spec.h), built from ListRuns/GetRun
// on the client side.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/replay_spec.h"

namespace ablate::cli {
namespace {

using nlohmann::json;

std::vector<v1::Run> RunsOfSweep(CoordinatorClient& client, const std::string& sweep) {
  std::vector<v1::Run> out;
  v1::ListRunsRequest req;
  req.set_sweep(sweep);
  req.set_page_size(1000);
  while (true) {
    auto resp = OrFail(client.ListRuns(req));
    out.insert(out.end(), resp.runs().begin(), resp.runs().end());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  return out;
}

v1::GetRunResponse GetRun(CoordinatorClient& client, const std::string& name) {
  v1::GetRunRequest req;
  *req.mutable_run() = RunRefFromText(name);
  return OrFail(client.GetRun(req));
}

ReplayRun ToReplayRun(CoordinatorClient& client, const v1::GetRunResponse& got,
                      std::map<std::string, v1::GetRunResponse>& cache) {
  ReplayRun r;
  const v1::Run& run = got.run();
  r.name = run.name();
  r.config = json::parse(run.config_json().empty() ? "{}" : run.config_json(), nullptr, false);
  if (r.config.is_discarded() || !r.config.is_object()) r.config = json::object();
  for (const auto& c : got.checkpoints()) {
    if (!r.last_checkpoint_step || c.step() > *r.last_checkpoint_step) {
      r.last_checkpoint_step = c.step();
    }
  }
  if (run.parent_checkpoint_id() != 0) {
    r.parent_run = run.parent_run_name();
    r.parent_checkpoint = run.parent_checkpoint_name();
    auto it = cache.find(run.parent_run_name());
    if (it == cache.end()) {
      it = cache.emplace(run.parent_run_name(), GetRun(client, run.parent_run_name())).first;
    }
    for (const auto& c : it->second.checkpoints()) {
      if (c.id() == run.parent_checkpoint_id()) {
        r.parent_step = c.step();
        r.parent_checkpoint_uri = c.uri();
      }
    }
  }
  // Eval settings: the first bbox evaluation, else the first one.
  const v1::Evaluation* eval = nullptr;
  for (const auto& e : got.evaluations()) {
    if (eval == nullptr || (eval->settings().iou_type() != v1::IOU_TYPE_BBOX &&
                            e.settings().iou_type() == v1::IOU_TYPE_BBOX)) {
      eval = &e;
    }
  }
  if (eval != nullptr) {
    const auto& s = eval->settings();
    if (s.has_score_threshold()) r.score_threshold = s.score_threshold();
    if (s.has_top_k()) r.top_k = s.top_k();
    if (s.has_nms_iou()) r.nms_iou = s.nms_iou();
    if (s.has_max_dets()) r.max_dets = s.max_dets();
  }
  return r;
}

}  // namespace

void RegisterReplayCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string sweep;
    std::vector<std::string> runs;
    std::string out;
    std::string out_dir;
    std::optional<std::string> name;
    ReplayOptions options;
    std::optional<int64_t> steps;
    std::optional<std::string> trainer_command;
    std::optional<std::string> trainer_output;
    std::optional<std::string> trainer_iou;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "write sweep YAML that re-runs the recorded runs of a sweep or an imported diary (its "
      "sweep is the diary's file stem), with their configs and fork points");
  AddClientFlags(cmd, f->client);
  cmd->add_option("SWEEP", f->sweep,
                  "the sweep whose runs to replay (an imported diary's: its file stem or name)");
  cmd->add_option("--run", f->runs, "a run to replay (repeatable; with or without SWEEP)");
  cmd->add_option("--out", f->out, "write the YAML to FILE instead of stdout (one sweep only)");
  cmd->add_option("--out-dir", f->out_dir, "write one FILE per sweep into DIR (NAME.yaml)");
  cmd->add_option("--name", f->name, "sweep name (default: SWEEP-replay)");
  cmd->add_option("--train", f->options.train_path,
                  "train annotations for diary runs (default data/train.json; none with "
                  "--trainer-command)");
  cmd->add_option("--val", f->options.val_path,
                  "val annotations for diary runs (default data/val.json; none with "
                  "--trainer-command)");
  cmd->add_option("--preset", f->options.preset, "preset for diary runs")->capture_default_str();
  cmd->add_option("--checkpoint-dir", f->options.checkpoint_dir,
                  "where the diary's checkpoint files are (forks start from "
                  "file:DIR/<name as written>; default: where `ablate submit` runs)");
  cmd->add_option("--steps", f->steps,
                  "training steps for runs whose length is not recorded (default: skip them)");
  cmd->add_option("--trainer-command", f->trainer_command,
                  "train the runs with your own program: a command line split into words as a "
                  "shell would (quotes, backslashes; no $VAR or globs), {key} filled from each "
                  "trial's config, e.g. \"python3 train.py --pos {pos_threshold}\"; written as "
                  "the documents' trainer: section");
  cmd->add_option("--trainer-output", f->trainer_output,
                  "what the trainer prints: summaries (COCO summarize() tables; default) or "
                  "events (docs/worker-protocol.md)")
      ->check(CLI::IsMember({"summaries", "events"}));
  cmd->add_option("--trainer-iou", f->trainer_iou,
                  "the type of a summarize() table whose text does not say: bbox (default) or "
                  "segm")
      ->check(CLI::IsMember({"bbox", "segm"}));
  cmd->callback([f] {
    if (f->sweep.empty() && f->runs.empty()) {
      Fail(absl::InvalidArgumentError("name a SWEEP or at least one --run"));
    }
    if (!f->out.empty() && !f->out_dir.empty()) {
      Fail(absl::InvalidArgumentError("--out and --out-dir exclude each other"));
    }
    if (!f->trainer_command && (f->trainer_output || f->trainer_iou)) {
      Fail(absl::InvalidArgumentError(
          std::string(f->trainer_output ? "--trainer-output" : "--trainer-iou") +
          " describes the program of --trainer-command; give that too"));
    }
    if (f->trainer_command) {
      protocol::TrainerSpec trainer;
      trainer.command = OrFail(SplitCommandLine(*f->trainer_command));
      trainer.output = f->trainer_output.value_or("summaries");
      trainer.iou = f->trainer_iou.value_or("bbox");
      f->options.trainer = trainer;
    }
    CoordinatorClient client(f->client.server);
    std::vector<std::string> names;
    std::string sweep = f->sweep;  // the sweep found (a diary file name becomes its stem)
    if (!sweep.empty()) {
      auto runs = RunsOfSweep(client, sweep);
      // A diary's file name stands for its sweep (the stem, as import-log names it).
      const std::string stem = std::filesystem::path(sweep).stem().string();
      if (runs.empty() && stem != sweep) {
        runs = RunsOfSweep(client, stem);
        if (!runs.empty()) sweep = stem;
      }
      for (const auto& r : runs) names.push_back(r.name());
      if (names.empty()) Fail(absl::NotFoundError("no runs in sweep '" + sweep + "'"));
    }
    for (const auto& r : f->runs) {
      if (std::find(names.begin(), names.end(), r) == names.end()) names.push_back(r);
    }
    std::map<std::string, v1::GetRunResponse> cache;
    std::vector<ReplayRun> runs;
    for (const auto& n : names) {
      auto it = cache.find(n);
      if (it == cache.end()) it = cache.emplace(n, GetRun(client, n)).first;
      runs.push_back(ToReplayRun(client, it->second, cache));
    }
    ReplayOptions options = f->options;
    options.default_steps = f->steps;
    options.name = f->name.value_or((sweep.empty() ? names.front() : sweep) + "-replay");
    const ReplayPlan plan = OrFail(BuildReplayPlan(runs, options));
    if (!f->out.empty() && plan.documents.size() > 1) {
      Fail(absl::InvalidArgumentError(
          "these runs start from " + std::to_string(plan.documents.size()) +
          " different points (or differ in settings a sweep fixes), so they make " +
          std::to_string(plan.documents.size()) +
          " sweeps; write them with --out-dir DIR (one file each)"));
    }

    std::vector<std::string> files;
    if (!f->out.empty()) files.push_back(f->out);
    if (!f->out_dir.empty()) {
      std::filesystem::create_directories(f->out_dir);
      for (const auto& d : plan.documents) {
        files.push_back((std::filesystem::path(f->out_dir) / (d.name + ".yaml")).string());
      }
    }
    for (size_t i = 0; i < files.size(); ++i) {
      std::ofstream out(files[i]);
      out << plan.documents[i].yaml;
      if (!out) Fail(absl::InternalError("cannot write " + files[i]));
    }

    if (f->client.json) {
      json docs = json::array();
      for (size_t i = 0; i < plan.documents.size(); ++i) {
        const auto& d = plan.documents[i];
        docs.push_back({{"name", d.name},
                        {"runs", d.runs},
                        {"file", i < files.size() ? json(files[i]) : json(nullptr)},
                        {"yaml", d.yaml}});
      }
      json skipped = json::array();
      for (const auto& s : plan.skipped) skipped.push_back({{"run", s.run}, {"reason", s.reason}});
      std::cout << json{{"sweeps", docs}, {"skipped", skipped}}.dump(2) << "\n";
      return;
    }
    if (files.empty()) {
      // stdout: the YAML itself (several sweeps as separate YAML documents).
      for (size_t i = 0; i < plan.documents.size(); ++i) {
        if (plan.documents.size() > 1) {
          std::cout << "--- # sweep " << (i + 1) << " of " << plan.documents.size()
                    << " (ablate submit takes one per file: use --out-dir)\n";
        }
        std::cout << plan.documents[i].yaml;
      }
      for (const auto& s : plan.skipped) {
        std::cout << "# not replayed: " << s.run << ": " << s.reason << "\n";
      }
      return;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      std::cout << "wrote " << files[i] << " (" << plan.documents[i].runs.size() << " trial"
                << (plan.documents[i].runs.size() == 1 ? "" : "s") << ": ";
      for (size_t k = 0; k < plan.documents[i].runs.size(); ++k) {
        std::cout << (k ? ", " : "") << plan.documents[i].runs[k];
      }
      std::cout << ")\n";
    }
    for (const auto& s : plan.skipped) {
      std::cout << "not replayed: " << s.run << ": " << s.reason << "\n";
    }
    std::cout << (f->options.trainer ? "submit with: ablate submit FILE\n"
                                     : "submit with: ablate submit FILE (add a trainer: section "
                                       "to use your own trainer, or --trainer-command)\n");
  });
}

}  // namespace ablate::cli
