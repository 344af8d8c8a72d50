// Checkpoint names as Ablate, ablate-train and the users' training scripts write them:
// "step%07d-ep%03d-loss%.3f", e.g. "step1066300-ep073-loss5.715", often with a file suffix
// (".pth", ".pdparams", "_optim.pth"). The one definition of the name's grammar, shared by the
// diary parser (diary_parser.h) and the worker's reader of a trainer's stdout
// (worker/summary_stream.h).
//
// Grammar: "step" DIGITS [ "-ep" DIGITS ] [ "-loss" DIGITS [ "." DIGITS ] ], read greedily. In
// running text a name starts where "step" is not preceded by an ASCII letter or digit ("xstep1"
// is none; "best_step1", "/w/step1" are names) and must not be followed by a letter or digit
// ("step0200000x" is none); a '.', '_' or '-' after it starts a suffix the name does not include.
//
// Pure functions of their input; safe from any thread. No std::regex (no recursion per
// character), so any line length is safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ablate::diary {

// A checkpoint name such as "step1066300-ep073-loss5.715" (a file suffix is not part of it).
struct CheckpointName {
  std::string name;  // without file suffix
  int64_t step = 0;
  std::optional<int64_t> epoch;
  std::optional<double> loss;
  bool complete() const { return epoch.has_value() && loss.has_value(); }
};

// The file suffixes a bare name may carry in ParseCheckpointName and CheckpointMention::file.
inline constexpr std::string_view kCheckpointFileSuffixes[] = {
    ".pth", ".pt", ".ckpt", ".bin", ".safetensors", ".pdparams", ".pdopt", ".pdmodel", ".pkl"};

// Parses a whole token like "step0200000-ep014-loss4.902.pt" or "step0200000" (optionally one
// of kCheckpointFileSuffixes). nullopt when the text is not exactly a checkpoint name.
std::optional<CheckpointName> ParseCheckpointName(std::string_view text);

// One checkpoint name found in a line of text.
struct CheckpointMention {
  CheckpointName name;
  size_t pos = 0;   // byte offset of the name ("step...") in the line
  size_t size = 0;  // bytes of the name, == name.name.size()
  // The name with the one of kCheckpointFileSuffixes written right after it when that suffix
  // ends there (".pth" in "x.pth," but not in "x.pth_old"); else the bare name.
  std::string file;
};

// Every checkpoint name in `line`, in order; partial ones ("step0200000", "step12-ep1") too:
// callers that need all three parts check name.complete().
std::vector<CheckpointMention> FindCheckpointNames(std::string_view line);

// "step0001200-ep003-loss4.125" ("%.3f" loss); with no epoch or loss, "step0001200" (the name
// the worker gives a table printed without a checkpoint name, docs/worker-protocol.md).
std::string FormatCheckpointName(int64_t step, std::optional<int64_t> epoch = std::nullopt,
                                 std::optional<double> loss = std::nullopt);

}  // namespace ablate::diary
