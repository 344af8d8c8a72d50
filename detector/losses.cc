#include "detector/losses.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "detector/detect.h"

namespace ablate::detector {
namespace {

namespace F = torch::nn::functional;
constexpr double kPi = 3.14159265358979323846;

torch::Tensor Zero(const torch::Tensor& like) { return torch::zeros({}, like.options()); }

}  // namespace

StatusOr<MatchResult> Match(const MatchOptions& options, const torch::Tensor& truths,
                            const torch::Tensor& labels, const torch::Tensor& crowd_boxes,
                            const torch::Tensor& priors) {
  if (options.neg_threshold > options.pos_threshold) {
    return absl::InvalidArgumentError(absl::StrCat("neg_threshold (", options.neg_threshold,
                                                   ") exceeds pos_threshold (",
                                                   options.pos_threshold, ")"));
  }
  torch::NoGradGuard no_grad;
  const int64_t num_truths = truths.size(0), num_priors = priors.size(0);
  const auto long_opts = priors.options().dtype(torch::kLong);
  torch::Tensor decoded = PointForm(priors);
  MatchResult r;
  if (num_truths == 0) {
    r.conf_t = torch::zeros({num_priors}, long_opts);
    r.idx_t = torch::zeros({num_priors}, long_opts);
    r.boxes_t = torch::zeros({num_priors, 4}, priors.options());
    r.loc_t = torch::zeros({num_priors, 4}, priors.options());
  } else {
    torch::Tensor overlaps = Jaccard(truths, decoded);  // [G,P]
    auto best = overlaps.max(0);
    torch::Tensor best_truth_overlap = std::get<0>(best);
    torch::Tensor best_truth_idx = std::get<1>(best);
    torch::Tensor forced = torch::zeros({num_priors}, priors.options().dtype(torch::kBool));
    // Force-match every GT to its best anchor, the highest-IoU pair first (reference match()).
    for (int64_t n = 0; n < num_truths; ++n) {
      auto per_truth = overlaps.max(1);
      const int64_t j = std::get<0>(per_truth).argmax().item<int64_t>();
      const int64_t i = std::get<1>(per_truth)[j].item<int64_t>();
      overlaps.select(1, i).fill_(-1);
      overlaps.select(0, j).fill_(-1);
      best_truth_overlap[i] = 2.0;
      best_truth_idx[i] = j;
      forced[i] = true;
    }
    r.idx_t = best_truth_idx;
    r.boxes_t = truths.index_select(0, best_truth_idx);
    torch::Tensor conf = labels.index_select(0, best_truth_idx) + 1;
    conf.masked_fill_(best_truth_overlap < options.pos_threshold, -1);
    conf.masked_fill_(best_truth_overlap < options.neg_threshold, 0);
    // Forced anchors stay positive even when pos_threshold > 1 (best-anchor-only mode).
    conf = torch::where(forced, labels.index_select(0, best_truth_idx) + 1, conf);
    r.conf_t = conf;
    r.loc_t = Encode(r.boxes_t, priors);
  }
  if (crowd_boxes.defined() && crowd_boxes.size(0) > 0 && options.crowd_threshold < 1) {
    torch::Tensor crowd = Jaccard(decoded, crowd_boxes, /*iscrowd=*/true);  // [P,K]
    torch::Tensor best_crowd = std::get<0>(crowd.max(1));
    r.conf_t.masked_fill_((r.conf_t <= 0) & (best_crowd > options.crowd_threshold), -1);
  }
  return r;
}

torch::Tensor SmoothL1BoxLoss(const torch::Tensor& loc_p, const torch::Tensor& loc_t) {
  return F::smooth_l1_loss(loc_p, loc_t, F::SmoothL1LossFuncOptions().reduction(torch::kSum));
}

torch::Tensor CiouBoxLoss(const torch::Tensor& pred, const torch::Tensor& target) {
  constexpr double kEps = 1e-9;
  torch::Tensor px1 = pred.select(1, 0), py1 = pred.select(1, 1), px2 = pred.select(1, 2),
                py2 = pred.select(1, 3);
  torch::Tensor tx1 = target.select(1, 0), ty1 = target.select(1, 1), tx2 = target.select(1, 2),
                ty2 = target.select(1, 3);
  torch::Tensor pw = (px2 - px1).clamp_min(0), ph = (py2 - py1).clamp_min(0);
  torch::Tensor tw = tx2 - tx1, th = ty2 - ty1;
  torch::Tensor iw = (torch::min(px2, tx2) - torch::max(px1, tx1)).clamp_min(0);
  torch::Tensor ih = (torch::min(py2, ty2) - torch::max(py1, ty1)).clamp_min(0);
  torch::Tensor inter = iw * ih;
  torch::Tensor iou = inter / (pw * ph + tw * th - inter + kEps);
  torch::Tensor rho2 = ((px1 + px2 - tx1 - tx2).pow(2) + (py1 + py2 - ty1 - ty2).pow(2)) / 4;
  torch::Tensor cw = torch::max(px2, tx2) - torch::min(px1, tx1);
  torch::Tensor ch = torch::max(py2, ty2) - torch::min(py1, ty1);
  torch::Tensor c2 = cw.pow(2) + ch.pow(2) + kEps;
  torch::Tensor v =
      (4 / (kPi * kPi)) * (torch::atan(tw / (th + kEps)) - torch::atan(pw / (ph + kEps))).pow(2);
  torch::Tensor alpha = (v / (1 - iou + v + kEps)).detach();
  return (1 - iou + rho2 / c2 + alpha * v).sum();
}

torch::Tensor CeConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t) {
  torch::Tensor keep = conf_t >= 0;
  if (keep.sum().item<int64_t>() == 0) return conf.sum() * 0;
  return F::cross_entropy(conf.index({keep}), conf_t.index({keep}),
                          F::CrossEntropyFuncOptions().reduction(torch::kSum));
}

