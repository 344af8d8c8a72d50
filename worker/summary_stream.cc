#include "worker/summary_stream.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <string_view>

#include "common/sha256.h"
#include "diary/checkpoint_name.h"
#include "diary/summary_line.h"

namespace ablate::worker {
namespace {

namespace fs = std::filesystem;

// "segm"/"bbox" from the last matching word in `lines`, or "".
std::string IouTypeFromContext(const std::vector<std::string>& lines) {
  static const std::regex kWord(R"(\*(segm|bbox)\*|\b(segm|mask|masks|bbox|box|boxes)\b)");
  std::string found;
  for (const std::string& raw : lines) {
    std::string line = raw;
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kWord);
         it != std::sregex_iterator(); ++it) {
      const std::string w = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      found = (w == "segm" || w == "mask" || w == "masks") ? "segm" : "bbox";
    }
  }
  return found;
}

std::optional<double> FiniteNumber(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A file for a printed checkpoint: the token itself, else a file in the trial folder (two levels)
// named NAME, NAME.* or NAME_*.
std::optional<fs::path> FindCheckpointFile(const PrintedCheckpointName& printed,
                                           const fs::path& trial_dir) {
  std::error_code ec;
  for (const fs::path& p : {fs::path(printed.token), trial_dir / printed.token}) {
    if (p.is_absolute() && fs::is_regular_file(p, ec)) return p.lexically_normal();
  }
  if (trial_dir.empty() || !fs::is_directory(trial_dir, ec)) return std::nullopt;
  std::optional<fs::path> best;
  for (auto it = fs::recursive_directory_iterator(trial_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 1) it.disable_recursion_pending();
    if (!it->is_regular_file(ec)) continue;
    const std::string f = it->path().filename().string();
    if (f == printed.name || (f.size() > printed.name.size() && f.rfind(printed.name, 0) == 0 &&
                              (f[printed.name.size()] == '.' || f[printed.name.size()] == '_'))) {
      if (!best || it->path().string() < best->string()) best = it->path();  // stable choice
    }
  }
  return best;
}

}  // namespace

std::vector<PrintedCheckpointName> FindCheckpointNames(const std::string& line) {
  std::vector<PrintedCheckpointName> out;
  for (const diary::CheckpointMention& m : diary::FindCheckpointNames(line)) {
    if (!m.name.complete()) continue;  // "step12-ep1": not a name a trainer saves under
    PrintedCheckpointName c;
    c.name = m.name.name;
    c.step = m.name.step;
    c.epoch = *m.name.epoch;
    c.loss = *m.name.loss;
    // The file token: a path printed before the name ("weights/step...") and any suffix after it
    // (".pdparams", "_optim.pth"), up to a blank or a quote, comma, bracket, ...
    constexpr std::string_view kStops = "\"',;:()[]";
    size_t end = m.pos + m.size;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])) &&
           kStops.find(line[end]) == std::string_view::npos) {
      ++end;
    }
    // "...loss4.123." at a sentence end: the dot is not a suffix.
    while (end > m.pos + m.size && line[end - 1] == '.') --end;
    size_t start = m.pos;
    while (start > 0 && !std::isspace(static_cast<unsigned char>(line[start - 1])) &&
           std::string_view("\"',;:()[]=").find(line[start - 1]) == std::string_view::npos) {
      --start;
    }
    c.token = line.substr(start, end - start);
    out.push_back(std::move(c));
  }
  return out;
}

SummaryStreamReader::SummaryStreamReader(SummaryStreamOptions options)
    : options_(std::move(options)) {}

protocol::CheckpointEvent SummaryStreamReader::CheckpointFor(
    const PrintedCheckpointName& printed) const {
  protocol::CheckpointEvent c;
  c.name = printed.name;
  c.step = printed.step;
  c.epoch = printed.epoch;
  c.loss = printed.loss;
  if (auto file = FindCheckpointFile(printed, options_.trial_dir)) {
    auto sha = Sha256HexOfFile(*file);
    std::error_code ec;
    const auto bytes = fs::file_size(*file, ec);
    if (sha.ok() && !ec) {
      c.path = fs::absolute(*file).lexically_normal().string();
      c.sha256 = *sha;
      c.bytes = static_cast<int64_t>(bytes);
    }
  }
  return c;
}

std::vector<protocol::TrialEvent> SummaryStreamReader::OnLine(const std::string& line) {
  std::vector<protocol::TrialEvent> events;
  const std::optional<diary::SummaryLine> stat = diary::MatchSummaryLine(line);
  const std::optional<double> stat_value =
      stat ? diary::SummaryValue(*stat) : std::optional<double>();
  if (stat_value) {
    const int index = diary::SummaryStatIndex(*stat, block_ar_all_max_dets_);
    if (index != static_cast<int>(block_.size())) {
      // Out of order: whatever was read is dropped; a first line starts anew.
      block_.clear();
      block_ar_all_max_dets_.clear();
    }
    if (index == static_cast<int>(block_.size())) {
      if (index == 0) block_max_dets_ = static_cast<int>(stat->max_dets);
      if (diary::IsArOverAllAreas(*stat)) block_ar_all_max_dets_.push_back(stat->max_dets);
      block_.push_back(*stat_value);
    }
    if (block_.size() < 12) return events;
    // A complete table.
    protocol::EvaluationEvent e;
    e.iou_type = IouTypeFromContext(context_);
    if (e.iou_type.empty()) e.iou_type = options_.default_iou;
    std::copy(block_.begin(), block_.end(), e.stats.begin());
    block_.clear();
    block_ar_all_max_dets_.clear();
    context_.clear();
    if (!last_checkpoint_) {
      protocol::CheckpointEvent c;
      c.step = std::max<int64_t>(0, last_step_);
      c.name = diary::FormatCheckpointName(c.step);
      events.push_back(c);
      registered_.insert(c.name);
      last_checkpoint_ = c.name;
    }
    e.checkpoint = *last_checkpoint_;
    e.dataset_fingerprint = options_.dataset_fingerprint;
    e.score_threshold = options_.score_threshold;
    e.top_k = options_.top_k;
    e.nms_iou = options_.nms_iou;
    e.max_dets = block_max_dets_;
    events.push_back(std::move(e));
    ++tables_;
    return events;
  }
  // Any other non-blank line ends a table being read.
  const bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
  if (blank) return events;
  block_.clear();
  block_ar_all_max_dets_.clear();
  context_.push_back(line);
  if (context_.size() > 20) context_.erase(context_.begin());

  for (const PrintedCheckpointName& printed : FindCheckpointNames(line)) {
    last_step_ = std::max(last_step_, printed.step);
    last_checkpoint_ = printed.name;
    if (!registered_.insert(printed.name).second) continue;
    events.push_back(CheckpointFor(printed));
  }

  static const std::regex kStep(R"(\b(iter|iteration|step)\b\s*[:=#]?\s*\[?\s*(\d+))",
                                std::regex::icase);
  static const std::regex kValue(
      R"(\b(loss|lr)\b\s*[:=]?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))", std::regex::icase);
  std::smatch m;
  if (std::regex_search(line, m, kStep)) last_step_ = std::strtoll(m[2].str().c_str(), nullptr, 10);
  protocol::MetricsEvent metrics;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), kValue);
       it != std::sregex_iterator(); ++it) {
    std::string key = (*it)[1].str();
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto v = FiniteNumber((*it)[2].str())) metrics.values.emplace(key, *v);  // first wins
  }
  if (!metrics.values.empty() && last_step_ >= 0) {
    metrics.step = last_step_;
    events.push_back(std::move(metrics));
  }
  return events;
}

}  // namespace ablate::worker
