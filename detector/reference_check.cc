#include "detector/reference_check.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "detector/detect.h"
#include "detector/model.h"
#include "detector/weights.h"
#include "nlohmann/json.hpp"

namespace ablate::detector {
namespace {

using nlohmann::json;

enum class Mode { kForward, kAbsolute, kExact };

TensorComparison Compare(const std::string& name, torch::Tensor ours, torch::Tensor ref, Mode mode,
                         double tolerance) {
  TensorComparison c;
  c.name = name;
  ours = ours.detach().to(torch::kCPU);
  ref = ref.detach().to(torch::kCPU);
  if (ours.sizes() != ref.sizes()) {
    c.ok = false;
    c.note =
        absl::StrCat("shape ", c10::str(ours.sizes()), " vs reference ", c10::str(ref.sizes()));
    return c;
  }
  if (ref.numel() == 0) return c;
  torch::Tensor a = ours.to(torch::kFloat64), b = ref.to(torch::kFloat64);
  torch::Tensor diff = (a - b).abs();
  torch::Tensor rel = diff / (1 + b.abs());
  c.max_abs_diff = diff.max().item<double>();
  c.max_rel_diff = rel.max().item<double>();
  torch::Tensor bad;
  switch (mode) {
    case Mode::kForward:
      bad = rel > tolerance;
      break;
    case Mode::kAbsolute:
      bad = diff > tolerance;
      break;
    case Mode::kExact:
      bad = diff > 0;
      break;
  }
  c.mismatches = bad.sum().item<int64_t>();
  // NaN never compares greater: count it explicitly.
  c.mismatches += torch::isnan(a).ne(torch::isnan(b)).sum().item<int64_t>();
  c.ok = c.mismatches == 0;
  return c;
}

bool Has(const NamedTensors& t, const std::string& name) { return FindTensor(t, name).ok(); }

}  // namespace

bool ReferenceCheckReport::ok() const {
  return std::all_of(comparisons.begin(), comparisons.end(),
                     [](const TensorComparison& c) { return c.ok; });
}

json ReferenceCheckReport::ToJson() const {
  json list = json::array();
  std::string worst;
  double worst_rel = -1;
  for (const TensorComparison& c : comparisons) {
    list.push_back({{"name", c.name},
                    {"max_abs_diff", c.max_abs_diff},
                    {"max_rel_diff", c.max_rel_diff},
                    {"mismatches", c.mismatches},
                    {"ok", c.ok},
                    {"note", c.note}});
    if (c.max_rel_diff > worst_rel) {
      worst_rel = c.max_rel_diff;
      worst = c.name;
    }
  }
  return {{"vector", vector_name}, {"ok", ok()}, {"comparisons", list}, {"worst", worst}};
}

std::string ReferenceCheckReport::ToText(size_t max_rows) const {
  std::vector<TensorComparison> sorted = comparisons;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.ok != b.ok) return !a.ok;
    return a.max_rel_diff > b.max_rel_diff;
  });
  std::ostringstream out;
  out << absl::StrFormat("%s: %s (%d comparisons)\n", vector_name, ok() ? "OK" : "MISMATCH",
                         comparisons.size());
  out << absl::StrFormat("  %-34s %12s %12s %10s\n", "output", "max_abs", "max_rel", "mismatch");
  for (size_t i = 0; i < sorted.size() && (max_rows == 0 || i < max_rows); ++i) {
    const TensorComparison& c = sorted[i];
    out << absl::StrFormat("  %-34s %12.3g %12.3g %10d %s%s\n", c.name, c.max_abs_diff,
                           c.max_rel_diff, c.mismatches, c.ok ? "" : "FAIL ", c.note);
  }
  return out.str();
}

