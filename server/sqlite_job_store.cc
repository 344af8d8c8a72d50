#include "server/sqlite_job_store.h"

#include "absl/strings/str_cat.h"
#include "protocol/job_names.h"

namespace ablate::server {
namespace {

constexpr char kJobColumns[] =
    "SELECT j.id, IFNULL(j.run_id, 0), IFNULL(r.name, ''), IFNULL(s.name, ''), j.kind, "
    "j.spec_json, j.state, j.attempts, j.max_attempts, j.last_error, j.created_unix_ms, "
    "j.updated_unix_ms, "
    "IFNULL((SELECT w.name FROM leases l JOIN workers w ON w.id = l.worker_id "
    "        WHERE l.job_id = j.id AND l.released_unix_ms IS NULL), ''), j.result_json "
    "FROM jobs j LEFT JOIN runs r ON r.id = j.run_id LEFT JOIN sweeps s ON s.id = j.sweep_id ";

constexpr char kWorkerColumns[] =
    "SELECT id, name, host, slots, accelerator, state, last_heartbeat_unix_ms FROM workers ";

WorkerInfo ReadWorker(const SqliteStatement& q) {
  WorkerInfo w;
  w.id.value = q.ColumnInt(0);
  w.name = q.ColumnText(1);
  w.host = q.ColumnText(2);
  w.slots = static_cast<int>(q.ColumnInt(3));
  w.device = q.ColumnText(4);
  w.state = q.ColumnText(5);
  w.last_heartbeat_unix_ms = q.ColumnInt(6);
  return w;
}

// Applies a retention job's deletion report to the rows it holds in `table` (keyed by `key`):
// deleted and missing files mark their rows deleted by `job`, failed ones release the hold.
// Rows the job does not hold are counted as ignored and left unchanged. `bind_key(st, i, d)`
// binds the report entry's key at parameter i; `on_failure(d)` records a failed entry.
// Runs inside the caller's WithDb transaction.
template <typename Entry, typename Tally, typename BindKey, typename OnFailure>
Status ApplyDeletionReport(SqliteDb& db, const std::string& table, const std::string& key,
                           int64_t now_unix_ms, JobId job, std::span<const Entry> report,
                           Tally& tally, BindKey bind_key, OnFailure on_failure) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * mark,
      db.Prepare(absl::StrCat("UPDATE ", table,
                              " SET deleted_unix_ms = ?, deleted_by_job_id = ?, "
                              "deleting_job_id = NULL WHERE ",
                              key, " = ? AND deleting_job_id = ?")));
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * release,
      db.Prepare(absl::StrCat("UPDATE ", table, " SET deleting_job_id = NULL WHERE ", key,
                              " = ? AND deleting_job_id = ?")));
  for (const Entry& d : report) {
    const bool failed = d.result == CheckpointDeletion::Result::kFailed;
    SqliteStatement* up = failed ? release : mark;
    up->Reset();
    if (failed) {
      bind_key(*up, 1, d);
      up->Bind(2, job.value);
    } else {
      up->Bind(1, now_unix_ms).Bind(2, job.value);
      bind_key(*up, 3, d);
      up->Bind(4, job.value);
    }
    ABLATE_RETURN_IF_ERROR(up->Run());
    if (sqlite3_changes(db.raw()) == 0) {
      ++tally.ignored;
      continue;
    }
    switch (d.result) {
      case CheckpointDeletion::Result::kDeleted:
        ++tally.deleted;
        tally.bytes_freed += d.bytes_freed;
        break;
      case CheckpointDeletion::Result::kMissing:
        ++tally.missing;
        break;
      case CheckpointDeletion::Result::kFailed:
        ++tally.failed;
        ABLATE_RETURN_IF_ERROR(on_failure(d));
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

// The enums follow protocol/job_names.h's order (one list for the store and the wire).
static_assert(static_cast<std::size_t>(JobKind::kRetention) + 1 == protocol::kJobKindNames.size());
static_assert(static_cast<std::size_t>(JobState::kCancelled) + 1 ==
              protocol::kJobStateNames.size());

std::string_view JobKindName(JobKind kind) {
  return protocol::NameOf(protocol::kJobKindNames, kind, "train");
}
std::optional<JobKind> ParseJobKind(std::string_view name) {
  return protocol::EnumNamed<JobKind>(protocol::kJobKindNames, name);
}
std::string_view JobStateName(JobState state) {
  return protocol::NameOf(protocol::kJobStateNames, state, "pending");
}
std::optional<JobState> ParseJobState(std::string_view name) {
  return protocol::EnumNamed<JobState>(protocol::kJobStateNames, name);
}

StatusOr<std::vector<Job>> SqliteJobStore::QueryJobs(
    SqliteDb& db, const std::string& where, const std::function<void(SqliteStatement&)>& bind) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db.Prepare(std::string(kJobColumns) + where));
  bind(*q);
  std::vector<Job> jobs;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    Job j;
    j.id.value = q->ColumnInt(0);
    j.run.value = q->ColumnInt(1);
    j.run_name = q->ColumnText(2);
    j.sweep = q->ColumnText(3);
    j.kind = ParseJobKind(q->ColumnText(4)).value_or(JobKind::kTrain);
    j.spec_json = q->ColumnText(5);
    j.state = ParseJobState(q->ColumnText(6)).value_or(JobState::kPending);
    j.attempts = static_cast<int>(q->ColumnInt(7));
    j.max_attempts = static_cast<int>(q->ColumnInt(8));
    j.last_error = q->ColumnText(9);
    j.created_unix_ms = q->ColumnInt(10);
    j.updated_unix_ms = q->ColumnInt(11);
    j.worker = q->ColumnText(12);
    j.result_json = q->ColumnText(13);
    jobs.push_back(std::move(j));
  }
  q->Reset();
  return jobs;
}

