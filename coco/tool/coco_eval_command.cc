#include "coco/tool/coco_eval_command.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "coco/dataset.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "common/coco_stats.h"
#include "nlohmann/json.hpp"

namespace ablate::coco {

StatusOr<std::string> RunCocoEval(const CocoEvalCommandOptions& o) {
  CocoEvalParams params;
  if (o.iou_type == "bbox") {
    params.iou_type = IouType::kBbox;
  } else if (o.iou_type == "segm") {
    params.iou_type = IouType::kSegm;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--iou must be bbox or segm, not '", o.iou_type, "'"));
  }
  if (o.use_cats != 0 && o.use_cats != 1) {
    return absl::InvalidArgumentError("--use-cats must be 0 or 1");
  }
  params.use_cats = o.use_cats == 1;
  if (o.max_dets.size() < 3) {
    return absl::InvalidArgumentError(
        "--max-dets needs at least 3 values (summarize() reads three)");
  }
  params.max_dets = o.max_dets;
  if (!o.img_ids.empty()) params.img_ids = o.img_ids;
  if (!o.cat_ids.empty()) params.cat_ids = o.cat_ids;

  ABLATE_ASSIGN_OR_RETURN(CocoDataset gt, CocoDataset::LoadFile(o.gt_path));
  StatusOr<CocoResults> dt = CocoResults::LoadFile(o.dets_path, gt);
  if (!dt.ok()) {
    return Status(dt.status().code(),
                  absl::StrCat(o.dets_path, ": ", std::string(dt.status().message())));
  }
  ABLATE_ASSIGN_OR_RETURN(CocoEvalResult r, EvaluateCoco(gt, *dt, params));

  if (o.json) {
    nlohmann::ordered_json j;
    j["iou_type"] = o.iou_type;
    nlohmann::ordered_json stats = nlohmann::ordered_json::object();
    for (int i = 0; i < kNumCocoStats; ++i) stats[std::string(kCocoStatNames[i])] = r.stats[i];
    j["stats"] = stats;
    if (o.per_category) {
      nlohmann::ordered_json cats = nlohmann::ordered_json::array();
      for (const CategoryMetrics& c : r.per_category) {
        nlohmann::ordered_json e;
        e["category_id"] = c.category_id;
        e["AP"] = c.ap;
        e["AP50"] = c.ap50;
        e["AR"] = c.ar;
        cats.push_back(e);
      }
      j["per_category"] = cats;
    }
    return j.dump() + "\n";
  }
  std::string out = r.summary_text;
  if (o.per_category) {
    out += "\nPer category (area=all, maxDets=100; -1 = no ground truth):\n";
    char line[128];
    std::snprintf(line, sizeof(line), "%12s %8s %8s %8s\n", "category_id", "AP", "AP50", "AR");
    out += line;
    for (const CategoryMetrics& c : r.per_category) {
      std::snprintf(line, sizeof(line), "%12lld %8.3f %8.3f %8.3f\n",
                    static_cast<long long>(c.category_id), c.ap, c.ap50, c.ar);
      out += line;
    }
  }
  return out;
}

void RegisterCocoEvalCommand(CLI::App& app) {
  auto opts = std::make_shared<CocoEvalCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "coco-eval", "Score COCO results against ground truth exactly like pycocotools COCOeval");
  cmd->add_option("--gt", opts->gt_path, "ground truth (COCO instances JSON)")->required();
  cmd->add_option("--dets", opts->dets_path, "results list (COCO results JSON)")->required();
  cmd->add_option("--iou", opts->iou_type, "bbox or segm")
      ->check(CLI::IsMember({"bbox", "segm"}))
      ->capture_default_str();
  cmd->add_option("--use-cats", opts->use_cats, "1: per category (default), 0: class-agnostic")
      ->check(CLI::IsMember({0, 1}))
      ->capture_default_str();
  cmd->add_option("--max-dets", opts->max_dets, "comma-separated maxDets (default 1,10,100)")
      ->delimiter(',');
  cmd->add_option("--img-ids", opts->img_ids, "comma-separated image ids (default: all)")
      ->delimiter(',');
  cmd->add_option("--cat-ids", opts->cat_ids, "comma-separated category ids (default: all)")
      ->delimiter(',');
  cmd->add_flag("--per-category", opts->per_category, "also print AP / AP50 / AR per category");
  cmd->add_flag("--json", opts->json, "print JSON with full double precision");
  cmd->callback([opts]() {
    StatusOr<std::string> out = RunCocoEval(*opts);
    if (!out.ok()) {
      std::cerr << "error: " << std::string(out.status().message()) << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << *out << std::flush;
  });
}

}  // namespace ablate::coco
