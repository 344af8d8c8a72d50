// `ablate compare RUN_A RUN_B [--top-categories N]`
#include <iostream>
#include <memory>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/proto_json.h"
#include "cli/text_format.h"
#include "server/proto_convert.h"
#include "server/record_json.h"

namespace ablate::cli {

void RegisterCompareCommand(CLI::App& app) {
  struct Flags {
    ClientFlags client;
    std::string a;
    std::string b;
    int top_categories = 10;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("compare", "config diff and stats side by side (b - a) of two runs");
  AddClientFlags(cmd, flags->client);
  cmd->add_option("RUN_A", flags->a, "run name or id")->required();
  cmd->add_option("RUN_B", flags->b, "run name or id")->required();
  cmd->add_option("--top-categories", flags->top_categories,
                  "largest per-category AP deltas to show")
      ->capture_default_str();
  cmd->callback([flags] {
    CoordinatorClient client = ConnectOrFail(flags->client);
    v1::CompareRunsRequest req;
    *req.mutable_a() = RunRefFromText(flags->a);
    *req.mutable_b() = RunRefFromText(flags->b);
    req.set_top_categories(flags->top_categories);
    auto resp = OrFail(client.CompareRuns(req));
    if (flags->client.json) {
      nlohmann::json out;
      out["a"] = RunJson(resp.a());
      out["b"] = RunJson(resp.b());
      out["config_diff"] = nlohmann::json::array();
      for (const auto& d : resp.config_diff()) {
        out["config_diff"].push_back({{"key", d.key()},
                                      {"a", d.a_json().empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json::parse(d.a_json())},
                                      {"b", d.b_json().empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json::parse(d.b_json())},
                                      {"same", d.same()}});
      }
      out["stats"] = nlohmann::json::array();
      for (const auto& s : resp.stats()) {
        nlohmann::json js;
        js["iou_type"] = IouName(s.iou_type());
        js["a"] = s.has_a() ? EvaluationJson(s.a()) : nlohmann::json(nullptr);
        js["b"] = s.has_b() ? EvaluationJson(s.b()) : nlohmann::json(nullptr);
        js["comparable"] = s.comparable();
        js["reason"] = s.reason();
        // Null where either side has no value (pycocotools' -1), as on the dashboard.
        js["delta"] = s.has_a() && s.has_b() && s.has_delta()
                          ? server::StatsDeltaJson(server::StatsFromProto(s.a().stats()),
                                                   server::StatsFromProto(s.b().stats()),
                                                   server::StatsFromProto(s.delta()))
                          : nlohmann::json(nullptr);
        js["category_deltas"] = nlohmann::json::array();
        for (const auto& c : s.category_deltas()) {
          const bool both = c.a_ap() >= 0 && c.b_ap() >= 0;
          js["category_deltas"].push_back(
              {{"category_id", c.category_id()},
               {"name", c.category_name()},
               {"a", c.a_ap() >= 0 ? nlohmann::json(c.a_ap()) : nlohmann::json(nullptr)},
               {"b", c.b_ap() >= 0 ? nlohmann::json(c.b_ap()) : nlohmann::json(nullptr)},
               {"delta", both ? nlohmann::json(c.delta()) : nlohmann::json(nullptr)}});
        }
        out["stats"].push_back(js);
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    const std::string an = resp.a().name();
    const std::string bn = resp.b().name();
    std::cout << "compare a = " << an << "  vs  b = " << bn << "\n\nconfig:\n";
    Table ct({"key", "a", "b", ""});
    for (const auto& d : resp.config_diff()) {
      ct.AddRow({d.key(), d.a_json().empty() ? "(missing)" : d.a_json(),
                 d.b_json().empty() ? "(missing)" : d.b_json(), d.same() ? "" : "differs"});
    }
    std::cout << (ct.empty() ? "  both configs are empty\n" : ct.Render());
    for (const auto& s : resp.stats()) {
      std::cout << "\n" << IouName(s.iou_type()) << " stats:\n";
      auto describe = [](const char* label, bool has, const v1::Evaluation& e) {
        std::cout << "  " << label << ": ";
        if (!has) {
          std::cout << "no evaluation\n";
          return;
        }
        std::cout << "evaluation " << e.id() << " of "
                  << (e.checkpoint_name().empty() ? e.run_name() + " (no checkpoint)"
                                                  : e.run_name() + "/" + e.checkpoint_name())
                  << ", " << SettingsText(e.settings()) << "\n";
      };
      describe("a", s.has_a(), s.a());
      describe("b", s.has_b(), s.b());
      std::cout << "  comparable: "
                << (s.comparable() ? "yes (same eval settings and dataset)" : "NO — " + s.reason())
                << "\n";
      if (!s.has_a() || !s.has_b()) continue;
      Table st({"stat", "a", "b", "delta"});
      const CocoStats a = server::StatsFromProto(s.a().stats());
      const CocoStats b = server::StatsFromProto(s.b().stats());
      const CocoStats d = server::StatsFromProto(s.delta());
      for (size_t i = 0; i < kCocoStatNames.size(); ++i) {
        st.AddRow({std::string(kCocoStatNames[i]), Fixed(a[i]), Fixed(b[i]), Signed(d[i])});
      }
      std::cout << st.Render();
      if (s.category_deltas_size() > 0) {
        std::cout << "  largest per-category AP deltas:\n";
        Table cat({"category", "a", "b", "delta"});
        for (const auto& c : s.category_deltas()) {
          cat.AddRow(
              {c.category_name().empty() ? std::to_string(c.category_id()) : c.category_name(),
               Fixed(c.a_ap()), Fixed(c.b_ap()), Signed(c.delta())});
        }
        std::cout << cat.Render();
      }
    }
  });
}

}  // namespace ablate::cli