StatusOr<WorkerInfo> SqliteJobStore::UpsertWorker(const std::string& name, const std::string& host,
                                                  int slots, const std::string& device) {
  if (name.empty()) return absl::InvalidArgumentError("worker name must not be empty");
  if (slots < 1) return absl::InvalidArgumentError("worker slots must be >= 1");
  WorkerInfo result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    const int64_t now = clock_.NowUnixMs();
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * up,
        db.Prepare("INSERT INTO workers (name, host, slots, accelerator, state, "
                   "registered_unix_ms, last_heartbeat_unix_ms) VALUES (?, ?, ?, ?, 'alive', ?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET host = excluded.host, slots = excluded.slots, "
                   "accelerator = excluded.accelerator, state = 'alive', "
                   "last_heartbeat_unix_ms = excluded.last_heartbeat_unix_ms"));
    up->Bind(1, name)
        .Bind(2, host)
        .Bind(3, int64_t{slots})
        .Bind(4, device)
        .Bind(5, now)
        .Bind(6, now);
    ABLATE_RETURN_IF_ERROR(up->Run());
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                            db.Prepare(std::string(kWorkerColumns) + "WHERE name = ?"));
    q->Bind(1, name);
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return absl::InternalError("worker vanished after upsert");
    result = ReadWorker(*q);
    q->Reset();
    return absl::OkStatus();
  }));
  return result;
}

StatusOr<WorkerInfo> SqliteJobStore::GetWorker(WorkerId id) {
  WorkerInfo result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                            db.Prepare(std::string(kWorkerColumns) + "WHERE id = ?"));
    q->Bind(1, id.value);
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return absl::NotFoundError("worker id " + std::to_string(id.value) + " not found");
    result = ReadWorker(*q);
    q->Reset();
    return absl::OkStatus();
  }));
  return result;
}

