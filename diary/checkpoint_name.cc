#include "diary/checkpoint_name.h"

#include <cstdio>
#include <cstdlib>

namespace ablate::diary {
namespace {

bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Number of ASCII digits in `s` from `i` on.
size_t DigitsAt(std::string_view s, size_t i) {
  size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

bool HasAt(std::string_view s, size_t i, std::string_view what) {
  return i <= s.size() && s.substr(i, what.size()) == what;
}

// The name starting at `pos` (where "step" is), or nullopt. `*end`: one past the name.
std::optional<CheckpointName> NameAt(std::string_view line, size_t pos, size_t* end) {
  size_t i = pos + 4;  // "step"
  const size_t step_digits = DigitsAt(line, i);
  if (step_digits == 0) return std::nullopt;
  CheckpointName c;
  c.step = std::strtoll(std::string(line.substr(i, step_digits)).c_str(), nullptr, 10);
  i += step_digits;
  if (HasAt(line, i, "-ep")) {
    if (const size_t n = DigitsAt(line, i + 3); n > 0) {
      c.epoch = std::strtoll(std::string(line.substr(i + 3, n)).c_str(), nullptr, 10);
      i += 3 + n;
    }
  }
  if (HasAt(line, i, "-loss")) {
    if (const size_t n = DigitsAt(line, i + 5); n > 0) {
      size_t j = i + 5 + n;
      if (HasAt(line, j, ".")) {
        if (const size_t frac = DigitsAt(line, j + 1); frac > 0) j += 1 + frac;
      }
      c.loss = std::strtod(std::string(line.substr(i + 5, j - i - 5)).c_str(), nullptr);
      i = j;
    }
  }
  if (i < line.size() && IsAsciiAlnum(line[i])) return std::nullopt;  // "step0200000x"
  c.name = std::string(line.substr(pos, i - pos));
  *end = i;
  return c;
}

}  // namespace

std::vector<CheckpointMention> FindCheckpointNames(std::string_view line) {
  std::vector<CheckpointMention> out;
  size_t pos = line.find("step");
  while (pos != std::string_view::npos) {
    size_t end = pos;
    std::optional<CheckpointName> name;
    if (pos == 0 || !IsAsciiAlnum(line[pos - 1])) name = NameAt(line, pos, &end);
    if (name) {
      CheckpointMention m;
      m.pos = pos;
      m.size = end - pos;
      m.file = name->name;
      for (std::string_view suffix : kCheckpointFileSuffixes) {
        const size_t after = end + suffix.size();
        if (HasAt(line, end, suffix) &&
            (after == line.size() || (!IsAsciiAlnum(line[after]) && line[after] != '_'))) {
          m.file += suffix;
          break;
        }
      }
      m.name = *std::move(name);
      out.push_back(std::move(m));
      pos = line.find("step", end);
    } else {
      pos = line.find("step", pos + 4);
    }
  }
  return out;
}

std::optional<CheckpointName> ParseCheckpointName(std::string_view text) {
  std::vector<CheckpointMention> found = FindCheckpointNames(text);
  if (found.empty() || found[0].pos != 0 || found[0].file.size() != text.size()) {
    return std::nullopt;
  }
  return std::move(found[0].name);
}

std::string FormatCheckpointName(int64_t step, std::optional<int64_t> epoch,
                                 std::optional<double> loss) {
  // Every piece fits: 20 digits of an int64, or "%.3f" of a double up to 309 digits.
  char buf[400];
  std::string out = "step";
  std::snprintf(buf, sizeof(buf), "%07lld", static_cast<long long>(step));
  out += buf;
  if (epoch) {
    std::snprintf(buf, sizeof(buf), "-ep%03lld", static_cast<long long>(*epoch));
    out += buf;
  }
  if (loss) {
    std::snprintf(buf, sizeof(buf), "-loss%.3f", *loss);
    out += buf;
  }
  return out;
}

}  // namespace ablate::diary
