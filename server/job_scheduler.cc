#include "server/job_scheduler.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "common/json_limits.h"
#include "common/sha256.h"
#include "diary/checkpoint_name.h"
#include "protocol/job_spec.h"
#include "server/refs.h"
#include "sweepspec/early_stop_spec.h"
#include "sweepspec/sweep_spec.h"
#include "sweepspec/trial_expansion.h"

namespace ablate::server {
namespace {

using nlohmann::json;

// Every job spec is built as a protocol::JobSpec and stored as JobSpecToJson (the worker reads it
// with ParseJobSpec): one definition of the contract.
void SetEval(protocol::JobSpec& job, double score_threshold, int top_k, double nms_iou,
             int max_dets) {
  job.score_threshold = score_threshold;
  job.top_k = top_k;
  job.nms_iou = nms_iou;
  job.max_dets = max_dets;
}

void SetData(protocol::JobSpec& job, const json& data) {
  if (!data.is_object()) return;
  job.train_path = data.value("train", "");
  job.val_path = data.value("val", "");
  job.train_images_dir = data.value("train_images", "");
  job.val_images_dir = data.value("val_images", "");
}

// A trainer with its command's `{key}`s replaced by `set`'s values (issue 14).
StatusOr<protocol::TrainerSpec> TrainerForTrial(const protocol::TrainerSpec& trainer,
                                                const json& set) {
  protocol::TrainerSpec out = trainer;
  ABLATE_ASSIGN_OR_RETURN(out.command, protocol::SubstituteTrainerCommand(trainer.command, set));
  return out;
}

// "KEY=VALUE" with VALUE read as JSON when it parses (0.5, true, [1,2]) and as a string otherwise.
StatusOr<std::pair<std::string, json>> ParseAssignment(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError("--set expects KEY=VALUE, got '" + text + "'");
  }
  std::string value = text.substr(eq + 1);
  auto parsed = ParseUntrustedJson(value, "--set " + text.substr(0, eq));
  if (!parsed.ok() && parsed.status().message().find("nests deeper") != std::string::npos) {
    return parsed.status();
  }
  if (!parsed.ok() || parsed->is_object()) return std::make_pair(text.substr(0, eq), json(value));
  return std::make_pair(text.substr(0, eq), std::move(*parsed));
}

std::string AbsolutePath(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

Status RequireStoredFile(const Checkpoint& ck) {
  if (ck.uri.rfind("file://", 0) != 0) {
    return absl::FailedPreconditionError(
        "checkpoint " + ck.run_name + "/" + ck.name +
        " has no stored weights file (e.g. it was imported from a diary); it can be compared "
        "but not trained or evaluated from");
  }
  return RequireCheckpointFileKept(ck);
}

// The same check on the row as it is now, inside the transaction that queues the job using it:
// retention holds checkpoints in its own transaction, so between the two a checkpoint is either
// held (refused here) or referenced by the new job (kept by the policy).
Status RecheckStoredFile(RunStore& runs, CheckpointId id) {
  ABLATE_ASSIGN_OR_RETURN(Checkpoint fresh, runs.GetCheckpoint(id));
  return RequireStoredFile(fresh);
}

// base.set.init_from (a pretrained start, docs/sweeps.md): made absolute, and its sha256
// recorded in base.set.init_sha256 when the coordinator can read the file, so that trials from
// different weights never share a fingerprint. A file the coordinator cannot read is left to the
// trainer, which records the sha256 in its checkpoints; a recorded sha256 that differs from the
// file's is an error.
Status ResolveInitFrom(json& set, const std::string& base_dir, const std::string& source) {
  if (!set.contains("init_from") || !set["init_from"].is_string()) return absl::OkStatus();
  const std::string given = set["init_from"].get<std::string>();
  if (given.empty()) return absl::OkStatus();
  const std::string path = AbsolutePath(given, base_dir);
  set["init_from"] = path;
  auto sha = Sha256HexOfFile(path);
  if (!sha.ok()) return absl::OkStatus();
  if (set.contains("init_sha256") && set["init_sha256"].is_string() &&
      !set["init_sha256"].get<std::string>().empty() && set["init_sha256"] != *sha) {
    return absl::InvalidArgumentError(source + ": base.set.init_sha256 is " +
                                      set["init_sha256"].get<std::string>() + " but " + path +
                                      " has sha256 " + *sha);
  }
  set["init_sha256"] = *sha;
  return absl::OkStatus();
}

}  // namespace

StatusOr<SubmitResult> JobScheduler::SubmitSweep(const std::string& spec_yaml,
                                                 const std::string& source,
                                                 const std::vector<std::string>& overrides,
                                                 const std::string& base_dir, bool dry_run) {
  std::vector<sweepspec::SpecOverride> spec_overrides;
  for (const auto& o : overrides) {
    ABLATE_ASSIGN_OR_RETURN(auto parsed, sweepspec::ParseSpecOverride(o));
    spec_overrides.push_back(std::move(parsed));
  }
  ABLATE_ASSIGN_OR_RETURN(sweepspec::SweepSpec spec,
                          sweepspec::ParseSweepSpec(spec_yaml, source, spec_overrides));
  if (!spec.train_path.empty()) spec.train_path = AbsolutePath(spec.train_path, base_dir);
  if (!spec.val_path.empty()) spec.val_path = AbsolutePath(spec.val_path, base_dir);
  ABLATE_RETURN_IF_ERROR(ResolveInitFrom(spec.base_set, base_dir, source));
  for (std::string* dir : {&spec.train_images_path, &spec.val_images_path}) {
    if (!dir->empty()) *dir = AbsolutePath(*dir, base_dir);
  }

  if (spec.trainer && spec.budget.steps == 0) {
    return absl::InvalidArgumentError(
        source +
        ": budget.steps: 0 (evaluate only) re-scores with ablate-train; a sweep with a "
        "trainer needs steps > 0");
  }
  // Where trials start: nothing, a registered checkpoint, or a weights file.
  std::optional<protocol::CheckpointRef> init_checkpoint;
  int64_t start_step = 0;
  std::optional<Checkpoint> start;
  if (spec.start_from.rfind("file:", 0) == 0) {
    if (spec.budget.steps == 0) {
      return absl::InvalidArgumentError(source +
                                        ": budget.steps: 0 (evaluate only) needs a registered "
                                        "checkpoint as start_from, not a file");
    }
    std::string path = AbsolutePath(spec.start_from.substr(5), base_dir);
    const std::string file_name = std::filesystem::path(path).filename().string();
    init_checkpoint = protocol::CheckpointRef{file_name, protocol::UriFromPath(path)};
    // One of our checkpoint files continues at its step (as the worker reads it, from the name).
    if (auto parsed = diary::ParseCheckpointName(file_name)) start_step = parsed->step;
    spec.start_from = "file:" + path;
  } else if (!spec.start_from.empty()) {
    auto ck = ResolveCheckpointRef(runs_, spec.start_from);
    if (!ck.ok()) {
      return Status(ck.status().code(),
                    source + ": start_from: " + std::string(ck.status().message()));
    }
    ABLATE_RETURN_IF_ERROR(RequireStoredFile(*ck));
    start = *ck;
    start_step = ck->step;
    init_checkpoint = protocol::CheckpointRef{ck->name, ck->uri};
    spec.start_from = ck->run_name + "/" + ck->name;  // canonical, for the fingerprint
  }

  // A user's trainer owns its keys: the only check is that its command's `{key}`s exist.
  auto validate = [&](const json& set) -> Status {
    if (spec.trainer) return TrainerForTrial(*spec.trainer, set).status();
    return validator_(spec.preset, set);
  };
  ABLATE_ASSIGN_OR_RETURN(sweepspec::TrialExpansion expansion,
                          sweepspec::ExpandTrials(spec, validate));

  SubmitResult result;
  result.max_parallel = spec.max_parallel;
  result.dropped_by_constraints = expansion.dropped_by_constraints;
  json spec_json = {{"name", spec.name},
                    {"preset", spec.preset},
                    {"base_set", spec.base_set},
                    {"data", sweepspec::SweepDataJson(spec)},
                    {"start_from", spec.start_from},
                    {"budget",
                     {{"steps", spec.budget.steps},
                      {"checkpoint_every", spec.budget.checkpoint_every},
                      {"eval_every", spec.budget.eval_every}}},
                    {"max_parallel", spec.max_parallel},
                    {"trials", expansion.trials.size()}};
  if (spec.trainer) spec_json["trainer"] = protocol::TrainerSpecToJson(*spec.trainer);

  if (spec.early_stop) spec_json["early_stop"] = sweepspec::EarlyStopToJson(*spec.early_stop);
  result.spec_json = spec_json.dump();

  Status st = runs_.Transact([&]() -> Status {
    // A name in use gets a numeric suffix: re-submitting an edited file is the common case.
    result.sweep = spec.name;
    for (int n = 2;; ++n) {
      ABLATE_ASSIGN_OR_RETURN(bool exists, jobs_.SweepExists(result.sweep));
      if (!exists) break;
      result.sweep = spec.name + "-" + std::to_string(n);
    }
    if (start) ABLATE_RETURN_IF_ERROR(RecheckStoredFile(runs_, start->id));
    if (!dry_run)
      ABLATE_RETURN_IF_ERROR(jobs_.SaveSweep(result.sweep, result.spec_json, spec.max_parallel));
    for (const auto& trial : expansion.trials) {
      SubmittedTrial out;
      out.index = trial.index;
      out.params = trial.params;
      out.fingerprint = trial.fingerprint;
      char suffix[16];
      std::snprintf(suffix, sizeof(suffix), "-t%02d", trial.index);
      out.run_name = result.sweep + suffix;
      protocol::JobSpec job_spec;
      job_spec.preset = spec.preset;
      job_spec.set = trial.set;
      job_spec.train_path = spec.train_path;
      job_spec.val_path = spec.val_path;
      job_spec.train_images_dir = spec.train_images_path;
      job_spec.val_images_dir = spec.val_images_path;
      SetEval(job_spec, trial.eval.score_threshold, trial.eval.top_k, trial.eval.nms_iou,
              trial.eval.max_dets);
      job_spec.init_checkpoint = init_checkpoint;
      if (spec.budget.steps == 0) {
        // Re-scoring: an eval job on the start checkpoint's run, counted towards this sweep.
        out.run_name = start->run_name;
        if (!dry_run) {
          job_spec.kind = "eval";
          job_spec.run = start->run_name;
          ABLATE_RETURN_IF_ERROR(jobs_
                                     .CreateJob(NewJob{start->run_id, result.sweep, JobKind::kEval,
                                                       protocol::JobSpecToJson(job_spec).dump(),
                                                       options_.max_attempts})
                                     .status());
        }
        result.trials.push_back(std::move(out));
        continue;
      }
      std::optional<Run> done;
      if (!spec.rerun_finished) {
        ABLATE_ASSIGN_OR_RETURN(done, jobs_.FindSucceededRun(trial.fingerprint));
      }
      if (done) {
        out.reused = true;
        out.run_name = done->name;
        if (!dry_run) {
          NewJob link{done->id, result.sweep, JobKind::kTrain, "{}", options_.max_attempts};
          link.already_done = true;
          ABLATE_RETURN_IF_ERROR(jobs_.CreateJob(link).status());
        }
        result.trials.push_back(std::move(out));
        continue;
      }
      if (!dry_run) {
        NewRun run;
        run.name = out.run_name;
        run.sweep = result.sweep;
        run.config = trial.effective_config;
        run.status = RunStatus::kQueued;
        if (start) run.parent_checkpoint = start->id;
        ABLATE_ASSIGN_OR_RETURN(Created<Run> created, runs_.CreateRun(run));
        job_spec.kind = "train";
        job_spec.run = out.run_name;
        job_spec.steps = start_step + spec.budget.steps;
        job_spec.checkpoint_every = spec.budget.checkpoint_every;
        job_spec.eval_every = spec.budget.eval_every;
        job_spec.reset_optimizer = false;
        if (spec.trainer) {
          ABLATE_ASSIGN_OR_RETURN(job_spec.trainer, TrainerForTrial(*spec.trainer, trial.set));
        }
        ABLATE_RETURN_IF_ERROR(
            jobs_
                .CreateJob(NewJob{created.value.id, result.sweep, JobKind::kTrain,
                                  protocol::JobSpecToJson(job_spec).dump(), options_.max_attempts})
                .status());
      }
      result.trials.push_back(std::move(out));
    }
    return absl::OkStatus();
  });
  ABLATE_RETURN_IF_ERROR(st);
  return result;
}

StatusOr<std::pair<Run, Job>> JobScheduler::ForkRun(const std::string& checkpoint_ref,
                                                    const std::vector<std::string>& overrides,
                                                    int64_t steps, bool reset_optimizer,
                                                    const std::string& name) {
  ABLATE_ASSIGN_OR_RETURN(Checkpoint ck, ResolveCheckpointRef(runs_, checkpoint_ref));
  ABLATE_RETURN_IF_ERROR(RequireStoredFile(ck));
  ABLATE_ASSIGN_OR_RETURN(Run parent, runs_.GetRun(ck.run_id));
  ForkStart start;
  start.weights = protocol::CheckpointRef{ck.name, ck.uri};
  start.step = ck.step;
  start.parent_checkpoint = ck.id;
  start.start_from = ck.run_name + "/" + ck.name;
  start.default_name_base = parent.name;
  return QueueFork(parent, start, overrides, steps, reset_optimizer, name);
}

StatusOr<std::pair<Run, Job>> JobScheduler::ForkRunFromFile(
    const std::string& path, const std::string& config_from,
    const std::vector<std::string>& overrides, int64_t steps, bool reset_optimizer,
    const std::string& name) {
  const std::filesystem::path file(path);
  if (path.empty() || !file.is_absolute()) {
    return absl::InvalidArgumentError("file:" + path +
                                      ": a weights file to fork from needs an absolute path");
  }
  if (config_from.empty()) {
    return absl::InvalidArgumentError(
        "file:" + path +
        ": forking a weights file needs a run to take the dataset, preset and eval settings from "
        "(ablate fork file:PATH --config-from RUN)");
  }
  ABLATE_ASSIGN_OR_RETURN(Run config_run, ResolveRunName(runs_, config_from));
  ForkStart start;
  const std::string normal = file.lexically_normal().string();
  start.weights = protocol::CheckpointRef{file.filename().string(), protocol::UriFromPath(normal)};
  // One of our checkpoint files continues at its step (as the worker reads it, from the name).
  if (auto parsed = diary::ParseCheckpointName(file.filename().string())) start.step = parsed->step;
  start.start_from = "file:" + normal;
  start.default_name_base = file.stem().string();
  if (start.default_name_base.empty()) start.default_name_base = "file";
  return QueueFork(config_run, start, overrides, steps, reset_optimizer, name);
}

StatusOr<std::pair<Run, Job>> JobScheduler::QueueFork(const Run& config_run, const ForkStart& start,
                                                      const std::vector<std::string>& overrides,
                                                      int64_t steps, bool reset_optimizer,
                                                      const std::string& name) {
  json config = json::parse(config_run.config_json, nullptr, false);
  if (!config.is_object()) config = json::object();
  if (!config.contains("set") || !config["set"].is_object()) config["set"] = json::object();
  if (!start.parent_checkpoint) {
    // The file is the start: config_run's pretrained start (init_from) would contradict it.
    config["set"].erase("init_from");
    config["set"].erase("init_sha256");
  }
  if (!config.contains("data") || !config["data"].contains("val")) {
    return absl::FailedPreconditionError("run '" + config_run.name +
                                         "' records no dataset (config.data); cannot fork it");
  }
  for (const auto& o : overrides) {
    ABLATE_ASSIGN_OR_RETURN(auto kv, ParseAssignment(o));
    config["set"][kv.first] = kv.second;
  }
  const std::string preset = config.value("preset", "tiny");
  std::optional<protocol::TrainerSpec> trainer;
  if (config.contains("trainer") && !config["trainer"].is_null()) {
    // The parent ran the sweep's own trainer: the fork runs it too, with the new config.
    ABLATE_ASSIGN_OR_RETURN(protocol::TrainerSpec t, protocol::ParseTrainerSpec(config["trainer"]));
    ABLATE_ASSIGN_OR_RETURN(trainer, TrainerForTrial(t, config["set"]));
  } else {
    ABLATE_RETURN_IF_ERROR(validator_(preset, config["set"]));
  }
  if (steps < 0) return absl::InvalidArgumentError("--steps must be >= 0");
  if (steps == 0) steps = config.value("steps", int64_t{0});
  if (steps <= 0) return absl::InvalidArgumentError("--steps is required (the parent has none)");
  config["steps"] = steps;
  config["start_from"] = start.start_from;
  config["reset_optimizer"] = reset_optimizer;

  std::pair<Run, Job> result;
  Status st = runs_.Transact([&]() -> Status {
    if (start.parent_checkpoint) {
      ABLATE_RETURN_IF_ERROR(RecheckStoredFile(runs_, *start.parent_checkpoint));
    }
    NewRun run;
    run.name = name;
    if (run.name.empty()) {
      for (int n = 1;; ++n) {
        run.name = start.default_name_base + "-fork" + std::to_string(n);
        if (!runs_.FindRunByName(run.name).ok()) break;
      }
    }
    run.config = config;
    run.parent_checkpoint = start.parent_checkpoint;
    ABLATE_ASSIGN_OR_RETURN(Created<Run> created, runs_.CreateRun(run));
    if (!created.created) {
      return absl::AlreadyExistsError("run '" + run.name + "' already exists");
    }
    const json eval_cfg = config.value("eval", json::object());
    protocol::JobSpec job_spec;
    job_spec.kind = "train";
    job_spec.run = run.name;
    job_spec.preset = preset;
    job_spec.set = config["set"];
    SetData(job_spec, config["data"]);
    job_spec.steps = start.step + steps;
    job_spec.checkpoint_every = config.value("checkpoint_every", int64_t{0});
    job_spec.eval_every = config.value("eval_every", int64_t{0});
    SetEval(job_spec, eval_cfg.value("score_threshold", 0.05), eval_cfg.value("top_k", 100),
            eval_cfg.value("nms_iou", 0.5), eval_cfg.value("max_dets", 100));
    job_spec.init_checkpoint = start.weights;
    job_spec.reset_optimizer = reset_optimizer;
    job_spec.trainer = trainer;
    ABLATE_ASSIGN_OR_RETURN(
        Job job,
        jobs_.CreateJob(NewJob{created.value.id, "", JobKind::kTrain,
                               protocol::JobSpecToJson(job_spec).dump(), options_.max_attempts}));
    result = {created.value, job};
    return absl::OkStatus();
  });
  ABLATE_RETURN_IF_ERROR(st);
  return result;
}

StatusOr<std::pair<Run, Job>> JobScheduler::EvaluateCheckpoint(const std::string& checkpoint_ref,
                                                               const EvalOverrides& o) {
  ABLATE_ASSIGN_OR_RETURN(Checkpoint ck, ResolveCheckpointRef(runs_, checkpoint_ref));
  ABLATE_RETURN_IF_ERROR(RequireStoredFile(ck));
  ABLATE_ASSIGN_OR_RETURN(Run run, runs_.GetRun(ck.run_id));
  json config = json::parse(run.config_json, nullptr, false);
  if (!config.is_object() || !config.contains("data") || !config["data"].contains("val")) {
    return absl::FailedPreconditionError("run '" + run.name +
                                         "' records no validation dataset (config.data.val)");
  }
  if (config.contains("trainer") && !config["trainer"].is_null()) {
    return absl::FailedPreconditionError(
        "run '" + run.name +
        "' was trained by its sweep's own trainer; re-scoring runs ablate-train's evaluation, "
        "which cannot load that program's checkpoints");
  }
  const json e = config.value("eval", json::object());
  double score_threshold = o.score_threshold.value_or(e.value("score_threshold", 0.05));
  if (score_threshold < 0 || score_threshold >= 1) {
    return absl::InvalidArgumentError("score threshold must be in [0, 1)");
  }
  if (o.max_dets && *o.max_dets != 100) {
    return absl::InvalidArgumentError(
        "max_dets: only COCO's 100 is supported by ablate-train's evaluation");
  }
  protocol::JobSpec job_spec;
  job_spec.kind = "eval";
  job_spec.run = run.name;
  job_spec.preset = config.value("preset", "tiny");
  job_spec.set = config.value("set", json::object());
  SetData(job_spec, config["data"]);
  SetEval(job_spec, score_threshold, o.top_k.value_or(e.value("top_k", 100)),
          o.nms_iou.value_or(e.value("nms_iou", 0.5)),
          o.max_dets.value_or(e.value("max_dets", 100)));
  job_spec.init_checkpoint = protocol::CheckpointRef{ck.name, ck.uri};
  Job job;
  ABLATE_RETURN_IF_ERROR(runs_.Transact([&]() -> Status {
    ABLATE_RETURN_IF_ERROR(RecheckStoredFile(runs_, ck.id));
    ABLATE_ASSIGN_OR_RETURN(job, jobs_.CreateJob(NewJob{run.id, "", JobKind::kEval,
                                                        protocol::JobSpecToJson(job_spec).dump(),
                                                        options_.max_attempts}));
    return absl::OkStatus();
  }));
  return std::make_pair(run, job);
}

StatusOr<std::vector<Job>> JobScheduler::ListJobs(const JobFilter& filter) {
  if (filter.id) {
    ABLATE_ASSIGN_OR_RETURN(Job job, jobs_.GetJob(*filter.id));
    return std::vector<Job>{job};
  }
  ABLATE_ASSIGN_OR_RETURN(std::vector<Job> all, jobs_.ListJobs(std::nullopt, ""));
  std::vector<Job> out;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (filter.kind && it->kind != *filter.kind) continue;
    out.push_back(std::move(*it));
    if (filter.limit > 0 && out.size() >= static_cast<size_t>(filter.limit)) break;
  }
  return out;
}

