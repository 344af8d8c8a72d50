#include "server/sqlite_run_store.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/canonical_json.h"

namespace ablate::server {
namespace {

const SystemClock kSystemClock;

constexpr char kRunColumns[] =
    "SELECT r.id, r.name, IFNULL(s.name, ''), r.status, r.config_json, r.config_fingerprint, "
    "r.parent_run_id, IFNULL(pr.name, ''), r.parent_checkpoint_id, IFNULL(pc.name, ''), "
    "r.created_unix_ms, r.updated_unix_ms, r.stopped_at_step, r.stop_reason "
    "FROM runs r LEFT JOIN sweeps s ON s.id = r.sweep_id "
    "LEFT JOIN runs pr ON pr.id = r.parent_run_id "
    "LEFT JOIN checkpoints pc ON pc.id = r.parent_checkpoint_id ";

constexpr char kCheckpointColumns[] =
    "SELECT c.id, c.run_id, r.name, c.name, c.step, c.epoch, c.loss, c.uri, c.sha256, c.bytes, "
    "c.pinned, c.created_unix_ms, c.deleted_unix_ms, IFNULL(c.deleted_by_job_id, 0), "
    "IFNULL(c.deleting_job_id, 0) FROM checkpoints c JOIN runs r ON r.id = c.run_id ";

constexpr char kEvaluationColumns[] =
    "SELECT e.id, e.run_id, r.name, e.checkpoint_id, IFNULL(c.name, ''), e.iou_type, "
    "e.score_threshold, e.top_k, e.nms_iou, e.max_dets, e.dataset_fingerprint, e.created_unix_ms, "
    "e.AP, e.AP50, e.AP75, e.APs, e.APm, e.APl, e.AR1, e.AR10, e.AR100, e.ARs, e.ARm, e.ARl, "
    "e.detections, e.images, e.detections_per_image_max, e.results_bytes, e.gallery_uri, "
    "e.gallery_seed "
    "FROM evaluations e JOIN runs r ON r.id = e.run_id "
    "LEFT JOIN checkpoints c ON c.id = e.checkpoint_id ";

Run ReadRun(const SqliteStatement& s) {
  Run r;
  r.id = RunId{s.ColumnInt(0)};
  r.name = s.ColumnText(1);
  r.sweep = s.ColumnText(2);
  r.status = ParseRunStatus(s.ColumnText(3)).value_or(RunStatus::kQueued);
  r.config_json = s.ColumnText(4);
  r.config_fingerprint = s.ColumnText(5);
  if (auto p = s.ColumnOptInt(6)) r.parent_run = RunId{*p};
  r.parent_run_name = s.ColumnText(7);
  if (auto p = s.ColumnOptInt(8)) r.parent_checkpoint = CheckpointId{*p};
  r.parent_checkpoint_name = s.ColumnText(9);
  r.created_unix_ms = s.ColumnInt(10);
  r.updated_unix_ms = s.ColumnInt(11);
  r.stopped_at_step = s.ColumnOptInt(12);
  r.stop_reason = s.ColumnText(13);
  return r;
}

// Columns: step, key, value.
MetricPoint ReadMetricPoint(const SqliteStatement& s) {
  return MetricPoint{s.ColumnInt(0), s.ColumnText(1), s.ColumnDouble(2)};
}

Checkpoint ReadCheckpoint(const SqliteStatement& s) {
  Checkpoint c;
  c.id = CheckpointId{s.ColumnInt(0)};
  c.run_id = RunId{s.ColumnInt(1)};
  c.run_name = s.ColumnText(2);
  c.name = s.ColumnText(3);
  c.step = s.ColumnInt(4);
  c.epoch = s.ColumnInt(5);
  c.loss = s.ColumnOptDouble(6);
  c.uri = s.ColumnText(7);
  c.sha256 = s.ColumnText(8);
  c.bytes = s.ColumnInt(9);
  c.pinned = s.ColumnInt(10) != 0;
  c.created_unix_ms = s.ColumnInt(11);
  c.deleted_unix_ms = s.ColumnOptInt(12);
  c.deleted_by_job_id = s.ColumnInt(13);
  c.deleting_job_id = s.ColumnInt(14);
  return c;
}

Evaluation ReadEvaluation(const SqliteStatement& s) {
  Evaluation e;
  e.id = EvaluationId{s.ColumnInt(0)};
  e.run_id = RunId{s.ColumnInt(1)};
  e.run_name = s.ColumnText(2);
  if (auto c = s.ColumnOptInt(3)) e.checkpoint_id = CheckpointId{*c};
  e.checkpoint_name = s.ColumnText(4);
  e.settings.iou_type = ParseIouType(s.ColumnText(5)).value_or(IouType::kBbox);
  e.settings.score_threshold = s.ColumnOptDouble(6);
  e.settings.top_k = s.ColumnOptInt(7);
  e.settings.nms_iou = s.ColumnOptDouble(8);
  e.settings.max_dets = s.ColumnOptInt(9);
  e.settings.dataset_fingerprint = s.ColumnText(10);
  e.created_unix_ms = s.ColumnInt(11);
  for (int i = 0; i < kNumCocoStats; ++i) e.stats[i] = s.ColumnDouble(12 + i);
  // detections and images are written together (0004_evaluation_outputs.sql).
  if (auto detections = s.ColumnOptInt(24)) {
    e.outputs = EvaluationOutputs{*detections, s.ColumnOptInt(25).value_or(0), s.ColumnOptInt(26),
                                  s.ColumnOptInt(27)};
  }
  if (!s.ColumnIsNull(28)) {
    e.gallery = Gallery{s.ColumnText(28), s.ColumnOptInt(29).value_or(0), {}};
  }
  return e;
}

// Whether two passes counted the same detections (a max known on one side only is no
// difference; results_bytes is a by-product, not compared).
bool SameCounts(const EvaluationOutputs& a, const EvaluationOutputs& b) {
  return a.detections == b.detections && a.images == b.images &&
         (!a.detections_per_image_max || !b.detections_per_image_max ||
          a.detections_per_image_max == b.detections_per_image_max);
}

std::string StatusList(const std::vector<RunStatus>& statuses) {
  std::vector<std::string> quoted;
  for (RunStatus st : statuses)
    quoted.push_back(absl::StrCat("'", std::string(RunStatusName(st)), "'"));
  return absl::StrJoin(quoted, ", ");
}

}  // namespace

StatusOr<std::unique_ptr<SqliteRunStore>> SqliteRunStore::Open(
    const SqliteRunStoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("database path is empty");
  const Clock* clock = options.clock ? options.clock : &kSystemClock;
  ABLATE_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(options.path));
  ABLATE_RETURN_IF_ERROR(db->Exec(absl::StrCat("PRAGMA busy_timeout = ", options.busy_timeout_ms)));
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * wal, db->Prepare("PRAGMA journal_mode = WAL"));
  ABLATE_ASSIGN_OR_RETURN(bool row, wal->Step());
  std::string mode = row ? wal->ColumnText(0) : "";
  wal->Reset();
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot switch ", options.path, " to WAL journal mode (got '", mode, "')"));
  }
  ABLATE_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"));
  ABLATE_ASSIGN_OR_RETURN(MigrationReport report, Migrate(*db, *clock));
  auto store = std::unique_ptr<SqliteRunStore>(new SqliteRunStore(std::move(db), clock));
  store->migration_report_ = report;
  return store;
}

