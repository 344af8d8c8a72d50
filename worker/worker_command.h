// `ablate worker --server HOST:PORT [--slots N] [--device cpu|cuda:N] [--trainer PATH]
//                [--work-dir DIR] [--name NAME] [--exit-when-idle]`
#pragma once

#include <CLI/CLI.hpp>

namespace ablate::worker {

// Adds the `worker` subcommand to the `ablate` CLI.
void RegisterWorkerCommand(CLI::App& app);

}  // namespace ablate::worker
