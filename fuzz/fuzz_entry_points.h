// Fuzz entry points: each feeds one untrusted input to a parser and to the code that consumes
// what it returns, exactly as a client's bytes would arrive. Used by the libFuzzer targets
// (built with -DABLATE_FUZZ=ON, clang) and by fuzz_regression_test (the default suite, gcc),
// which replays fuzz/corpus/ and fuzz/regressions/ through the same functions.
//
// Contract: every input returns normally; a parse error is an expected outcome, not a failure.
// A crash, a sanitizer report, an uncaught exception or a hang is a bug.
// Thread safety: not required (libFuzzer and the replay test call them from one thread).
#pragma once

#include <span>
#include <string_view>

namespace ablate::fuzz {

// Sweep YAML (sweepspec::ParseSweepSpec) and, when it parses, ExpandTrials.
void SweepYamlEntry(std::string_view data);
// COCO ground truth JSON (coco::CocoDataset::Parse).
void CocoDatasetEntry(std::string_view data);
// Results JSON: ParseDetectionsJson, then CocoResults::Parse against a small fixed ground truth.
void CocoResultsEntry(std::string_view data);
// Mask decoding: byte 0 picks RLE string (even) or polygons (odd), bytes 1-2 are h and w
// (each 0..63); the rest is an RLE counts string or little-endian float32 coordinates.
void CocoMasksEntry(std::string_view data);
// Tuning diary text (diary::ParseDiary, RecogniseSettings, ParseCheckpointName; MatchSummaryLine
// and FindCheckpointNames on the first line).
void DiaryEntry(std::string_view data);
// One line of `ablate-train` events (worker::ParseTrialEvent) and its round trip.
void TrialEventsEntry(std::string_view data);
// A dashboard GET: "PATH?k=v&k2=v2" (already decoded) through DashboardApi::Handle over a real
// SQLite store holding the demo history.
void DashboardQueryEntry(std::string_view data);

struct FuzzTarget {
  std::string_view name;  // also the folder under fuzz/corpus/ and fuzz/regressions/
  void (*entry)(std::string_view data);
};

// Every target, in a fixed order.
std::span<const FuzzTarget> AllFuzzTargets();

}  // namespace ablate::fuzz