// The analysis cannot follow a lock taken on one path only (joining takes none); the header's
// annotations state the contract these implement.
SqliteRunStore::Session::Session(SqliteRunStore& store, Mode mode) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : store_(store) {
  if (store_.owner_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    store_.mu_.Lock();
    store_.owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    took_lock_ = true;
  }
  if (mode == Mode::kWrite && !store_.tx_open_) {
    auto tx = SqliteTransaction::Begin(*store_.db_);
    if (!tx.ok()) {
      status_ = tx.status();
      return;
    }
    tx_ = *std::move(tx);
    store_.tx_open_ = true;
  }
}

SqliteRunStore::Session::~Session() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (tx_ != nullptr) {
    tx_.reset();  // rolls back unless committed
    store_.tx_open_ = false;
  }
  if (took_lock_) {
    store_.owner_.store(std::thread::id(), std::memory_order_relaxed);
    store_.mu_.Unlock();
  }
}

Status SqliteRunStore::Session::Commit() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (tx_ == nullptr) return absl::OkStatus();
  Status st = tx_->Commit();
  if (!st.ok()) return st;  // the destructor rolls back
  tx_.reset();
  store_.tx_open_ = false;
  return absl::OkStatus();
}

Status SqliteRunStore::Transact(const std::function<Status()>& body) {
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_RETURN_IF_ERROR(body());  // an error rolls back
  return session.Commit();
}

Status SqliteRunStore::WithDb(const std::function<Status(SqliteDb&)>& body) {
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_RETURN_IF_ERROR(body(*db_));  // an error rolls back
  return session.Commit();
}

StatusOr<int64_t> SqliteRunStore::EnsureSweepLocked(const std::string& name) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * find,
                          db_->Prepare("SELECT id FROM sweeps WHERE name = ?"));
  find->Bind(1, name);
  ABLATE_ASSIGN_OR_RETURN(bool row, find->Step());
  if (row) {
    int64_t id = find->ColumnInt(0);
    find->Reset();
    return id;
  }
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * ins,
                          db_->Prepare("INSERT INTO sweeps (name, created_unix_ms) VALUES (?, ?)"));
  ins->Bind(1, name).Bind(2, clock_->NowUnixMs());
  ABLATE_RETURN_IF_ERROR(ins->Run());
  return db_->LastInsertRowId();
}

