#include "server/diary/diary_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>

namespace ablate::diary {
namespace {

constexpr char kNum[] = R"(([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Full-width punctuation and spaces (common in Chinese notes) to ASCII.
std::string NormalisePunctuation(std::string_view s) {
  static const std::array<std::pair<std::string_view, std::string_view>, 10> kMap = {{
      {"\xEF\xBC\x88", "("},  // （
      {"\xEF\xBC\x89", ")"},  // ）
      {"\xEF\xBC\x8C", ","},  // ，
      {"\xEF\xBC\x9A", ":"},  // ：
      {"\xEF\xBC\x9D", "="},  // ＝
      {"\xEF\xBC\x9B", ";"},  // ；
      {"\xE3\x80\x81", ","},  // 、
      {"\xE3\x80\x82", "."},  // 。
      {"\xE3\x80\x80", " "},  // ideographic space
      {"\xEF\xBC\x8E", "."},  // ．
  }};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    for (const auto& [from, to] : kMap) {
      if (s.substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, std::min(end - start, kMaxDiaryLineBytes)));
    if (end - start > kMaxDiaryLineBytes) {
      // Cut back to a space so no number or name is read half.
      const size_t space = line.find_last_of(" \t");
      line.resize(space == std::string::npos ? 0 : space);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (end == text.size()) break;
    start = end + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// A number as JSON: integer literal -> integer, otherwise double.
nlohmann::json NumberJson(std::string text) {
  if (!text.empty() && text.back() == '.') text.pop_back();  // "batch 16." ends a sentence
  if (text.find_first_of(".eE") == std::string::npos)
    return std::strtoll(text.c_str(), nullptr, 10);
  return std::strtod(text.c_str(), nullptr);
}

bool ParseStrictDouble(const std::string& text, double* out) {
  static const std::regex kStrict(std::string("^") + kNum + "$");
  if (!std::regex_match(text, kStrict)) return false;
  *out = std::strtod(text.c_str(), nullptr);
  return true;
}

// ---- summary lines ----

struct StatLine {
  int index = -1;  // 0..11, -1: looks like a summary line but cannot be read
  double value = 0;
  int64_t max_dets = 0;
  std::string problem;  // when index == -1 or value unreadable
  bool value_ok = false;
};

bool LooksLikeStatLine(const std::string& lower) {
  return lower.find("average precision") != std::string::npos ||
         lower.find("average recall") != std::string::npos;
}

// `ar_all_seen`: how many "AR area=all" lines this block has had (they are stats 6, 7, 8).
StatLine ParseStatLine(const std::string& line, int ar_all_seen) {
  static const std::regex kLine(
      R"(Average\s+(Precision|Recall)\s*\(\s*(AP|AR)\s*\)\s*@\s*\[\s*IoU\s*=\s*([0-9.:]+)\s*\|\s*area\s*=\s*([A-Za-z]+)\s*\|\s*maxDets\s*=\s*(\d+)\s*\]\s*=\s*(.*)$)",
      std::regex::icase);
  StatLine out;
  std::smatch m;
  if (!std::regex_search(line, m, kLine)) {
    out.problem = "unreadable summary line";
    return out;
  }
  const bool precision = Lower(m[2].str()) == "ap";
  const std::string iou = m[3].str();
  const std::string area = Lower(m[4].str());
  out.max_dets = std::strtoll(m[5].str().c_str(), nullptr, 10);
  const int area_index = area == "all"      ? 0
                         : area == "small"  ? 1
                         : area == "medium" ? 2
                         : area == "large"  ? 3
                                            : -1;
  if (area_index < 0) {
    out.problem = "unknown area '" + m[4].str() + "'";
    return out;
  }
  if (precision) {
    if (area_index == 0) {
      out.index = iou == "0.50:0.95" ? 0 : iou == "0.50" ? 1 : iou == "0.75" ? 2 : -1;
    } else if (iou == "0.50:0.95") {
      out.index = 2 + area_index;
    }
  } else if (iou == "0.50:0.95") {
    out.index = area_index == 0 ? 6 + std::min(ar_all_seen, 2) : 8 + area_index;
  }
  if (out.index < 0) {
    out.problem = "unexpected IoU '" + iou + "'";
    return out;
  }
  std::string value = m[6].str();
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  out.value_ok = ParseStrictDouble(value, &out.value);
  if (!out.value_ok) out.problem = "cannot read the value '" + value + "'";
  return out;
}

// ---- checkpoint mentions ----

enum class MentionKind { kOwn, kParent, kSameAs };

struct Mention {
  MentionKind kind = MentionKind::kOwn;
  std::string ref;   // name without suffix
  std::string file;  // as written
};

const std::regex& CheckpointRegex() {
  static const std::regex kRe(
      R"((^|[^A-Za-z0-9_])(step\d+(?:-ep\d+)?(?:-loss\d+(?:\.\d+)?)?)((?:\.(?:pth|pt|ckpt|bin|safetensors))?)(?![A-Za-z0-9_]))");
  return kRe;
}

bool ContainsAny(const std::string& hay, std::initializer_list<std::string_view> needles) {
  for (std::string_view n : needles) {
    if (hay.find(n) != std::string::npos) return true;
  }
  return false;
}

std::vector<Mention> FindMentions(const std::vector<std::string>& context_lines) {
  std::vector<Mention> out;
  for (const std::string& raw : context_lines) {
    const std::string line = NormalisePunctuation(raw);
    for (auto it = std::sregex_iterator(line.begin(), line.end(), CheckpointRegex());
         it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      Mention mention;
      mention.ref = m[2].str();
      mention.file = m[2].str() + m[3].str();
      const size_t start = static_cast<size_t>(m.position(2));
      std::string prefix = Lower(line.substr(0, start));
      if (prefix.size() > 48) prefix = prefix.substr(prefix.size() - 48);
      if (ContainsAny(prefix, {"same checkpoint", "same ckpt", "re-scor", "rescor", "re-eval",
                               "reeval", "re-ran eval", "同一", "同样的"})) {
        mention.kind = MentionKind::kSameAs;
      } else if (ContainsAny(prefix, {"back to", "rollback", "from", "从", "resum", "fork",
                                      "based on", "init", "continu", "基于", "回滚", "回到"})) {
        mention.kind = MentionKind::kParent;
      }
      out.push_back(std::move(mention));
    }
  }
  return out;
}

// ---- settings ----

std::optional<std::string> ConfigKeyAlias(const std::string& key) {
  static const std::map<std::string, std::string> kAliases = {
      {"pos_threshold", "pos_threshold"},
      {"positive_iou_threshold", "pos_threshold"},
      {"pos_iou_threshold", "pos_threshold"},
      {"pos_thresh", "pos_threshold"},
      {"pos_iou", "pos_threshold"},
      {"neg_threshold", "neg_threshold"},
      {"negative_iou_threshold", "neg_threshold"},
      {"neg_iou_threshold", "neg_threshold"},
      {"neg_thresh", "neg_threshold"},
      {"neg_iou", "neg_threshold"},
      {"focal_loss_alpha", "focal_loss_alpha"},
      {"focal_alpha", "focal_loss_alpha"},
      {"alpha", "focal_loss_alpha"},
      {"focal_loss_gamma", "focal_loss_gamma"},
      {"focal_gamma", "focal_loss_gamma"},
      {"gamma", "focal_loss_gamma"},
      {"ohem_negpos_ratio", "ohem_negpos_ratio"},
      {"negpos_ratio", "ohem_negpos_ratio"},
      {"neg_pos_ratio", "ohem_negpos_ratio"},
      {"lr", "lr"},
      {"learning_rate", "lr"},
      {"base_lr", "lr"},
      {"batch_size", "batch_size"},
      {"batch", "batch_size"},
      {"bs", "batch_size"},
      {"conf_loss", "conf_loss"},
      {"cls_loss", "conf_loss"},
      {"class_loss", "conf_loss"},
      {"box_loss", "box_loss"},
      {"bbox_loss", "box_loss"},
      {"reg_loss", "box_loss"},
  };
  auto it = kAliases.find(key);
  if (it == kAliases.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> EvalKeyAlias(const std::string& key) {
  static const std::map<std::string, std::string> kAliases = {
      {"score_threshold", "score_threshold"},
      {"score_thresh", "score_threshold"},
      {"conf_thresh", "score_threshold"},
      {"top_k", "top_k"},
      {"topk", "top_k"},
      {"nms_iou", "nms_iou"},
      {"nms_threshold", "nms_iou"},
      {"nms_thresh", "nms_iou"},
      {"max_dets", "max_dets"},
      {"max_detections", "max_dets"},
      {"max_num_detections", "max_dets"},
  };
  auto it = kAliases.find(key);
  if (it == kAliases.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ConfLossName(std::string v) {
  v = Lower(v);
  for (std::string_view suffix : {"_loss", "loss"}) {
    if (v.size() > suffix.size() && v.ends_with(suffix)) v.resize(v.size() - suffix.size());
  }
  if (v == "ce" || v == "cross_entropy" || v == "softmax") return "ce";
  if (v == "ohem") return "ohem";
  if (v == "focal") return "focal";
  if (v == "ghm_c" || v == "ghmc" || v == "ghm-c") return "ghm_c";
  return std::nullopt;
}

std::optional<std::string> BoxLossName(std::string v) {
  v = Lower(v);
  for (std::string_view suffix : {"_loss", "loss"}) {
    if (v.size() > suffix.size() && v.ends_with(suffix)) v.resize(v.size() - suffix.size());
  }
  if (v == "ciou" || v == "giou" || v == "diou" || v == "iou") return v;
  if (v == "smooth_l1" || v == "smoothl1" || v == "l1") return v == "l1" ? "l1" : "smooth_l1";
  return std::nullopt;
}

bool PrecededByFromOrInsteadOf(const std::string& lower, size_t pos) {
  std::string prefix = lower.substr(0, pos);
  if (prefix.size() > 16) prefix = prefix.substr(prefix.size() - 16);
  return prefix.ends_with("from ") || prefix.ends_with("instead of ") || prefix.ends_with("not ") ||
         prefix.ends_with("no ");
}

}  // namespace

std::optional<CheckpointName> ParseCheckpointName(std::string_view text) {
  static const std::regex kRe(
      R"(^(step(\d+)(?:-ep(\d+))?(?:-loss(\d+(?:\.\d+)?))?)(?:\.(?:pth|pt|ckpt|bin|safetensors))?$)");
  std::string s(text);
  std::smatch m;
  if (!std::regex_match(s, m, kRe)) return std::nullopt;
  CheckpointName out;
  out.name = m[1].str();
  out.step = std::strtoll(m[2].str().c_str(), nullptr, 10);
  if (m[3].matched) out.epoch = std::strtoll(m[3].str().c_str(), nullptr, 10);
  if (m[4].matched) out.loss = std::strtod(m[4].str().c_str(), nullptr);
  return out;
}

RecognisedSettings RecogniseSettings(std::string_view raw_text) {
  RecognisedSettings out;
  std::string clamped;  // every line cut to kMaxDiaryLineBytes (see SplitLines)
  for (const std::string& line : SplitLines(raw_text)) clamped += line + "\n";
  const std::string text = NormalisePunctuation(clamped);
  const std::string lower = Lower(text);
  // Every recognised value with its position, so that the last mention wins.
  std::vector<std::tuple<size_t, bool, std::string, nlohmann::json>> found;  // pos, eval?, key, v

  // key = value / key: value / key=value
  static const std::regex kAssign(
      R"(([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_\-]*))");
  for (auto it = std::sregex_iterator(lower.begin(), lower.end(), kAssign);
       it != std::sregex_iterator(); ++it) {
    const std::string key = (*it)[1].str();
    const std::string value = (*it)[2].str();
    const size_t pos = static_cast<size_t>(it->position(0));
    const bool numeric = std::isdigit(static_cast<unsigned char>(value.back())) != 0;
    if (auto k = ConfigKeyAlias(key)) {
      if (*k == "conf_loss") {
        if (auto v = ConfLossName(value)) found.emplace_back(pos, false, *k, *v);
      } else if (*k == "box_loss") {
        if (auto v = BoxLossName(value)) found.emplace_back(pos, false, *k, *v);
      } else if (numeric) {
        found.emplace_back(pos, false, *k, NumberJson(value));
      }
    } else if (auto k = EvalKeyAlias(key); k && numeric) {
      found.emplace_back(pos, true, *k, NumberJson(value));
    }
  }

  // Prose: "<phrase> ... <number>" with at most a few non-digit characters between.
  struct Prose {
    const char* pattern;
    bool eval;
    const char* key;
  };
  static const std::vector<std::pair<std::regex, Prose>> kProse = [] {
    const std::vector<Prose> list = {
        {R"(\b(?:learning[ _]rate|lr)\b[^0-9\n=:]{0,12}?)", false, "lr"},
        {R"(\bbatch(?:[ _]?size)?\b[^0-9\n=:]{0,12}?)", false, "batch_size"},
        {R"(\bneg[ _-]?pos(?:[ _]ratio)?\b[^0-9\n=:]{0,12}?)", false, "ohem_negpos_ratio"},
        {R"(\bpos(?:itive)?[ _](?:iou[ _])?thresh(?:old)?\b[^0-9\n=:]{0,16}?)", false,
         "pos_threshold"},
        {R"(\bneg(?:ative)?[ _](?:iou[ _])?thresh(?:old)?\b[^0-9\n=:]{0,16}?)", false,
         "neg_threshold"},
        {R"(\bfocal[ _]alpha\b[^0-9\n=:]{0,8}?|\balpha\b[^0-9\n=:]{0,4}?)", false,
         "focal_loss_alpha"},
        {R"(\bfocal[ _]gamma\b[^0-9\n=:]{0,8}?|\bgamma\b[^0-9\n=:]{0,4}?)", false,
         "focal_loss_gamma"},
        {R"(\bscore[ _]thresh(?:old)?\b[^0-9\n=:]{0,24}?)", true, "score_threshold"},
        {R"(\btop[ _-]?k\b[^0-9\n=:]{0,12}?)", true, "top_k"},
        {R"(\bnms(?:[ _]iou)?(?:[ _]thresh(?:old)?)?\b[^0-9\n=:]{0,12}?)", true, "nms_iou"},
        {R"(\bmax[ _](?:dets|detections)\b[^0-9\n=:]{0,12}?)", true, "max_dets"},
    };
    std::vector<std::pair<std::regex, Prose>> compiled;
    for (const Prose& p : list) {
      compiled.emplace_back(std::regex(std::string("(?:") + p.pattern + ")" + kNum), p);
    }
    return compiled;
  }();
  for (const auto& [re, prose] : kProse) {
    for (auto it = std::sregex_iterator(lower.begin(), lower.end(), re);
         it != std::sregex_iterator(); ++it) {
      const std::string num = (*it)[1].str();
      found.emplace_back(static_cast<size_t>(it->position(0)), prose.eval, prose.key,
                         NumberJson(num));
    }
  }

  // Loss names in prose.
  static const std::regex kConfLoss(
      R"((^|[^a-z0-9_])(ohem|focal|ghm[-_]?c|ce|cross[- ]entropy)([ _]loss)?(?![a-z0-9_]))");
  for (auto it = std::sregex_iterator(lower.begin(), lower.end(), kConfLoss);
       it != std::sregex_iterator(); ++it) {
    const std::string word = (*it)[2].str();
    const size_t pos = static_cast<size_t>(it->position(2));
    // "ce" alone is too common a syllable: only as "ce loss"/"ce_loss".
    if (word == "ce" && !(*it)[3].matched) continue;
    if (PrecededByFromOrInsteadOf(lower, pos)) continue;
    std::string name = word.starts_with("cross") ? "ce" : word;
    if (auto v = ConfLossName(name)) found.emplace_back(pos, false, "conf_loss", *v);
  }
  static const std::regex kBoxLoss(
      R"((^|[^a-z0-9_])(ciou|giou|diou|smooth[-_ ]?l1|iou(?=[ _]loss))([ _]loss)?(?![a-z0-9_]))");
  for (auto it = std::sregex_iterator(lower.begin(), lower.end(), kBoxLoss);
       it != std::sregex_iterator(); ++it) {
    std::string word = (*it)[2].str();
    const size_t pos = static_cast<size_t>(it->position(2));
    if (PrecededByFromOrInsteadOf(lower, pos)) continue;
    std::replace(word.begin(), word.end(), '-', '_');
    std::replace(word.begin(), word.end(), ' ', '_');
    if (auto v = BoxLossName(word)) found.emplace_back(pos, false, "box_loss", *v);
  }

  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (const auto& [pos, eval, key, value] : found) {
    (eval ? out.eval : out.config)[key] = value;
  }
  return out;
}

DiaryParseResult ParseDiary(std::string_view text, std::string_view source_name) {
  DiaryParseResult result;
  const std::vector<std::string> lines = SplitLines(text);
  const std::string stem = std::filesystem::path(std::string(source_name)).stem().string();

  // Running state across the diary.
  DiaryEvalSettings eval_state;
  int block_ordinal = 0;  // 1-based index of the block among all blocks, skipped ones included
  struct KnownCheckpoint {
    std::string name;
    std::string run_name;
  };
  std::vector<KnownCheckpoint> known_checkpoints;
  std::map<std::string, nlohmann::json> run_configs;
  std::map<std::string, std::vector<std::string>> run_iou_types;  // "run|ckpt" -> iou types

  auto resolve_known = [&](const std::string& ref) -> const KnownCheckpoint* {
    const KnownCheckpoint* hit = nullptr;
    for (const KnownCheckpoint& k : known_checkpoints) {
      if (k.name == ref) return &k;
      if (k.name.size() > ref.size() && k.name.starts_with(ref) && k.name[ref.size()] == '-') {
        if (hit != nullptr && hit->name != k.name) return nullptr;  // ambiguous: leave to server
        hit = &k;
      }
    }
    return hit;
  };

  size_t context_start = 0;
  size_t i = 0;
  while (i < lines.size()) {
    if (!LooksLikeStatLine(Lower(lines[i]))) {
      ++i;
      continue;
    }
    // A block: stat lines (blank lines allowed between them) until another kind of line, a
    // complete set of 12, or a line that starts a new block.
    const size_t block_start = i;
    ++block_ordinal;
    std::vector<std::pair<size_t, StatLine>> stat_lines;
    int ar_all_seen = 0;
    size_t j = i;
    while (j < lines.size() && stat_lines.size() < kNumCocoStats) {
      if (IsBlank(lines[j])) {
        ++j;
        continue;
      }
      if (!LooksLikeStatLine(Lower(lines[j]))) break;
      StatLine s = ParseStatLine(lines[j], ar_all_seen);
      if (s.index == 0 && !stat_lines.empty()) break;  // the next block starts here
      if (s.index >= 6 && s.index <= 8) ++ar_all_seen;
      stat_lines.emplace_back(j, std::move(s));
      ++j;
    }
    const size_t block_end = stat_lines.back().first + 1;  // one past the last stat line
    const std::vector<std::string> context(lines.begin() + static_cast<long>(context_start),
                                           lines.begin() + static_cast<long>(block_start));
    context_start = block_end;
    i = block_end;

    // Validate.
    std::string problem;
    for (size_t k = 0; k < stat_lines.size() && problem.empty(); ++k) {
      const auto& [line_index, s] = stat_lines[k];
      const std::string where = "line " + std::to_string(line_index + 1) + ": ";
      if (s.index < 0) {
        problem = where + s.problem;
      } else if (s.index != static_cast<int>(k)) {
        problem = where + "expected the " + std::string(kCocoStatNames[k]) + " line, found " +
                  std::string(kCocoStatNames[static_cast<size_t>(s.index)]);
      } else if (!s.value_ok) {
        problem = where + s.problem + " of " + std::string(kCocoStatNames[k]);
      }
    }
    if (problem.empty() && stat_lines.size() < kNumCocoStats) {
      problem = "truncated summary block: " + std::to_string(stat_lines.size()) +
                " of 12 stat lines (lines " + std::to_string(block_start + 1) + "-" +
                std::to_string(block_end) + "), next expected " +
                std::string(kCocoStatNames[stat_lines.size()]);
    }
    if (!problem.empty()) {
      result.skipped.push_back(DiarySkip{static_cast<int>(block_start + 1), problem});
      continue;
    }

    DiaryEvaluation ev;
    ev.line = static_cast<int>(block_start + 1);
    for (size_t k = 0; k < kNumCocoStats; ++k) ev.stats[k] = stat_lines[k].second.value;

    // Context: settings, iou type, checkpoint mentions.
    std::string context_text;
    for (const std::string& l : context) context_text += l + "\n";
    const RecognisedSettings settings = RecogniseSettings(context_text);
    for (const auto& [key, value] : settings.eval.items()) {
      if (key == "score_threshold") eval_state.score_threshold = value.get<double>();
      if (key == "top_k") eval_state.top_k = value.get<int64_t>();
      if (key == "nms_iou") eval_state.nms_iou = value.get<double>();
      if (key == "max_dets") eval_state.max_dets = value.get<int64_t>();
    }
    ev.eval = eval_state;
    ev.eval.max_dets = stat_lines[0].second.max_dets;
    const std::string lower_context = Lower(context_text);
    ev.eval.iou_type =
        ContainsAny(lower_context, {"*segm*", "iou_type=segm", "iou_type = segm", "iou_type: segm",
                                    "ioutype=segm", "segm:", "mask ap", "mask map", "mask results"})
            ? "segm"
            : "bbox";

    const std::vector<Mention> mentions = FindMentions(context);
    const Mention* own = nullptr;
    const Mention* parent = nullptr;
    const Mention* same = nullptr;
    for (const Mention& m : mentions) {
      if (m.kind == MentionKind::kOwn) own = &m;
      if (m.kind == MentionKind::kParent && parent == nullptr) parent = &m;
      if (m.kind == MentionKind::kSameAs && same == nullptr) same = &m;
    }
    // An own mention of a checkpoint seen before is an extra evaluation of it.
    if (same == nullptr && own != nullptr && resolve_known(own->ref) != nullptr &&
        resolve_known(own->ref)->name == own->ref) {
      same = own;
      own = nullptr;
    }

    if (same != nullptr) {
      if (const KnownCheckpoint* k = resolve_known(same->ref)) {
        ev.run_name = k->run_name;
        ev.checkpoint = k->name;
        ev.config = run_configs[k->run_name];
      } else {
        ev.checkpoint = same->ref;  // resolved by the coordinator
      }
      ev.checkpoint_file = same->file;
    } else if (own == nullptr && parent == nullptr && settings.config.empty() &&
               !result.evaluations.empty()) {
      // No checkpoint and no settings: another iou type of the previous subject, if that
      // subject has none of this type yet; otherwise a new run (below).
      const DiaryEvaluation& prev = result.evaluations.back();
      const std::string subject = prev.run_name + "|" + prev.checkpoint.value_or("");
      auto& types = run_iou_types[subject];
      if (!prev.run_name.empty() &&
          std::find(types.begin(), types.end(), ev.eval.iou_type) == types.end()) {
        ev.run_name = prev.run_name;
        ev.checkpoint = prev.checkpoint;
        ev.checkpoint_file = prev.checkpoint_file;
        ev.config = run_configs[prev.run_name];
      }
    }
    if (ev.run_name.empty() && !ev.checkpoint.has_value()) {
      ev.new_run = true;
      ev.run_name = stem + "-" + std::to_string(block_ordinal);
      nlohmann::json config = nlohmann::json::object();
      if (parent != nullptr) {
        if (const KnownCheckpoint* k = resolve_known(parent->ref)) {
          ev.parent_checkpoint = k->name;
          config = run_configs[k->run_name];
        } else {
          ev.parent_checkpoint = parent->ref;
        }
      }
      config.update(settings.config);
      ev.config = config;
      run_configs[ev.run_name] = config;
      if (own != nullptr) {
        ev.checkpoint = own->ref;
        ev.checkpoint_file = own->file;
        known_checkpoints.push_back(KnownCheckpoint{own->ref, ev.run_name});
      }
    }
    run_iou_types[ev.run_name + "|" + ev.checkpoint.value_or("")].push_back(ev.eval.iou_type);
    result.evaluations.push_back(std::move(ev));
  }
  return result;
}

}  // namespace ablate::diary
