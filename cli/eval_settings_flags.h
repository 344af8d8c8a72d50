// The four eval settings as optional command-line flags: what `ablate eval` re-scores with, and
// which evaluations `ablate leaderboard` ranks. Unset flags leave the request's fields unset (the
// run's own settings, or no filter).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace ablate::cli {

struct EvalSettingsFlags {
  std::optional<double> score_threshold;
  std::optional<int> top_k;
  std::optional<double> nms_iou;
  std::optional<int> max_dets;
};

// Adds --score-threshold, --top-k, --nms-iou and --max-dets to `cmd`, each help text starting
// with `help_prefix` (e.g. "only evaluations with this "). `flags` must outlive `cmd`'s parse.
inline void AddEvalSettingsFlags(CLI::App* cmd, EvalSettingsFlags& flags,
                                 const std::string& help_prefix) {
  cmd->add_option("--score-threshold", flags.score_threshold,
                  help_prefix + "score threshold (e.g. 0.005)");
  cmd->add_option("--top-k", flags.top_k, help_prefix + "top_k (detections kept per image)");
  cmd->add_option("--nms-iou", flags.nms_iou, help_prefix + "NMS IoU threshold");
  cmd->add_option("--max-dets", flags.max_dets, help_prefix + "COCO maxDets");
}

// Copies the flags that were given into `request`, a message with the four optional fields
// score_threshold, top_k, nms_iou and max_dets (v1::LeaderboardRequest,
// v1::EvaluateCheckpointRequest).
template <typename Request>
void SetEvalSettings(const EvalSettingsFlags& flags, Request* request) {
  if (flags.score_threshold) request->set_score_threshold(*flags.score_threshold);
  if (flags.top_k) request->set_top_k(*flags.top_k);
  if (flags.nms_iou) request->set_nms_iou(*flags.nms_iou);
  if (flags.max_dets) request->set_max_dets(*flags.max_dets);
}

}  // namespace ablate::cli