StatusOr<std::vector<Run>> SqliteRunStore::QueryRunsLocked(
    const std::string& where, const std::function<void(SqliteStatement&)>& bind) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db_->Prepare(kRunColumns + where));
  bind(*q);
  return q->CollectRows(ReadRun);
}

StatusOr<std::vector<Checkpoint>> SqliteRunStore::QueryCheckpointsLocked(
    const std::string& where, const std::function<void(SqliteStatement&)>& bind) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db_->Prepare(kCheckpointColumns + where));
  bind(*q);
  return q->CollectRows(ReadCheckpoint);
}

StatusOr<std::vector<Evaluation>> SqliteRunStore::QueryEvaluationsLocked(
    const std::string& where, const std::function<void(SqliteStatement&)>& bind) {
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db_->Prepare(kEvaluationColumns + where));
  bind(*q);
  ABLATE_ASSIGN_OR_RETURN(std::vector<Evaluation> out, q->CollectRows(ReadEvaluation));
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * cats,
      db_->Prepare("SELECT category_id, category_name, ap FROM evaluation_category_ap "
                   "WHERE evaluation_id = ? ORDER BY category_id"));
  for (Evaluation& e : out) {
    cats->Reset();
    cats->Bind(1, e.id.value);
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, cats->Step());
      if (!row) break;
      e.per_category.push_back(
          CategoryAp{cats->ColumnInt(0), cats->ColumnText(1), cats->ColumnDouble(2)});
    }
  }
  cats->Reset();
  // Only evaluations with a gallery pay for this query (most have none). The gallery shown is
  // pass 0; later passes are files registered for retention (ListGalleryFiles).
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * images,
      db_->Prepare("SELECT image_id, uri, bytes, detections, deleted_unix_ms, "
                   "IFNULL(deleted_by_job_id, 0), IFNULL(deleting_job_id, 0) "
                   "FROM evaluation_gallery WHERE evaluation_id = ? AND pass = 0 "
                   "ORDER BY image_id"));
  for (Evaluation& e : out) {
    if (!e.gallery) continue;
    images->Reset();
    images->Bind(1, e.id.value);
    while (true) {
      ABLATE_ASSIGN_OR_RETURN(bool row, images->Step());
      if (!row) break;
      GalleryImage image{images->ColumnInt(0), images->ColumnText(1), images->ColumnInt(2),
                         images->ColumnInt(3)};
      image.deleted_unix_ms = images->ColumnOptInt(4);
      image.deleted_by_job_id = images->ColumnInt(5);
      image.deleting_job_id = images->ColumnInt(6);
      e.gallery->images.push_back(std::move(image));
    }
  }
  images->Reset();
  return out;
}

