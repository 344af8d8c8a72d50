#include "coco/rle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ablate::coco {

Rle EncodeMask(const uint8_t* mask_col_major, uint32_t h, uint32_t w) {
  Rle rle{h, w, {}};
  const uint64_t n = static_cast<uint64_t>(h) * w;
  uint8_t prev = 0;
  uint32_t run = 0;
  for (uint64_t j = 0; j < n; ++j) {
    const uint8_t v = mask_col_major[j] != 0 ? 1 : 0;
    if (v != prev) {
      rle.counts.push_back(run);
      run = 0;
      prev = v;
    }
    ++run;
  }
  rle.counts.push_back(run);
  return rle;
}

std::vector<uint8_t> DecodeMask(const Rle& rle) {
  const uint64_t n = static_cast<uint64_t>(rle.h) * rle.w;
  std::vector<uint8_t> mask(n, 0);
  uint64_t pos = 0;
  uint8_t v = 0;
  for (uint32_t c : rle.counts) {
    const uint64_t end = std::min<uint64_t>(n, pos + c);
    if (v) std::fill(mask.begin() + pos, mask.begin() + end, 1);
    pos = end;
    v = !v;
  }
  return mask;
}

std::string RleToString(const Rle& rle) {
  std::string s;
  s.reserve(rle.counts.size() * 2);
  const auto& cnts = rle.counts;
  for (size_t i = 0; i < cnts.size(); ++i) {
    int64_t x = cnts[i];
    if (i > 2) x -= static_cast<int64_t>(cnts[i - 2]);
    bool more = true;
    while (more) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic shift, as the reference's `long`
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      c += 48;
      s.push_back(c);
    }
  }
  return s;
}

StatusOr<Rle> RleFromString(std::string_view s, uint32_t h, uint32_t w) {
  Rle rle{h, w, {}};
  rle.counts.reserve(s.size());
  size_t p = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size()) {
        return absl::InvalidArgumentError("RLE counts string ends in the middle of a number");
      }
      const int c = static_cast<unsigned char>(s[p]) - 48;
      if (c < 0 || c > 63) {
        return absl::InvalidArgumentError(
            absl::StrCat("RLE counts string has a character outside '0'..'o' at position ", p));
      }
      if (k >= 12) return absl::InvalidArgumentError("RLE counts string has a number too long");
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(-1) * (int64_t{1} << (5 * k));
    }
    const size_t m = rle.counts.size();
    if (m > 2) x += static_cast<int64_t>(rle.counts[m - 2]);
    rle.counts.push_back(static_cast<uint32_t>(x));
  }
  return rle;
}

Status ValidateRle(const Rle& rle) {
  uint64_t sum = 0;
  for (uint32_t c : rle.counts) sum += c;
  const uint64_t n = static_cast<uint64_t>(rle.h) * rle.w;
  if (sum != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RLE runs add up to ", sum, " pixels but the mask size is ", rle.h, "x", rle.w, " = ", n));
  }
  return absl::OkStatus();
}

uint32_t RleArea(const Rle& rle) {
  uint32_t a = 0;
  for (size_t j = 1; j < rle.counts.size(); j += 2) a += rle.counts[j];
  return a;
}

BoxXywh RleToBbox(const Rle& rle) {
  const uint32_t h = rle.h;
  const uint32_t w = rle.w;
  const size_t m = (rle.counts.size() / 2) * 2;
  if (m == 0 || h == 0) return BoxXywh{};
  uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  // (cx, cy) = column and row of pixel index cc, kept incrementally: most runs are shorter than
  // a column, so this avoids a division per run (same values as t / h and t % h).
  uint32_t cx = 0, cy = 0;
  for (size_t j = 0; j < m; ++j) {
    const uint32_t c = rle.counts[j];
    cc += c;
    if (c < h) {
      cy += c;
      if (cy >= h) {
        cy -= h;
        ++cx;
      }
    } else {
      cy = cc % h;
      cx = cc / h;
    }
    uint32_t x, y;
    if (j % 2 == 0) {
      x = cx;
      y = cy;
    } else if (cc != 0) {  // t = cc - 1
      x = cy == 0 ? cx - 1 : cx;
      y = cy == 0 ? h - 1 : cy - 1;
    } else {  // t wraps around as the reference's unsigned arithmetic does
      const uint32_t t = cc - 1;
      y = t % h;
      x = (t - y) / h;
    }
    if (j % 2 == 0) {
      xp = x;
    } else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = std::min(xs, x);
    xe = std::max(xe, x);
    ys = std::min(ys, y);
    ye = std::max(ye, y);
  }
  return BoxXywh{static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
                 static_cast<double>(ye - ys + 1)};
}

