// The 12 COCO summary statistics, named the same everywhere (JSON keys, CLI flags, table
// columns, SQLite columns): index i is pycocotools' COCOeval.stats[i].
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace ablate {

inline constexpr int kNumCocoStats = 12;

inline constexpr std::array<std::string_view, kNumCocoStats> kCocoStatNames = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

// 12 stats in pycocotools order; -1 means "no ground truth to score" exactly as pycocotools.
using CocoStats = std::array<double, kNumCocoStats>;

// Index of a stat name ("AP50" -> 1); nullopt for an unknown name. Case-sensitive.
inline std::optional<int> CocoStatIndex(std::string_view name) {
  for (int i = 0; i < kNumCocoStats; ++i) {
    if (kCocoStatNames[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace ablate