StatusOr<Created<Run>> SqliteRunStore::CreateRun(const NewRun& run) {
  if (!run.config.is_object()) {
    return absl::InvalidArgumentError("run config must be a JSON object");
  }
  if (run.status == RunStatus::kStopped) {
    return absl::InvalidArgumentError(
        "a run cannot be created stopped: early stopping stops a trial, with the step and the "
        "reason");
  }

  ABLATE_RETURN_IF_ERROR(ValidateRunName(run.name));
  const std::string config_json = CanonicalJson(run.config);
  const std::string fingerprint = ConfigFingerprint(run.config);
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  if (!run.name.empty()) {
    auto existing = FindRunByNameLocked(run.name);
    if (existing.ok()) {
      if (existing->config_fingerprint != fingerprint ||
          existing->parent_checkpoint != run.parent_checkpoint) {
        return absl::AlreadyExistsError(
            absl::StrCat("run '", run.name, "' already exists with a different config or parent (",
                         existing->config_fingerprint, " vs ", fingerprint, ")"));
      }
      ABLATE_RETURN_IF_ERROR(session.Commit());
      return Created<Run>{*std::move(existing), false};
    }
    if (!absl::IsNotFound(existing.status())) return existing.status();
  }
  std::optional<int64_t> sweep_id;
  if (!run.sweep.empty()) {
    ABLATE_ASSIGN_OR_RETURN(sweep_id, EnsureSweepLocked(run.sweep));
  }
  std::optional<int64_t> parent_run, parent_ckpt;
  if (run.parent_checkpoint) {
    ABLATE_ASSIGN_OR_RETURN(Checkpoint parent, GetCheckpointLocked(*run.parent_checkpoint));
    parent_run = parent.run_id.value;
    parent_ckpt = parent.id.value;
  }
  const int64_t now = clock_->NowUnixMs();
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * ins,
      db_->Prepare("INSERT INTO runs (name, sweep_id, status, config_json, config_fingerprint, "
                   "parent_run_id, parent_checkpoint_id, created_unix_ms, updated_unix_ms) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  // A unique placeholder name until the id is known.
  const std::string name =
      run.name.empty() ? absl::StrCat("run-pending-", now, "-", reinterpret_cast<uintptr_t>(&run))
                       : run.name;
  ins->Bind(1, name)
      .Bind(2, sweep_id)
      .Bind(3, RunStatusName(run.status))
      .Bind(4, config_json)
      .Bind(5, fingerprint)
      .Bind(6, parent_run)
      .Bind(7, parent_ckpt)
      .Bind(8, now)
      .Bind(9, now);
  ABLATE_RETURN_IF_ERROR(ins->Run());
  const int64_t id = db_->LastInsertRowId();
  if (run.name.empty()) {
    ABLATE_ASSIGN_OR_RETURN(SqliteStatement * upd,
                            db_->Prepare("UPDATE runs SET name = ? WHERE id = ?"));
    upd->Bind(1, absl::StrCat("run-", id)).Bind(2, id);
    ABLATE_RETURN_IF_ERROR(upd->Run());
  }
  ABLATE_ASSIGN_OR_RETURN(Run created, GetRunLocked(RunId{id}));
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return Created<Run>{std::move(created), true};
}

StatusOr<Run> SqliteRunStore::GetRun(RunId id) {
  Session session(*this, Session::Mode::kRead);
  return GetRunLocked(id);
}

StatusOr<Run> SqliteRunStore::GetRunLocked(RunId id) {
  ABLATE_ASSIGN_OR_RETURN(auto runs, QueryRunsLocked("WHERE r.id = ?", [&](SqliteStatement& s) {
                            s.Bind(1, id.value);
                          }));
  if (runs.empty()) return absl::NotFoundError(absl::StrCat("run id ", id.value, " not found"));
  return std::move(runs[0]);
}

StatusOr<Run> SqliteRunStore::FindRunByName(std::string_view name) {
  Session session(*this, Session::Mode::kRead);
  return FindRunByNameLocked(name);
}

StatusOr<Run> SqliteRunStore::FindRunByNameLocked(std::string_view name) {
  ABLATE_ASSIGN_OR_RETURN(
      auto runs, QueryRunsLocked("WHERE r.name = ?", [&](SqliteStatement& s) { s.Bind(1, name); }));
  if (runs.empty()) {
    return absl::NotFoundError(absl::StrCat("run '", std::string(name), "' not found"));
  }
  return std::move(runs[0]);
}

StatusOr<std::vector<Run>> SqliteRunStore::ListRuns(const RunFilter& filter) {
  std::string where = "WHERE r.id > ?1";
  if (!filter.sweep.empty()) where += " AND s.name = ?2";
  if (!filter.name_prefix.empty()) where += " AND substr(r.name, 1, length(?3)) = ?3";
  if (!filter.statuses.empty()) where += " AND r.status IN (" + StatusList(filter.statuses) + ")";
  where += " ORDER BY r.id LIMIT ?4";
  Session session(*this, Session::Mode::kRead);
  return QueryRunsLocked(where, [&](SqliteStatement& s) {
    s.Bind(1, filter.after_id);
    if (!filter.sweep.empty()) s.Bind(2, filter.sweep);
    if (!filter.name_prefix.empty()) s.Bind(3, filter.name_prefix);
    s.Bind(4, static_cast<int64_t>(filter.limit));
  });
}

StatusOr<Run> SqliteRunStore::SetRunStatus(RunId id, RunStatus status) {
  if (status == RunStatus::kStopped) {
    return absl::InvalidArgumentError(
        "status stopped is set by a sweep's early stopping, with the step and the reason; it "
        "cannot be set directly");
  }
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * upd,
      db_->Prepare("UPDATE runs SET status = ?, updated_unix_ms = ?, stopped_at_step = NULL, "
                   "stop_reason = '' WHERE id = ?"));
  upd->Bind(1, RunStatusName(status)).Bind(2, clock_->NowUnixMs()).Bind(3, id.value);
  ABLATE_RETURN_IF_ERROR(upd->Run());
  if (sqlite3_changes(db_->raw()) == 0) {
    return absl::NotFoundError(absl::StrCat("run id ", id.value, " not found"));
  }
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return GetRunLocked(id);
}

StatusOr<Run> SqliteRunStore::MarkRunStopped(RunId id, int64_t step, const std::string& reason) {
  if (step < 0) return absl::InvalidArgumentError(absl::StrCat("stop step ", step, " is negative"));
  if (reason.empty()) return absl::InvalidArgumentError("a stopped run needs a reason");
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * upd,
                          db_->Prepare("UPDATE runs SET status = 'stopped', updated_unix_ms = ?, "
                                       "stopped_at_step = ?, stop_reason = ? WHERE id = ?"));
  upd->Bind(1, clock_->NowUnixMs()).Bind(2, step).Bind(3, reason).Bind(4, id.value);
  ABLATE_RETURN_IF_ERROR(upd->Run());
  if (sqlite3_changes(db_->raw()) == 0) {
    return absl::NotFoundError(absl::StrCat("run id ", id.value, " not found"));
  }
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return GetRunLocked(id);
}

