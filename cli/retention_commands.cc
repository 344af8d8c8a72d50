// `ablate retention` (plan or queue deleting old checkpoint files) and `ablate jobs` (the job
// listing where a retention job shows how it ended). Policy: docs/retention.md.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/proto_json.h"
#include "cli/text_format.h"
#include "common/human_bytes.h"
#include "proto/job_enums.h"
#include "protocol/retention_spec.h"

namespace ablate::cli {
namespace {

using nlohmann::json;

// A job's kind and state: the enums, else (a coordinator from before them) the strings.
std::string KindName(const v1::JobSummary& j) {
  return std::string(rpc::JobKindName(rpc::JobKindOf(j)));
}
std::string StateName(const v1::JobSummary& j) {
  return std::string(rpc::JobStateName(rpc::JobStateOf(j)));
}

bool Finished(const v1::JobSummary& j) {
  const v1::JobState state = rpc::JobStateOf(j);
  return state != v1::JOB_STATE_PENDING && state != v1::JOB_STATE_LEASED;
}

// What a job works on: its run, or a retention job's K and scope.
std::string JobTarget(const v1::JobSummary& j) {
  if (rpc::JobKindOf(j) != v1::JOB_KIND_RETENTION) return j.run();
  const json raw = json::parse(j.spec_json(), nullptr, false);
  StatusOr<protocol::RetentionSpec> spec = protocol::ParseRetentionSpec(raw);
  if (!spec.ok()) return "-";
  std::string scope = "all runs";
  if (!spec->scope.run.empty()) scope = "run " + spec->scope.run;
  if (!spec->scope.sweep.empty()) scope = "sweep " + spec->scope.sweep;
  const std::string keep = spec->keep_last ? std::to_string(*spec->keep_last) : "default";
  return "keep " + keep + ", " + scope;
}

// A retention result in one line: "deleted 3 (1.2 MiB), missing 0, failed 1 (a/step1: ...)", then
// "; gallery images: deleted 16 (0.2 MiB), missing 0, failed 0" when it touched gallery files.
std::string ResultText(const v1::JobSummary& j) {
  const json raw = json::parse(j.result_json(), nullptr, false);
  if (rpc::JobKindOf(j) != v1::JOB_KIND_RETENTION || !raw.is_object() || !raw.contains("deleted")) {
    return j.last_error();
  }
  StatusOr<protocol::RetentionResult> r = protocol::ParseRetentionResult(raw);
  if (!r.ok()) return std::string(r.status().message());
  std::string out = "deleted " + std::to_string(r->deleted) + " (" +
                    HumanBytes(r->bytes_freed - r->gallery_bytes_freed) + "), missing " +
                    std::to_string(r->missing) + ", failed " + std::to_string(r->failed);
  if (r->gallery_deleted + r->gallery_missing + r->gallery_failed > 0) {
    out += "; gallery images: deleted " + std::to_string(r->gallery_deleted) + " (" +
           HumanBytes(r->gallery_bytes_freed) + "), missing " + std::to_string(r->gallery_missing) +
           ", failed " + std::to_string(r->gallery_failed);
  }
  std::string failures;
  for (const protocol::RetentionFailure& f : r->failures) {
    failures += (failures.empty() ? "" : "; ") + (f.checkpoint.empty() ? f.file : f.checkpoint) +
                ": " + f.reason;
  }
  if (!failures.empty()) out += " (" + failures + ")";
  if (rpc::JobStateOf(j) != v1::JOB_STATE_SUCCEEDED && !j.last_error().empty()) {
    out += "; " + j.last_error();
  }
  return out;
}

void RegisterRetention(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::optional<int> keep_last;
    std::string run;
    std::string sweep;
    bool dry_run = false;
    bool verbose = false;
    bool wait = false;
    double timeout_s = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "retention",
      "delete old checkpoint files and the gallery images of their evaluations: keeps pinned "
      "ones, fork parents, inputs of queued jobs and the newest K per run (--dry-run prints the "
      "plan; otherwise queues a retention job)");
  AddClientFlags(cmd, f->client);
  cmd->add_option("--keep-last", f->keep_last,
                  "newest checkpoints kept per run (default: the server's, normally 2)");
  cmd->add_option("--run", f->run, "only this run's checkpoints");
  cmd->add_option("--sweep", f->sweep, "only the checkpoints of this sweep's runs");
  cmd->add_flag("--dry-run", f->dry_run, "print what would be deleted; change nothing");
  cmd->add_flag("--verbose", f->verbose, "also list the kept checkpoints and why");
  cmd->add_flag("--wait", f->wait, "wait for the queued job to end and print what it did");
  cmd->add_option("--timeout", f->timeout_s, "with --wait: give up (exit 3) after this many s");
  cmd->callback([f] {
    if (f->keep_last && *f->keep_last < 0) {
      Fail(absl::InvalidArgumentError("--keep-last must be >= 0, got " +
                                      std::to_string(*f->keep_last)));
    }
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::SubmitRetentionRequest req;
    if (f->keep_last) req.set_keep_last(*f->keep_last);
    req.set_run(f->run);
    req.set_sweep(f->sweep);
    req.set_dry_run(f->dry_run);
    auto resp = OrFail(client.SubmitRetention(req));

    std::optional<v1::JobSummary> final_job;
    if (f->wait && resp.job_id() != 0) {
      const auto start = std::chrono::steady_clock::now();
      v1::ListJobsRequest get;
      get.set_job_id(resp.job_id());
      while (true) {
        auto jobs = OrFail(client.ListJobs(get));
        if (jobs.jobs_size() == 1 && Finished(jobs.jobs(0))) {
          final_job = jobs.jobs(0);
          break;
        }
        if (f->timeout_s > 0 && std::chrono::steady_clock::now() - start >
                                    std::chrono::duration<double>(f->timeout_s)) {
          std::cerr << "error: retention job " << resp.job_id() << " not done after "
                    << f->timeout_s << " s (is a worker running?)\n";
          throw CLI::RuntimeError(3);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }

    if (f->client.json) {
      json checkpoints = json::array();
      for (const auto& v : resp.verdicts()) {
        json c = CheckpointJson(v.checkpoint());
        c["remove"] = v.remove();
        c["keep_reasons"] =
            json(std::vector<std::string>(v.keep_reasons().begin(), v.keep_reasons().end()));
        c["gallery_files"] = v.gallery_files();
        c["gallery_bytes"] = v.gallery_bytes();
        checkpoints.push_back(std::move(c));
      }
      json out = {{"dry_run", f->dry_run},
                  {"job", resp.job_id() != 0 ? json(resp.job_id()) : json(nullptr)},
                  {"keep_last", resp.keep_last()},
                  {"to_delete", resp.to_delete()},
                  {"bytes_to_free", resp.bytes_to_free()},
                  {"gallery_files", resp.gallery_files()},
                  {"gallery_bytes", resp.gallery_bytes()},
                  {"leftover_gallery_files", resp.leftover_gallery_files()},
                  {"leftover_gallery_bytes", resp.leftover_gallery_bytes()},
                  {"checkpoints", checkpoints}};
      if (final_job) out["finished"] = JobJson(*final_job);
      std::cout << out.dump(2) << "\n";
    } else {
      Table del({"run", "checkpoint", "step", "size", "gallery"});
      Table kept({"run", "checkpoint", "step", "why kept"});
      for (const auto& v : resp.verdicts()) {
        const v1::Checkpoint& c = v.checkpoint();
        if (v.remove()) {
          const std::string gallery =
              v.gallery_files() == 0
                  ? "-"
                  : std::to_string(v.gallery_files()) + " images, " + HumanBytes(v.gallery_bytes());
          del.AddRow(
              {c.run_name(), c.name(), std::to_string(c.step()), HumanBytes(c.bytes()), gallery});
        } else {
          std::string why;
          for (const auto& r : v.keep_reasons()) why += (why.empty() ? "" : "; ") + r;
          kept.AddRow({c.run_name(), c.name(), std::to_string(c.step()), why});
        }
      }
      const int kept_count = resp.verdicts_size() - resp.to_delete();
      // "3 checkpoint file(s) and 16 gallery image(s), 1.2 MiB" (bytes of both).
      std::string what = std::to_string(resp.to_delete()) + " checkpoint file(s)";
      if (resp.gallery_files() > 0) {
        what += " and " + std::to_string(resp.gallery_files()) + " gallery image(s)";
      }
      what += ", " + HumanBytes(resp.bytes_to_free());
      if (f->dry_run) {
        std::cout << "retention plan (keep the newest " << resp.keep_last()
                  << " per run): would delete " << what << "; keep " << kept_count << "\n";
      } else {
        std::cout << "queued retention job " << resp.job_id() << " (keep the newest "
                  << resp.keep_last() << " per run); as of now it would delete " << what
                  << " (the list is fixed when a worker takes the job)\n";
      }
      if (!del.empty()) std::cout << del.Render();
      if (resp.leftover_gallery_files() > 0) {
        std::cout << "and " << resp.leftover_gallery_files() << " gallery image(s), "
                  << HumanBytes(resp.leftover_gallery_bytes())
                  << ", of checkpoints whose files were deleted earlier\n";
      }
      if (f->verbose && !kept.empty()) std::cout << "kept:\n" << kept.Render();
      if (final_job) {
        std::cout << "retention job " << final_job->id() << " " << StateName(*final_job) << ": "
                  << ResultText(*final_job) << "\n";
      }
    }
    if (final_job && rpc::JobStateOf(*final_job) != v1::JOB_STATE_SUCCEEDED) {
      throw CLI::RuntimeError(1);
    }
  });
}

void RegisterJobs(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string kind;
    int64_t job = 0;
    int limit = 50;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("jobs", "list jobs, newest first (train, eval, retention)");
  AddClientFlags(cmd, f->client);
  cmd->add_option("--kind", f->kind, "only this kind: train, eval or retention");
  cmd->add_option("--job", f->job, "only this job id");
  cmd->add_option("--limit", f->limit, "at most this many")->capture_default_str();
  cmd->callback([f] {
    CoordinatorClient client = ConnectOrFail(f->client);
    v1::ListJobsRequest req;
    // The enum; the string too, for a coordinator from before it (an unknown name sets only the
    // string, so the coordinator names it in its error as before).
    req.set_job_kind(rpc::ParseJobKind(f->kind));
    req.set_kind(f->kind);
    req.set_job_id(f->job);
    req.set_limit(f->limit);
    auto resp = OrFail(client.ListJobs(req));
    if (f->client.json) {
      json out = {{"jobs", json::array()}};
      for (const auto& j : resp.jobs()) out["jobs"].push_back(JobJson(j));
      std::cout << out.dump(2) << "\n";
      return;
    }
    Table t({"id", "kind", "state", "target", "attempts", "worker", "note"});
    for (const auto& j : resp.jobs()) {
      std::string note = ResultText(j);
      if (note.size() > 100) note = note.substr(0, 97) + "...";
      t.AddRow({std::to_string(j.id()), KindName(j), StateName(j), JobTarget(j),
                std::to_string(j.attempts()) + "/" + std::to_string(j.max_attempts()),
                j.worker().empty() ? "-" : j.worker(), note});
    }
    std::cout << (t.empty() ? "no jobs\n" : t.Render());
  });
}

}  // namespace

void RegisterRetentionCommands(CLI::App& app) {
  RegisterRetention(app);
  RegisterJobs(app);
}

}  // namespace ablate::cli
