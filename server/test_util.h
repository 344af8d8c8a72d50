// Helpers shared by server tests (not part of any library).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "common/testing/fresh_temp_dir.h"
#include "server/sqlite_run_store.h"

namespace ablate::server::testing {

using ablate::testing::FreshTempDir;

// A migrated store on a fresh file named after the running test.
inline std::unique_ptr<SqliteRunStore> OpenTestStore(const Clock* clock = nullptr) {
  SqliteRunStoreOptions options;
  options.path = (ablate::testing::FreshTempDirForTest() / "ablate.db").string();
  options.clock = clock;
  auto store = SqliteRunStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

inline Run AddRun(RunStore& store, const std::string& name,
                  nlohmann::json config = nlohmann::json::object(), const std::string& sweep = "",
                  std::optional<CheckpointId> parent = std::nullopt) {
  NewRun nr;
  nr.name = name;
  nr.sweep = sweep;
  nr.config = config.is_null() ? nlohmann::json::object() : std::move(config);
  nr.parent_checkpoint = parent;
  auto r = store.CreateRun(nr);
  EXPECT_TRUE(r.ok()) << r.status();
  return r->value;
}

inline Checkpoint AddCheckpoint(RunStore& store, RunId run, const std::string& name, int64_t step) {
  NewCheckpoint c;
  c.run = run;
  c.name = name;
  c.step = step;
  auto r = store.RegisterCheckpoint(c);
  EXPECT_TRUE(r.ok()) << r.status();
  return r->value;
}

inline EvalSettings Settings(double score_threshold, const std::string& dataset = "sha256:d",
                             IouType iou = IouType::kBbox) {
  EvalSettings s;
  s.iou_type = iou;
  s.score_threshold = score_threshold;
  s.top_k = 100;
  s.nms_iou = 0.5;
  s.max_dets = 100;
  s.dataset_fingerprint = dataset;
  return s;
}

// Stats whose AP is `ap` and every other stat ap + i/100 (distinct, hand-checkable).
inline CocoStats StatsWithAp(double ap) {
  CocoStats s{};
  for (int i = 0; i < kNumCocoStats; ++i) s[static_cast<size_t>(i)] = ap + i / 100.0;
  return s;
}

inline Evaluation AddEval(RunStore& store, RunId run, std::optional<CheckpointId> ckpt,
                          const EvalSettings& settings, const CocoStats& stats,
                          std::vector<CategoryAp> per_category = {}) {
  NewEvaluation e;
  e.run = run;
  e.checkpoint = ckpt;
  e.settings = settings;
  e.stats = stats;
  e.per_category = std::move(per_category);
  auto r = store.RecordEvaluation(e);
  EXPECT_TRUE(r.ok()) << r.status();
  return r->value;
}

// Records an evaluation (score threshold 0.05, AP 0.3) of `ckpt` whose gallery is `dir_uri` with
// one image per entry of `bytes` (ids 1, 2, ...; files NNNNNN.jpg). Recording it again for the
// same checkpoint and iou type with another folder registers a later pass.
inline Evaluation AddGalleryEval(RunStore& store, RunId run, std::optional<CheckpointId> ckpt,
                                 const std::string& dir_uri, const std::vector<int64_t>& bytes,
                                 IouType iou = IouType::kBbox) {
  NewEvaluation e;
  e.run = run;
  e.checkpoint = ckpt;
  e.settings = Settings(0.05, "sha256:d", iou);
  e.stats = StatsWithAp(0.3);
  Gallery g{dir_uri, 0, {}};
  for (size_t i = 0; i < bytes.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/%06zu.jpg", i + 1);
    g.images.push_back(GalleryImage{static_cast<int64_t>(i + 1), dir_uri + name, bytes[i], 1});
  }
  e.gallery = std::move(g);
  auto r = store.RecordEvaluation(e);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->value : Evaluation{};
}

}  // namespace ablate::server::testing
