// COCO evaluation benchmark: medians of several runs of load GT / load results / evaluate /
// accumulate on the synthetic cases written by coco_bench_gen, plus peak RSS.
// Usage: coco_bench DIR [RUNS [bbox|segm]]. Uses all cores (TBB); also times evaluate+accumulate on
// 1 thread and checks the 12 stats are bit-identical.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "coco/dataset.h"
#include "coco/evaluator.h"
#include "coco/results.h"
#include "tbb/global_control.h"
#include "tbb/info.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ablate::coco;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Process CPU time (user + system, all threads): on a busy machine this shows the work done,
// where wall time also counts waiting for a core.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // KiB on Linux
}

struct Timings {
  std::vector<double> load_gt, load_dets, evaluate, accumulate;
  std::vector<double> cpu_load_dets, cpu_eval_acc;
};

bool RunCase(const std::string& name, const std::filesystem::path& dir, IouType type, int runs,
             int threads, Timings* t, ablate::CocoStats* stats) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    auto gt = CocoDataset::LoadFile((dir / (name + "_gt.json")).string());
    auto t1 = Clock::now();
    const double c1 = CpuSeconds();
    if (!gt.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(gt.status().message()).c_str());
      return false;
    }
    auto dt = CocoResults::LoadFile((dir / (name + "_dets.json")).string(), *gt);
    auto t2 = Clock::now();
    const double c2 = CpuSeconds();
    if (!dt.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(dt.status().message()).c_str());
      return false;
    }
    CocoEvalParams params;
    params.iou_type = type;
    CocoEvaluator ev(*gt, *dt, params);
    auto t3 = Clock::now();
    const double c3 = CpuSeconds();
    if (!ev.Evaluate().ok()) return false;
    auto t4 = Clock::now();
    if (!ev.Accumulate().ok()) return false;
    auto t5 = Clock::now();
    const double c5 = CpuSeconds();
    (void)c0;
    t->cpu_load_dets.push_back(c2 - c1);
    t->cpu_eval_acc.push_back(c5 - c3);
    *stats = *ev.Summarize();
    t->load_gt.push_back(Seconds(t0, t1));
    t->load_dets.push_back(Seconds(t1, t2));
    t->evaluate.push_back(Seconds(t3, t4));
    t->accumulate.push_back(Seconds(t4, t5));
  }
  return true;
}

void Print(const char* label, int threads, const Timings& t) {
  std::printf(
      "%-5s threads=%d  load_gt %.3f s  load_dets %.3f s  evaluate %.3f s  "
      "accumulate %.3f s  eval+acc %.3f s  (wall medians of %zu)\n"
      "      cpu time (all threads): load_dets %.3f s  eval+acc %.3f s\n",
      label, threads, Median(t.load_gt), Median(t.load_dets), Median(t.evaluate),
      Median(t.accumulate), Median(t.evaluate) + Median(t.accumulate), t.evaluate.size(),
      Median(t.cpu_load_dets), Median(t.cpu_eval_acc));
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "coco-bench-data";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const int cores = tbb::info::default_concurrency();
  std::printf("COCO evaluation benchmark, %d hardware threads, %d runs\n", cores, runs);
  bool identical = true;
  const std::string only = argc > 3 ? argv[3] : "";  // "bbox" or "segm": run just that case
  for (const char* name : {"bbox", "segm"}) {
    if (!only.empty() && only != name) continue;
    const IouType type = std::string(name) == "segm" ? IouType::kSegm : IouType::kBbox;
    Timings all, one;
    ablate::CocoStats s_all{}, s_one{};
    if (!RunCase(name, dir, type, runs, cores, &all, &s_all)) return 1;
    Print(name, cores, all);
    if (std::string(name) == "bbox") {
      std::printf("bbox  peak RSS %.0f MB (process high-water mark after the bbox runs)\n",
                  PeakRssMb());
    }
    if (cores > 1) {
      if (!RunCase(name, dir, type, std::max(1, runs / 2), 1, &one, &s_one)) return 1;
      Print(name, 1, one);
      identical = identical && s_one == s_all;
    }
    std::printf("%-5s AP %.6f AP50 %.6f AR100 %.6f\n", name, s_all[0], s_all[1], s_all[8]);
  }
  std::printf("peak RSS %.0f MB; stats identical across thread counts: %s\n", PeakRssMb(),
              identical ? "yes" : "NO");
  return identical ? 0 : 1;
}
