// Helpers shared by the CLI commands: client flags, error exit, stat/JSON conversion, tables.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ablate/v1/coordinator.pb.h"
#include "cli/coordinator_client.h"
#include "common/coco_stats.h"
#include "common/status.h"

namespace ablate::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

struct ClientFlags {
  std::string server = kDefaultServer;
  bool json = false;
  std::string token_file;  // empty: $ABLATE_TOKEN, if set
  std::string tls_ca;      // empty: plaintext
};

// Adds --server (env ABLATE_SERVER, default 127.0.0.1:50051), --json, --token-file (env
// ABLATE_TOKEN_FILE; else the token itself may come from ABLATE_TOKEN) and --tls-ca (env
// ABLATE_TLS_CA).
void AddClientFlags(CLI::App* cmd, ClientFlags& flags);

// A client for flags.server with its token and TLS; Fail()s on an unreadable token or CA file.
// Warns on stderr about a token file that others may read.
CoordinatorClient ConnectOrFail(const ClientFlags& flags);

// Prints "error: <message>" to stderr and ends the command with exit code 1.
[[noreturn]] void Fail(const Status& status);

// Unwraps a StatusOr or Fail()s.
template <typename T>
T OrFail(StatusOr<T> v) {
  if (!v.ok()) Fail(v.status());
  return *std::move(v);
}

v1::RunRef RunRefFromText(const std::string& text);  // always by name; the server falls back to id

CocoStats StatsFromProto(const v1::CocoStats& p);
void StatsToProto(const CocoStats& s, v1::CocoStats* p);
nlohmann::json StatsJson(const v1::CocoStats& p);  // {"AP": ..., ..., "ARl": ...}
std::string IouName(v1::IouType t);                // "bbox" / "segm"
std::string StatusName(v1::RunStatus s);           // "queued", ..., "stopped"
// StatusName, with the step for a stopped run: "stopped@300".
std::string RunStatusText(const v1::Run& r);
nlohmann::json SettingsJson(const v1::EvalSettings& s);
std::string SettingsText(const v1::EvalSettings& s);  // "score_threshold=0.05 top_k=100 ..."
// Includes "stopped_at_step" and "stop_reason" (null unless the run is stopped).
nlohmann::json RunJson(const v1::Run& r);
// {"id", "run", "name", ..., "pinned", "state": "kept"|"deleting"|"deleted", "deleted_unix_ms",
//  "deleted_by_job", "deleting_job"} (the last three null when not set).
nlohmann::json CheckpointJson(const v1::Checkpoint& c);
// Includes "outputs" (detection counts; null when not recorded) and "gallery" (null: none).
std::string CheckpointState(const v1::Checkpoint& c);      // "kept", "deleting", "deleted"
std::string CheckpointStateText(const v1::Checkpoint& c);  // "deleted (job 7)", ...
nlohmann::json EvaluationJson(const v1::Evaluation& e);
// {"detections", "images", "detections_per_image_mean", "detections_per_image_max",
// "results_bytes"}; unknown values are null.
nlohmann::json OutputsJson(const v1::EvaluationOutputs& o);
// {"dir_uri", "dir", "seed", "count", "state", "deleted_by_job", "images": [{"image_id", "uri",
// "bytes", "detections", "state", "deleted_by_job"}]}; state as GalleryState / CheckpointState,
// deleted_by_job null while nothing was deleted.
nlohmann::json GalleryJson(const v1::Gallery& g);
// Retention of a gallery's files (docs/retention.md "Galleries"): "kept", "deleting" (a job holds
// some), "deleted" (every image), "partly deleted".
std::string GalleryState(const v1::Gallery& g);
// "kept", "deleting (job 7)", "deleted (job 7)", "partly deleted (job 7)".
std::string GalleryStateText(const v1::Gallery& g);
// "/abs/dir" for "file:///abs/dir"; other URIs unchanged.
std::string PathOfUri(const std::string& uri);
// "512 B", "47.1 KB", "1.1 MB" (1024-based, as the dashboard shows sizes).
std::string HumanBytes(int64_t bytes);

std::string Fixed(double v, int digits = 3);   // "0.268"
std::string Signed(double v, int digits = 3);  // "+0.006"
std::string Bytes(int64_t bytes);              // "512 B", "3.4 KiB", "1.2 MiB", "2.05 GiB"

// `ablate show`'s per-evaluation detection counts: id, checkpoint, iou, score_threshold,
// detections, per-image mean and max, results size, gallery ("N images in /dir", then
// ", deleted (job 7)" once retention deleted its files); "-" where an evaluation recorded none
// (diary imports, older workers).
std::string DetectionsTable(const google::protobuf::RepeatedPtrField<v1::Evaluation>& evaluations);

// Aligned plain-text table; numeric-looking cells are right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ablate::cli