void SweepProgressCounts::CountRun(RunStatus status) {
  ++total;
  switch (status) {
    case RunStatus::kQueued:
      ++queued;
      break;
    case RunStatus::kRunning:
      ++running;
      break;
    case RunStatus::kSucceeded:
      ++succeeded;
      break;
    case RunStatus::kFailed:
      ++failed;
      break;
    case RunStatus::kCancelled:
      ++cancelled;
      break;
    case RunStatus::kDiverged:
      ++diverged;
      break;
    case RunStatus::kStopped:
      ++stopped;
      break;
  }
}

StatusOr<SweepStatus> JobScheduler::BuildSweepStatus(const SweepInfo& sweep) {
  SweepStatus status;
  status.sweep = sweep;
  ABLATE_ASSIGN_OR_RETURN(std::vector<Job> jobs, jobs_.ListJobs(std::nullopt, sweep.name));
  for (const Job& job : jobs) {
    ABLATE_ASSIGN_OR_RETURN(Run run, runs_.GetRun(job.run));
    SweepProgressCounts& p = status.progress;
    if (job.kind == JobKind::kTrain) {
      p.CountRun(run.status);
    } else {
      ++p.total;
      switch (job.state) {
        case JobState::kPending:
          ++p.queued;
          break;
        case JobState::kLeased:
          ++p.running;
          break;
        case JobState::kSucceeded:
          ++p.succeeded;
          break;
        case JobState::kFailed:
          ++p.failed;
          break;
        case JobState::kCancelled:
          ++p.cancelled;
          break;
      }
    }
    TrialStatus t;
    t.run = run;
    t.worker = job.worker;
    t.attempts = job.attempts;
    t.last_error = job.last_error;
    json spec = json::parse(job.spec_json, nullptr, false);
    if (spec.is_object()) t.total_steps = spec.value("steps", int64_t{0});
    ABLATE_ASSIGN_OR_RETURN(std::vector<MetricPoint> latest, runs_.LatestMetrics(run.id));
    for (const auto& m : latest) {
      t.step = std::max(t.step, m.step);
      if (m.key == "loss") t.loss = m.value;
    }
    EvaluationFilter filter;
    filter.run = run.id;
    filter.iou_type = IouType::kBbox;
    ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> evals, runs_.ListEvaluations(filter));
    if (!evals.empty()) t.last_ap = evals.back().stats[0];
    status.trials.push_back(std::move(t));
  }
  return status;
}