Status SqliteRunStore::LogMetrics(RunId run, std::span<const MetricPoint> points) {
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_RETURN_IF_ERROR(GetRunLocked(run).status());
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * ins,
      db_->Prepare("INSERT INTO metric_points (run_id, step, key, value) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value"));
  for (const MetricPoint& p : points) {
    ins->Reset();
    ins->Bind(1, run.value).Bind(2, p.step).Bind(3, p.key).Bind(4, p.value);
    ABLATE_RETURN_IF_ERROR(ins->Run());
  }
  return session.Commit();
}

StatusOr<std::vector<MetricPoint>> SqliteRunStore::LatestMetrics(RunId run) {
  Session session(*this, Session::Mode::kRead);
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * q,
      db_->Prepare("SELECT m.step, m.key, m.value FROM metric_points m WHERE m.run_id = ?1 AND "
                   "m.step = (SELECT MAX(step) FROM metric_points WHERE run_id = ?1 AND "
                   "key = m.key) ORDER BY m.key"));
  q->Bind(1, run.value);
  return q->CollectRows(ReadMetricPoint);
}

StatusOr<std::vector<MetricPoint>> SqliteRunStore::ListMetrics(RunId run, std::string_view key) {
  Session session(*this, Session::Mode::kRead);
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q,
                          db_->Prepare("SELECT step, key, value FROM metric_points "
                                       "WHERE run_id = ? AND key = ? ORDER BY step"));
  q->Bind(1, run.value).Bind(2, key);
  return q->CollectRows(ReadMetricPoint);
}

StatusOr<Created<Checkpoint>> SqliteRunStore::RegisterCheckpoint(const NewCheckpoint& c) {
  if (c.name.empty()) return absl::InvalidArgumentError("checkpoint name is empty");
  ABLATE_RETURN_IF_ERROR(ValidateCheckpointUri(c.uri));
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_ASSIGN_OR_RETURN(Run run, GetRunLocked(c.run));
  ABLATE_ASSIGN_OR_RETURN(
      auto existing,
      QueryCheckpointsLocked("WHERE c.run_id = ? AND c.name = ?",
                             [&](SqliteStatement& s) { s.Bind(1, c.run.value).Bind(2, c.name); }));
  if (!existing.empty()) {
    const Checkpoint& e = existing[0];
    if (e.step != c.step || e.sha256 != c.sha256 || e.uri != c.uri) {
      return absl::AlreadyExistsError(
          absl::StrCat("checkpoint '", c.name, "' of run '", run.name,
                       "' is already registered with a different step, uri or sha256"));
    }
    ABLATE_RETURN_IF_ERROR(session.Commit());
    return Created<Checkpoint>{e, false};
  }
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * ins,
      db_->Prepare("INSERT INTO checkpoints (run_id, name, step, epoch, loss, uri, sha256, bytes, "
                   "pinned, created_unix_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, c.run.value)
      .Bind(2, c.name)
      .Bind(3, c.step)
      .Bind(4, c.epoch)
      .Bind(5, c.loss)
      .Bind(6, c.uri)
      .Bind(7, c.sha256)
      .Bind(8, c.bytes)
      .Bind(9, static_cast<int64_t>(c.pinned ? 1 : 0))
      .Bind(10, clock_->NowUnixMs());
  ABLATE_RETURN_IF_ERROR(ins->Run());
  ABLATE_ASSIGN_OR_RETURN(Checkpoint created,
                          GetCheckpointLocked(CheckpointId{db_->LastInsertRowId()}));
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return Created<Checkpoint>{std::move(created), true};
}

StatusOr<Checkpoint> SqliteRunStore::GetCheckpoint(CheckpointId id) {
  Session session(*this, Session::Mode::kRead);
  return GetCheckpointLocked(id);
}

StatusOr<Checkpoint> SqliteRunStore::GetCheckpointLocked(CheckpointId id) {
  ABLATE_ASSIGN_OR_RETURN(
      auto found,
      QueryCheckpointsLocked("WHERE c.id = ?", [&](SqliteStatement& s) { s.Bind(1, id.value); }));
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("checkpoint id ", id.value, " not found"));
  }
  return std::move(found[0]);
}

StatusOr<std::vector<Checkpoint>> SqliteRunStore::ListCheckpoints(std::optional<RunId> run) {
  Session session(*this, Session::Mode::kRead);
  if (run) {
    return QueryCheckpointsLocked("WHERE c.run_id = ? ORDER BY c.run_id, c.step, c.id",
                                  [&](SqliteStatement& s) { s.Bind(1, run->value); });
  }
  return QueryCheckpointsLocked("ORDER BY c.run_id, c.step, c.id", [](SqliteStatement&) {});
}

