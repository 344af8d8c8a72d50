#include "detector/detect.h"

#include <torch/torch.h>

#include <algorithm>

namespace ablate::detector {
namespace {

namespace F = torch::nn::functional;
using torch::indexing::None;
using torch::indexing::Slice;

// Reference intersect(): batched [n,A,4] x [n,B,4] -> [n,A,B].
torch::Tensor Intersect(const torch::Tensor& box_a, const torch::Tensor& box_b) {
  const int64_t n = box_a.size(0), a = box_a.size(1), b = box_b.size(1);
  torch::Tensor max_xy = torch::min(box_a.slice(2, 2).unsqueeze(2).expand({n, a, b, 2}),
                                    box_b.slice(2, 2).unsqueeze(1).expand({n, a, b, 2}));
  torch::Tensor min_xy = torch::max(box_a.slice(2, 0, 2).unsqueeze(2).expand({n, a, b, 2}),
                                    box_b.slice(2, 0, 2).unsqueeze(1).expand({n, a, b, 2}));
  return torch::clamp_min(max_xy - min_xy, 0).prod(3);
}

// Reference sanitize_coordinates with cast=False.
std::pair<torch::Tensor, torch::Tensor> Sanitize(const torch::Tensor& x1_in,
                                                 const torch::Tensor& x2_in, int64_t size,
                                                 int padding) {
  torch::Tensor a = x1_in * size;
  torch::Tensor b = x2_in * size;
  torch::Tensor x1 = torch::min(a, b);
  torch::Tensor x2 = torch::max(a, b);
  x1 = torch::clamp_min(x1 - padding, 0);
  x2 = torch::clamp_max(x2 + padding, size);
  return {x1, x2};
}

Detections EmptyDetections(const torch::Tensor& like_boxes, int64_t k) {
  Detections d;
  d.box = torch::zeros({0, 4}, like_boxes.options());
  d.class_idx = torch::zeros({0}, like_boxes.options().dtype(torch::kLong));
  d.score = torch::zeros({0}, like_boxes.options());
  d.mask_coeff = torch::zeros({0, k}, like_boxes.options());
  return d;
}

Detections FastNms(const torch::Tensor& boxes, const torch::Tensor& masks,
                   const torch::Tensor& scores_in, const DetectOptions& o) {
  auto sorted = scores_in.sort(/*dim=*/1, /*descending=*/true);
  torch::Tensor scores = std::get<0>(sorted);
  torch::Tensor idx = std::get<1>(sorted);
  idx = idx.index({Slice(), Slice(None, o.top_k)}).contiguous();
  scores = scores.index({Slice(), Slice(None, o.top_k)});
  const int64_t num_classes = idx.size(0), num_dets = idx.size(1);
  torch::Tensor b = boxes.index({idx.view(-1), Slice()}).view({num_classes, num_dets, 4});
  torch::Tensor m = masks.index({idx.view(-1), Slice()}).view({num_classes, num_dets, -1});
  torch::Tensor iou = Jaccard(b, b);
  iou.triu_(/*diagonal=*/1);
  torch::Tensor iou_max = std::get<0>(iou.max(/*dim=*/1));
  torch::Tensor keep = iou_max <= o.nms_thresh;
  torch::Tensor classes = torch::arange(num_classes, boxes.options().dtype(torch::kLong))
                              .index({Slice(), torch::indexing::None})
                              .expand_as(keep);
  classes = classes.index({keep});
  b = b.index({keep});
  m = m.index({keep});
  scores = scores.index({keep});
  auto resorted = scores.sort(/*dim=*/0, /*descending=*/true);
  scores = std::get<0>(resorted);
  torch::Tensor order = std::get<1>(resorted);
  order = order.index({Slice(None, o.max_num_detections)});
  scores = scores.index({Slice(None, o.max_num_detections)});
  return {b.index({order}), classes.index({order}), scores, m.index({order})};
}

Detections CrossClassFastNms(const torch::Tensor& boxes, const torch::Tensor& masks,
                             const torch::Tensor& scores_in, const DetectOptions& o) {
  auto best = scores_in.max(/*dim=*/0);
  torch::Tensor scores = std::get<0>(best);
  torch::Tensor classes = std::get<1>(best);
  torch::Tensor idx = std::get<1>(scores.sort(/*dim=*/0, /*descending=*/true));
  idx = idx.index({Slice(None, o.top_k)});
  torch::Tensor boxes_idx = boxes.index({idx});
  torch::Tensor iou = Jaccard(boxes_idx, boxes_idx);
  iou.triu_(/*diagonal=*/1);
  torch::Tensor iou_max = std::get<0>(iou.max(/*dim=*/0));
  torch::Tensor idx_out = idx.index({iou_max <= o.nms_thresh});
  return {boxes.index({idx_out}), classes.index({idx_out}), scores.index({idx_out}),
          masks.index({idx_out})};
}

// Greedy NMS per class over candidates scoring above conf_thresh (the reference
// traditional_nms), then the max_num_detections best overall.
Detections StandardNms(const torch::Tensor& boxes, const torch::Tensor& masks,
                       const torch::Tensor& scores, const DetectOptions& o) {
  std::vector<int64_t> keep_idx, keep_cls;
  std::vector<float> keep_score;
  torch::Tensor boxes_cpu = boxes.to(torch::kCPU, torch::kFloat32).contiguous();
  torch::Tensor scores_cpu = scores.to(torch::kCPU, torch::kFloat32).contiguous();
  auto ba = boxes_cpu.accessor<float, 2>();
  auto sa = scores_cpu.accessor<float, 2>();
  for (int64_t c = 0; c < scores_cpu.size(0); ++c) {
    std::vector<int64_t> cand;
    for (int64_t i = 0; i < scores_cpu.size(1); ++i) {
      if (sa[c][i] > o.conf_thresh) cand.push_back(i);
    }
    std::stable_sort(cand.begin(), cand.end(),
                     [&](int64_t x, int64_t y) { return sa[c][x] > sa[c][y]; });
    if (static_cast<int>(cand.size()) > o.top_k) cand.resize(o.top_k);
    std::vector<int64_t> kept;
    for (int64_t i : cand) {
      bool ok = true;
      for (int64_t j : kept) {
        const float ix1 = std::max(ba[i][0], ba[j][0]), iy1 = std::max(ba[i][1], ba[j][1]);
        const float ix2 = std::min(ba[i][2], ba[j][2]), iy2 = std::min(ba[i][3], ba[j][3]);
        const float inter = std::max(0.f, ix2 - ix1) * std::max(0.f, iy2 - iy1);
        const float area_i = (ba[i][2] - ba[i][0]) * (ba[i][3] - ba[i][1]);
        const float area_j = (ba[j][2] - ba[j][0]) * (ba[j][3] - ba[j][1]);
        if (inter / (area_i + area_j - inter) > o.nms_thresh) {
          ok = false;
          break;
        }
      }
      if (ok) kept.push_back(i);
    }
    for (int64_t i : kept) {
      keep_idx.push_back(i);
      keep_cls.push_back(c);
      keep_score.push_back(sa[c][i]);
    }
  }
  std::vector<size_t> order(keep_idx.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return keep_score[a] > keep_score[b]; });
  if (static_cast<int>(order.size()) > o.max_num_detections) order.resize(o.max_num_detections);
  std::vector<int64_t> idx, cls;
  std::vector<float> sc;
  for (size_t i : order) {
    idx.push_back(keep_idx[i]);
    cls.push_back(keep_cls[i]);
    sc.push_back(keep_score[i]);
  }
  const auto n = static_cast<int64_t>(idx.size());
  torch::Tensor index = torch::tensor(idx, torch::kLong).view({n}).to(boxes.device());
  return {boxes.index({index}), torch::tensor(cls, torch::kLong).view({n}).to(boxes.device()),
          torch::tensor(sc, torch::kFloat32).view({n}).to(boxes.device()), masks.index({index})};
}

}  // namespace