StatusOr<std::vector<SweepStatus>> JobScheduler::ListSweeps() {
  ABLATE_ASSIGN_OR_RETURN(std::vector<SweepInfo> sweeps, jobs_.ListSweeps());
  std::vector<SweepStatus> result;
  for (const auto& s : sweeps) {
    ABLATE_ASSIGN_OR_RETURN(SweepStatus status, BuildSweepStatus(s));
    result.push_back(std::move(status));
  }
  return result;
}

StatusOr<SweepStatus> JobScheduler::GetSweep(const std::string& name_or_id) {
  ABLATE_ASSIGN_OR_RETURN(std::vector<SweepInfo> sweeps, jobs_.ListSweeps());
  for (const auto& s : sweeps) {
    if (s.name == name_or_id || std::to_string(s.id) == name_or_id) return BuildSweepStatus(s);
  }
  return absl::NotFoundError("sweep '" + name_or_id + "' not found");
}

StatusOr<int> JobScheduler::Cancel(const std::string& sweep, const std::string& run, int64_t job) {
  if (job > 0) {
    ABLATE_ASSIGN_OR_RETURN(bool cancelled, jobs_.CancelJob(JobId{job}));
    return cancelled ? 1 : 0;
  }
  if (!sweep.empty()) {
    ABLATE_RETURN_IF_ERROR(GetSweep(sweep).status());
    return jobs_.CancelJobs(std::nullopt, sweep);
  }
  if (run.empty()) return absl::InvalidArgumentError("cancel needs a sweep, a run or a job");
  ABLATE_ASSIGN_OR_RETURN(Run r, ResolveRunName(runs_, run));
  return jobs_.CancelJobs(r.id, "");
}