StatusOr<std::vector<Checkpoint>> SqliteRunStore::FindCheckpointsByNamePrefix(
    std::string_view prefix, std::optional<RunId> run) {
  std::string where = "WHERE substr(c.name, 1, length(?1)) = ?1";
  if (run) where += " AND c.run_id = ?2";
  where += " ORDER BY c.run_id, c.step, c.id";
  Session session(*this, Session::Mode::kRead);
  return QueryCheckpointsLocked(where, [&](SqliteStatement& s) {
    s.Bind(1, prefix);
    if (run) s.Bind(2, run->value);
  });
}

Status SqliteRunStore::WriteOutputsLocked(int64_t evaluation_id, const EvaluationOutputs& o) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * upd,
      db_->Prepare("UPDATE evaluations SET detections = ?, images = ?, "
                   "detections_per_image_max = ?, results_bytes = ? WHERE id = ?"));
  upd->Bind(1, o.detections)
      .Bind(2, o.images)
      .Bind(3, o.detections_per_image_max)
      .Bind(4, o.results_bytes)
      .Bind(5, evaluation_id);
  return upd->Run();
}

Status SqliteRunStore::WriteGalleryLocked(int64_t evaluation_id, const Gallery& g) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * upd,
      db_->Prepare("UPDATE evaluations SET gallery_uri = ?, gallery_seed = ? WHERE id = ?"));
  upd->Bind(1, g.dir_uri).Bind(2, g.seed).Bind(3, evaluation_id);
  ABLATE_RETURN_IF_ERROR(upd->Run());
  return WriteGalleryFilesLocked(evaluation_id, /*pass=*/0, g.images);
}

Status SqliteRunStore::WriteGalleryFilesLocked(int64_t evaluation_id, int64_t pass,
                                               const std::vector<GalleryImage>& images) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * ins,
      db_->Prepare("INSERT INTO evaluation_gallery (evaluation_id, pass, image_id, uri, bytes, "
                   "detections) VALUES (?, ?, ?, ?, ?, ?)"));
  for (const GalleryImage& image : images) {
    ins->Reset();
    ins->Bind(1, evaluation_id)
        .Bind(2, pass)
        .Bind(3, image.image_id)
        .Bind(4, image.uri)
        .Bind(5, image.bytes)
        .Bind(6, image.detections);
    ABLATE_RETURN_IF_ERROR(ins->Run());
  }
  return absl::OkStatus();
}

Status SqliteRunStore::WriteLaterGalleryPassLocked(int64_t evaluation_id, const Gallery& g) {
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * known,
      db_->Prepare("SELECT 1 FROM evaluation_gallery WHERE evaluation_id = ? AND uri = ?"));
  std::vector<GalleryImage> fresh;
  for (const GalleryImage& image : g.images) {
    known->Reset();
    known->Bind(1, evaluation_id).Bind(2, image.uri);
    ABLATE_ASSIGN_OR_RETURN(bool row, known->Step());
    if (!row) fresh.push_back(image);
  }
  known->Reset();
  if (fresh.empty()) return absl::OkStatus();  // a retry, or the same folder written again
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * next,
                          db_->Prepare("SELECT IFNULL(MAX(pass), -1) + 1 FROM evaluation_gallery "
                                       "WHERE evaluation_id = ?"));
  next->Bind(1, evaluation_id);
  ABLATE_ASSIGN_OR_RETURN(bool row, next->Step());
  const int64_t pass = row ? next->ColumnInt(0) : 0;
  next->Reset();
  return WriteGalleryFilesLocked(evaluation_id, pass, fresh);
}

StatusOr<Checkpoint> SqliteRunStore::SetCheckpointPinned(CheckpointId id, bool pinned) {
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_ASSIGN_OR_RETURN(Checkpoint c, GetCheckpointLocked(id));
  if (pinned && c.deleted()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot pin checkpoint ", c.run_name, "/", c.name,
                     ": its file was deleted by retention job ", c.deleted_by_job_id));
  }
  if (pinned && c.deleting_job_id != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot pin checkpoint ", c.run_name, "/",
                                                      c.name, ": retention job ", c.deleting_job_id,
                                                      " is deleting its file (see `ablate jobs`)"));
  }
  // The same conditions again in SQL: the row cannot change between the read and this write
  // (one transaction on the store's one connection), but the write must never pin a row that
  // a retention job holds.
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * upd,
      db_->Prepare("UPDATE checkpoints SET pinned = ? WHERE id = ? AND (? = 0 OR "
                   "(deleted_unix_ms IS NULL AND deleting_job_id IS NULL))"));
  const int64_t value = pinned ? 1 : 0;
  upd->Bind(1, value).Bind(2, id.value).Bind(3, value);
  ABLATE_RETURN_IF_ERROR(upd->Run());
  if (sqlite3_changes(db_->raw()) != 1) {
    return absl::InternalError(absl::StrCat("checkpoint id ", id.value, " changed while pinning"));
  }
  ABLATE_ASSIGN_OR_RETURN(Checkpoint result, GetCheckpointLocked(id));
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return result;
}

