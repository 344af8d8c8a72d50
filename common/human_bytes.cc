#include "common/human_bytes.h"

#include <cstdio>

namespace ablate {

std::string HumanBytes(int64_t bytes) {
  constexpr int64_t kKiB = 1024;
  constexpr int64_t kMiB = kKiB * 1024;
  constexpr int64_t kGiB = kMiB * 1024;
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (bytes < kKiB) {
    std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(bytes));
  } else if (bytes < kMiB) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / static_cast<double>(kKiB));
  } else if (bytes < kGiB) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", b / static_cast<double>(kMiB));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", b / static_cast<double>(kGiB));
  }
  return buf;
}

}  // namespace ablate