StatusOr<WorkerInfo> JobScheduler::RegisterWorker(const std::string& name, const std::string& host,
                                                  int slots, const std::string& device) {
  return jobs_.UpsertWorker(name, host, slots, device);
}

StatusOr<std::optional<LeasedJob>> JobScheduler::LeaseJob(WorkerId worker) {
  ABLATE_RETURN_IF_ERROR(jobs_.ExpireLeases().status());
  std::optional<LeasedJob> out;
  ABLATE_RETURN_IF_ERROR(runs_.Transact([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(auto leased, jobs_.LeaseNextJob(worker, options_.lease_ttl_ms,
                                                            options_.retry_elsewhere_ms >= 0
                                                                ? options_.retry_elsewhere_ms
                                                                : 2 * options_.lease_ttl_ms));
    if (!leased) return absl::OkStatus();
    out = LeasedJob{leased->first, leased->second, leased->first.spec_json};
    if (leased->first.kind == JobKind::kTrain) {
      // Resume from the run's newest checkpoint whose file still exists, if an earlier attempt
      // made one. (Retention keeps it: the run is running now.)
      ABLATE_ASSIGN_OR_RETURN(std::vector<Checkpoint> cks,
                              runs_.ListCheckpoints(leased->first.run));
      const Checkpoint* newest = nullptr;
      for (const auto& ck : cks) {
        if (ck.uri.rfind("file://", 0) == 0 && !ck.deleted() && ck.deleting_job_id == 0 &&
            (newest == nullptr || ck.step > newest->step)) {
          newest = &ck;
        }
      }
      if (newest != nullptr) {
        json spec = json::parse(out->spec_json, nullptr, false);
        auto parsed = protocol::ParseJobSpec(spec);
        if (parsed.ok()) {
          parsed->resume_checkpoint = protocol::CheckpointRef{newest->name, newest->uri};
          out->spec_json = protocol::JobSpecToJson(*parsed).dump();
        } else {
          // A spec this version cannot read: hand it out as stored plus the resume point; the
          // worker reports what is wrong with it.
          spec["resume_checkpoint"] = {{"name", newest->name}, {"uri", newest->uri}};
          out->spec_json = spec.dump();
        }
      }
    } else if (leased->first.kind == JobKind::kRetention) {
      ABLATE_ASSIGN_OR_RETURN(out->spec_json, retention_.PrepareLease(leased->first));
    }
    return absl::OkStatus();
  }));
  return out;
}

