#include "dashboard/demo_fixture.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/atomic_file.h"

namespace ablate::dashboard::demo {
namespace {

constexpr DemoGalleryImage kGalleryImages[] = {
#include "dashboard/demo_gallery_images.inc"
};

using server::CheckpointId;
using server::RunId;

constexpr std::array<double, kNumCocoStats> kOffsets = {0.0,   0.18, 0.01, -0.2,  -0.01, 0.15,
                                                        -0.02, 0.06, 0.07, -0.16, 0.06,  0.22};
constexpr std::array<double, 4> kCategoryOffsets = {0.06, 0.02, -0.03, -0.05};

std::string CheckpointName(int step, double loss) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "step%07d-ep%03d-loss%.3f", step, step / 1000, loss);
  return buf;
}

server::EvalSettings Settings(server::IouType iou, double score_threshold) {
  server::EvalSettings s;
  s.iou_type = iou;
  s.score_threshold = score_threshold;
  s.top_k = 100;
  s.nms_iou = 0.5;
  s.max_dets = 100;
  s.dataset_fingerprint = std::string(kDataset);
  return s;
}

double Loss(double base, double step, int trial) {
  return base * std::exp(-step / 2500.0) + 0.25 + 0.015 * trial + 0.02 * std::sin(step / 170.0);
}

Status LogCurves(server::RunStore& store, RunId run, int first_step, int last_step, int trial,
                 double lr, DemoFillReport& report) {
  std::vector<server::MetricPoint> points;
  for (int step = first_step; step <= last_step; step += 50) {
    const double s = step;
    const double box = Loss(1.2, s, trial);
    const double conf = Loss(2.4, s, trial) + 0.3;
    const double mask = Loss(1.8, s, trial) + 0.1;
    const double seg = Loss(0.4, s, trial) * 0.5;
    const double warm = std::min(1.0, s / 500.0);
    points.push_back({step, "loss/box", box});
    points.push_back({step, "loss/conf", conf});
    points.push_back({step, "loss/mask", mask});
    points.push_back({step, "loss/semantic", seg});
    points.push_back({step, "loss/total", box + conf + mask + seg});
    points.push_back({step, "lr", lr * warm * (0.5 + 0.5 * std::cos(M_PI * s / 12000.0))});
    points.push_back({step, "images_per_s", 38.0 + 3.0 * std::sin(s / 300.0) - trial});
  }
  report.metric_points += static_cast<int>(points.size());
  return store.LogMetrics(run, points);
}

// The counts of a pass scored at `score_threshold` whose bbox AP is `bbox_ap`.
server::EvaluationOutputs Outputs(double bbox_ap, double score_threshold) {
  const bool rescored = score_threshold < 0.05;
  const int64_t detections = rescored ? kRescoredDetections : DemoDetections(bbox_ap);
  return server::EvaluationOutputs{detections, kValImages,
                                   rescored ? kRescoredMaxPerImage : kMaxPerImage,
                                   detections * kResultBytesPerDetection};
}

// Writes the pass's 4 gallery JPEGs (variant 0 a, 1 b, 2 dense) and describes them; nullopt
// without a gallery root.
StatusOr<std::optional<server::Gallery>> WriteGallery(const std::filesystem::path& root,
                                                      const std::string& run,
                                                      const std::string& checkpoint,
                                                      double score_threshold, int variant) {
  if (root.empty()) return std::optional<server::Gallery>();
  const std::filesystem::path dir = root / run / absl::StrCat(checkpoint, "-s", score_threshold);
  server::Gallery g;
  g.dir_uri = "file://" + dir.string();
  g.seed = 0;
  for (const DemoGalleryImage& image : kGalleryImages) {
    if (image.variant != variant) continue;
    std::string jpeg;
    if (!absl::Base64Unescape(absl::string_view(image.jpeg_base64.data(), image.jpeg_base64.size()),
                              &jpeg)) {
      return absl::InternalError("demo gallery: an embedded JPEG is not base64");
    }
    char name[32];
    std::snprintf(name, sizeof(name), "%06lld.jpg",
                  static_cast<long long>(kGalleryImageIds[image.image]));
    ABLATE_RETURN_IF_ERROR(WriteFileAtomically(dir / name, jpeg));
    g.images.push_back(server::GalleryImage{kGalleryImageIds[image.image],
                                            "file://" + (dir / name).string(),
                                            static_cast<int64_t>(jpeg.size()), image.detections});
  }
  return std::optional<server::Gallery>(std::move(g));
}