StatusOr<std::vector<WorkerInfo>> SqliteJobStore::ListWorkers() {
  std::vector<WorkerInfo> result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                            db.Prepare(std::string(kWorkerColumns) + "ORDER BY id"));
    ABLATE_ASSIGN_OR_RETURN(result, q->CollectRows(ReadWorker));
    return absl::OkStatus();
  }));
  return result;
}

Status SqliteJobStore::SaveSweep(const std::string& sweep, const std::string& spec_json,
                                 int max_parallel) {
  return runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * up,
        db.Prepare("INSERT INTO sweeps (name, spec_json, max_parallel, created_unix_ms) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                   "spec_json = excluded.spec_json, max_parallel = excluded.max_parallel"));
    up->Bind(1, sweep)
        .Bind(2, spec_json)
        .Bind(3, int64_t{max_parallel})
        .Bind(4, clock_.NowUnixMs());
    return up->Run();
  });
}

StatusOr<std::vector<SweepInfo>> SqliteJobStore::ListSweeps() {
  std::vector<SweepInfo> result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * q,
        db.Prepare("SELECT id, name, spec_json, max_parallel, created_unix_ms FROM sweeps "
                   "ORDER BY id"));
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      result.push_back(SweepInfo{q->ColumnInt(0), q->ColumnText(1), q->ColumnText(2),
                                 static_cast<int>(q->ColumnInt(3)), q->ColumnInt(4)});
    }
    q->Reset();
    return absl::OkStatus();
  }));
  return result;
}

StatusOr<bool> SqliteJobStore::SweepExists(const std::string& sweep) {
  bool exists = false;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db.Prepare("SELECT 1 FROM sweeps WHERE name = ?"));
    q->Bind(1, sweep);
    ABLATE_ASSIGN_OR_RETURN(exists, q->Step());
    q->Reset();
    return absl::OkStatus();
  }));
  return exists;
}

StatusOr<std::optional<Run>> SqliteJobStore::FindSucceededRun(const std::string& fingerprint) {
  std::optional<int64_t> id;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * q,
        db.Prepare("SELECT id FROM runs WHERE config_fingerprint = ? AND status = 'succeeded' "
                   "ORDER BY id DESC LIMIT 1"));
    q->Bind(1, fingerprint);
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) id = q->ColumnInt(0);
    q->Reset();
    return absl::OkStatus();
  }));
  if (!id) return std::optional<Run>();
  ABLATE_ASSIGN_OR_RETURN(Run run, runs_.GetRun(RunId{*id}));
  return std::optional<Run>(std::move(run));
}

StatusOr<Job> SqliteJobStore::CreateJob(const NewJob& job) {
  if (job.run.has_value() == (job.kind == JobKind::kRetention)) {
    return absl::InvalidArgumentError(job.kind == JobKind::kRetention
                                          ? "a retention job belongs to no run"
                                          : "a train or eval job needs a run");
  }
  JobId id;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    std::optional<int64_t> run_id;
    if (job.run) {
      ABLATE_ASSIGN_OR_RETURN(Run run, runs_.GetRun(*job.run));
      run_id = run.id.value;
    }
    const int64_t now = clock_.NowUnixMs();
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * ins,
        db.Prepare("INSERT INTO jobs (run_id, sweep_id, kind, spec_json, state, priority, "
                   "attempts, max_attempts, created_unix_ms, updated_unix_ms) "
                   "VALUES (?, IFNULL((SELECT id FROM sweeps WHERE name = ?), "
                   "(SELECT sweep_id FROM runs WHERE id = ?)), ?, ?, ?, ?, 0, ?, ?, ?)"));
    ins->Bind(1, run_id)
        .Bind(2, job.sweep)
        .Bind(3, run_id)
        .Bind(4, JobKindName(job.kind))
        .Bind(5, job.spec_json)
        .Bind(6, job.already_done ? "succeeded" : "pending")
        .Bind(7, int64_t{job.priority})
        .Bind(8, int64_t{job.max_attempts})
        .Bind(9, now)
        .Bind(10, now);
    ABLATE_RETURN_IF_ERROR(ins->Run());
    id.value = db.LastInsertRowId();
    return absl::OkStatus();
  }));
  return GetJob(id);
}