torch::Tensor PointForm(const torch::Tensor& b) {
  return torch::cat({b.slice(1, 0, 2) - b.slice(1, 2) / 2, b.slice(1, 0, 2) + b.slice(1, 2) / 2},
                    1);
}

torch::Tensor CenterSize(const torch::Tensor& b) {
  return torch::cat({(b.slice(1, 2) + b.slice(1, 0, 2)) / 2, b.slice(1, 2) - b.slice(1, 0, 2)}, 1);
}

torch::Tensor Jaccard(const torch::Tensor& box_a_in, const torch::Tensor& box_b_in, bool iscrowd) {
  const bool batched = box_a_in.dim() == 3;
  torch::Tensor box_a = batched ? box_a_in : box_a_in.unsqueeze(0);
  torch::Tensor box_b = batched ? box_b_in : box_b_in.unsqueeze(0);
  torch::Tensor inter = Intersect(box_a, box_b);
  torch::Tensor area_a =
      ((box_a.select(2, 2) - box_a.select(2, 0)) * (box_a.select(2, 3) - box_a.select(2, 1)))
          .unsqueeze(2)
          .expand_as(inter);
  torch::Tensor area_b =
      ((box_b.select(2, 2) - box_b.select(2, 0)) * (box_b.select(2, 3) - box_b.select(2, 1)))
          .unsqueeze(1)
          .expand_as(inter);
  torch::Tensor out = iscrowd ? inter / area_a : inter / (area_a + area_b - inter);
  return batched ? out : out.squeeze(0);
}

