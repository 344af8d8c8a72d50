// `ablate submit|sweeps|watch|cancel|fork|eval|lineage`: the experiment-running commands.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/eval_settings_flags.h"
#include "cli/proto_json.h"
#include "cli/text_format.h"

namespace ablate::cli {
namespace {

using nlohmann::json;

std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail(absl::NotFoundError("cannot read " + path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Finished(const v1::SweepProgress& p) {
  return p.succeeded() + p.failed() + p.cancelled() + p.diverged() + p.stopped();
}

std::string ProgressBar(int64_t step, int64_t total, int width) {
  int filled = total > 0 ? static_cast<int>(std::min<int64_t>(step, total) * width / total) : 0;
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "]";
}

// The watch screen: one line per trial with a bar, loss and last AP.
std::string RenderSweep(const v1::GetSweepResponse& s) {
  std::ostringstream out;
  const auto& p = s.sweep().progress();
  out << "sweep " << s.sweep().name() << ": " << Finished(p) << "/" << p.total() << " done ("
      << p.running() << " running, " << p.queued() << " queued, " << p.succeeded() << " succeeded, "
      << p.failed() << " failed, " << p.diverged() << " diverged, " << p.cancelled()
      << " cancelled, " << p.stopped() << " stopped early)\n";
  Table table({"run", "status", "progress", "step", "loss", "AP", "worker", "note"});
  for (const auto& t : s.trials()) {
    // A stopped trial's note is why (its job's last error is the same text); the full reason is
    // in `ablate show RUN` and --json.
    std::string note =
        t.run().status() == v1::RUN_STATUS_STOPPED ? t.run().stop_reason() : t.last_error();
    if (note.size() > 60) note = note.substr(0, 57) + "...";
    table.AddRow({t.run().name(), RunStatusText(t.run()),
                  ProgressBar(t.step(), t.total_steps(), 20),
                  std::to_string(t.step()) + "/" + std::to_string(t.total_steps()),
                  t.loss() > 0 ? Fixed(t.loss(), 3) : "-", t.has_ap() ? Fixed(t.last_ap()) : "-",
                  t.worker().empty() ? "-" : t.worker(), note});
  }
  out << table.Render();
  return out.str();
}

// `watch --json`: the sweep (proto_json.h SweepJson, as /api/sweeps prints one) and its trials.
json WatchJson(const v1::GetSweepResponse& s) {
  json trials = json::array();
  for (const auto& t : s.trials()) {
    json row = {
        {"run", t.run().name()},
        {"status", StatusName(t.run().status())},
        {"step", t.step()},
        {"total_steps", t.total_steps()},
        {"attempts", t.attempts()},
        {"worker", t.worker().empty() ? json(nullptr) : json(t.worker())},
        {"last_error", t.last_error().empty() ? json(nullptr) : json(t.last_error())},
        {"stopped_at_step",
         t.run().has_stopped_at_step() ? json(t.run().stopped_at_step()) : json(nullptr)},
        {"stop_reason",
         t.run().status() == v1::RUN_STATUS_STOPPED ? json(t.run().stop_reason()) : json(nullptr)}};
    row["loss"] = t.loss() > 0 ? json(t.loss()) : json(nullptr);
    row["AP"] = t.has_ap() ? json(t.last_ap()) : json(nullptr);
    trials.push_back(row);
  }
  json out = SweepJson(s.sweep());
  out["trials"] = std::move(trials);
  return out;
}

void PrintLeaderboard(CoordinatorClient& client, const std::string& sweep) {
  v1::LeaderboardRequest req;
  req.set_sort_by("AP");
  req.set_iou_type(v1::IOU_TYPE_BBOX);
  req.set_sweep(sweep);
  auto resp = client.Leaderboard(req);
  if (!resp.ok()) return;
  for (const auto& g : resp->groups()) {
    if (!g.selected()) continue;
    std::cout << "\nleaderboard (bbox AP; segm AP beside it) — " << SettingsText(g.settings())
              << "\n";
    Table table({"rank", "run", "status", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"});
    for (const auto& r : g.rows()) {
      const auto& st = r.evaluation().stats();
      table.AddRow({std::to_string(r.rank()), r.run().name(), RunStatusText(r.run()),
                    Fixed(st.ap()), Fixed(st.ap50()), Fixed(st.ap75()), Fixed(st.aps()),
                    Fixed(st.apm()), Fixed(st.apl()), Fixed(st.ar100())});
    }
    std::cout << table.Render();
  }
}

// `ablate submit FILE [--set K=V]... [--dry-run]`, in its phases: read the request, submit it
// (the coordinator validates and expands the spec; with --dry-run it stores nothing), report.
struct SubmitFlags {
  ClientFlags client;
  std::string file;
  std::vector<std::string> sets;
  bool dry_run = false;
};

// The request for the spec file and its overrides; relative data paths in the spec are
// resolved by the coordinator against this process's working directory. Fail()s on an unreadable
// file.
v1::SubmitSweepRequest ReadSubmitRequest(const SubmitFlags& f) {
  v1::SubmitSweepRequest req;
  req.set_spec_yaml(ReadFileOrFail(f.file));
  req.set_source(f.file);
  for (const auto& s : f.sets) req.add_overrides(s);
  req.set_base_dir(std::filesystem::current_path().string());
  req.set_dry_run(f.dry_run);
  return req;
}

// --json: {"sweep": name, "trials": [{"run", "params", "fingerprint", "reused"}],
// "dropped_by_constraints", "dry_run"}.
json SubmitReportJson(const v1::SubmitSweepResponse& resp, bool dry_run) {
  json trials = json::array();
  for (const auto& t : resp.trials()) {
    trials.push_back({{"run", t.run_name()},
                      {"params", json::parse(t.params_json())},
                      {"fingerprint", t.fingerprint()},
                      {"reused", t.reused()}});
  }
  return json{{"sweep", resp.sweep().name()},
              {"trials", trials},
              {"dropped_by_constraints", resp.dropped_by_constraints()},
              {"dry_run", dry_run}};
}

// "would submit sweep S: N trial(s)" (dry run) or "submitted sweep S: ...", then the trials.
std::string SubmitReportText(const v1::SubmitSweepResponse& resp, bool dry_run) {
  std::ostringstream out;
  out << (dry_run ? "would submit sweep " : "submitted sweep ") << resp.sweep().name() << ": "
      << resp.trials_size() << " trial(s)";
  if (resp.dropped_by_constraints() > 0) {
    out << ", " << resp.dropped_by_constraints() << " combination(s) dropped by constraints";
  }
  out << "\n";
  Table table({"run", "parameters", "note"});
  for (const auto& t : resp.trials()) {
    table.AddRow({t.run_name(), t.params_json(), t.reused() ? "already done: linked" : ""});
  }
  out << table.Render();
  return out.str();
}

void RegisterSubmit(CLI::App& app) {
  auto f = std::make_shared<SubmitFlags>();
  CLI::App* cmd = app.add_subcommand("submit", "submit a sweep spec (YAML); prints the sweep id");
  AddClientFlags(cmd, f->client);
  cmd->add_option("file", f->file, "sweep spec, e.g. sweeps/pos-neg-thresholds.yaml")->required();
  cmd->add_option("--set", f->sets, "override any spec key: KEY=VALUE (e.g. budget.steps=40)");
  cmd->add_flag("--dry-run", f->dry_run, "validate and list the trials; store nothing");
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    const v1::SubmitSweepRequest req = ReadSubmitRequest(*f);
    const v1::SubmitSweepResponse resp = OrFail(client.SubmitSweep(req));
    if (f->client.json) {
      std::cout << SubmitReportJson(resp, f->dry_run).dump(2) << "\n";
    } else {
      std::cout << SubmitReportText(resp, f->dry_run);
    }
  });
}

void RegisterSweeps(CLI::App& app) {
  auto f = std::make_shared<ClientFlags>();
  CLI::App* cmd = app.add_subcommand("sweeps", "list sweeps with their progress");
  AddClientFlags(cmd, *f);
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(*f);
    auto resp = OrFail(client.ListSweeps(v1::ListSweepsRequest()));
    if (f->json) {
      json out = json::array();
      for (const auto& s : resp.sweeps()) out.push_back(SweepJson(s));
      std::cout << json{{"sweeps", out}}.dump(2) << "\n";
      return;
    }
    Table table(
        {"id", "sweep", "trials", "done", "running", "queued", "failed", "diverged", "stopped"});
    for (const auto& s : resp.sweeps()) {
      const auto& p = s.progress();
      table.AddRow({std::to_string(s.id()), s.name(), std::to_string(p.total()),
                    std::to_string(Finished(p)), std::to_string(p.running()),
                    std::to_string(p.queued()), std::to_string(p.failed()),
                    std::to_string(p.diverged()), std::to_string(p.stopped())});
    }
    std::cout << (table.empty() ? "no sweeps yet\n" : table.Render());
  });
}

void RegisterWatch(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string sweep;
    bool until_done = false;
    double timeout_s = 0;
    double interval_s = 1.0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "live progress of a sweep; ends with its leaderboard once every trial has ended");
  AddClientFlags(cmd, f->client);
  cmd->add_option("sweep", f->sweep, "sweep name or id")->required();
  cmd->add_flag("--until-done", f->until_done, "exit 0 once every trial has ended");
  cmd->add_option("--timeout", f->timeout_s, "give up (exit 3) after this many seconds");
  cmd->add_option("--interval", f->interval_s, "seconds between refreshes")->capture_default_str();
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    const bool tty = ::isatty(STDOUT_FILENO) && !f->client.json;
    const auto start = std::chrono::steady_clock::now();
    v1::GetSweepRequest req;
    req.set_sweep(f->sweep);
    int printed_done = -1;
    while (true) {
      auto resp = OrFail(client.GetSweep(req));
      const auto& p = resp.sweep().progress();
      const bool done = Finished(p) == p.total();
      if (f->client.json) {
        if (done || !f->until_done) std::cout << WatchJson(resp).dump(2) << "\n";
      } else if (tty) {
        std::cout << "\x1b[H\x1b[2J" << RenderSweep(resp) << std::flush;
      } else if (Finished(p) != printed_done || done) {
        // Not a terminal (a log, CI): print only when the count of finished trials changes.
        printed_done = Finished(p);
        std::cout << RenderSweep(resp) << std::flush;
      }
      if (done || !f->until_done) {
        if (!f->client.json && done) PrintLeaderboard(client, resp.sweep().name());
        // Early-stopped trials ended as the sweep's rule intended: not counted as failures.
        if (done && p.succeeded() + p.stopped() < p.total()) {
          std::cerr << "note: " << (p.total() - p.succeeded() - p.stopped())
                    << " trial(s) did not succeed\n";
        }
        return;
      }
      if (f->timeout_s > 0 &&
          std::chrono::steady_clock::now() - start > std::chrono::duration<double>(f->timeout_s)) {
        std::cerr << "error: sweep " << f->sweep << " not done after " << f->timeout_s << " s\n";
        throw CLI::RuntimeError(3);
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(f->interval_s));
    }
  });
}