StatusOr<Created<Evaluation>> SqliteRunStore::RecordEvaluation(const NewEvaluation& e) {
  if (e.settings.dataset_fingerprint.empty()) {
    return absl::InvalidArgumentError("evaluation settings need a dataset_fingerprint");
  }
  if (e.outputs) ABLATE_RETURN_IF_ERROR(ValidateEvaluationOutputs(*e.outputs));
  if (e.gallery) ABLATE_RETURN_IF_ERROR(ValidateGallery(*e.gallery));
  const std::string key = EvalKey(e.settings);
  Session session(*this, Session::Mode::kWrite);
  ABLATE_RETURN_IF_ERROR(session.status());
  ABLATE_ASSIGN_OR_RETURN(Run run, GetRunLocked(e.run));
  if (e.checkpoint) {
    ABLATE_ASSIGN_OR_RETURN(Checkpoint ckpt, GetCheckpointLocked(*e.checkpoint));
    if (ckpt.run_id != e.run) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint '", ckpt.name,
                                                     "' belongs to run '", ckpt.run_name,
                                                     "', not to run '", run.name, "'"));
    }
  }
  std::optional<int64_t> ckpt_id;
  if (e.checkpoint) ckpt_id = e.checkpoint->value;
  ABLATE_ASSIGN_OR_RETURN(
      auto existing, QueryEvaluationsLocked("WHERE e.run_id = ? AND IFNULL(e.checkpoint_id, 0) = "
                                            "IFNULL(?, 0) AND e.eval_key = ?",
                                            [&](SqliteStatement& s) {
                                              s.Bind(1, e.run.value).Bind(2, ckpt_id).Bind(3, key);
                                            }));
  if (!existing.empty()) {
    Evaluation& old = existing[0];
    const std::string what =
        absl::StrCat("an evaluation of run '", run.name, "'",
                     e.checkpoint ? " checkpoint '" + old.checkpoint_name + "'" : "",
                     " with settings ", key, " is already recorded");
    if (old.stats != e.stats) {
      return absl::AlreadyExistsError(
          absl::StrCat(what, " with different stats (AP ", old.stats[0], " vs ", e.stats[0], ")"));
    }
    if (old.outputs && e.outputs && !SameCounts(*old.outputs, *e.outputs)) {
      return absl::AlreadyExistsError(
          absl::StrCat(what, " with different detection counts (", old.outputs->detections, " vs ",
                       e.outputs->detections, " detections on ", old.outputs->images, " vs ",
                       e.outputs->images, " images)"));
    }
    // By-products recorded first are kept; an evaluation without them gets them now.
    bool filled = false;
    if (!old.outputs && e.outputs) {
      ABLATE_RETURN_IF_ERROR(WriteOutputsLocked(old.id.value, *e.outputs));
      filled = true;
    }
    if (!old.gallery && e.gallery) {
      ABLATE_RETURN_IF_ERROR(WriteGalleryLocked(old.id.value, *e.gallery));
      filled = true;
    } else if (e.gallery) {
      // Not shown, but on disk: registered so that retention deletes these files too.
      ABLATE_RETURN_IF_ERROR(WriteLaterGalleryPassLocked(old.id.value, *e.gallery));
    }
    if (filled) {
      ABLATE_ASSIGN_OR_RETURN(
          existing, QueryEvaluationsLocked("WHERE e.id = ?",
                                           [&](SqliteStatement& s) { s.Bind(1, old.id.value); }));
    }
    ABLATE_RETURN_IF_ERROR(session.Commit());
    return Created<Evaluation>{std::move(existing.at(0)), false};
  }
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * ins,
      db_->Prepare("INSERT INTO evaluations (run_id, checkpoint_id, iou_type, score_threshold, "
                   "top_k, nms_iou, max_dets, dataset_fingerprint, eval_key, AP, AP50, AP75, "
                   "APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl, created_unix_ms) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, e.run.value)
      .Bind(2, ckpt_id)
      .Bind(3, IouTypeName(e.settings.iou_type))
      .Bind(4, e.settings.score_threshold)
      .Bind(5, e.settings.top_k)
      .Bind(6, e.settings.nms_iou)
      .Bind(7, e.settings.max_dets)
      .Bind(8, e.settings.dataset_fingerprint)
      .Bind(9, key);
  for (int i = 0; i < kNumCocoStats; ++i) ins->Bind(10 + i, e.stats[i]);
  ins->Bind(22, clock_->NowUnixMs());
  ABLATE_RETURN_IF_ERROR(ins->Run());
  const int64_t id = db_->LastInsertRowId();
  ABLATE_ASSIGN_OR_RETURN(
      SqliteStatement * cat,
      db_->Prepare("INSERT INTO evaluation_category_ap (evaluation_id, category_id, "
                   "category_name, ap) VALUES (?, ?, ?, ?)"));
  for (const CategoryAp& c : e.per_category) {
    cat->Reset();
    cat->Bind(1, id).Bind(2, c.category_id).Bind(3, c.category_name).Bind(4, c.ap);
    Status cs = cat->Run();
    if (absl::IsAlreadyExists(cs)) {
      return absl::InvalidArgumentError(
          absl::StrCat("per-category AP lists category ", c.category_id, " twice"));
    }
    ABLATE_RETURN_IF_ERROR(cs);
  }
  if (e.outputs) ABLATE_RETURN_IF_ERROR(WriteOutputsLocked(id, *e.outputs));
  if (e.gallery) ABLATE_RETURN_IF_ERROR(WriteGalleryLocked(id, *e.gallery));
  ABLATE_ASSIGN_OR_RETURN(
      auto created,
      QueryEvaluationsLocked("WHERE e.id = ?", [&](SqliteStatement& s) { s.Bind(1, id); }));
  ABLATE_RETURN_IF_ERROR(session.Commit());
  return Created<Evaluation>{std::move(created.at(0)), true};
}