torch::Tensor Decode(const torch::Tensor& loc, const torch::Tensor& priors) {
  torch::Tensor boxes =
      torch::cat({priors.slice(1, 0, 2) + loc.slice(1, 0, 2) * 0.1 * priors.slice(1, 2),
                  priors.slice(1, 2) * torch::exp(loc.slice(1, 2) * 0.2)},
                 1);
  boxes.slice(1, 0, 2).sub_(boxes.slice(1, 2) / 2);
  boxes.slice(1, 2).add_(boxes.slice(1, 0, 2));
  return boxes;
}

torch::Tensor Encode(const torch::Tensor& matched, const torch::Tensor& priors) {
  torch::Tensor g_cxcy = (matched.slice(1, 0, 2) + matched.slice(1, 2)) / 2 - priors.slice(1, 0, 2);
  g_cxcy = g_cxcy / (0.1 * priors.slice(1, 2));
  torch::Tensor g_wh = (matched.slice(1, 2) - matched.slice(1, 0, 2)) / priors.slice(1, 2);
  g_wh = torch::log(g_wh) / 0.2;
  return torch::cat({g_cxcy, g_wh}, 1);
}

std::vector<Detections> Detect(const torch::Tensor& loc, const torch::Tensor& scores,
                               const torch::Tensor& mask_coeff, const torch::Tensor& priors,
                               const DetectOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t batch = loc.size(0), num_priors = priors.size(0);
  torch::Tensor conf_preds =
      scores.view({batch, num_priors, scores.size(2)}).transpose(2, 1).contiguous();
  std::vector<Detections> out;
  for (int64_t b = 0; b < batch; ++b) {
    torch::Tensor decoded = Decode(loc[b], priors);
    torch::Tensor cur_scores = conf_preds[b].slice(0, 1);
    torch::Tensor conf_scores = std::get<0>(torch::max(cur_scores, /*dim=*/0));
    torch::Tensor keep = conf_scores > options.conf_thresh;
    torch::Tensor s = cur_scores.index({Slice(), keep});
    torch::Tensor boxes = decoded.index({keep, Slice()});
    torch::Tensor masks = mask_coeff[b].index({keep, Slice()});
    if (s.size(1) == 0) {
      out.push_back(EmptyDetections(decoded, mask_coeff.size(2)));
      continue;
    }
    if (!options.fast_nms) {
      out.push_back(StandardNms(boxes, masks, s, options));
    } else if (options.cross_class_nms) {
      out.push_back(CrossClassFastNms(boxes, masks, s, options));
    } else {
      out.push_back(FastNms(boxes, masks, s, options));
    }
  }
  return out;
}