StatusOr<Job> SqliteJobStore::GetJob(JobId id) {
  std::vector<Job> jobs;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        jobs, QueryJobs(db, "WHERE j.id = ?", [&](SqliteStatement& q) { q.Bind(1, id.value); }));
    return absl::OkStatus();
  }));
  if (jobs.empty()) return absl::NotFoundError("job " + std::to_string(id.value) + " not found");
  return jobs[0];
}

StatusOr<std::vector<Job>> SqliteJobStore::ListJobs(std::optional<RunId> run,
                                                    const std::string& sweep) {
  std::vector<Job> jobs;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        jobs,
        QueryJobs(db, "WHERE (? = 0 OR j.run_id = ?) AND (? = '' OR s.name = ?) ORDER BY j.id",
                  [&](SqliteStatement& q) {
                    int64_t r = run ? run->value : 0;
                    q.Bind(1, r).Bind(2, r).Bind(3, sweep).Bind(4, sweep);
                  }));
    return absl::OkStatus();
  }));
  return jobs;
}

Status SqliteJobStore::SetTrainRunStatus(const Job& job, RunStatus status) {
  if (job.kind != JobKind::kTrain) return absl::OkStatus();  // eval jobs leave their run alone
  return runs_.SetRunStatus(job.run, status).status();
}

StatusOr<std::optional<std::pair<Job, Lease>>> SqliteJobStore::LeaseNextJob(
    WorkerId worker, int64_t ttl_ms, int64_t retry_elsewhere_ms) {
  std::optional<std::pair<Job, Lease>> result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_RETURN_IF_ERROR(GetWorker(worker).status());
    // Oldest highest-priority pending job whose sweep is below its max_parallel (0 = no limit)
    // and that did not fail on this worker within retry_elsewhere_ms.
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * pick,
        db.Prepare("SELECT j.id FROM jobs j LEFT JOIN sweeps s ON s.id = j.sweep_id "
                   "WHERE j.state = 'pending' AND (s.id IS NULL OR s.max_parallel <= 0 OR "
                   "  (SELECT COUNT(*) FROM jobs j2 WHERE j2.sweep_id = s.id "
                   "   AND j2.state = 'leased') < s.max_parallel) "
                   "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.job_id = j.id "
                   "  AND l.worker_id = ? AND l.outcome = 'failed' AND l.released_unix_ms > ?) "
                   "ORDER BY j.priority DESC, j.id ASC LIMIT 1"));
    pick->Bind(1, worker.value).Bind(2, clock_.NowUnixMs() - retry_elsewhere_ms);
    ABLATE_ASSIGN_OR_RETURN(bool row, pick->Step());
    if (!row) {
      pick->Reset();
      return absl::OkStatus();
    }
    JobId job_id{pick->ColumnInt(0)};
    pick->Reset();
    const int64_t now = clock_.NowUnixMs();
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * up,
                            db.Prepare("UPDATE jobs SET state = 'leased', attempts = attempts + 1, "
                                       "updated_unix_ms = ? WHERE id = ?"));
    up->Bind(1, now).Bind(2, job_id.value);
    ABLATE_RETURN_IF_ERROR(up->Run());
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * ins,
        db.Prepare("INSERT INTO leases (job_id, worker_id, granted_unix_ms, expires_unix_ms) "
                   "VALUES (?, ?, ?, ?)"));
    ins->Bind(1, job_id.value).Bind(2, worker.value).Bind(3, now).Bind(4, now + ttl_ms);
    ABLATE_RETURN_IF_ERROR(ins->Run());
    Lease lease{LeaseId{db.LastInsertRowId()}, job_id, worker, now, now + ttl_ms};
    ABLATE_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
    ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kRunning));
    result.emplace(std::move(job), lease);
    return absl::OkStatus();
  }));
  return result;
}