torch::Tensor OhemConfLoss(const torch::Tensor& conf, const torch::Tensor& conf_t,
                           double neg_pos_ratio) {
  const int64_t num_classes = conf.size(-1), num_priors = conf.size(1);
  torch::Tensor pos = conf_t > 0;
  torch::Tensor neg;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor batch_conf = conf.reshape({-1, num_classes});
    torch::Tensor loss_c =
        (torch::logsumexp(batch_conf, 1) - batch_conf.select(1, 0)).view({conf.size(0), -1});
    loss_c.masked_fill_(pos, 0);
    loss_c.masked_fill_(conf_t < 0, 0);
    torch::Tensor loss_idx = std::get<1>(loss_c.sort(1, /*descending=*/true));
    torch::Tensor idx_rank = std::get<1>(loss_idx.sort(1));
    torch::Tensor num_pos = pos.sum(1, /*keepdim=*/true);
    torch::Tensor num_neg =
        torch::clamp_max(num_pos.to(torch::kFloat64) * neg_pos_ratio, num_priors - 1);
    neg = idx_rank < num_neg.expand_as(idx_rank);
    neg = neg & ~pos & (conf_t >= 0);
  }
  torch::Tensor sel = pos | neg;
  if (sel.sum().item<int64_t>() == 0) return conf.sum() * 0;
  return F::cross_entropy(conf.index({sel}), conf_t.index({sel}),
                          F::CrossEntropyFuncOptions().reduction(torch::kSum));
}

torch::Tensor FocalSigmoidConfLoss(const torch::Tensor& conf_in, const torch::Tensor& conf_t_in,
                                   double alpha, double gamma) {
  const int64_t num_classes = conf_in.size(-1);
  torch::Tensor conf = conf_in.reshape({-1, num_classes});
  torch::Tensor conf_t = conf_t_in.reshape({-1});
  torch::Tensor keep = (conf_t >= 0).to(conf.scalar_type());
  torch::Tensor one_hot = F::one_hot(conf_t.clamp_min(0), num_classes).to(conf.scalar_type());
  torch::Tensor pm = one_hot * 2 - 1;
  torch::Tensor logpt = F::logsigmoid(conf * pm);
  torch::Tensor pt = logpt.exp();
  torch::Tensor at = alpha * one_hot + (1 - alpha) * (1 - one_hot);
  at.select(1, 0).fill_(0);  // the background column is not a sigmoid class
  torch::Tensor loss = -at * (1 - pt).pow(gamma) * logpt;
  return (keep * loss.sum(-1)).sum();
}

