#include "diary/summary_line.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

namespace ablate::diary {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// 0 all, 1 small, 2 medium, 3 large; -1 otherwise. `area` is lower case.
int AreaIndex(const std::string& area) {
  if (area == "all") return 0;
  if (area == "small") return 1;
  if (area == "medium") return 2;
  if (area == "large") return 3;
  return -1;
}

}  // namespace

bool LooksLikeSummaryLine(std::string_view line) {
  const std::string lower = Lower(line);
  return lower.find("average precision") != std::string::npos ||
         lower.find("average recall") != std::string::npos;
}

std::optional<SummaryLine> MatchSummaryLine(std::string_view raw) {
  static const std::regex kLine(
      R"(Average\s+(Precision|Recall)\s*\(\s*(AP|AR)\s*\)\s*@\s*\[\s*IoU\s*=\s*([0-9.:]+)\s*\|\s*area\s*=\s*([A-Za-z]+)\s*\|\s*maxDets\s*=\s*(\d+)\s*\]\s*=\s*(.*)$)",
      std::regex::icase);
  if (raw.size() > kMaxSummaryLineBytes) return std::nullopt;
  std::string line(raw);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  std::smatch m;
  if (!std::regex_search(line, m, kLine)) return std::nullopt;
  SummaryLine out;
  out.precision = Lower(m[2].str()) == "ap";
  out.iou = m[3].str();
  out.area = Lower(m[4].str());
  out.max_dets = std::strtoll(m[5].str().c_str(), nullptr, 10);
  out.value = m[6].str();
  return out;
}

bool SummaryAreaKnown(const SummaryLine& line) { return AreaIndex(line.area) >= 0; }

bool IsArOverAllAreas(const SummaryLine& line) {
  return !line.precision && line.iou == "0.50:0.95" && line.area == "all";
}

int SummaryStatIndex(const SummaryLine& line, const std::vector<int64_t>& ar_all_before) {
  const int area = AreaIndex(line.area);
  if (area < 0) return -1;
  const bool all_ious = line.iou == "0.50:0.95";
  if (line.precision) {
    if (area == 0) return all_ious ? 0 : line.iou == "0.50" ? 1 : line.iou == "0.75" ? 2 : -1;
    return all_ious ? 2 + area : -1;
  }
  if (!all_ious) return -1;
  if (area != 0) return 8 + area;
  // AR1, AR10, AR100: the next one while maxDets ascends, else its rank among those seen.
  const bool ascending = ar_all_before.empty() || line.max_dets > ar_all_before.back();
  const auto rank =
      ascending ? ar_all_before.size()
                : static_cast<size_t>(std::count_if(ar_all_before.begin(), ar_all_before.end(),
                                                    [&](int64_t m) { return m < line.max_dets; }));
  return 6 + static_cast<int>(std::min<size_t>(rank, 2));
}

std::optional<double> SummaryValue(const SummaryLine& line) {
  static const std::regex kNumber(R"(^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$)");
  if (!std::regex_match(line.value, kNumber)) return std::nullopt;
  return std::strtod(line.value.c_str(), nullptr);
}

}  // namespace ablate::diary