StatusOr<std::vector<LeaseId>> SqliteJobStore::RenewLeases(WorkerId worker,
                                                           std::span<const LeaseId> leases,
                                                           int64_t ttl_ms) {
  std::vector<LeaseId> stop;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    const int64_t now = clock_.NowUnixMs();
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * beat,
        db.Prepare("UPDATE workers SET last_heartbeat_unix_ms = ?, state = 'alive' WHERE id = ?"));
    beat->Bind(1, now).Bind(2, worker.value);
    ABLATE_RETURN_IF_ERROR(beat->Run());
    if (sqlite3_changes(db.raw()) == 0) {
      return absl::NotFoundError("worker id " + std::to_string(worker.value) + " not found");
    }
    // A lease is still held while it is unreleased and its job is leased (not cancelled): even a
    // late heartbeat keeps it, as long as ExpireLeases has not requeued the job yet.
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * renew,
        db.Prepare("UPDATE leases SET expires_unix_ms = ? WHERE id = ? AND worker_id = ? "
                   "AND released_unix_ms IS NULL AND EXISTS (SELECT 1 FROM jobs j WHERE "
                   "j.id = leases.job_id AND j.state = 'leased')"));
    for (LeaseId lease : leases) {
      renew->Reset();
      renew->Bind(1, now + ttl_ms).Bind(2, lease.value).Bind(3, worker.value);
      ABLATE_RETURN_IF_ERROR(renew->Run());
      if (sqlite3_changes(db.raw()) == 0) stop.push_back(lease);
    }
    return absl::OkStatus();
  }));
  return stop;
}

StatusOr<bool> SqliteJobStore::RetryOrFail(SqliteDb& db, const Job& job,
                                           const std::string& reason) {
  const bool retry = job.attempts < job.max_attempts;
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * up,
      db.Prepare("UPDATE jobs SET state = ?, last_error = ?, updated_unix_ms = ? WHERE id = ?"));
  up->Bind(1, retry ? "pending" : "failed")
      .Bind(2, reason)
      .Bind(3, clock_.NowUnixMs())
      .Bind(4, job.id.value);
  ABLATE_RETURN_IF_ERROR(up->Run());
  ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, retry ? RunStatus::kQueued : RunStatus::kFailed));
  return retry;
}

StatusOr<CompletionResult> SqliteJobStore::CompleteLease(LeaseId lease, JobOutcome outcome,
                                                         const std::string& reason) {
  CompletionResult result;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(Job job, GetHeldLeaseJob(lease));
    const JobId job_id = job.id;
    const int64_t now = clock_.NowUnixMs();
    // leases.outcome allows succeeded/failed/expired/cancelled: a diverged job ended its lease
    // as failed, a released one as expired (given back before its time).
    const char* lease_outcome = "failed";
    if (outcome == JobOutcome::kSucceeded) lease_outcome = "succeeded";
    if (outcome == JobOutcome::kCancelled) lease_outcome = "cancelled";
    if (outcome == JobOutcome::kReleased) lease_outcome = "expired";
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * rel,
        db.Prepare("UPDATE leases SET released_unix_ms = ?, outcome = ? WHERE id = ?"));
    rel->Bind(1, now).Bind(2, lease_outcome).Bind(3, lease.value);
    ABLATE_RETURN_IF_ERROR(rel->Run());

    auto set_job = [&](const char* state, int attempts_delta) -> Status {
      ABLATE_ASSIGN_OR_RETURN(
          SqliteStatement * up,
          db.Prepare("UPDATE jobs SET state = ?, last_error = ?, attempts = attempts + ?, "
                     "updated_unix_ms = ? WHERE id = ?"));
      up->Bind(1, state)
          .Bind(2, reason)
          .Bind(3, int64_t{attempts_delta})
          .Bind(4, now)
          .Bind(5, job.id.value);
      return up->Run();
    };
    if (job.state == JobState::kCancelled) {
      // Cancelled by a user while running: stays cancelled whatever the worker reports.
    } else if (outcome == JobOutcome::kSucceeded) {
      ABLATE_RETURN_IF_ERROR(set_job("succeeded", 0));
      ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kSucceeded));
    } else if (outcome == JobOutcome::kDiverged) {
      ABLATE_RETURN_IF_ERROR(set_job("failed", 0));
      ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kDiverged));
    } else if (outcome == JobOutcome::kCancelled) {
      ABLATE_RETURN_IF_ERROR(set_job("cancelled", 0));
      ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kCancelled));
    } else if (outcome == JobOutcome::kReleased) {
      ABLATE_RETURN_IF_ERROR(set_job("pending", -1));
      ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kQueued));
      result.will_retry = true;
    } else {
      ABLATE_ASSIGN_OR_RETURN(result.will_retry, RetryOrFail(db, job, reason));
    }
    ABLATE_RETURN_IF_ERROR(ReleaseHoldsIfEnded(db, job_id));
    ABLATE_ASSIGN_OR_RETURN(result.job, GetJob(job_id));
    return absl::OkStatus();
  }));
  return result;
}