Status Evaluate(server::RunStore& store, RunId run, CheckpointId checkpoint, double bbox_ap,
                double segm_ap, int trial, double score_threshold,
                const std::optional<server::Gallery>& gallery, DemoFillReport& report) {
  for (server::IouType iou : {server::IouType::kBbox, server::IouType::kSegm}) {
    const double ap = iou == server::IouType::kBbox ? bbox_ap : segm_ap;
    server::NewEvaluation e;
    e.run = run;
    e.checkpoint = checkpoint;
    e.settings = Settings(iou, score_threshold);
    e.stats = DemoStats(ap);
    for (int c = 0; c < static_cast<int>(kCategories.size()); ++c) {
      e.per_category.push_back({c + 1, std::string(kCategories[c]), DemoCategoryAp(ap, c, trial)});
    }
    e.outputs = Outputs(bbox_ap, score_threshold);
    e.gallery = gallery;
    StatusOr<server::Created<server::Evaluation>> r = store.RecordEvaluation(e);
    if (!r.ok()) return r.status();
    report.evaluations += r->created ? 1 : 0;
  }
  return absl::OkStatus();
}

}  // namespace

int DemoDetections(double ap) { return 600 + static_cast<int>(std::lround(1000 * ap)); }

std::span<const DemoGalleryImage> DemoGalleryImages() { return kGalleryImages; }

CocoStats DemoStats(double ap) {
  CocoStats s{};
  for (int i = 0; i < kNumCocoStats; ++i) {
    s[i] = std::clamp(std::round((ap + kOffsets[i]) * 1000.0) / 1000.0, 0.0, 1.0);
  }
  return s;
}

double DemoCategoryAp(double ap, int category, int trial) {
  // The trials differ most on small, thin shapes: gamma changes "star" and "triangle" most.
  const double spread = trial < 0 ? 0.0 : 0.004 * ((trial * 7 + category * 3) % 5) - 0.008;
  return std::clamp(std::round((ap + kCategoryOffsets[category] + spread) * 1000.0) / 1000.0, 0.0,
                    1.0);
}

