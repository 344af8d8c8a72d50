// `ablate coco-eval`: scores a COCO results file against a ground-truth file and prints the
// summary pycocotools prints (or JSON with full double precision).
//
//   ablate coco-eval --gt GT.json --dets DETS.json --iou bbox|segm [--use-cats 0|1]
//       [--max-dets 1,10,100] [--img-ids ID,...] [--cat-ids ID,...] [--per-category] [--json]
//
// Errors go to stderr as "error: <message>" and the command exits with status 1 (it throws
// CLI::RuntimeError(1), which CLI11_PARSE / App::exit turn into the return code).
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "common/status.h"

namespace ablate::coco {

struct CocoEvalCommandOptions {
  std::string gt_path;
  std::string dets_path;
  std::string iou_type = "bbox";  // "bbox" | "segm"
  int use_cats = 1;
  std::vector<int> max_dets = {1, 10, 100};
  std::vector<int64_t> img_ids;  // empty: all ground-truth images
  std::vector<int64_t> cat_ids;  // empty: all ground-truth categories
  bool per_category = false;
  bool json = false;
};

// Adds the "coco-eval" subcommand to `app`.
void RegisterCocoEvalCommand(CLI::App& app);

// Runs one evaluation and returns what the command prints on stdout (for tests and reuse).
StatusOr<std::string> RunCocoEval(const CocoEvalCommandOptions& options);

}  // namespace ablate::coco
