// The coordinator's persistence contract. Services, the scheduler and the diary import talk to
// storage only through RunStore; code that only reads (the leaderboard, compare, references, the
// dashboard) through its query half, RunReader. SqliteRunStore (sqlite_run_store.h) is the one
// RunStore.
//
// Thread safety: implementations are safe to call from any thread. Every write is durable when
// the call returns OK (an "acknowledged write").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/coco_stats.h"
#include "common/status.h"

namespace ablate::server {

struct RunId {
  int64_t value = 0;
  friend auto operator<=>(RunId, RunId) = default;
};
struct CheckpointId {
  int64_t value = 0;
  friend auto operator<=>(CheckpointId, CheckpointId) = default;
};
struct EvaluationId {
  int64_t value = 0;
  friend auto operator<=>(EvaluationId, EvaluationId) = default;
};

// kStopped: a sweep trial ended by its sweep's early_stop rule (docs/sweeps.md "Early stopping");
// Run::stopped_at_step and Run::stop_reason say where and why.
enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kDiverged, kStopped };
// "queued", "running", ... (the strings stored in SQLite and printed by the CLI).
std::string_view RunStatusName(RunStatus status);
std::optional<RunStatus> ParseRunStatus(std::string_view name);

enum class IouType { kBbox, kSegm };
std::string_view IouTypeName(IouType type);  // "bbox" / "segm"
std::optional<IouType> ParseIouType(std::string_view name);

// How an evaluation was made. Unset optionals mean "unknown" and are a value of their own.
struct EvalSettings {
  IouType iou_type = IouType::kBbox;
  std::optional<double> score_threshold;
  std::optional<int64_t> top_k;
  std::optional<double> nms_iou;
  std::optional<int64_t> max_dets;
  std::string dataset_fingerprint;  // required, e.g. "sha256:<hex>" or "diary:<file>"
};

// Canonical text of the settings, e.g.
// "bbox|score_threshold=0.05|top_k=100|nms_iou=?|max_dets=100|dataset=diary:notes.txt".
// Two evaluations are comparable exactly when their eval keys are equal.
std::string EvalKey(const EvalSettings& settings);
// Human-readable list of what differs, e.g. {"score_threshold 0.05 vs 0.005"}; empty if equal.
std::vector<std::string> EvalSettingsDifferences(const EvalSettings& a, const EvalSettings& b);

struct Run {
  RunId id;
  std::string name;
  std::string sweep;  // empty: none
  RunStatus status = RunStatus::kQueued;
  std::string config_json;  // canonical JSON
  std::string config_fingerprint;
  std::optional<RunId> parent_run;
  std::string parent_run_name;
  std::optional<CheckpointId> parent_checkpoint;
  std::string parent_checkpoint_name;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
  // Set only while status is kStopped: the rung (evaluated step) it was stopped at, and why.
  std::optional<int64_t> stopped_at_step;
  std::string stop_reason;
};

struct NewRun {
  std::string name;                                  // empty: "run-<id>"
  std::string sweep;                                 // empty: none; created on first use
  nlohmann::json config = nlohmann::json::object();  // must be an object
  RunStatus status = RunStatus::kQueued;
  std::optional<CheckpointId> parent_checkpoint;  // parent run = the checkpoint's run
};

struct Checkpoint {
  CheckpointId id;
  RunId run_id;
  std::string run_name;
  std::string name;
  int64_t step = 0;
  int64_t epoch = 0;
  std::optional<double> loss;
  std::string uri;
  std::string sha256;
  int64_t bytes = 0;
  bool pinned = false;
  int64_t created_unix_ms = 0;
  // Retention (docs/retention.md). A deleted checkpoint keeps its row; only its file is gone.
  std::optional<int64_t> deleted_unix_ms;  // set: a retention job deleted (or found no) file
  int64_t deleted_by_job_id = 0;           // that job; 0 while not deleted
  int64_t deleting_job_id = 0;             // non-zero: a retention job holds it for deletion

