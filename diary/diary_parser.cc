#include "diary/diary_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>

#include "diary/summary_line.h"

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
  static const std::array<std::pair<std::string_view, std::string_view>, 18> kMap = {{
      {"\xEF\xBC\x88", "("},   // （
      {"\xEF\xBC\x89", ")"},   // ）
      {"\xEF\xBC\x8C", ","},   // ，
      {"\xEF\xBC\x9A", ":"},   // ：
      {"\xEF\xBC\x9D", "="},   // ＝
      {"\xEF\xBC\x9B", ";"},   // ；
      {"\xE3\x80\x81", ","},   // 、
      {"\xE3\x80\x82", "."},   // 。
      {"\xE3\x80\x80", " "},   // ideographic space
      {"\xEF\xBC\x8E", "."},   // ．
      {"\xEF\xBC\x81", "!"},   // ！
      {"\xEF\xBC\x9F", "?"},   // ？
      {"\xE3\x80\x90", "["},   // 【
      {"\xE3\x80\x91", "]"},   // 】
      {"\xE2\x80\x9C", "\""},  // “
      {"\xE2\x80\x9D", "\""},  // ”
      {"\xEF\xBD\x9E", "~"},   // ～
      {"\xEF\xBC\x8D", "-"},   // －
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

// ---- summary lines (summary_line.h) ----

struct StatLine {
  int index = -1;  // 0..11, -1: looks like a summary line but cannot be read
  double value = 0;
  int64_t max_dets = 0;
  std::string problem;  // when index == -1 or value unreadable
  bool value_ok = false;
  bool ar_all = false;  // AR over area=all (AR1, AR10, AR100)
};

// `ar_all_before`: the maxDets of this block's "AR area=all" lines so far (stats 6, 7, 8).
StatLine ParseStatLine(const std::string& line, const std::vector<int64_t>& ar_all_before) {
  StatLine out;
  const std::optional<SummaryLine> m = MatchSummaryLine(line);
  if (!m) {
    out.problem = "unreadable summary line";
    return out;
  }
  out.max_dets = m->max_dets;
  if (!SummaryAreaKnown(*m)) {
    out.problem = "unknown area '" + m->area + "'";
    return out;
  }
  out.ar_all = IsArOverAllAreas(*m);
  out.index = SummaryStatIndex(*m, ar_all_before);
  if (out.index < 0) {
    out.problem = "unexpected IoU '" + m->iou + "'";
    return out;
  }
  const std::optional<double> value = SummaryValue(*m);
  out.value_ok = value.has_value();
  out.value = value.value_or(0);
  if (!out.value_ok) out.problem = "cannot read the value '" + m->value + "'";
  return out;
}

// ---- checkpoint mentions ----

enum class MentionKind { kOwn, kParent, kSameAs };

struct Mention {
  MentionKind kind = MentionKind::kOwn;
  std::string ref;   // name without suffix
  std::string file;  // as written
};

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
    for (const CheckpointMention& m : FindCheckpointNames(line)) {
      Mention mention;
      mention.ref = m.name.name;
      mention.file = m.file;
      const size_t start = m.pos;
      std::string prefix = Lower(line.substr(0, start));
      // The directory glued to the name ("output/yolact_r50/") is not prose.
      const size_t space = prefix.find_last_of(" \t");
      const std::string glued = prefix.substr(space == std::string::npos ? 0 : space + 1);
      if (glued.find_first_of("/\\") != std::string::npos) {
        prefix.resize(prefix.size() - glued.size());
      }
      if (prefix.size() > 48) prefix = prefix.substr(prefix.size() - 48);
      // What follows the name on its line ("X 的基础上", "X 继续训练", "X onwards").
      std::string suffix = Lower(line.substr(start + m.size));
      if (suffix.size() > 24) suffix = suffix.substr(0, 24);
      // "from"/"从"/"init" alone is a parent only when the line is not an eval script loading
      // the checkpoint it evaluates ("Loading weights from X", "从 X 加载权重评估").
      const bool strong_parent =
          ContainsAny(prefix, {"back to", "rollback", "roll back", "resum", "fork", "based on",
                               "on top of", "continu", "revert", "restart", "branch", "warm",
                               "基于", "回滚", "回到", "回退", "退回", "恢复", "接着"}) ||
          ContainsAny(suffix, {"基础上", "继续", "接着", "开始训", "为起点", "起步", "onward",
                               "as the start", "as start"});
      const bool weak_parent = ContainsAny(prefix, {"from", "从", "init"});
      const bool loading = ContainsAny(prefix, {"load", "restor", "eval", "test", "加载", "载入",
                                                "读取", "评估", "测试"}) ||
                           ContainsAny(suffix, {"加载", "载入", "评估", "测试"});
      if (ContainsAny(prefix, {"same checkpoint", "same ckpt", "re-scor", "rescor", "re-eval",
                               "reeval", "re-ran eval", "同一", "同样的"})) {
        mention.kind = MentionKind::kSameAs;
      } else if (strong_parent || (weak_parent && !loading)) {
        mention.kind = MentionKind::kParent;
      }
      out.push_back(std::move(mention));
    }
  }
  return out;
}