torch::Tensor FocalSoftmaxConfLoss(const torch::Tensor& conf_in, const torch::Tensor& conf_t_in,
                                   double alpha, double gamma) {
  torch::Tensor conf = conf_in.reshape({-1, conf_in.size(-1)});
  torch::Tensor conf_t = conf_t_in.reshape({-1});
  torch::Tensor keep = (conf_t >= 0).to(conf.scalar_type());
  torch::Tensor t = conf_t.clamp_min(0);
  torch::Tensor logpt = torch::log_softmax(conf, -1).gather(1, t.unsqueeze(-1)).view(-1);
  torch::Tensor pt = logpt.exp();
  torch::Tensor background = (t == 0).to(conf.scalar_type());
  torch::Tensor at = (1 - alpha) * background + alpha * (1 - background);
  torch::Tensor loss = -at * (1 - pt).pow(gamma) * logpt;
  return (loss * keep).sum();
}

GhmcLoss::GhmcLoss(int bins, double momentum)
    : bins_(bins), momentum_(momentum), acc_sum_(static_cast<size_t>(std::max(bins, 1)), 0.0) {}

torch::Tensor GhmcLoss::operator()(const torch::Tensor& conf_in, const torch::Tensor& conf_t_in) {
  const int64_t num_classes = conf_in.size(-1);
  torch::Tensor conf = conf_in.reshape({-1, num_classes}).slice(1, 1);  // foreground columns
  torch::Tensor conf_t = conf_t_in.reshape({-1});
  torch::Tensor target =
      F::one_hot(conf_t.clamp_min(0), num_classes).slice(1, 1).to(conf.scalar_type());
  torch::Tensor valid = (conf_t >= 0).unsqueeze(1).expand_as(conf);
  torch::Tensor weights = torch::zeros_like(conf);
  double tot = 0;
  {
    torch::NoGradGuard no_grad;
    torch::Tensor g = (torch::sigmoid(conf) - target).abs();
    tot = std::max<double>(valid.sum().item<int64_t>(), 1.0);
    int n = 0;
    for (int i = 0; i < bins_; ++i) {
      const double lo = static_cast<double>(i) / bins_;
      const double hi = i + 1 == bins_ ? 1.0 + 1e-6 : static_cast<double>(i + 1) / bins_;
      torch::Tensor inds = (g >= lo) & (g < hi) & valid;
      const int64_t num_in_bin = inds.sum().item<int64_t>();
      if (num_in_bin == 0) continue;
      double density = static_cast<double>(num_in_bin);
      if (momentum_ > 0) {
        acc_sum_[i] = momentum_ * acc_sum_[i] + (1 - momentum_) * num_in_bin;
        density = acc_sum_[i];
      }
      weights.masked_fill_(inds, tot / density);
      ++n;
    }
    if (n > 0) weights /= n;
  }
  return F::binary_cross_entropy_with_logits(
             conf, target,
             F::BinaryCrossEntropyWithLogitsFuncOptions().weight(weights).reduction(torch::kSum)) /
         tot;
}

torch::Tensor MaskLoss(const torch::Tensor& proto, const torch::Tensor& coeff,
                       const torch::Tensor& boxes, const torch::Tensor& gt_masks) {
  const int64_t h = proto.size(0), w = proto.size(1);
  torch::Tensor logits = torch::matmul(proto, coeff.t());  // [h,w,n]
  torch::Tensor mask_t = gt_masks.permute({1, 2, 0});
  // The reference takes BCE of the cropped sigmoid: inside the crop that is BCE with logits;
  // outside it the prediction is 0 and BCE(0, t) = 100 t (log clamped at -100). Written on the
  // logits so a non-finite coefficient propagates as NaN to the divergence check instead of
  // failing binary_cross_entropy's range check (a device-side assert on CUDA).
  torch::Tensor crop = CropMasks(torch::ones_like(logits), boxes);
  torch::Tensor pre =
      crop * F::binary_cross_entropy_with_logits(
                 logits, mask_t,
                 F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone)) +
      (1 - crop) * 100.0 * mask_t;
  torch::Tensor size = CenterSize(boxes);
  torch::Tensor box_w = size.select(1, 2) * w, box_h = size.select(1, 3) * h;
  // Reference: sum / box_w / box_h * (h*w), then the whole term / h / w: the two cancel.
  return (pre.sum(std::vector<int64_t>{0, 1}) / box_w / box_h).sum();
}