  bool deleted() const { return deleted_unix_ms.has_value(); }
};

struct NewCheckpoint {
  RunId run;
  std::string name;  // required
  int64_t step = 0;
  int64_t epoch = 0;
  std::optional<double> loss;
  std::string uri;
  std::string sha256;
  int64_t bytes = 0;
  bool pinned = false;
};

struct CategoryAp {
  int64_t category_id = 0;
  std::string category_name;
  double ap = 0;
};

// What one pass of the evaluator produced besides the COCO tables (issue 7). The bbox and the
// segm evaluation of one pass carry the same values. The per-image max and the results size are
// nullopt when not reported (ablate-train builds from before issue 7 report only the two counts).
struct EvaluationOutputs {
  int64_t detections = 0;                           // detections written, over all evaluated images
  int64_t images = 0;                               // images evaluated
  std::optional<int64_t> detections_per_image_max;  // most detections on one image
  std::optional<int64_t> results_bytes;  // size of the COCO results file written; 0: none
  // detections / images; nullopt when no image was evaluated.
  std::optional<double> DetectionsPerImageMean() const;
  friend bool operator==(const EvaluationOutputs&, const EvaluationOutputs&) = default;
};

// One annotated validation image of a gallery: a JPEG with the evaluation's detections drawn.
struct GalleryImage {
  int64_t image_id = 0;    // the COCO image id in the validation set
  std::string uri;         // file:///abs/dir/000012.jpg, directly inside Gallery::dir_uri
  int64_t bytes = 0;       // file size
  int64_t detections = 0;  // detections drawn on it
  // Retention (docs/retention.md "Galleries"), like Checkpoint's: set by the store, ignored in
  // NewEvaluation. A deleted image keeps its row; only its file is gone.
  std::optional<int64_t> deleted_unix_ms =
      std::nullopt;               // set: retention deleted (or found no) file
  int64_t deleted_by_job_id = 0;  // that job; 0 while not deleted
  int64_t deleting_job_id = 0;    // non-zero: a retention job holds it for deletion

  bool deleted() const { return deleted_unix_ms.has_value(); }
  friend bool operator==(const GalleryImage&, const GalleryImage&) = default;
};

// A fixed, seeded sample of validation images annotated by one evaluation pass: the same image
// ids for every run evaluated with the same seed on the same dataset, so two runs can be shown
// side by side. Files live on the worker's (shared) filesystem, like checkpoints.
struct Gallery {
  std::string dir_uri;               // file:///abs/dir
  int64_t seed = 0;                  // seed of the sample
  std::vector<GalleryImage> images;  // sorted by image_id
  // True when it has images and retention deleted every one of them.
  bool AllDeleted() const;
  // The retention job that deleted its images (the newest when several did); 0: none deleted.
  int64_t DeletedByJob() const;
  friend bool operator==(const Gallery&, const Gallery&) = default;
};

// The checks RecordEvaluation applies (see NewEvaluation); InvalidArgument naming the field.
Status ValidateEvaluationOutputs(const EvaluationOutputs& outputs);
Status ValidateGallery(const Gallery& gallery);

// Run names become folder names on workers (<work dir>/runs/<name>). InvalidArgument naming the
// run for a '/', '\\' or NUL in it, for "." and "..", and for more than kMaxRunNameBytes bytes.
// An empty name is allowed (CreateRun then names the run itself).
inline constexpr size_t kMaxRunNameBytes = 200;
Status ValidateRunName(const std::string& name);
// A checkpoint URI that starts with "file:" names a file retention may delete, so it must be
// file:///absolute/path with no '.' or '..' component and no NUL (InvalidArgument otherwise).
// Any other text (e.g. a diary's bare "step0200000.pt") is an opaque reference no process opens.
Status ValidateCheckpointUri(const std::string& uri);