// "fork from that checkpoint", "从这个checkpoint继续", "在此基础上": a fork of the last evaluated
// checkpoint that does not name it.
bool SaysForkOfPrevious(const std::string& lower_normalised) {
  static const std::regex kEnglish(
      R"((roll(?:ed|ing)?\s*back|revert(?:ed|ing)?|fork(?:ed|ing)?|continu(?:e|ed|ing)|resum(?:e|ed|ing)|restart(?:ed|ing)?|start(?:ed|ing)?|branch(?:ed|ing)?|fine-?tun(?:e|ed|ing)|init(?:ialized|ialised)?)\s+(?:training\s+|it\s+)?(?:from|to|off|on|at)\s+(?:that|this|the same|the last|the previous|the above|the best|the)\s+(?:checkpoint|ckpt|weights|snapshot|model))");
  static const std::regex kForkIt(R"(\bfork(?:ed)?\s+(?:it|that|this)\b)");
  static const std::regex kChinese(
      "(回滚|回到|回退|退回|基于|从|继续|接着|恢复|加载)\\s*(这个|那个|该|上一个|上面(?:的)?|"
      "同一个|此|这|那)\\s*(checkpoint|ckpt|模型|权重|快照|点)|(在|从|基于)\\s*(此|这里|这个|这|"
      "那里|那个|该)\\s*(?:checkpoint|ckpt|模型|权重)?\\s*(?:的)?\\s*(基础上|继续|开始)");
  return std::regex_search(lower_normalised, kEnglish) ||
         std::regex_search(lower_normalised, kForkIt) ||
         std::regex_search(lower_normalised, kChinese);
}

// The table kind the context says, the last mention winning ("Evaluate annotation type *segm*",
// "iou_type=bbox", "mask AP", "box AP", "分割", ...); nullopt when it says none.
std::optional<std::string> SaidIouType(const std::string& lower_normalised) {
  // Group 1: segm, group 2: bbox. A line that is only the word ("segm", "== mask ==") counts.
  static const std::regex kSaid(
      "(\\*segm\\*|iou_?type\\s*[=:]\\s*['\"]?segm|\\bsegm(?:entation)?\\s*(?::|ap\\b|map\\b|"
      "results?\\b|结果|指标)|\\bmask\\s*(?::|ap\\b|map\\b|results?\\b)|"
      "(?:mask|分割|掩码|掩膜)\\s*(?:的)?\\s*(?:ap|map|结果|指标|精度)|"
      "(?:^|\\n)[ \\t#=*\\[-]*(?:segm|mask)[ \\t#=*\\]:-]*(?=\\n|$))|"
      "(\\*bbox\\*|iou_?type\\s*[=:]\\s*['\"]?bbox|\\bb?box\\s*(?::|ap\\b|map\\b|results?\\b|"
      "结果|指标)|(?:b?box|检测框|框)\\s*(?:的)?\\s*(?:ap|map|结果|指标|精度)|(?:^|\\n)[ "
      "\\t#=*\\[-]*b?box[ \\t#=*\\]:-]*(?=\\n|$))");
  std::optional<std::string> out;
  for (auto it = std::sregex_iterator(lower_normalised.begin(), lower_normalised.end(), kSaid);
       it != std::sregex_iterator(); ++it) {
    out = (*it)[1].matched ? "segm" : "bbox";
  }
  return out;
}