Rle MergeRles(std::span<const Rle> rles, bool intersect) {
  if (rles.empty()) return Rle{};
  if (rles.size() == 1) return rles[0];
  uint32_t h = rles[0].h, w = rles[0].w;
  std::vector<uint32_t> cnts = rles[0].counts;
  std::vector<uint32_t> out;
  for (size_t i = 1; i < rles.size(); ++i) {
    const Rle& b_rle = rles[i];
    if (b_rle.h != h || b_rle.w != w) {
      return Rle{0, 0, {}};
    }
    const std::vector<uint32_t>& A = cnts;
    const std::vector<uint32_t>& B = b_rle.counts;
    out.clear();
    uint32_t ca = A.empty() ? 0 : A[0];
    uint32_t cb = B.empty() ? 0 : B[0];
    bool v = false, va = false, vb = false;
    size_t a = 1, b = 1;
    uint32_t cc = 0;
    uint32_t ct = 1;
    while (ct > 0) {
      const uint32_t c = std::min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.size()) {
        ca = A[a++];
        va = !va;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.size()) {
        cb = B[b++];
        vb = !vb;
      }
      ct += cb;
      // One side has no runs left while the other still has pixels: the runs add up to different
      // totals (invalid input). The reference loops forever here; stop with what is merged.
      if (ct > 0 && ((ca == 0 && a >= A.size()) || (cb == 0 && b >= B.size()))) {
        out.push_back(cc);
        break;
      }
      const bool vp = v;
      v = intersect ? (va && vb) : (va || vb);
      if (v != vp || ct == 0) {
        out.push_back(cc);
        cc = 0;
      }
    }
    cnts.swap(out);
  }
  return Rle{h, w, std::move(cnts)};
}

namespace {

// Walks the foreground intervals [start, end) of a mask in pixel order.
class FgIntervals {
 public:
  explicit FgIntervals(const std::vector<uint32_t>& counts) : c_(counts) { Next(); }
  bool valid() const { return valid_; }
  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  void Next() {
    while (j_ + 1 < c_.size()) {
      pos_ += c_[j_];
      start_ = pos_;
      pos_ += c_[j_ + 1];
      end_ = pos_;
      j_ += 2;
      if (end_ > start_) return;
    }
    valid_ = false;
  }

 private:
  const std::vector<uint32_t>& c_;
  size_t j_ = 0;
  uint64_t pos_ = 0, start_ = 0, end_ = 0;
  bool valid_ = true;
};

}  // namespace

uint32_t RleIntersectionArea(const Rle& a, const Rle& b, uint64_t lo, uint64_t hi) {
  FgIntervals ia(a.counts), ib(b.counts);
  while (ia.valid() && ia.end() <= lo) ia.Next();
  while (ib.valid() && ib.end() <= lo) ib.Next();
  uint32_t inter = 0;
  while (ia.valid() && ib.valid() && ia.start() < hi && ib.start() < hi) {
    const uint64_t s = std::max(ia.start(), ib.start());
    const uint64_t e = std::min(ia.end(), ib.end());
    if (e > s) inter += static_cast<uint32_t>(e - s);
    if (ia.end() < ib.end()) {
      ia.Next();
    } else {
      ib.Next();
    }
  }
  return inter;
}

double RleIou(const Rle& dt, const BoxXywh& dt_box, uint32_t dt_area, const Rle& gt,
              const BoxXywh& gt_box, uint32_t gt_area, bool gt_crowd) {
  // rleIou first computes the IoU of the masks' boxes and keeps it when it is not positive.
  const double box_iou = BoxIou(dt_box, gt_box, gt_crowd);
  if (!(box_iou > 0)) return box_iou;
  if (dt.h != gt.h || dt.w != gt.w) return -1.0;
  // Both foregrounds lie in their boxes' columns: only the shared columns can intersect.
  const uint64_t h = dt.h;
  const uint64_t lo = static_cast<uint64_t>(std::max(dt_box.x, gt_box.x)) * h;
  const uint64_t hi = static_cast<uint64_t>(std::min(dt_box.x + dt_box.w, gt_box.x + gt_box.w)) * h;
  const uint32_t i = RleIntersectionArea(dt, gt, lo, hi);
  // Same 32-bit arithmetic as the reference's run walk: |A u B| = |A| + |B| - |A n B|.
  uint32_t u;
  if (i == 0) {
    u = 1;
  } else if (gt_crowd) {
    u = dt_area;
  } else {
    u = dt_area + gt_area - i;
  }
  return static_cast<double>(i) / static_cast<double>(u);
}

double RleIou(const Rle& dt, const Rle& gt, bool gt_crowd) {
  return RleIou(dt, RleToBbox(dt), RleArea(dt), gt, RleToBbox(gt), RleArea(gt), gt_crowd);
}

}  // namespace ablate::coco