StatusOr<ReferenceCheckReport> RunReferenceCheck(const std::filesystem::path& dir,
                                                 const ReferenceCheckOptions& options) {
  std::ifstream manifest_in(dir / "manifest.json");
  if (!manifest_in) return absl::NotFoundError("cannot open " + (dir / "manifest.json").string());
  json manifest;
  try {
    manifest = json::parse(manifest_in);
  } catch (const json::exception& e) {
    return absl::DataLossError("manifest.json: " + std::string(e.what()));
  }
  ABLATE_ASSIGN_OR_RETURN(ModelConfig config, ModelConfigFromManifest(manifest));
  ABLATE_ASSIGN_OR_RETURN(NamedTensors weights, LoadTensorDict(dir / "weights.pt"));
  ABLATE_ASSIGN_OR_RETURN(NamedTensors inputs, LoadTensorDict(dir / "inputs.pt"));
  ABLATE_ASSIGN_OR_RETURN(NamedTensors ref, LoadTensorDict(dir / "outputs.pt"));

  ReferenceCheckReport report;
  report.vector_name = manifest.value("name", dir.filename().string());
  auto add = [&](const std::string& name, const torch::Tensor& ours, Mode mode, double tol) {
    auto r = FindTensor(ref, name);
    if (!r.ok()) return;
    report.comparisons.push_back(Compare(name, ours, *r, mode, tol));
  };
  auto fwd = [&](const std::string& name, const torch::Tensor& ours) {
    add(name, ours, Mode::kForward, options.forward_tolerance);
  };

  try {
    Yolact model(config);
    ABLATE_RETURN_IF_ERROR(LoadStateDict(*model, weights));
    torch::NoGradGuard no_grad;
    bool priors_done = false;
    for (const auto& [run, x] : inputs) {
      model->train(true);  // train-mode outputs: raw logits and segm (BN stays frozen)
      YolactOutput out = model->forward(x, /*with_segm=*/true);
      for (size_t i = 0; i < out.backbone.size(); ++i) {
        fwd(absl::StrCat(run, ".backbone.", i), out.backbone[i]);
      }
      for (size_t i = 0; i < out.fpn.size(); ++i) fwd(absl::StrCat(run, ".fpn.", i), out.fpn[i]);
      fwd(run + ".loc", out.loc);
      fwd(run + ".conf_logits", out.conf);
      fwd(run + ".mask_coeff", out.mask_coeff);
      fwd(run + ".proto", out.proto);
      if (out.segm.defined()) fwd(run + ".segm", out.segm);
      if (!priors_done) {
        add("priors", out.priors, Mode::kAbsolute, options.prior_tolerance);
        priors_done = true;
      }
      model->eval();
      YolactOutput eval_out = model->forward(x);
      fwd(run + ".conf_softmax", torch::softmax(eval_out.conf, -1));
    }

    // Detect and postprocess on the stored Detect inputs.
    const json& det_cfg = manifest.at("config").at("detect");
    DetectOptions det;
    det.conf_thresh = det_cfg.at("conf_thresh").get<double>();
    det.nms_thresh = det_cfg.at("nms_thresh").get<double>();
    det.top_k = det_cfg.at("top_k").get<int>();
    det.max_num_detections = det_cfg.at("max_num_detections").get<int>();
    det.fast_nms = det_cfg.at("use_fast_nms").get<bool>();
    det.cross_class_nms = det_cfg.at("use_cross_class_nms").get<bool>();
    ABLATE_ASSIGN_OR_RETURN(torch::Tensor priors, FindTensor(ref, "priors"));
    const json& post_cfg = manifest.at("config").at("postprocess");
    PostprocessOptions post;
    post.width = post.height = config.image_size;
    post.score_threshold = post_cfg.value("score_threshold", 0.0);
    post.crop_masks = post_cfg.value("crop_masks", true);
    for (const auto& [run, x] : inputs) {
      if (!Has(ref, run + ".loc") || !Has(ref, run + ".conf_softmax")) continue;
      ABLATE_ASSIGN_OR_RETURN(torch::Tensor loc, FindTensor(ref, run + ".loc"));
      ABLATE_ASSIGN_OR_RETURN(torch::Tensor conf, FindTensor(ref, run + ".conf_softmax"));
      ABLATE_ASSIGN_OR_RETURN(torch::Tensor coeff, FindTensor(ref, run + ".mask_coeff"));
      ABLATE_ASSIGN_OR_RETURN(torch::Tensor proto, FindTensor(ref, run + ".proto"));
      for (const bool cross_class : {false, true}) {
        DetectOptions o = det;
        o.cross_class_nms = cross_class ? true : det.cross_class_nms;
        const std::string kind = cross_class ? ".detect_cc." : ".detect.";
        std::vector<Detections> dets = Detect(loc, conf, coeff, priors, o);
        for (size_t i = 0; i < dets.size(); ++i) {
          const std::string p = absl::StrCat(run, kind, i);
          add(p + ".class", dets[i].class_idx, Mode::kExact, 0);
          add(p + ".box", dets[i].box, Mode::kAbsolute, options.detect_tolerance);
          add(p + ".score", dets[i].score, Mode::kAbsolute, options.detect_tolerance);
          add(p + ".mask_coeff", dets[i].mask_coeff, Mode::kAbsolute, options.detect_tolerance);
        }
      }
      for (int64_t i = 0; i < x.size(0); ++i) {
        const std::string p = absl::StrCat(run, ".post.", i);
        if (!Has(ref, p + ".masks")) continue;
        const std::string d = absl::StrCat(run, ".detect.", i);
        Detections stored;
        ABLATE_ASSIGN_OR_RETURN(stored.box, FindTensor(ref, d + ".box"));
        ABLATE_ASSIGN_OR_RETURN(stored.class_idx, FindTensor(ref, d + ".class"));
        ABLATE_ASSIGN_OR_RETURN(stored.score, FindTensor(ref, d + ".score"));
        ABLATE_ASSIGN_OR_RETURN(stored.mask_coeff, FindTensor(ref, d + ".mask_coeff"));
        ImageDetections r = Postprocess(
            stored, proto[i], post, model->has_maskiou() ? model->maskiou_net().get() : nullptr);
        add(p + ".classes", r.classes, Mode::kExact, 0);
        add(p + ".scores", r.scores, Mode::kAbsolute, options.detect_tolerance);
        add(p + ".boxes", r.boxes, Mode::kExact, 0);
        add(p + ".masks_lowres", r.masks_lowres, Mode::kAbsolute, options.detect_tolerance);
        add(p + ".masks", r.masks, Mode::kExact, 0);
        if (r.maskiou.defined()) {
          add(p + ".maskiou", r.maskiou, Mode::kAbsolute, options.detect_tolerance);
          add(p + ".scores_rescored", r.scores_rescored, Mode::kAbsolute, options.detect_tolerance);
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("reference check failed in LibTorch: ") + e.what());
  }
  // Every stored output must have been compared.
  for (const auto& [name, t] : ref) {
    bool seen = false;
    for (const auto& c : report.comparisons) seen = seen || c.name == name;
    if (!seen) {
      TensorComparison c;
      c.name = name;
      c.ok = false;
      c.note = "not produced by the port";
      report.comparisons.push_back(c);
    }
  }
  return report;
}

}  // namespace ablate::detector
