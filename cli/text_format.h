// What the CLI prints for people (without --json): aligned tables, fixed-point numbers, status and
// retention-state words, settings in one line, the detections table of `ablate show`. Sizes are
// common/human_bytes.h HumanBytes; the --json side is proto_json.h.
//
// Pure functions; Table is a value type (not shared between threads).
#pragma once

#include <string>
#include <vector>

#include "ablate/v1/coordinator.pb.h"

namespace ablate::cli {

std::string IouName(v1::IouType t);       // "bbox" / "segm"
std::string StatusName(v1::RunStatus s);  // "queued", ..., "stopped"; "unspecified"
// StatusName, with the step for a stopped run: "stopped@300".
std::string RunStatusText(const v1::Run& r);
std::string SettingsText(const v1::EvalSettings& s);  // "score_threshold=0.05 top_k=100 ..."

// Retention of a checkpoint's file: "kept", "deleting", "deleted" (server/record_json.h
// FileState), and with the job: "deleted (job 7)", ...
std::string CheckpointState(const v1::Checkpoint& c);
std::string CheckpointStateText(const v1::Checkpoint& c);
// Retention of a gallery's files (docs/retention.md "Galleries"): "kept", "deleting" (a job holds
// some), "deleted" (every image), "partly deleted"; with the job: "kept", "deleting (job 7)",
// "deleted (job 7)", "partly deleted (job 7)".
std::string GalleryState(const v1::Gallery& g);
std::string GalleryStateText(const v1::Gallery& g);

std::string Fixed(double v, int digits = 3);   // "0.268"
std::string Signed(double v, int digits = 3);  // "+0.006"

// `ablate show`'s per-evaluation detection counts: id, checkpoint, iou, score_threshold,
// detections, per-image mean and max, results size (HumanBytes), gallery ("N images in /dir",
// then ", deleted (job 7)" once retention deleted its files); "-" where an evaluation recorded
// none (diary imports, older workers).
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