torch::Tensor CropMasks(const torch::Tensor& masks, const torch::Tensor& boxes, int padding) {
  const int64_t h = masks.size(0), w = masks.size(1), n = masks.size(2);
  auto [x1, x2] = Sanitize(boxes.select(1, 0), boxes.select(1, 2), w, padding);
  auto [y1, y2] = Sanitize(boxes.select(1, 1), boxes.select(1, 3), h, padding);
  torch::Tensor rows = torch::arange(w, x1.options()).view({1, -1, 1}).expand({h, w, n});
  torch::Tensor cols = torch::arange(h, x1.options()).view({-1, 1, 1}).expand({h, w, n});
  torch::Tensor left = rows >= x1.view({1, 1, -1});
  torch::Tensor right = rows < x2.view({1, 1, -1});
  torch::Tensor up = cols >= y1.view({1, 1, -1});
  torch::Tensor down = cols < y2.view({1, 1, -1});
  torch::Tensor crop = left * right * up * down;
  return masks * crop.to(torch::kFloat32);
}

ImageDetections Postprocess(const Detections& detections, const torch::Tensor& proto,
                            const PostprocessOptions& options, MaskIouNetImpl* maskiou_net) {
  torch::NoGradGuard no_grad;
  ImageDetections out;
  torch::Tensor classes = detections.class_idx, boxes = detections.box.clone();
  torch::Tensor scores = detections.score, coeff = detections.mask_coeff;
  if (options.score_threshold > 0) {
    torch::Tensor keep = scores > options.score_threshold;
    classes = classes.index({keep});
    boxes = boxes.index({keep});
    scores = scores.index({keep});
    coeff = coeff.index({keep});
  }
  const int64_t h = options.height, w = options.width;
  if (scores.size(0) == 0) {
    out.classes = classes;
    out.scores = scores;
    out.boxes = torch::zeros({0, 4}, boxes.options().dtype(torch::kLong));
    out.masks_lowres = torch::zeros({0, proto.size(0), proto.size(1)}, proto.options());
    out.masks = torch::zeros({0, h, w}, proto.options().dtype(torch::kUInt8));
    if (maskiou_net != nullptr) {
      out.maskiou = scores.clone();
      out.scores_rescored = scores.clone();
    }
    return out;
  }
  torch::Tensor masks = torch::sigmoid(torch::matmul(proto, coeff.t()));
  if (options.crop_masks) masks = CropMasks(masks, boxes);
  masks = masks.permute({2, 0, 1}).contiguous();
  out.masks_lowres = masks;
  if (maskiou_net != nullptr) {
    torch::Tensor p = maskiou_net->forward(masks.unsqueeze(1));
    out.maskiou = torch::gather(p, 1, classes.unsqueeze(1)).squeeze(1);
    out.scores_rescored = scores * out.maskiou;
  }
  torch::Tensor up = F::interpolate(masks.unsqueeze(0), F::InterpolateFuncOptions()
                                                            .size(std::vector<int64_t>{h, w})
                                                            .mode(torch::kBilinear)
                                                            .align_corners(false))
                         .squeeze(0);
  out.masks = up.gt(0.5).to(torch::kUInt8);
  auto [x1, x2] = Sanitize(boxes.select(1, 0), boxes.select(1, 2), w, 0);
  auto [y1, y2] = Sanitize(boxes.select(1, 1), boxes.select(1, 3), h, 0);
  out.boxes = torch::stack({x1, y1, x2, y2}, 1).to(torch::kLong);
  out.classes = classes;
  out.scores = scores;
  return out;
}

}  // namespace ablate::detector
