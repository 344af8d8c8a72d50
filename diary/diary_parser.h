// Reads a free-form tuning diary (notes with pasted pycocotools summaries) into evaluations.
//
// Pure C++: no gRPC, no SQLite, no I/O. The CLI parses a file with ParseDiary() and sends the
// result to the coordinator (ImportDiary RPC), which stores it in one transaction.
//
// What is recognised (docs/coordinator.md has the full rules):
// - A summary block: the 12 lines COCOeval.summarize() prints (summary_line.h), in order, with
//   any spacing, with or without a heading; blank lines inside a block are allowed. Each complete
//   block becomes one DiaryEvaluation; a truncated block, one with a line out of order or an
//   unreadable value becomes a DiarySkip naming its line; nothing of it is kept.
// - The "context" of a block: the lines between the previous block (or the file start) and it.
//   A checkpoint name there (checkpoint_name.h: stepNNN-epNNN-lossN.NNN, partial names and a file
//   suffix allowed) is the evaluated checkpoint; one after "rolled back to", "from", "从",
//   "resume", ... (or before "基础上", "继续训练", ...) is the parent checkpoint; one after "same
//   checkpoint", "re-score", ... means an extra evaluation of an earlier checkpoint. "fork from
//   that checkpoint" / "从这个checkpoint 继续" without a name forks the last evaluated checkpoint.
//   Settings (key = value or prose) become the run config / eval settings.
// - A checkpoint seen before is re-evaluated only when nothing says otherwise: with fork words
//   or a training-config change in its context, the block is a NEW run forked from it (a
//   re-evaluation cannot change the training config), whose own checkpoint is not named.
// - A block that repeats an earlier evaluation (same run, checkpoint, settings, table kind) is a
//   DiarySkip: "the same evaluation as line N" when its numbers are equal (pasted twice),
//   "conflicts with line N" when they differ. Nothing of it is kept; the rest of the file is.
// - Runs: every block that is not an extra evaluation of an earlier checkpoint starts a new run
//   named "<stem>-<n>": stem = file name without extension, n = the block's position among all
//   summary blocks of the file (skipped ones included, so fixing a broken block later does not
//   rename the runs after it; numbers of blocks that start no run are unused). A forked run's
//   config is its parent run's config overlaid with the settings written for it. Eval settings
//   (score threshold, top_k, NMS IoU, max detections) carry forward until changed.
//
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/coco_stats.h"
#include "diary/checkpoint_name.h"  // CheckpointName, ParseCheckpointName

namespace ablate::diary {

struct DiaryEvalSettings {
  std::string iou_type = "bbox";  // "bbox" or "segm"
  std::optional<double> score_threshold;
  std::optional<int64_t> top_k;
  std::optional<double> nms_iou;
  std::optional<int64_t> max_dets;  // from the summary lines' maxDets
};

struct DiaryEvaluation {
  int line = 0;          // 1-based line of the block's first stat line
  std::string run_name;  // empty: the run of `checkpoint`, to be found in the database
  bool new_run = false;  // this block starts run_name
  std::optional<std::string> checkpoint;  // evaluated checkpoint (name or, if unresolved, a ref)
  std::string checkpoint_file;            // as written, e.g. "step0200000-ep014-loss4.902.pt"
  std::optional<std::string> parent_checkpoint;      // for a new run: its parent (name or ref)
  nlohmann::json config = nlohmann::json::object();  // the run's effective config
  DiaryEvalSettings eval;
  CocoStats stats{};
};

struct DiarySkip {
  int line = 0;  // 1-based line of the block's first stat line
  std::string reason;
};

struct DiaryParseResult {
  std::vector<DiaryEvaluation> evaluations;  // file order
  std::vector<DiarySkip> skipped;            // file order
};

struct DiaryParseOptions {
  // The table kind ("bbox" or "segm") of a block whose context does not say it (`import-log
  // --iou`). nullopt: "bbox", except that another table of the same subject right after its
  // bbox table, with no settings between them, is its "segm" table (the order pycocotools-based
  // eval scripts print them in).
  std::optional<std::string> default_iou_type;
};

// Only the first kMaxDiaryLineBytes bytes of a line are read (by ParseDiary and
// RecogniseSettings), cut back to the last space or tab so no value is read half: std::regex
// recurses once per character it matches, so one 64 KiB line overflowed the stack (found while
// fuzzing the diary parser). Real diary lines are < 200 bytes.
inline constexpr size_t kMaxDiaryLineBytes = 2048;

// `source_name` is the diary's file name (its stem names the runs).
DiaryParseResult ParseDiary(std::string_view text, std::string_view source_name,
                            const DiaryParseOptions& options = {});

// Settings recognised in a piece of prose: training config keys (conf_loss, box_loss,
// pos_threshold, neg_threshold, focal_loss_alpha, focal_loss_gamma, ohem_negpos_ratio, lr,
// batch_size) and eval keys (score_threshold, top_k, nms_iou, max_dets).
struct RecognisedSettings {
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json eval = nlohmann::json::object();
};
RecognisedSettings RecogniseSettings(std::string_view text);

}  // namespace ablate::diary
