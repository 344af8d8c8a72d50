// `ablate health`, `ablate runs`, `ablate show RUN`, `ablate checkpoints [--run RUN]`,
// `ablate pin|unpin CHECKPOINT`.
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/proto_json.h"
#include "cli/text_format.h"
#include "server/proto_convert.h"

namespace ablate::cli {

void RegisterHealthCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    double wait_s = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("health", "check that the coordinator is SERVING");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("--wait-s", flags->wait_s, "keep trying this many seconds")
      ->capture_default_str();
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    const int timeout_ms = flags->wait_s > 0 ? static_cast<int>(flags->wait_s * 1000) : 2000;
    Status st = client.CheckHealth(timeout_ms);
    if (!st.ok()) Fail(st);
    if (flags->client.json) {
      std::cout << nlohmann::json{{"server", client.address()}, {"status", "SERVING"}}.dump()
                << "\n";
    } else {
      std::cout << "SERVING " << client.address() << "\n";
    }
  });
}

namespace {

void RegisterRuns(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string sweep;
    std::vector<std::string> statuses;
    std::string prefix;
    int limit = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("runs", "list runs");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("--sweep", flags->sweep, "only runs of this sweep");
  cmd->add_option("--status", flags->statuses,
                  "only runs with this status (queued, running, succeeded, failed, cancelled, "
                  "diverged, stopped); repeatable");
  cmd->add_option("--prefix", flags->prefix, "only runs whose name starts with this");
  cmd->add_option("--limit", flags->limit, "at most this many runs (0: all)");
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    v1::ListRunsRequest req;
    req.set_sweep(flags->sweep);
    req.set_name_prefix(flags->prefix);
    for (const std::string& s : flags->statuses) {
      v1::RunStatus st;
      if (!v1::RunStatus_Parse(
              "RUN_STATUS_" +
                  [&] {
                    std::string up = s;
                    for (char& c : up)
                      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                    return up;
                  }(),
              &st) ||
          st == v1::RUN_STATUS_UNSPECIFIED) {
        Fail(absl::InvalidArgumentError("unknown status '" + s +
                                        "'; expected queued, running, succeeded, failed, "
                                        "cancelled, diverged or stopped"));
      }
      req.add_statuses(st);
    }
    req.set_page_size(1000);
    std::vector<v1::Run> runs;
    while (true) {
      auto resp = OrFail(client.ListRuns(req));
      for (const auto& r : resp.runs()) runs.push_back(r);
      if (resp.next_page_token().empty()) break;
      if (flags->limit > 0 && runs.size() >= static_cast<size_t>(flags->limit)) break;
      req.set_page_token(resp.next_page_token());
    }
    if (flags->limit > 0 && runs.size() > static_cast<size_t>(flags->limit)) {
      runs.resize(static_cast<size_t>(flags->limit));
    }
    if (flags->client.json) {
      nlohmann::json out = {{"runs", nlohmann::json::array()}};
      for (const auto& r : runs) out["runs"].push_back(RunJson(r));
      std::cout << out.dump(2) << "\n";
      return;
    }
    Table t({"id", "name", "sweep", "status", "parent", "config"});
    for (const auto& r : runs) {
      std::string parent = r.parent_checkpoint_name().empty()
                               ? "-"
                               : r.parent_run_name() + "/" + r.parent_checkpoint_name();
      t.AddRow({std::to_string(r.id()), r.name(), r.sweep().empty() ? "-" : r.sweep(),
                RunStatusText(r), parent, r.config_json()});
    }
    std::cout << (t.empty() ? "no runs\n" : t.Render());
  });
}

