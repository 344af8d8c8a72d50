// Every `ablate` subcommand registers itself on the app; main.cc only calls these.
#pragma once

#include <CLI/CLI.hpp>

namespace ablate::cli {

void RegisterServerCommand(CLI::App& app);  // server_command.cc
void RegisterHealthCommand(CLI::App& app);  // run_commands.cc
// runs, show, checkpoints, pin, unpin
void RegisterRunCommands(CLI::App& app);         // run_commands.cc
void RegisterLeaderboardCommand(CLI::App& app);  // leaderboard_command.cc
void RegisterCompareCommand(CLI::App& app);      // compare_command.cc
void RegisterImportLogCommand(CLI::App& app);    // import_log_command.cc
void RegisterReplayCommand(CLI::App& app);       // replay_command.cc
// submit, sweeps, watch, cancel, fork, eval, lineage
void RegisterSweepCommands(CLI::App& app);  // sweep_commands.cc
// retention, jobs
void RegisterRetentionCommands(CLI::App& app);  // retention_commands.cc

}  // namespace ablate::cli