StatusOr<DemoFillReport> FillDemo(server::RunStore& store,
                                  const std::filesystem::path& gallery_root) {
  if (!gallery_root.empty() && !gallery_root.is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat("demo gallery folder '", gallery_root.string(), "' is not absolute"));
  }
  DemoFillReport report;
  Status st = store.Transact([&]() -> Status {
    // Base run: three checkpoints, evaluated, the last pinned.
    server::NewRun base;
    base.name = std::string(kBaseRun);
    base.config = {{"backbone", "resnet50"}, {"lr", 1e-3},
                   {"batch_size", 8},        {"conf_loss", "ohem"},
                   {"ohem_negpos_ratio", 3}, {"fpn", {{"channels", 256}, {"levels", 5}}}};
    base.status = server::RunStatus::kSucceeded;
    ABLATE_ASSIGN_OR_RETURN(server::Created<server::Run> b, store.CreateRun(base));
    report.runs += b.created ? 1 : 0;
    ABLATE_RETURN_IF_ERROR(LogCurves(store, b.value.id, 0, 3000, -1, 1e-3, report));
    CheckpointId fork{};
    for (int k = 1; k <= 3; ++k) {
      const int step = k * 1000;
      server::NewCheckpoint c;
      c.run = b.value.id;
      c.name = k == 3 ? std::string(kForkCheckpoint) : CheckpointName(step, 4.1 - 0.4 * k);
      c.step = step;
      c.epoch = k;
      c.loss = k == 3 ? 2.950 : 4.1 - 0.4 * k;
      c.uri = "file:///ckpt/" + std::string(kBaseRun) + "/" + c.name + ".pt";
      c.bytes = 122'000'000 + k * 1000;
      c.pinned = k == 3;
      ABLATE_ASSIGN_OR_RETURN(server::Created<server::Checkpoint> cp, store.RegisterCheckpoint(c));
      report.checkpoints += cp.created ? 1 : 0;
      if (k == 3) fork = cp.value.id;
      const double ap = kBaseFinalBboxAp - 0.03 * (3 - k);
      ABLATE_ASSIGN_OR_RETURN(auto gallery,
                              WriteGallery(gallery_root, base.name, c.name, 0.05, /*variant=*/0));
      ABLATE_RETURN_IF_ERROR(
          Evaluate(store, b.value.id, cp.value.id, ap, ap - 0.03, -1, 0.05, gallery, report));
    }
    // The sweep: forks of the base's last checkpoint.
    for (int t = 0; t < static_cast<int>(kTrials.size()); ++t) {
      const DemoTrial& trial = kTrials[t];
      server::NewRun r;
      r.name = std::string(trial.name);
      r.sweep = std::string(kSweep);
      r.config = base.config;
      r.config["conf_loss"] = "focal";
      r.config.erase("ohem_negpos_ratio");
      r.config["focal_loss_alpha"] = 0.25;
      r.config["focal_loss_gamma"] = trial.gamma;
      r.config["lr"] = trial.lr;
      r.status = trial.status;
      r.parent_checkpoint = fork;
      ABLATE_ASSIGN_OR_RETURN(server::Created<server::Run> run, store.CreateRun(r));
      report.runs += run.created ? 1 : 0;
      if (trial.last_step <= 3000) continue;
      ABLATE_RETURN_IF_ERROR(
          LogCurves(store, run.value.id, 3050, trial.last_step, t, trial.lr, report));
      for (int step = 4000; step <= trial.last_step; step += 1000) {
        const double loss = 2.9 - 0.1 * (step / 1000 - 3) - 0.02 * t;
        server::NewCheckpoint c;
        c.run = run.value.id;
        c.name = CheckpointName(step, loss);
        c.step = step;
        c.epoch = step / 1000;
        c.loss = loss;
        c.uri = "file:///ckpt/" + r.name + "/" + c.name + ".pt";
        c.bytes = 122'000'000 + step;
        c.pinned = false;
        ABLATE_ASSIGN_OR_RETURN(server::Created<server::Checkpoint> cp,
                                store.RegisterCheckpoint(c));
        report.checkpoints += cp.created ? 1 : 0;
        const double behind = 0.012 * ((trial.last_step - step) / 1000);
        ABLATE_ASSIGN_OR_RETURN(auto gallery,
                                WriteGallery(gallery_root, r.name, c.name, 0.05, t % 2));
        ABLATE_RETURN_IF_ERROR(Evaluate(store, run.value.id, cp.value.id,
                                        trial.final_bbox_ap - behind, trial.final_segm_ap - behind,
                                        t, 0.05, gallery, report));
        if (t == 0 && step == trial.last_step) {
          // Eval-only re-scoring of the best trial's last checkpoint at a lower threshold.
          server::NewEvaluation e;
          e.run = run.value.id;
          e.checkpoint = cp.value.id;
          e.settings = Settings(server::IouType::kBbox, 0.005);
          e.stats = DemoStats(kRescoredBboxAp);
          e.outputs = Outputs(kRescoredBboxAp, 0.005);
          ABLATE_ASSIGN_OR_RETURN(e.gallery, WriteGallery(gallery_root, r.name, c.name, 0.005,
                                                          /*variant=*/2));
          ABLATE_ASSIGN_OR_RETURN(server::Created<server::Evaluation> re,
                                  store.RecordEvaluation(e));
          report.evaluations += re.created ? 1 : 0;
        }
      }
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return report;
}

}  // namespace ablate::dashboard::demo