struct Evaluation {
  EvaluationId id;
  RunId run_id;
  std::string run_name;
  std::optional<CheckpointId> checkpoint_id;
  std::string checkpoint_name;
  EvalSettings settings;
  CocoStats stats{};
  std::vector<CategoryAp> per_category;
  std::optional<EvaluationOutputs> outputs;  // nullopt: not recorded (diary imports, old workers)
  // nullopt: no gallery. The gallery recorded first (pass 0); files of later identical passes
  // are registered for retention only (ListGalleryFiles lists them).
  std::optional<Gallery> gallery;
  int64_t created_unix_ms = 0;
};

struct NewEvaluation {
  RunId run;
  std::optional<CheckpointId> checkpoint;  // must belong to `run`
  EvalSettings settings;
  CocoStats stats{};
  std::vector<CategoryAp> per_category;
  // Optional. InvalidArgument for negative counts, a per-image max above the total, or
  // detections without images.
  std::optional<EvaluationOutputs> outputs;
  // Optional. InvalidArgument unless dir_uri is file:///abs/dir and every image's uri is a
  // .jpg/.jpeg file directly inside it (no '..'), image ids are unique and sizes/counts are >= 0.
  std::optional<Gallery> gallery;
};

struct MetricPoint {
  int64_t step = 0;
  std::string key;
  double value = 0;
};

struct RunFilter {
  std::string sweep;                // empty: any
  std::vector<RunStatus> statuses;  // empty: any
  std::string name_prefix;
  int64_t after_id = 0;  // paging: only runs with id > after_id
  int limit = 100;
};

struct EvaluationFilter {
  std::optional<RunId> run;
  std::optional<IouType> iou_type;
  std::string sweep;
  std::vector<RunStatus> statuses;
};

// Retention hook (issue 7): one gallery file as recorded for one evaluation.
struct GalleryFile {
  EvaluationId evaluation;
  RunId run;
  std::string run_name;
  std::optional<CheckpointId> checkpoint;  // the evaluated checkpoint; nullopt: none
  std::string checkpoint_name;
  int64_t pass = 0;  // 0: the gallery the evaluation shows; 1, 2...: later identical passes
  int64_t image_id = 0;
  std::string uri;  // file:///abs/dir/NNNNNN.jpg
  int64_t bytes = 0;
  std::optional<int64_t> deleted_unix_ms =
      std::nullopt;  // set: retention deleted (or found no) file
  int64_t deleted_by_job_id = 0;
  int64_t deleting_job_id = 0;  // non-zero: a retention job holds it for deletion

  bool deleted() const { return deleted_unix_ms.has_value(); }
};

// Which gallery files to list; unset fields match everything.
struct GalleryFileFilter {
  std::optional<RunId> run;
  std::optional<CheckpointId> checkpoint;
  std::optional<EvaluationId> evaluation;
  bool include_deleted = true;  // false: only files not deleted yet
  int64_t deleting_job_id = 0;  // non-zero: only files this retention job holds
};

// A write result that says whether the natural key was new (false: an identical row existed and
// was returned unchanged — an idempotent retry).
template <typename T>
struct Created {
  T value;
  bool created = false;
};

// Every query of the store, and nothing that writes: what the leaderboard, compare, references
// and the dashboard need. SqliteRunStore implements it as part of RunStore; the dashboard's
// SnapshotRunReader (dashboard/store_snapshot.h) over an in-memory copy.
class RunReader {
 public:
  virtual ~RunReader() = default;

  // NotFound names the id / name.
  virtual StatusOr<Run> GetRun(RunId id) = 0;
  virtual StatusOr<Run> FindRunByName(std::string_view name) = 0;
  // Ordered by id ascending.
  virtual StatusOr<std::vector<Run>> ListRuns(const RunFilter& filter) = 0;

  // The point with the largest step of every key, sorted by key.
  virtual StatusOr<std::vector<MetricPoint>> LatestMetrics(RunId run) = 0;
  virtual StatusOr<std::vector<MetricPoint>> ListMetrics(RunId run, std::string_view key) = 0;