void RegisterShow(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string run;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("show", "show one run: config, checkpoints, evaluations");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("RUN", flags->run, "run name or id")->required();
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    v1::GetRunRequest req;
    *req.mutable_run() = RunRefFromText(flags->run);
    auto resp = OrFail(client.GetRun(req));
    if (flags->client.json) {
      nlohmann::json out;
      out["run"] = RunJson(resp.run());
      out["checkpoints"] = nlohmann::json::array();
      for (const auto& c : resp.checkpoints()) out["checkpoints"].push_back(CheckpointJson(c));
      // Each evaluation's step is its checkpoint's, as on the dashboard's run page.
      std::map<int64_t, int64_t> step_of;
      for (const auto& c : resp.checkpoints()) step_of[c.id()] = c.step();
      out["evaluations"] = nlohmann::json::array();
      for (const auto& e : resp.evaluations()) {
        auto it = step_of.find(e.checkpoint_id());
        out["evaluations"].push_back(EvaluationJson(
            e, it == step_of.end() ? std::nullopt : std::optional<int64_t>(it->second)));
      }
      out["latest_metrics"] = nlohmann::json::object();
      for (const auto& m : resp.latest_metrics()) {
        out["latest_metrics"][m.key()] = {{"step", m.step()}, {"value", m.value()}};
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    const v1::Run& r = resp.run();
    std::cout << "run " << r.name() << " (id " << r.id() << ")\n"
              << "  status:  " << RunStatusText(r)
              << (r.status() == v1::RUN_STATUS_STOPPED ? "  (" + r.stop_reason() + ")" : "") << "\n"
              << "  sweep:   " << (r.sweep().empty() ? "-" : r.sweep()) << "\n"
              << "  parent:  "
              << (r.parent_checkpoint_name().empty()
                      ? "-"
                      : r.parent_run_name() + "/" + r.parent_checkpoint_name())
              << "\n"
              << "  config:  " << r.config_json() << "\n"
              << "  fingerprint: " << r.config_fingerprint() << "\n";
    std::cout << "\ncheckpoints:\n";
    Table ct({"id", "name", "step", "epoch", "loss", "pinned", "file", "uri"});
    for (const auto& c : resp.checkpoints()) {
      ct.AddRow({std::to_string(c.id()), c.name(), std::to_string(c.step()),
                 std::to_string(c.epoch()), Fixed(c.loss()), c.pinned() ? "yes" : "no",
                 CheckpointStateText(c), c.uri()});
    }
    std::cout << (ct.empty() ? "  none\n" : ct.Render());
    std::cout << "\nevaluations:\n";
    std::vector<std::string> headers = {"id", "checkpoint", "iou", "settings"};
    for (auto n : kCocoStatNames) headers.emplace_back(n);
    Table et(headers);
    for (const auto& e : resp.evaluations()) {
      std::vector<std::string> row = {std::to_string(e.id()),
                                      e.checkpoint_name().empty() ? "-" : e.checkpoint_name(),
                                      IouName(e.settings().iou_type()), SettingsText(e.settings())};
      for (double v : server::StatsFromProto(e.stats())) row.push_back(Fixed(v));
      et.AddRow(row);
    }
    std::cout << (et.empty() ? "  none\n" : et.Render());
    if (resp.evaluations_size() > 0) {
      std::cout << "\ndetections:\n" << DetectionsTable(resp.evaluations());
    }
    if (resp.latest_metrics_size() > 0) {
      std::cout << "\nlatest metrics:\n";
      Table mt({"key", "step", "value"});
      for (const auto& m : resp.latest_metrics()) {
        mt.AddRow({m.key(), std::to_string(m.step()), nlohmann::json(m.value()).dump()});
      }
      std::cout << mt.Render();
    }
  });
}

void RegisterCheckpoints(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string run;
    std::string resolve;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("checkpoints", "list checkpoints or resolve a reference");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("--run", flags->run, "only this run's checkpoints");
  cmd->add_option("--resolve", flags->resolve,
                  "resolve a reference (step1066300, RUN/step1066300, full name)");
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    std::vector<v1::Checkpoint> list;
    if (!flags->resolve.empty()) {
      v1::ResolveCheckpointRequest req;
      req.set_ref(flags->resolve);
      list.push_back(OrFail(client.ResolveCheckpoint(req)).checkpoint());
    } else {
      v1::ListCheckpointsRequest req;
      if (!flags->run.empty()) *req.mutable_run() = RunRefFromText(flags->run);
      auto resp = OrFail(client.ListCheckpoints(req));
      list.assign(resp.checkpoints().begin(), resp.checkpoints().end());
    }
    if (flags->client.json) {
      nlohmann::json out = {{"checkpoints", nlohmann::json::array()}};
      for (const auto& c : list) out["checkpoints"].push_back(CheckpointJson(c));
      std::cout << out.dump(2) << "\n";
      return;
    }
    Table t({"id", "run", "name", "step", "epoch", "loss", "pinned", "file", "uri"});
    for (const auto& c : list) {
      t.AddRow({std::to_string(c.id()), c.run_name(), c.name(), std::to_string(c.step()),
                std::to_string(c.epoch()), Fixed(c.loss()), c.pinned() ? "yes" : "no",
                CheckpointStateText(c), c.uri()});
    }
    std::cout << (t.empty() ? "no checkpoints\n" : t.Render());
  });
}

// `ablate pin CHECKPOINT` / `ablate unpin CHECKPOINT`.
void RegisterPin(CLI::App& app, bool pinned) {
  struct Flags {
    ClientFlags client;
    std::string checkpoint;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      pinned ? "pin" : "unpin",
      pinned ? "keep a checkpoint's file: retention never deletes a pinned checkpoint"
             : "let retention's policy decide about a checkpoint again");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("checkpoint", flags->checkpoint, "step1066300, RUN/step1066300 or a full name")
      ->required();
  cmd->callback([flags, pinned] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    v1::SetCheckpointPinnedRequest req;
    req.set_checkpoint(flags->checkpoint);
    req.set_pinned(pinned);
    auto resp = OrFail(client.SetCheckpointPinned(req));
    const v1::Checkpoint& c = resp.checkpoint();
    if (flags->client.json) {
      nlohmann::json out = {{"checkpoint", CheckpointJson(c)}, {"changed", resp.changed()}};
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << (pinned ? "pinned " : "unpinned ") << c.run_name() << "/" << c.name()
              << (resp.changed() ? ""
                  : pinned       ? " (it already was)"
                                 : " (it was not pinned)")
              << "\n";
  });
}

}  // namespace

void RegisterRunCommands(CLI::App& app) {
  RegisterRuns(app);
  RegisterShow(app);
  RegisterCheckpoints(app);
  RegisterPin(app, /*pinned=*/true);
  RegisterPin(app, /*pinned=*/false);
}

}  // namespace ablate::cli
