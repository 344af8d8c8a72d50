// Reads the stdout of a user's trainer with `output: summaries` (issue 14): the text a training
// script prints anyway — log lines, checkpoint names, pycocotools COCOeval.summarize() tables —
// turned into the trial events the worker forwards (protocol/trial_events.h).
//
// What is recognised, line by line (docs/worker-protocol.md, "output: summaries"):
// - A summary table: the 12 lines summarize() prints ("Average Precision  (AP) @[ IoU=0.50:0.95 |
//   area=   all | maxDets=100 ] = 0.312", then AP50, AP75, APs/m/l, AR1, AR10, AR100, ARs/m/l),
//   in that order (AR1/AR10/AR100 by ascending maxDets, so a changed maxDets reads), any prefix
//   before "Average" (timestamps), blank lines allowed between them. Each complete table becomes
//   one evaluation; a table broken by another line (or by a line whose value is not a number) is
//   dropped. Its type: the last of "*segm*"/"segm"/"mask" or "*bbox*"/"bbox"/"box" (whole words) on
//   the lines since the previous table (pycocotools prints "Evaluate annotation type *segm*"), else
//   SummaryStreamOptions::default_iou. The evaluated checkpoint is the last checkpoint name
//   printed before the table; with none, "step%07d" of the last step seen (registered without a
//   file).
// - A checkpoint name: `step<digits>-ep<digits>-loss<number>` anywhere in a line, not glued to a
//   letter or digit before or after it, with any suffix (".pdparams", "_optim.pth"). The first
//   mention registers it: with its file when the printed token is a file (absolute, or
//   relative to the trial folder) or a file in the trial folder (searched two levels deep) is
//   named NAME or NAME.* / NAME_*; else without a file.
// - Metrics: `loss`, `lr` followed by a number (`loss: 4.2`, `lr=1e-3`, `loss 4.2`) on a line that
//   also has `iter`/`step` and an integer (`iter: 1200`, `step 1200/9000`), or after such a line
//   was seen (then the last step is used). Other `loss_*` names are not read.
//
// The summary line and the checkpoint name are the diary parser's definitions
// (diary/summary_line.h, diary/checkpoint_name.h), so a table the worker reads is one
// `ablate import-log` reads the same way.
//
// Thread safety: one reader per trial, used by one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/coco_stats.h"
#include "protocol/trial_events.h"

namespace ablate::worker {

struct SummaryStreamOptions {
  std::string default_iou = "bbox";  // trainer.iou
  std::filesystem::path trial_dir;   // where checkpoint files are looked for
  // Copied into every evaluation (the program does not print them).
  std::string dataset_fingerprint;
  double score_threshold = 0.05;
  int top_k = 100;
  double nms_iou = 0.5;
};

// A checkpoint name found in text: "step0000200-ep002-loss4.123".
struct PrintedCheckpointName {
  std::string name;
  std::string token;  // the whole printed word, suffix included ("step...-loss4.123.pdparams")
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
};

// Every checkpoint name in `line`, in order.
std::vector<PrintedCheckpointName> FindCheckpointNames(const std::string& line);

class SummaryStreamReader {
 public:
  explicit SummaryStreamReader(SummaryStreamOptions options);

  // Reads one line of stdout; returns the events it completes, in order (a checkpoint before the
  // evaluation that names it).
  std::vector<protocol::TrialEvent> OnLine(const std::string& line);

  int tables() const { return tables_; }  // evaluations produced (one per table)
  int64_t last_step() const { return last_step_; }
  // The last checkpoint registered (printed, or made up for a table), if any.
  const std::optional<std::string>& last_checkpoint() const { return last_checkpoint_; }

 private:
  std::vector<protocol::TrialEvent> OnStatLine(int index, double value, int max_dets);
  protocol::CheckpointEvent CheckpointFor(const PrintedCheckpointName& printed) const;

  SummaryStreamOptions options_;
  // The table being read: values so far, its first maxDets.
  std::vector<double> block_;
  int block_max_dets_ = 100;
  std::vector<int64_t> block_ar_all_max_dets_;  // maxDets of its AR area=all lines (AR1, AR10)
  std::vector<std::string> context_;            // lines since the previous table (last 20)
  std::set<std::string> registered_;
  std::optional<std::string> last_checkpoint_;
  int64_t last_step_ = -1;  // -1: no step seen
  int tables_ = 0;
};

}  // namespace ablate::worker
