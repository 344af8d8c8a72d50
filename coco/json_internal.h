// Internal helpers shared by the JSON loaders (not part of the public API).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "coco/dataset.h"
#include "common/status.h"
#include "simdjson.h"

namespace ablate::coco::internal {

// Thrown inside the loaders, converted to InvalidArgument at their boundary.
struct JsonFieldError {
  std::string message;
};

inline int64_t ReadInt64(simdjson::ondemand::value v, const char* what) {
  simdjson::ondemand::number n = v.get_number();
  switch (n.get_number_type()) {
    case simdjson::ondemand::number_type::signed_integer:
      return n.get_int64();
    case simdjson::ondemand::number_type::unsigned_integer:
      throw JsonFieldError{std::string(what) + " is out of the 64-bit integer range"};
    default: {
      const double d = n.get_double();
      if (std::floor(d) != d || std::fabs(d) > 9.0e18) {
        throw JsonFieldError{std::string(what) + " must be an integer"};
      }
      return static_cast<int64_t>(d);
    }
  }
}

inline BoxXywh ReadBox(simdjson::ondemand::value v, bool* empty) {
  double b[4];
  int n = 0;
  for (auto x : v.get_array()) {
    if (n >= 4) throw JsonFieldError{"'bbox' has more than 4 numbers"};
    b[n++] = x.get_double();
  }
  *empty = n == 0;
  if (n != 0 && n != 4) throw JsonFieldError{"'bbox' must have 4 numbers [x, y, w, h]"};
  if (n == 0) return BoxXywh{};
  return BoxXywh{b[0], b[1], b[2], b[3]};
}

// Polygons ([[x, y, ...], ...]) or an RLE object ({"size": [h, w], "counts": str | [int]}).
inline Segmentation ReadSegmentation(simdjson::ondemand::value v) {
  Segmentation seg;
  if (v.type() == simdjson::ondemand::json_type::array) {
    seg.kind = Segmentation::Kind::kPolygons;
    for (auto part : v.get_array()) {
      std::vector<double> xy;
      for (auto x : part.get_array()) xy.push_back(x.get_double());
      seg.polygons.push_back(std::move(xy));
    }
    return seg;
  }
  seg.kind = Segmentation::Kind::kRle;
  int64_t size[2] = {-1, -1};
  bool have_size = false;
  std::string counts_str;
  bool have_str = false, have_list = false;
  std::vector<uint32_t> counts_list;
  for (auto field : v.get_object()) {
    std::string_view key = field.unescaped_key();
    if (key == "size") {
      int n = 0;
      for (auto x : field.value().get_array()) {
        if (n >= 2) throw JsonFieldError{"segmentation 'size' must be [h, w]"};
        size[n++] = ReadInt64(x.value(), "segmentation 'size'");
      }
      if (n != 2) throw JsonFieldError{"segmentation 'size' must be [h, w]"};
      have_size = true;
    } else if (key == "counts") {
      simdjson::ondemand::value c = field.value();
      if (c.type() == simdjson::ondemand::json_type::string) {
        counts_str = std::string(std::string_view(c.get_string()));
        have_str = true;
      } else {
        for (auto x : c.get_array()) {
          const int64_t r = ReadInt64(x.value(), "segmentation 'counts'");
          if (r < 0 || r > 0xffffffffLL) throw JsonFieldError{"RLE run out of range"};
          counts_list.push_back(static_cast<uint32_t>(r));
        }
        have_list = true;
      }
    }
  }
  if (!have_size || (!have_str && !have_list)) {
    throw JsonFieldError{"RLE segmentation needs 'size' and 'counts'"};
  }
  if (size[0] < 0 || size[1] < 0 || size[0] > 0xffffffffLL || size[1] > 0xffffffffLL) {
    throw JsonFieldError{"segmentation 'size' out of range"};
  }
  const auto h = static_cast<uint32_t>(size[0]);
  const auto w = static_cast<uint32_t>(size[1]);
  if (have_str) {
    StatusOr<Rle> rle = RleFromString(counts_str, h, w);
    if (!rle.ok()) throw JsonFieldError{std::string(rle.status().message())};
    seg.rle = *std::move(rle);
  } else {
    seg.rle = Rle{h, w, std::move(counts_list)};
    seg.rle_was_uncompressed = true;
  }
  Status valid = ValidateRle(seg.rle);
  if (!valid.ok()) throw JsonFieldError{std::string(valid.message())};
  return seg;
}

}  // namespace ablate::coco::internal