StatusOr<std::vector<LeaseId>> JobScheduler::Heartbeat(WorkerId worker,
                                                       std::span<const LeaseId> leases) {
  return jobs_.RenewLeases(worker, leases, options_.lease_ttl_ms);
}

StatusOr<CompletionResult> JobScheduler::CompleteJob(
    LeaseId lease, JobOutcome outcome, const std::string& reason,
    std::span<const CheckpointDeletion> deletions,
    std::span<const GalleryFileDeletion> gallery_deletions) {
  CompletionResult result;
  ABLATE_RETURN_IF_ERROR(runs_.Transact([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(Job job, jobs_.GetHeldLeaseJob(lease));
    if (job.kind != JobKind::kRetention && (!deletions.empty() || !gallery_deletions.empty())) {
      return absl::InvalidArgumentError("job " + std::to_string(job.id.value) + " is a " +
                                        std::string(JobKindName(job.kind)) +
                                        " job; only retention jobs report deletions");
    }
    // Deletions first: completing a job that ends releases its remaining holds.
    std::optional<RetentionReport> report;
    if (job.kind == JobKind::kRetention) {
      ABLATE_ASSIGN_OR_RETURN(report, retention_.ApplyReport(job, deletions, gallery_deletions));
    }
    ABLATE_ASSIGN_OR_RETURN(result, jobs_.CompleteLease(lease, outcome, reason));
    if (report) {
      ABLATE_ASSIGN_OR_RETURN(result.job.result_json, retention_.AddToResult(job, *report));
    }
    if (!result.will_retry && !job.sweep.empty()) {
      ABLATE_RETURN_IF_ERROR(retention_.MaybeQueueForFinishedSweep(job.sweep));
    }
    return absl::OkStatus();
  }));
  return result;
}