void RegisterCancel(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string target;
    bool run = false;
    bool job = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "cancel", "cancel the unfinished trials of a sweep (or --run, or one --job)");
  AddClientFlags(cmd, f->client);
  cmd->add_option("target", f->target, "sweep name (run name with --run, job id with --job)")
      ->required();
  auto* run_flag = cmd->add_flag("--run", f->run, "the target is a run");
  cmd->add_flag("--job", f->job, "the target is a job id (e.g. a retention job)")
      ->excludes(run_flag);
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::CancelRequest req;
    if (f->job) {
      char* end = nullptr;
      const long long id = std::strtoll(f->target.c_str(), &end, 10);
      if (f->target.empty() || *end != '\0' || id <= 0) {
        Fail(absl::InvalidArgumentError("--job expects a job id, got '" + f->target + "'"));
      }
      req.set_job(id);
    } else {
      (f->run ? req.mutable_run() : req.mutable_sweep())->assign(f->target);
    }
    auto resp = OrFail(client.Cancel(req));
    if (f->client.json) {
      std::cout << json{{"cancelled", resp.cancelled()}}.dump() << "\n";
    } else {
      std::cout << "cancelled " << resp.cancelled() << " job(s)\n";
    }
  });
}

// `path` made absolute against the working directory; NotFound when it is not a regular file.
StatusOr<std::string> WeightsFilePath(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return absl::InvalidArgumentError("file: needs a path (file:PATH)");
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  if (ec || !fs::is_regular_file(abs, ec)) {
    return absl::NotFoundError("file:" + path + ": no such weights file" +
                               (abs.string() != path ? " (" + abs.string() + ")" : ""));
  }
  return abs.string();
}