StatusOr<int> SqliteJobStore::ExpireLeases() {
  int expired = 0;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    const int64_t now = clock_.NowUnixMs();
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * q,
        db.Prepare(
            "SELECT l.id, l.job_id, w.name FROM leases l JOIN workers w ON "
            "w.id = l.worker_id WHERE l.released_unix_ms IS NULL AND l.expires_unix_ms < ?"));
    q->Bind(1, now);
    std::vector<std::tuple<int64_t, int64_t, std::string>> rows;
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      rows.emplace_back(q->ColumnInt(0), q->ColumnInt(1), q->ColumnText(2));
    }
    q->Reset();
    for (const auto& [lease_id, job_id, worker] : rows) {
      ABLATE_ASSIGN_OR_RETURN(
          SqliteStatement * rel,
          db.Prepare("UPDATE leases SET released_unix_ms = ?, outcome = 'expired' WHERE id = ?"));
      rel->Bind(1, now).Bind(2, lease_id);
      ABLATE_RETURN_IF_ERROR(rel->Run());
      ABLATE_ASSIGN_OR_RETURN(Job job, GetJob(JobId{job_id}));
      if (job.state == JobState::kLeased) {
        ABLATE_RETURN_IF_ERROR(
            RetryOrFail(db, job, "lease expired: worker '" + worker + "' stopped heartbeating")
                .status());
      }
      ABLATE_RETURN_IF_ERROR(ReleaseHoldsIfEnded(db, job.id));
      ++expired;
    }
    return absl::OkStatus();
  }));
  return expired;
}

StatusOr<int> SqliteJobStore::CancelJobs(std::optional<RunId> run, const std::string& sweep) {
  int cancelled = 0;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        std::vector<Job> jobs,
        QueryJobs(db,
                  "WHERE j.state IN ('pending', 'leased') AND (? = 0 OR j.run_id = ?) AND "
                  "(? = '' OR s.name = ?) ORDER BY j.id",
                  [&](SqliteStatement& q) {
                    int64_t r = run ? run->value : 0;
                    q.Bind(1, r).Bind(2, r).Bind(3, sweep).Bind(4, sweep);
                  }));
    for (const Job& job : jobs) {
      ABLATE_RETURN_IF_ERROR(MarkCancelled(db, job));
      ++cancelled;
    }
    return absl::OkStatus();
  }));
  return cancelled;
}

Status SqliteJobStore::MarkCancelled(SqliteDb& db, const Job& job) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * up,
      db.Prepare("UPDATE jobs SET state = 'cancelled', updated_unix_ms = ? WHERE id = ?"));
  up->Bind(1, clock_.NowUnixMs()).Bind(2, job.id.value);
  ABLATE_RETURN_IF_ERROR(up->Run());
  ABLATE_RETURN_IF_ERROR(SetTrainRunStatus(job, RunStatus::kCancelled));
  return ReleaseHoldsIfEnded(db, job.id);
}

