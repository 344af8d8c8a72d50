// The command line and environment of a job's child process: `ablate-train run|eval ... --events`
// or, for a spec with a "trainer" (issue 14), the user's own program.
//
// Thread safety: functions only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/job_spec.h"

namespace ablate::worker {

// The `ablate-train` command line for a job: `trainer run|eval ... --events`. `out_dir` is
// where the trial writes checkpoints; `device` is "cpu" or "cuda:N"; `threads` > 0 sets
// LibTorch's intra-op threads (0: ablate-train's default, every core).
StatusOr<std::vector<std::string>> TrainerArgv(const protocol::JobSpec& spec,
                                               const std::string& trainer,
                                               const std::string& out_dir,
                                               const std::string& device, int threads = 0);

// What a user's trainer gets besides its command (docs/sweeps.md, "Any trainer"):
//   ABLATE_TRIAL_CONFIG  `config_path`, a JSON file the caller writes with spec.set (flat)
//   ABLATE_TRIAL_DIR     the trial folder (also the working directory)
//   ABLATE_RUN           the run's name
//   ABLATE_DEVICE        "cpu" or "cuda:N"
//   ABLATE_RESUME_FROM   the checkpoint file to start from: the run's own newest checkpoint on a
//                        retry, the fork point on a fork's first attempt; absent on a fresh start
// InvalidArgument for a spec without a trainer or a checkpoint URI that is not file://.
StatusOr<std::map<std::string, std::string>> TrainerEnvironment(const protocol::JobSpec& spec,
                                                                const std::string& trial_dir,
                                                                const std::string& config_path,
                                                                const std::string& device);

// argv[0] of a trainer command as an executable path: itself when it contains a '/' (relative
// to `working_dir`), else the first executable match in $PATH. NotFound naming the program.
StatusOr<std::string> ResolveProgram(const std::string& program, const std::string& working_dir);

}  // namespace ablate::worker