namespace {

// The eval settings a sweep's train jobs evaluate with (their spec's "eval"); an evaluation made
// with other settings (e.g. `ablate eval --score-threshold` of a trial's checkpoint) is not a
// rung result.
bool SameEvalSettings(const EvalSettings& e, const json& expected) {
  auto near = [](const std::optional<double>& a, double b) {
    return a && std::abs(*a - b) <= 1e-12 * std::max(1.0, std::abs(b));
  };
  return near(e.score_threshold, expected.value("score_threshold", 0.05)) &&
         e.top_k == expected.value("top_k", int64_t{100}) &&
         near(e.nms_iou, expected.value("nms_iou", 0.5)) &&
         e.max_dets == expected.value("max_dets", int64_t{100});
}

}  // namespace

StatusOr<std::vector<StopDecision>> JobScheduler::ApplyEarlyStopping(RunId run_id) {
  std::vector<StopDecision> applied;
  ABLATE_RETURN_IF_ERROR(runs_.Transact([&]() -> Status {
    ABLATE_ASSIGN_OR_RETURN(Run run, runs_.GetRun(run_id));
    if (run.sweep.empty()) return absl::OkStatus();
    ABLATE_ASSIGN_OR_RETURN(std::vector<SweepInfo> sweeps, jobs_.ListSweeps());
    auto sweep = std::find_if(sweeps.begin(), sweeps.end(),
                              [&](const SweepInfo& s) { return s.name == run.sweep; });
    if (sweep == sweeps.end()) return absl::OkStatus();
    const json sweep_spec = json::parse(sweep->spec_json, nullptr, false);
    if (!sweep_spec.is_object() || !sweep_spec.contains("early_stop")) return absl::OkStatus();
    ABLATE_ASSIGN_OR_RETURN(sweepspec::EarlyStopSpec rule,
                            sweepspec::EarlyStopFromJson(sweep_spec["early_stop"]));
    const int64_t budget_steps = sweep_spec.value("budget", json::object()).value("steps", 0);
    const IouType iou = rule.iou_type == "segm" ? IouType::kSegm : IouType::kBbox;

    // One entry per trial run, from the sweep's train jobs (a reused trial's link job too: its
    // results count, it is never stopped).
    ABLATE_ASSIGN_OR_RETURN(std::vector<Job> jobs, jobs_.ListJobs(std::nullopt, sweep->name));
    std::vector<TrialResults> trials;
    std::map<int64_t, size_t> index_of;
    std::map<int64_t, int64_t> start_step_of;  // where the trial's training starts
    json eval_settings;
    for (const Job& job : jobs) {
      if (job.kind != JobKind::kTrain) continue;
      auto [it, fresh] = index_of.emplace(job.run.value, trials.size());
      ABLATE_ASSIGN_OR_RETURN(Run trial_run, runs_.GetRun(job.run));
      if (fresh) {
        TrialResults t;
        t.run = trial_run.id;
        t.name = trial_run.name;
        t.budget_steps = budget_steps;
        trials.push_back(std::move(t));
      }
      TrialResults& t = trials[it->second];
      const json spec = json::parse(job.spec_json, nullptr, false);
      if (!spec.is_object() || !spec.contains("steps")) continue;  // a reused trial's link
      if (spec.contains("eval") && eval_settings.is_null()) eval_settings = spec["eval"];
      start_step_of[job.run.value] =
          std::max<int64_t>(0, spec.value("steps", int64_t{0}) - budget_steps);
      const bool unfinished_run =
          trial_run.status == RunStatus::kQueued || trial_run.status == RunStatus::kRunning;
      if (unfinished_run && IsUnfinished(job)) t.stoppable = true;
    }
    if (eval_settings.is_null()) return absl::OkStatus();
    for (TrialResults& t : trials) {
      ABLATE_ASSIGN_OR_RETURN(std::vector<Checkpoint> cks, runs_.ListCheckpoints(t.run));
      std::map<int64_t, int64_t> step_of;
      for (const Checkpoint& c : cks) step_of[c.id.value] = c.step;
      EvaluationFilter filter;
      filter.run = t.run;
      filter.iou_type = iou;
      ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> evals, runs_.ListEvaluations(filter));
      const int64_t start = start_step_of[t.run.value];
      std::set<int64_t> seen_steps;
      for (const Evaluation& e : evals) {  // sorted by id: the first result per step wins
        if (!e.checkpoint_id || !step_of.count(e.checkpoint_id->value)) continue;
        if (!SameEvalSettings(e.settings, eval_settings)) continue;
        const int64_t step = step_of[e.checkpoint_id->value] - start;
        if (!seen_steps.insert(step).second) continue;
        t.results.push_back(
            TrialResult{step, e.stats[static_cast<size_t>(rule.stat_index)], e.id.value});
      }
    }
    for (StopDecision& d : DecideEarlyStops(rule, trials)) {
      d.step += start_step_of[d.run.value];
      ABLATE_RETURN_IF_ERROR(jobs_.StopRun(d.run, d.step, d.reason).status());
      applied.push_back(std::move(d));
    }
    return absl::OkStatus();
  }));
  return applied;
}