  virtual StatusOr<Checkpoint> GetCheckpoint(CheckpointId id) = 0;
  // Sorted by run id, then step.
  virtual StatusOr<std::vector<Checkpoint>> ListCheckpoints(std::optional<RunId> run) = 0;
  // Checkpoints whose name starts with `prefix` (byte-wise), optionally in one run.
  virtual StatusOr<std::vector<Checkpoint>> FindCheckpointsByNamePrefix(
      std::string_view prefix, std::optional<RunId> run) = 0;

  // Sorted by id, with outputs and gallery (images included).
  virtual StatusOr<std::vector<Evaluation>> ListEvaluations(const EvaluationFilter& filter) = 0;

  // Retention hook (issue 7): the gallery files recorded for the matching evaluations (every
  // pass), sorted by run, checkpoint, evaluation, pass, image id. The bbox and segm evaluations
  // of one evaluator pass list the same files: count bytes and delete files once per distinct
  // uri. Files are on the workers' shared filesystem; the dashboard serves a deleted one as 410
  // and one missing on disk as 404.
  virtual StatusOr<std::vector<GalleryFile>> ListGalleryFiles(const GalleryFileFilter& filter) = 0;
};

// The queries and every write.
class RunStore : public RunReader {
 public:
  // Runs `body` in one transaction: every write made through this store inside it commits
  // together when body returns OK, or none does. Other callers wait until it finishes; calls
  // made inside `body` on the calling thread join it.
  virtual Status Transact(const std::function<Status()>& body) = 0;

  // AlreadyExists when the name is taken by a run with a different config; an identical
  // (name, config) returns the existing run with created=false. InvalidArgument for a config that
  // is not a JSON object or status kStopped. NotFound for an unknown parent checkpoint.
  virtual StatusOr<Created<Run>> CreateRun(const NewRun& run) = 0;
  // Any status but kStopped (InvalidArgument: early stopping sets it, with MarkRunStopped);
  // leaving kStopped clears stopped_at_step and stop_reason. NotFound for an unknown id.
  virtual StatusOr<Run> SetRunStatus(RunId id, RunStatus status) = 0;
  // Status kStopped with the step it was stopped at (>= 0) and the reason (non-empty):
  // InvalidArgument otherwise, NotFound for an unknown id. Jobs are not touched
  // (JobStore::StopRun ends them and calls this).
  virtual StatusOr<Run> MarkRunStopped(RunId id, int64_t step, const std::string& reason) = 0;

  // Upserts every point in one transaction; the same (run, step, key) keeps one row, last value.
  virtual Status LogMetrics(RunId run, std::span<const MetricPoint> points) = 0;

  // Natural key (run, name). Same key and same step/sha256/uri: created=false; different
  // content: AlreadyExists. A deleted checkpoint is returned as it is (still deleted).
  virtual StatusOr<Created<Checkpoint>> RegisterCheckpoint(const NewCheckpoint& checkpoint) = 0;
  // Sets or clears `pinned` (retention never deletes a pinned checkpoint) and returns the row.
  // Pinning is refused with FailedPrecondition, naming the checkpoint and the job, when the
  // checkpoint was deleted or a retention job holds it for deletion; unpinning always succeeds.
  // NotFound for an unknown id.
  virtual StatusOr<Checkpoint> SetCheckpointPinned(CheckpointId id, bool pinned) = 0;

  // Natural key (run, checkpoint, eval key). Same key and same stats: created=false; different
  // stats: AlreadyExists naming both values of AP. The detection counts are results like the
  // stats: an existing evaluation with other counts is AlreadyExists naming both totals. The
  // results size and the gallery are by-products: an existing evaluation keeps the ones recorded
  // first, and gets them when it had none (e.g. recorded by an older worker). A gallery of a
  // later identical pass written elsewhere (a second eval job) is not shown, but its files that
  // are not registered yet for this evaluation are registered as the next pass, so retention
  // deletes them with the others (a retry of the same record registers nothing new).
  virtual StatusOr<Created<Evaluation>> RecordEvaluation(const NewEvaluation& evaluation) = 0;
};

}  // namespace ablate::server