StatusOr<std::vector<Evaluation>> SqliteRunStore::ListEvaluations(const EvaluationFilter& filter) {
  std::string where = "LEFT JOIN sweeps s ON s.id = r.sweep_id WHERE 1";
  if (filter.run) where += " AND e.run_id = ?1";
  if (filter.iou_type) where += " AND e.iou_type = ?2";
  if (!filter.sweep.empty()) where += " AND s.name = ?3";
  if (!filter.statuses.empty()) where += " AND r.status IN (" + StatusList(filter.statuses) + ")";
  where += " ORDER BY e.id";
  Session session(*this, Session::Mode::kRead);
  return QueryEvaluationsLocked(where, [&](SqliteStatement& s) {
    if (filter.run) s.Bind(1, filter.run->value);
    if (filter.iou_type) s.Bind(2, IouTypeName(*filter.iou_type));
    if (!filter.sweep.empty()) s.Bind(3, filter.sweep);
  });
}

StatusOr<std::vector<GalleryFile>> SqliteRunStore::ListGalleryFiles(
    const GalleryFileFilter& filter) {
  std::string sql =
      "SELECT g.evaluation_id, e.run_id, r.name, e.checkpoint_id, IFNULL(c.name, ''), g.pass, "
      "g.image_id, g.uri, g.bytes, g.deleted_unix_ms, IFNULL(g.deleted_by_job_id, 0), "
      "IFNULL(g.deleting_job_id, 0) FROM evaluation_gallery g "
      "JOIN evaluations e ON e.id = g.evaluation_id JOIN runs r ON r.id = e.run_id "
      "LEFT JOIN checkpoints c ON c.id = e.checkpoint_id WHERE 1";
  if (filter.run) sql += " AND e.run_id = ?1";
  if (filter.checkpoint) sql += " AND e.checkpoint_id = ?2";
  if (filter.evaluation) sql += " AND g.evaluation_id = ?3";
  if (!filter.include_deleted) sql += " AND g.deleted_unix_ms IS NULL";
  if (filter.deleting_job_id != 0) sql += " AND g.deleting_job_id = ?4";
  sql += " ORDER BY e.run_id, IFNULL(e.checkpoint_id, 0), g.evaluation_id, g.pass, g.image_id";
  Session session(*this, Session::Mode::kRead);
  ABLATE_ASSIGN_OR_RETURN(SqliteStatement * q, db_->Prepare(sql));
  if (filter.run) q->Bind(1, filter.run->value);
  if (filter.checkpoint) q->Bind(2, filter.checkpoint->value);
  if (filter.evaluation) q->Bind(3, filter.evaluation->value);
  if (filter.deleting_job_id != 0) q->Bind(4, filter.deleting_job_id);
  std::vector<GalleryFile> out;
  while (true) {
    ABLATE_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    GalleryFile f;
    f.evaluation = EvaluationId{q->ColumnInt(0)};
    f.run = RunId{q->ColumnInt(1)};
    f.run_name = q->ColumnText(2);
    if (auto c = q->ColumnOptInt(3)) f.checkpoint = CheckpointId{*c};
    f.checkpoint_name = q->ColumnText(4);
    f.pass = q->ColumnInt(5);
    f.image_id = q->ColumnInt(6);
    f.uri = q->ColumnText(7);
    f.bytes = q->ColumnInt(8);
    f.deleted_unix_ms = q->ColumnOptInt(9);
    f.deleted_by_job_id = q->ColumnInt(10);
    f.deleting_job_id = q->ColumnInt(11);
    out.push_back(std::move(f));
  }
  q->Reset();
  return out;
}

}  // namespace ablate::server