StatusOr<std::vector<LineageNode>> JobScheduler::Lineage(const std::optional<std::string>& ref) {
  std::optional<RunId> run;
  if (ref) {
    ABLATE_ASSIGN_OR_RETURN(Run r, ResolveRunName(runs_, *ref));
    run = r.id;
  }
  std::vector<Run> all;
  RunFilter filter;
  filter.limit = 1000;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(std::vector<Run> page, runs_.ListRuns(filter));
    if (page.empty()) break;
    filter.after_id = page.back().id.value;
    all.insert(all.end(), page.begin(), page.end());
  }
  std::set<int64_t> keep;
  if (run) {
    std::map<int64_t, const Run*> by_id;
    for (const auto& r : all) by_id[r.id.value] = &r;
    if (!by_id.count(run->value)) {
      return absl::NotFoundError("run id " + std::to_string(run->value) + " not found");
    }
    int64_t root = run->value;
    while (by_id[root]->parent_run && by_id.count(by_id[root]->parent_run->value)) {
      root = by_id[root]->parent_run->value;
    }
    keep.insert(root);
    for (const auto& r : all) {  // ids ascend, so parents come before their children
      if (r.parent_run && keep.count(r.parent_run->value)) keep.insert(r.id.value);
    }
  }
  std::vector<LineageNode> nodes;
  for (const auto& r : all) {
    if (run && !keep.count(r.id.value)) continue;
    LineageNode node;
    node.run = r;
    EvaluationFilter ef;
    ef.run = r.id;
    ef.iou_type = IouType::kBbox;
    ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> evals, runs_.ListEvaluations(ef));
    for (const auto& e : evals) {
      if (!node.best_ap || e.stats[0] > *node.best_ap) node.best_ap = e.stats[0];
    }
    ABLATE_ASSIGN_OR_RETURN(node.checkpoints, runs_.ListCheckpoints(r.id));
    nodes.push_back(std::move(node));
  }
  return nodes;
}

}  // namespace ablate::server