// True when every line of a context is blank, a bare checkpoint name, or what an eval script
// prints around a summary (pycocotools progress lines, "Loading checkpoint X"): nothing a person
// wrote, so a table there continues the previous one.
bool IsEvalOutputOnly(const std::vector<std::string>& context_lines) {
  static const std::regex kNoise(
      R"(^\s*(?:\[?info\]?\s*)?(?:done\b.*|accumulating evaluation results.*|running per image evaluation.*|loading and preparing results.*|creating index.*|index created.*|evaluate annotation type.*|useSegm.*|```.*|~~~.*|(?:\[?(?:loading|loaded|load|evaluating|evaluate|eval|checkpoint|ckpt|weights|model|from)\]?\s*:?\s*)*(?:[\w./-]*/)?step\d+[\w.-]*\s*:?)\s*$)",
      std::regex::icase);
  for (const std::string& raw : context_lines) {
    if (IsBlank(raw)) continue;
    if (!std::regex_match(raw, kNoise)) return false;
  }
  return true;
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
  if (v == "ghm_c" || v == "ghmc" || v == "ghm-c" || v == "ghm") return "ghm_c";
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

// A loss name right after "from", "instead of", "not", "no", "从", "不用", "去掉", "代替" is the
// value being replaced, not the new one.
bool PrecededByFromOrInsteadOf(const std::string& lower, size_t pos) {
  std::string prefix = lower.substr(0, pos);
  while (!prefix.empty() && std::isspace(static_cast<unsigned char>(prefix.back()))) {
    prefix.pop_back();
  }
  for (std::string_view word : {"from", "instead of", "not", "no"}) {
    if (prefix.ends_with(word) &&
        (prefix.size() == word.size() ||
         !std::isalnum(static_cast<unsigned char>(prefix[prefix.size() - word.size() - 1])))) {
      return true;
    }
  }
  for (std::string_view word : {"从", "不用", "去掉", "代替", "而不是"}) {
    if (prefix.ends_with(word)) return true;
  }
  return false;
}

// "0.001 -> 0.0005", "0.001 改成 0.0005": the number after an arrow or "to" that follows the
// value ending at `end`; nullopt when none follows.
std::optional<std::string> NewValueAfter(const std::string& lower, size_t end) {
  static const std::regex kChange(std::string("^\\s*(?:->|=>|\xE2\x86\x92|to|改成|改为|改到|变成|"
                                              "调到|调成|调为|换成|降到|升到|提高到|降低到)\\s*") +
                                  kNum);
  std::smatch m;
  const std::string rest = lower.substr(end, 40);
  if (!std::regex_search(rest, m, kChange)) return std::nullopt;
  return m[1].str();
}

// True when `recognised` sets a training-config key to a value `current` does not have.
bool ChangesConfig(const nlohmann::json& recognised, const nlohmann::json& current) {
  for (const auto& [key, value] : recognised.items()) {
    if (!current.is_object() || !current.contains(key) || current[key] != value) return true;
  }
  return false;
}

bool SameEvalSettings(const DiaryEvalSettings& a, const DiaryEvalSettings& b) {
  return a.iou_type == b.iou_type && a.score_threshold == b.score_threshold && a.top_k == b.top_k &&
         a.nms_iou == b.nms_iou && a.max_dets == b.max_dets;
}

}  // namespace

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
    std::string value = (*it)[2].str();
    const size_t pos = static_cast<size_t>(it->position(0));
    const bool numeric = std::isdigit(static_cast<unsigned char>(value.back())) != 0;
    if (numeric) {
      // "lr: 0.001 -> 0.0005": the new value.
      if (auto changed = NewValueAfter(lower, static_cast<size_t>(it->position(0) + it->length(0))))
        value = *changed;
    }
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
        // Chinese notes: 学习率 0.001, 批大小 16, 正样本阈值 0.6, 负样本阈值 0.3, 分数阈值 0.05.
        {"学习率[^0-9\n=:]{0,12}?", false, "lr"},
        {"(?:批大小|批量大小|批次大小|批量)[^0-9\n=:]{0,12}?", false, "batch_size"},
        {"正样本(?:iou)?\\s*阈值[^0-9\n=:]{0,12}?", false, "pos_threshold"},
        {"负样本(?:iou)?\\s*阈值[^0-9\n=:]{0,12}?", false, "neg_threshold"},
        {"(?:分数|置信度|得分)阈值[^0-9\n=:]{0,12}?", true, "score_threshold"},
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
      const size_t end = static_cast<size_t>(it->position(0) + it->length(0));
      const std::string num = NewValueAfter(lower, end).value_or((*it)[1].str());
      found.emplace_back(static_cast<size_t>(it->position(0)), prose.eval, prose.key,
                         NumberJson(num));
    }
  }

  // Loss names in prose.
  static const std::regex kConfLoss(
      R"((^|[^a-z0-9_])(ohem|focal|ghm(?:[-_]?c)?|ce|cross[- ]entropy)([ _]loss)?(?![a-z0-9_]))");
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