StatusOr<bool> SqliteJobStore::CancelJob(JobId job_id) {
  bool cancelled = false;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(Job job, GetJob(job_id));
    if (job.state != JobState::kPending && job.state != JobState::kLeased) return absl::OkStatus();
    ABLATE_RETURN_IF_ERROR(MarkCancelled(db, job));
    cancelled = true;
    return absl::OkStatus();
  }));
  return cancelled;
}

StatusOr<int> SqliteJobStore::StopRun(RunId run, int64_t step, const std::string& reason) {
  int ended = 0;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_RETURN_IF_ERROR(runs_.GetRun(run).status());
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * up,
        db.Prepare("UPDATE jobs SET state = 'cancelled', last_error = ?, updated_unix_ms = ? "
                   "WHERE run_id = ? AND kind = 'train' AND state IN ('pending', 'leased')"));
    up->Bind(1, reason).Bind(2, clock_.NowUnixMs()).Bind(3, run.value);
    ABLATE_RETURN_IF_ERROR(up->Run());
    ended = sqlite3_changes(db.raw());
    return runs_.MarkRunStopped(run, step, reason).status();
  }));
  return ended;
}

Status SqliteJobStore::ReleaseHoldsIfEnded(SqliteDb& db, JobId job) {
  // A cancelled job whose lease is still held keeps its holds: its worker may be deleting right
  // now, until it notices the cancellation or its lease expires.
  for (const char* table : {"checkpoints", "evaluation_gallery"}) {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * up,
        db.Prepare(absl::StrCat("UPDATE ", table,
                                " SET deleting_job_id = NULL WHERE deleting_job_id = ?1 AND "
                                "EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND "
                                "        state IN ('succeeded', 'failed', 'cancelled')) AND "
                                "NOT EXISTS (SELECT 1 FROM leases WHERE job_id = ?1 AND "
                                "            released_unix_ms IS NULL)")));
    up->Bind(1, job.value);
    ABLATE_RETURN_IF_ERROR(up->Run());
  }
  return absl::OkStatus();
}

StatusOr<Job> SqliteJobStore::GetHeldLeaseJob(LeaseId lease) {
  Job job;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * find,
        db.Prepare("SELECT job_id, released_unix_ms IS NOT NULL FROM leases WHERE id = ?"));
    find->Bind(1, lease.value);
    ABLATE_ASSIGN_OR_RETURN(bool row, find->Step());
    if (!row) return absl::NotFoundError("lease " + std::to_string(lease.value) + " not found");
    JobId job_id{find->ColumnInt(0)};
    bool released = find->ColumnInt(1) != 0;
    find->Reset();
    if (released) {
      return absl::FailedPreconditionError("lease " + std::to_string(lease.value) +
                                           " is no longer held (expired or already completed)");
    }
    ABLATE_ASSIGN_OR_RETURN(job, GetJob(job_id));
    return absl::OkStatus();
  }));
  return job;
}

StatusOr<std::vector<Checkpoint>> SqliteJobStore::HoldCheckpointsForDeletion(
    JobId job, std::span<const CheckpointId> checkpoints) {
  std::vector<Checkpoint> held;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * hold,
        db.Prepare("UPDATE checkpoints SET deleting_job_id = ? WHERE id = ? AND pinned = 0 AND "
                   "deleted_unix_ms IS NULL AND deleting_job_id IS NULL"));
    for (CheckpointId id : checkpoints) {
      hold->Reset();
      hold->Bind(1, job.value).Bind(2, id.value);
      ABLATE_RETURN_IF_ERROR(hold->Run());
    }
    ABLATE_ASSIGN_OR_RETURN(held, CheckpointsHeldBy(job));
    return absl::OkStatus();
  }));
  return held;
}