void RegisterFork(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string checkpoint;
    std::vector<std::string> sets;
    int64_t steps = 0;
    bool reset_optimizer = false;
    std::string name;
    std::string config_from;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("fork", "start a new run from a named checkpoint with config overrides");
  AddClientFlags(cmd, f->client);
  cmd->add_option("checkpoint", f->checkpoint,
                  "step1066300, RUN/step1066300, a full name, or file:PATH (a weights file: ours, "
                  "an ImageNet ResNet, a reference YOLACT checkpoint)")
      ->required();
  cmd->add_option("--config-from", f->config_from,
                  "with file:PATH: the run whose dataset, preset and eval settings the fork takes");
  cmd->add_option("--set", f->sets, "training override KEY=VALUE (repeatable)");
  cmd->add_option("--steps", f->steps, "steps to train from the checkpoint (default: parent's)");
  cmd->add_flag("--reset-optimizer", f->reset_optimizer,
                "fresh optimiser state and lr schedule (weights only from the checkpoint)");
  cmd->add_option("--name", f->name, "name of the new run (default PARENT-forkN)");
  cmd->callback([f] {
    std::string checkpoint = f->checkpoint;
    if (checkpoint.rfind("file:", 0) == 0) {
      // The coordinator and workers read the file at this path (a shared filesystem): made
      // absolute here, and checked here so that a typo fails now rather than in the job.
      checkpoint = "file:" + OrFail(WeightsFilePath(checkpoint.substr(5)));
      if (f->config_from.empty()) {
        Fail(absl::InvalidArgumentError(
            "fork " + f->checkpoint +
            ": a weights file has no run to take the dataset, preset and eval settings from; "
            "name one with --config-from RUN"));
      }
    }
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::ForkRunRequest req;
    req.set_checkpoint(checkpoint);
    req.set_config_from(f->config_from);
    for (const auto& s : f->sets) req.add_overrides(s);
    req.set_steps(f->steps);
    req.set_reset_optimizer(f->reset_optimizer);
    req.set_name(f->name);
    auto resp = OrFail(client.ForkRun(req));
    if (f->client.json) {
      std::cout << json{{"run", resp.run().name()},
                        {"job", resp.job_id()},
                        {"parent_checkpoint", resp.run().parent_checkpoint_name()}}
                       .dump()
                << "\n";
    } else {
      const std::string from =
          resp.run().parent_checkpoint_name().empty()
              ? checkpoint
              : resp.run().parent_run_name() + "/" + resp.run().parent_checkpoint_name();
      std::cout << "forked run " << resp.run().name() << " from " << from << " (job "
                << resp.job_id() << " queued)\n";
    }
  });
}