DiaryParseResult ParseDiary(std::string_view text, std::string_view source_name,
                            const DiaryParseOptions& options) {
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
    if (!LooksLikeSummaryLine(lines[i])) {
      ++i;
      continue;
    }
    // A block: stat lines (blank lines allowed between them) until another kind of line, a
    // complete set of 12, or a line that starts a new block.
    const size_t block_start = i;
    ++block_ordinal;
    std::vector<std::pair<size_t, StatLine>> stat_lines;
    std::vector<int64_t> ar_all_max_dets;
    size_t j = i;
    while (j < lines.size() && stat_lines.size() < kNumCocoStats) {
      if (IsBlank(lines[j])) {
        ++j;
        continue;
      }
      if (!LooksLikeSummaryLine(lines[j])) break;
      StatLine s = ParseStatLine(lines[j], ar_all_max_dets);
      if (s.index == 0 && !stat_lines.empty()) break;  // the next block starts here
      if (s.ar_all) ar_all_max_dets.push_back(s.max_dets);
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
    const std::string lower_context = Lower(NormalisePunctuation(context_text));
    const std::optional<std::string> said_iou = SaidIouType(lower_context);
    const bool context_is_output = IsEvalOutputOnly(context);

    const std::vector<Mention> mentions = FindMentions(context);
    const Mention* own = nullptr;
    const Mention* parent = nullptr;
    const Mention* same = nullptr;
    for (const Mention& m : mentions) {
      if (m.kind == MentionKind::kOwn) own = &m;
      if (m.kind == MentionKind::kParent && parent == nullptr) parent = &m;
      if (m.kind == MentionKind::kSameAs && same == nullptr) same = &m;
    }
    const bool fork_of_previous = SaysForkOfPrevious(lower_context);
    // The parent named by "fork from that checkpoint" (no name): the last evaluated checkpoint.
    std::optional<std::string> parent_ref;
    if (parent != nullptr) parent_ref = parent->ref;
    // An own mention of a checkpoint seen before: another evaluation of it, unless the context
    // forks it (fork words, or a training-config change a re-evaluation cannot have).
    if (same == nullptr && own != nullptr) {
      const KnownCheckpoint* k = resolve_known(own->ref);
      if (k != nullptr && k->name == own->ref) {
        if (parent_ref.has_value() || fork_of_previous ||
            ChangesConfig(settings.config, run_configs[k->run_name])) {
          if (!parent_ref.has_value()) parent_ref = own->ref;
          own = nullptr;  // the forked run's evaluated checkpoint is not named
        } else {
          same = own;
          own = nullptr;
        }
      }
    }
    if (!parent_ref.has_value() && same == nullptr && fork_of_previous) {
      for (auto e = result.evaluations.rbegin(); e != result.evaluations.rend(); ++e) {
        if (e->checkpoint.has_value()) {
          parent_ref = *e->checkpoint;
          break;
        }
      }
    }
    const bool says_run_change =
        own != nullptr || parent_ref.has_value() || fork_of_previous || !settings.config.empty();

    // A table pasted twice (with or without its checkpoint name again): the same numbers,
    // nothing new said.
    if (!says_run_change && settings.eval.empty()) {
      const DiaryEvaluation* twin = nullptr;
      for (const DiaryEvaluation& e : result.evaluations) {
        if (e.stats == ev.stats) twin = &e;
      }
      if (twin != nullptr) {
        result.skipped.push_back(DiarySkip{ev.line, "the same table as line " +
                                                        std::to_string(twin->line) +
                                                        " (pasted twice); nothing new stored"});
        continue;
      }
    }

    std::string subject_run;
    std::optional<std::string> subject_checkpoint;
    std::string subject_file;
    if (same != nullptr) {
      if (const KnownCheckpoint* k = resolve_known(same->ref)) {
        subject_run = k->run_name;
        subject_checkpoint = k->name;
      } else {
        subject_checkpoint = same->ref;  // resolved by the coordinator
      }
      subject_file = same->file;
    } else if (!says_run_change && !result.evaluations.empty() &&
               !result.evaluations.back().run_name.empty()) {
      // No checkpoint and no settings: possibly another table kind of the previous subject.
      const DiaryEvaluation& prev = result.evaluations.back();
      subject_run = prev.run_name;
      subject_checkpoint = prev.checkpoint;
      subject_file = prev.checkpoint_file;
    }
    const std::string subject_key = subject_run + "|" + subject_checkpoint.value_or("");
    const std::vector<std::string>& subject_types = run_iou_types[subject_key];
    auto has_type = [&](const std::string& t) {
      return std::find(subject_types.begin(), subject_types.end(), t) != subject_types.end();
    };
    if (said_iou.has_value()) {
      ev.eval.iou_type = *said_iou;
    } else if (options.default_iou_type.has_value()) {
      ev.eval.iou_type = *options.default_iou_type;
    } else if ((same != nullptr || !subject_run.empty()) && context_is_output &&
               settings.eval.empty() && has_type("bbox") && !has_type("segm") &&
               !result.evaluations.empty() && result.evaluations.back().run_name == subject_run &&
               result.evaluations.back().checkpoint == subject_checkpoint) {
      ev.eval.iou_type = "segm";  // the segm table printed right after the bbox one
    } else {
      ev.eval.iou_type = "bbox";
    }

    if (same != nullptr) {
      ev.run_name = subject_run;
      ev.checkpoint = subject_checkpoint;
      ev.checkpoint_file = subject_file;
      if (!subject_run.empty()) ev.config = run_configs[subject_run];
    } else if (!subject_run.empty() && !has_type(ev.eval.iou_type)) {
      ev.run_name = subject_run;
      ev.checkpoint = subject_checkpoint;
      ev.checkpoint_file = subject_file;
      ev.config = run_configs[subject_run];
    }

    // An evaluation of an existing subject that repeats one already read.
    if (!ev.run_name.empty() || ev.checkpoint.has_value()) {
      const DiaryEvaluation* clash = nullptr;
      for (const DiaryEvaluation& e : result.evaluations) {
        if (e.run_name == ev.run_name && e.checkpoint == ev.checkpoint &&
            SameEvalSettings(e.eval, ev.eval)) {
          clash = &e;
        }
      }
      if (clash != nullptr) {
        const std::string what = ev.checkpoint.value_or(ev.run_name);
        if (clash->stats == ev.stats) {
          result.skipped.push_back(DiarySkip{
              ev.line, "the same " + ev.eval.iou_type + " evaluation of " + what + " as line " +
                           std::to_string(clash->line) + " (pasted twice); nothing new stored"});
        } else {
          result.skipped.push_back(
              DiarySkip{ev.line, "conflicts with line " + std::to_string(clash->line) +
                                     ": another " + ev.eval.iou_type + " table of " + what +
                                     " with the same eval settings and different numbers; say what "
                                     "changed before it (\"roll back to " +
                                     what + ", change ...\", a setting, or segm/bbox)"});
        }
        continue;
      }
    }

    if (ev.run_name.empty() && !ev.checkpoint.has_value()) {
      ev.new_run = true;
      ev.run_name = stem + "-" + std::to_string(block_ordinal);
      nlohmann::json config = nlohmann::json::object();
      if (parent_ref.has_value()) {
        if (const KnownCheckpoint* k = resolve_known(*parent_ref)) {
          ev.parent_checkpoint = k->name;
          config = run_configs[k->run_name];
        } else {
          ev.parent_checkpoint = *parent_ref;
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