StatusOr<std::vector<Checkpoint>> SqliteJobStore::CheckpointsHeldBy(JobId job) {
  std::vector<Checkpoint> held;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                            db.Prepare("SELECT id FROM checkpoints WHERE deleting_job_id = ? "
                                       "ORDER BY run_id, step, id"));
    q->Bind(1, job.value);
    std::vector<int64_t> ids;
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ids.push_back(q->ColumnInt(0));
    }
    q->Reset();
    for (int64_t id : ids) {
      ABLATE_ASSIGN_OR_RETURN(Checkpoint c, runs_.GetCheckpoint(CheckpointId{id}));
      held.push_back(std::move(c));
    }
    return absl::OkStatus();
  }));
  return held;
}

StatusOr<DeletionTally> SqliteJobStore::RecordCheckpointDeletions(
    JobId job, std::span<const CheckpointDeletion> report) {
  DeletionTally tally;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    return ApplyDeletionReport(
        db, "checkpoints", "id", clock_.NowUnixMs(), job, report, tally,
        [](SqliteStatement& st, int index, const CheckpointDeletion& d) {
          st.Bind(index, d.checkpoint.value);
        },
        [&](const CheckpointDeletion& d) -> Status {
          ABLATE_ASSIGN_OR_RETURN(Checkpoint c, runs_.GetCheckpoint(d.checkpoint));
          tally.failures.emplace_back(std::move(c), d.reason);
          return absl::OkStatus();
        });
  }));
  return tally;
}

StatusOr<std::vector<GalleryFile>> SqliteJobStore::HoldGalleryFilesForDeletion(
    JobId job, std::span<const std::string> uris) {
  std::vector<GalleryFile> held;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(
        SqliteStatement * hold,
        db.Prepare("UPDATE evaluation_gallery SET deleting_job_id = ? WHERE uri = ? AND "
                   "deleted_unix_ms IS NULL AND deleting_job_id IS NULL"));
    for (const std::string& uri : uris) {
      hold->Reset();
      hold->Bind(1, job.value).Bind(2, uri);
      ABLATE_RETURN_IF_ERROR(hold->Run());
    }
    ABLATE_ASSIGN_OR_RETURN(held, GalleryFilesHeldBy(job));
    return absl::OkStatus();
  }));
  return held;
}

StatusOr<std::vector<GalleryFile>> SqliteJobStore::GalleryFilesHeldBy(JobId job) {
  if (job.value == 0) return std::vector<GalleryFile>{};
  GalleryFileFilter filter;
  filter.deleting_job_id = job.value;
  return runs_.ListGalleryFiles(filter);
}

StatusOr<GalleryDeletionTally> SqliteJobStore::RecordGalleryDeletions(
    JobId job, std::span<const GalleryFileDeletion> report) {
  GalleryDeletionTally tally;
  ABLATE_RETURN_IF_ERROR(runs_.WithDb([&](SqliteDb& db) -> Status {
    return ApplyDeletionReport(
        db, "evaluation_gallery", "uri", clock_.NowUnixMs(), job, report, tally,
        [](SqliteStatement& st, int index, const GalleryFileDeletion& d) { st.Bind(index, d.uri); },
        [&](const GalleryFileDeletion& d) -> Status {
          tally.failures.emplace_back(d.uri, d.reason);
          return absl::OkStatus();
        });
  }));
  return tally;
}

Status SqliteJobStore::SetJobResult(JobId job, const std::string& result_json) {
  return runs_.WithDb([&](SqliteDb& db) -> Status {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * up,
                            db.Prepare("UPDATE jobs SET result_json = ? WHERE id = ?"));
    up->Bind(1, result_json).Bind(2, job.value);
    ABLATE_RETURN_IF_ERROR(up->Run());
    if (sqlite3_changes(db.raw()) == 0) {
      return absl::NotFoundError("job " + std::to_string(job.value) + " not found");
    }
    return absl::OkStatus();
  });
}

}  // namespace ablate::server