void RegisterEval(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string checkpoint;
    EvalSettingsFlags eval;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "re-score a checkpoint with other eval settings (an eval-only job)");
  AddClientFlags(cmd, f->client);
  cmd->add_option("checkpoint", f->checkpoint, "step1066300, RUN/step1066300 or a full name")
      ->required();
  AddEvalSettingsFlags(cmd, f->eval, "re-score with this ");
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::EvaluateCheckpointRequest req;
    req.set_checkpoint(f->checkpoint);
    SetEvalSettings(f->eval, &req);
    auto resp = OrFail(client.EvaluateCheckpoint(req));
    if (f->client.json) {
      std::cout << json{{"run", resp.run().name()}, {"job", resp.job_id()}}.dump() << "\n";
    } else {
      std::cout << "queued eval job " << resp.job_id() << " for " << f->checkpoint
                << "; its evaluation will be recorded on run " << resp.run().name() << "\n";
    }
  });
}

void RegisterLineage(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string run;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("lineage", "the fork tree: which run came from which checkpoint");
  AddClientFlags(cmd, f->client);
  cmd->add_option("run", f->run, "any run of the tree (default: every run)");
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::LineageRequest req;
    if (!f->run.empty()) *req.mutable_run() = RunRefFromText(f->run);
    auto resp = OrFail(client.Lineage(req));
    if (f->client.json) {
      json nodes = json::array();
      for (const auto& n : resp.nodes()) {
        const v1::Run& r = n.run();
        nodes.push_back({{"run", r.name()},
                         {"parent_run",
                          r.parent_run_name().empty() ? json(nullptr) : json(r.parent_run_name())},
                         {"parent_checkpoint", r.parent_checkpoint_name().empty()
                                                   ? json(nullptr)
                                                   : json(r.parent_checkpoint_name())},
                         {"best_AP", n.has_ap() ? json(n.best_ap()) : json(nullptr)},
                         {"checkpoints", n.checkpoints_size()}});
      }
      std::cout << json{{"nodes", nodes}}.dump(2) << "\n";
      return;
    }
    // Children under their parent checkpoint, indented.
    std::map<std::string, std::vector<const v1::LineageNode*>> children;
    std::vector<const v1::LineageNode*> roots;
    std::map<std::string, bool> present;
    for (const auto& n : resp.nodes()) present[n.run().name()] = true;
    for (const auto& n : resp.nodes()) {
      if (!n.run().parent_run_name().empty() && present.count(n.run().parent_run_name())) {
        children[n.run().parent_run_name()].push_back(&n);
      } else {
        roots.push_back(&n);
      }
    }
    std::function<void(const v1::LineageNode*, int)> print = [&](const v1::LineageNode* n,
                                                                 int depth) {
      std::cout << std::string(static_cast<size_t>(depth) * 4, ' ')
                << (depth > 0 ? "└─ " + n->run().parent_checkpoint_name() + " → " : "")
                << n->run().name() << "  [" << StatusName(n->run().status()) << "]"
                << (n->has_ap() ? "  best AP " + Fixed(n->best_ap()) : "") << "\n";
      for (const auto* c : children[n->run().name()]) print(c, depth + 1);
    };
    for (const auto* r : roots) print(r, 0);
  });
}

}  // namespace

void RegisterSweepCommands(CLI::App& app) {
  RegisterSubmit(app);
  RegisterSweeps(app);
  RegisterWatch(app);
  RegisterCancel(app);
  RegisterFork(app);
  RegisterEval(app);
  RegisterLineage(app);
}

}  // namespace ablate::cli
