#include <cstdlib>
#include <cstring>
#include <vector>

#include "coco/polygon.h"
#include "coco/rle.h"
#include "fuzz/fuzz_entry_points.h"

namespace ablate::fuzz {
namespace {

// Properties of a valid RLE that hold by the format's definition.
void CheckValidRle(const coco::Rle& rle) {
  std::vector<uint8_t> mask = coco::DecodeMask(rle);
  if (mask.size() != size_t{rle.h} * rle.w) std::abort();
  coco::Rle reencoded = coco::EncodeMask(mask.data(), rle.h, rle.w);
  if (coco::DecodeMask(reencoded) != mask) std::abort();
  auto round_trip = coco::RleFromString(coco::RleToString(rle), rle.h, rle.w);
  if (!round_trip.ok() || round_trip->counts != rle.counts) std::abort();
  uint32_t area = coco::RleArea(rle);
  uint32_t ones = 0;
  for (uint8_t v : mask) ones += v;
  if (area != ones) std::abort();
  (void)coco::RleToBbox(rle);
  (void)coco::RleIou(rle, reencoded, /*gt_crowd=*/false);
  std::vector<coco::Rle> both = {rle, reencoded};
  (void)coco::MergeRles(both, /*intersect=*/true);
}

}  // namespace

void CocoMasksEntry(std::string_view data) {
  if (data.size() < 3) return;
  const bool polygons = (static_cast<uint8_t>(data[0]) & 1) != 0;
  const uint32_t h = static_cast<uint8_t>(data[1]) % 64;
  const uint32_t w = static_cast<uint8_t>(data[2]) % 64;
  data.remove_prefix(3);
  if (!polygons) {
    auto rle = coco::RleFromString(data, h, w);
    if (!rle.ok()) return;
    (void)coco::DecodeMask(*rle);  // clips runs past h*w, valid or not
    if (coco::ValidateRle(*rle).ok()) CheckValidRle(*rle);
    return;
  }
  // Parts separated by a NaN whose bits are 0xffffffff; other values as they are (inf, NaN, huge).
  std::vector<std::vector<double>> parts(1);
  for (size_t i = 0; i + 4 <= data.size(); i += 4) {
    uint32_t bits = 0;
    std::memcpy(&bits, data.data() + i, 4);
    if (bits == 0xffffffffu) {
      parts.emplace_back();
      continue;
    }
    float v = 0;
    std::memcpy(&v, &bits, 4);
    parts.back().push_back(v);
  }
  if (!coco::ValidatePolygons(parts).ok()) return;
  auto rle = coco::RleFromPolygons(parts, h, w);
  if (rle.ok() && coco::ValidateRle(*rle).ok()) CheckValidRle(*rle);
}

}  // namespace ablate::fuzz
