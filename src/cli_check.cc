// `mdfetch check [SERIES...]`: what is wrong with the stored series (health.h), with no call.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/health.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"

namespace mdfetch {
namespace {

// The series named on the command line (every missing one named), or every stored series.
Result<std::vector<SeriesState>> Chosen(Store& store, const ReadArgs& args, const std::string& db) {
  if (args.symbols.empty()) {
    auto stored = store.ListSeries();
    if (!stored || !args.series_options_given) return stored;
    auto chosen = ResolveOptions(args.function, args.interval, args.adjusted, args.extended_hours);
    if (!chosen) return std::unexpected(chosen.error());
    std::erase_if(*stored, [&](const SeriesState& s) { return !chosen->Matches(s.key); });
    return stored;
  }
  return FindSeries(store, args, "check", Needs::kRow, db);
}

}  // namespace

Outcome RunCheck(const ReadArgs& args, CliEnv& env) {
  if (auto ok = ParseSeriesArguments(args); !ok) return Exit(kExitUsage, "{}", ok.error().message);
  std::string db;
  auto store = OpenReadDb(args.db, env, db);
  if (!store) return Exit(kExitUsage, "{}", store.error().message);
  auto series = Chosen(**store, args, db);
  if (!series) return Exit(kExitUsage, "{}", series.error().message);
  const WallTime now = env.clock->WallNow();
  nlohmann::ordered_json doc{{"version", 1}, {"database", db}, {"at", IsoUtc(now)}};
  doc["findings"] = nlohmann::ordered_json::array();
  std::string text;
  size_t found = 0, series_with_findings = 0;
  for (const SeriesState& state : *series) {
    auto bars = (*store)->ReadBars(state.key, BarFilter{});
    if (!bars) return Exit(kExitFailed, "{}", bars.error().message);
    const std::vector<Finding> findings = CheckSeries(state, *bars, now);
    series_with_findings += findings.empty() ? 0 : 1;
    found += findings.size();
    for (const Finding& f : findings) {
      text += fmt::format("{}: {}: {}\n", Describe(state.key), FindingKindName(f.kind), f.message);
      doc["findings"].push_back({{"series", Describe(state.key)},
                                 {"kind", FindingKindName(f.kind)},
                                 {"first", f.first_ts},
                                 {"last", f.last_ts},
                                 {"message", f.message}});
    }
  }
  doc["series_checked"] = series->size();
  if (args.format == "json") {
    text = JsonText(doc, 2) + "\n";
  } else if (found == 0) {
    text += fmt::format("{}: {} series checked: nothing found\n", db, series->size());
  } else {
    text += fmt::format("{}: {} series checked: {} finding{} in {} series\n", db, series->size(),
                        found, found == 1 ? "" : "s", series_with_findings);
  }
  std::fputs(text.c_str(), env.out);
  return found == 0 ? kExitOk : kExitFailed;
}

}  // namespace mdfetch