torch::Tensor SemanticSegLoss(const torch::Tensor& segm, const torch::Tensor& gt_masks,
                              const torch::Tensor& labels) {
  const int64_t h = segm.size(1), w = segm.size(2);
  torch::Tensor segment_t = torch::zeros_like(segm);
  if (gt_masks.size(0) > 0) {
    torch::NoGradGuard no_grad;
    torch::Tensor down = F::interpolate(gt_masks.unsqueeze(0), F::InterpolateFuncOptions()
                                                                   .size(std::vector<int64_t>{h, w})
                                                                   .mode(torch::kBilinear)
                                                                   .align_corners(false))
                             .squeeze(0)
                             .gt(0.5)
                             .to(segm.scalar_type());
    for (int64_t i = 0; i < down.size(0); ++i) {
      const int64_t c = labels[i].item<int64_t>();
      segment_t[c] = torch::max(segment_t[c], down[i]);
    }
  }
  return F::binary_cross_entropy_with_logits(
             segm, segment_t, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
         h / w;
}

YolactLoss::YolactLoss(const TrainConfig& config)
    : config_(config),
      ghm_(config.ghm_bins, config.ghm_momentum),
      rng_(static_cast<uint64_t>(config.seed) * 7919 + 17) {}

StatusOr<LossTerms> YolactLoss::operator()(const YolactOutput& out,
                                           const std::vector<ImageTargets>& targets,
                                           YolactImpl& model) {
  const int64_t batch = out.loc.size(0);
  if (static_cast<int64_t>(targets.size()) != batch) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss: ", targets.size(), " targets for a batch of ", batch));
  }
  const TrainConfig& c = config_;
  MatchOptions mo{c.pos_threshold, c.neg_threshold, c.crowd_threshold};
  std::vector<torch::Tensor> conf_ts, loc_ts, idx_ts, box_ts;
  for (int64_t b = 0; b < batch; ++b) {
    ABLATE_ASSIGN_OR_RETURN(MatchResult m, Match(mo, targets[b].boxes, targets[b].labels,
                                                 targets[b].crowd_boxes, out.priors));
    conf_ts.push_back(m.conf_t);
    loc_ts.push_back(m.loc_t);
    idx_ts.push_back(m.idx_t);
    box_ts.push_back(m.boxes_t);
  }
  torch::Tensor conf_t = torch::stack(conf_ts), loc_t = torch::stack(loc_ts);
  torch::Tensor boxes_t = torch::stack(box_ts);
  torch::Tensor pos = conf_t > 0;
  LossTerms result;
  result.num_positives = pos.sum().item<int64_t>();
  const double denom = std::max<int64_t>(result.num_positives, 1);
  torch::Tensor total = out.loc.sum() * 0;

  if (c.box_weight > 0 && result.num_positives > 0) {
    torch::Tensor loss;
    if (c.box_loss == BoxLoss::kSmoothL1) {
      loss = SmoothL1BoxLoss(out.loc.index({pos}), loc_t.index({pos}));
    } else {
      torch::Tensor priors = out.priors.unsqueeze(0).expand({batch, -1, 4}).index({pos});
      loss = CiouBoxLoss(Decode(out.loc.index({pos}), priors), boxes_t.index({pos}));
    }
    result.terms["box"] = loss * c.box_weight / denom;
  }
  if (c.conf_weight > 0) {
    torch::Tensor loss;
    double norm = denom;
    switch (c.conf_loss) {
      case ConfLoss::kCe:
        loss = CeConfLoss(out.conf.reshape({-1, out.conf.size(-1)}), conf_t.reshape({-1}));
        break;
      case ConfLoss::kOhem:
        loss = OhemConfLoss(out.conf, conf_t, c.ohem_neg_pos_ratio);
        break;
      case ConfLoss::kFocalSigmoid:
        loss = FocalSigmoidConfLoss(out.conf, conf_t, c.focal_alpha, c.focal_gamma);
        break;
      case ConfLoss::kFocalSoftmax:
        loss = FocalSoftmaxConfLoss(out.conf, conf_t, c.focal_alpha, c.focal_gamma);
        break;
      case ConfLoss::kGhmC:
        loss = ghm_(out.conf, conf_t);
        norm = 1;
        break;
    }
    result.terms["conf"] = loss * c.conf_weight / norm;
  }
  const bool want_maskiou = c.maskiou_weight > 0 && model.has_maskiou();
  if ((c.mask_weight > 0 || want_maskiou) && result.num_positives > 0) {
    torch::Tensor mask_loss = Zero(out.proto), maskiou_loss = Zero(out.proto);
    const int64_t h = out.proto.size(1), w = out.proto.size(2);
    for (int64_t b = 0; b < batch; ++b) {
      torch::Tensor pos_b = torch::nonzero(pos[b]).view(-1);
      int64_t n = pos_b.size(0);
      if (n == 0 || targets[b].masks.size(0) == 0) continue;
      const int64_t old_n = n;
      if (n > c.masks_to_train) {
        std::vector<int64_t> perm(n);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng_);
        perm.resize(c.masks_to_train);
        pos_b = pos_b.index_select(0, torch::tensor(perm, torch::kLong).to(pos_b.device()));
        n = c.masks_to_train;
      }
      torch::Tensor gt_idx = idx_ts[b].index_select(0, pos_b);
      torch::Tensor down;
      {
        torch::NoGradGuard no_grad;
        down = F::interpolate(targets[b].masks.unsqueeze(0), F::InterpolateFuncOptions()
                                                                 .size(std::vector<int64_t>{h, w})
                                                                 .mode(torch::kBilinear)
                                                                 .align_corners(false))
                   .squeeze(0)
                   .gt(0.5)
                   .to(out.proto.scalar_type());
      }
      torch::Tensor mask_t = down.index_select(0, gt_idx);
      torch::Tensor boxes = box_ts[b].index_select(0, pos_b);
      torch::Tensor coeff = out.mask_coeff[b].index_select(0, pos_b);
      if (c.mask_weight > 0) {
        mask_loss = mask_loss +
                    MaskLoss(out.proto[b], coeff, boxes, mask_t) * (static_cast<double>(old_n) / n);
      }
      if (want_maskiou) {
        torch::Tensor pred;
        {
          torch::NoGradGuard no_grad;
          pred = CropMasks(torch::sigmoid(torch::matmul(out.proto[b], coeff.t())), boxes)
                     .permute({2, 0, 1})
                     .contiguous();
        }
        torch::Tensor bin = pred.gt(0.5).to(pred.scalar_type());
        torch::Tensor inter = (bin * mask_t).sum(std::vector<int64_t>{1, 2});
        torch::Tensor uni =
            bin.sum(std::vector<int64_t>{1, 2}) + mask_t.sum(std::vector<int64_t>{1, 2}) - inter;
        torch::Tensor iou_t = inter / uni.clamp_min(1);
        torch::Tensor labels = targets[b].labels.index_select(0, gt_idx);
        torch::Tensor p = model.maskiou_net()->forward(pred.unsqueeze(1));
        p = torch::gather(p, 1, labels.unsqueeze(1)).view(-1);
        maskiou_loss = maskiou_loss + SmoothL1BoxLoss(p, iou_t);
      }
    }
    if (c.mask_weight > 0) result.terms["mask"] = mask_loss * c.mask_weight / denom;
    if (want_maskiou) result.terms["maskiou"] = maskiou_loss * c.maskiou_weight / denom;
  }
  if (c.semantic_weight > 0 && out.segm.defined()) {
    torch::Tensor loss = Zero(out.segm);
    for (int64_t b = 0; b < batch; ++b) {
      loss = loss + SemanticSegLoss(out.segm[b], targets[b].masks, targets[b].labels);
    }
    result.terms["semantic"] = loss * c.semantic_weight / static_cast<double>(batch);
  }
  for (const auto& [name, t] : result.terms) total = total + t;
  result.total = total;
  return result;
}

}  // namespace ablate::detector
