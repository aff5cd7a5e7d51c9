// The read side: `query`, `export`, `list` and `quota`, on read-only connections that WAL
// lets run beside a refresh.
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"
#include "output_file.h"

namespace mdfetch {
namespace {

Result<std::unique_ptr<Store>> OpenForReading(const ReadArgs& args, CliEnv& env, std::string& db) {
  return OpenReadDb(args.db, env, db);
}

// --from/--to (see MakeBarFilter), --last and --final-only.
Result<BarFilter> MakeFilter(const ReadArgs& args, bool intraday) {
  auto filter = MakeBarFilter(args.from, args.to, intraday);
  if (filter) {
    filter->last = args.last;
    filter->final_only = args.final_only;
  }
  return filter;
}

// The usage errors of the arguments, before the store is opened; FindSeries then finds them.
Result<std::vector<SeriesKey>> ParseKeys(const ReadArgs& args) {
  auto arguments = ParseSeriesArguments(args);
  if (!arguments) return std::unexpected(arguments.error());
  std::vector<SeriesKey> keys;
  for (const SeriesArgument& argument : *arguments) keys.push_back(argument.key);
  return keys;
}

// The kind of a series: what one CSV can hold (function, interval, switches), not the symbol.
SeriesKey KindOf(SeriesKey key) {
  key.symbol.clear();
  return key;
}

// What `export --all` writes and what it leaves out. It writes every series of --function,
// narrowed by --interval, --adjusted and --extended-hours when given; the CSV names only the
// symbol, so intraday series of several intervals or switches cannot share it (an error naming
// them). Every other stored series is left out, counted by kind.
struct Selection {
  std::vector<SeriesKey> keys;
  std::map<SeriesKey, int> left_out;
};

Result<Selection> SelectAll(const std::vector<SeriesState>& series, const ReadArgs& args,
                            Function function) {
  auto chosen = ResolveOptions(args.function, args.interval, args.adjusted, args.extended_hours);
  if (!chosen) return std::unexpected(chosen.error());
  Selection selection;
  std::set<std::string> variants;
  for (const auto& s : series) {
    const SeriesKey& key = s.key;
    if (key.function != function || !chosen->Matches(key)) {
      ++selection.left_out[KindOf(key)];
      continue;
    }
    selection.keys.push_back(key);
    std::string variant = key.interval;
    if (std::string options = OptionsText(key); !options.empty()) variant += " " + options;
    variants.insert(variant);
  }
  if (variants.size() > 1) {
    return Fail(
        fmt::format("export --all: the stored {} series are of several kinds ({}); choose one with "
                    "--interval, --adjusted or --extended-hours",
                    ShortName(function), fmt::join(variants, ", ")));
  }
  return selection;
}

// The file a left-out kind would go to beside `output`: "bars.csv" -> "bars.weekly.csv",
// "bars.intraday-5min-raw.csv".
std::string OutputFor(const SeriesKey& kind, const std::string& output) {
  std::string tag(ShortName(kind.function));
  if (!kind.interval.empty()) tag += "-" + kind.interval;
  if (!kind.adjusted) tag += "-raw";
  if (!kind.extended_hours) tag += "-regular-hours";
  std::filesystem::path path(output);
  path.replace_filename(path.stem().string() + "." + tag + path.extension().string());
  return path.string();
}

// The command that exports a left-out kind with the same database, range and file choice.
std::string ExportCommand(const SeriesKey& kind, const ReadArgs& args, const OutputFile& file) {
  const bool intraday = kind.function == Function::kIntraday;
  std::string command = "mdfetch export --all";
  if (!args.db.empty()) command += " --db " + ShellQuote(RedactDb(args.db));
  command += fmt::format(" --function {}", ShortName(kind.function));
  if (intraday) {
    command += fmt::format(" --interval {} --adjusted {} --extended-hours {}", kind.interval,
                           kind.adjusted, kind.extended_hours);
  }
  // A time of day is for intraday only: other kinds get its date.
  for (auto [name, value] : {std::pair{"--from", &args.from}, std::pair{"--to", &args.to}}) {
    if (!value->empty()) {
      command += fmt::format(" {} {}", name, ShellQuote(intraday ? *value : value->substr(0, 10)));
    }
  }
  if (args.final_only) command += " --final-only";
  if (file.replaces()) command += " --output " + ShellQuote(OutputFor(kind, file.path()));
  return command;
}

// On stderr after `export --all`: which stored series it did not include, and how to get them.
void NoteLeftOut(const Selection& selection, const ReadArgs& args, Function function,
                 const OutputFile& file, CliEnv& env) {
  if (selection.left_out.empty()) return;
  int count = 0;
  for (const auto& [kind, n] : selection.left_out) count += n;
  std::string note = fmt::format(
      "mdfetch: export --all wrote {} {} series; {} other stored series {} not in it (a CSV "
      "holds one kind), each kind exported by:\n",
      selection.keys.size(), ShortName(function), count, count == 1 ? "is" : "are");
  for (const auto& [kind, n] : selection.left_out) {
    std::string name = Describe(kind);  // no symbol: " weekly", "" for daily
    if (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (name.empty()) name = ShortName(kind.function);
    note += fmt::format("  {} ({} series): {}\n", name, n, ExportCommand(kind, args, file));
  }
  std::fputs(note.c_str(), env.err);
}

}  // namespace

Outcome RunQuery(const ReadArgs& args, CliEnv& env) {
  auto keys = ParseKeys(args);
  if (!keys) {
    return Exit(kExitUsage, "{}", keys.error().message);
  }
  // The range is checked before the store is opened, and again for the series found (a pair
  // such as BTC/EUR names its function only in the store).
  if (auto ok = MakeFilter(args, keys->front().function == Function::kIntraday); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  auto found = FindSeries(**store, args, "query", Needs::kBars, db);
  if (!found) return Exit(kExitFailed, "{}", found.error().message);
  const SeriesKey key = found->front().key;
  auto filter = MakeFilter(args, key.function == Function::kIntraday);
  if (!filter) {
    return Exit(kExitUsage, "{}", filter.error().message);
  }
  const SeriesState& state = found->front();
  auto bars = (*store)->ReadBars(key, *filter);
  if (!bars) {
    return Exit(kExitFailed, "{}", bars.error().message);
  }
  const bool adjusted = IsAdjusted(key.function);
  std::string out;
  if (args.format == "csv") {
    out = BarCsvHeader(false, adjusted);
    for (const auto& bar : *bars) AppendBarCsv(out, "", bar, adjusted);
  } else if (args.format == "json") {
    out = BarJson(state, *bars);
  } else {
    out = BarTable(*bars, adjusted, state.provisional_ts);
  }
  std::fputs(out.c_str(), env.out);
  return kExitOk;
}

Outcome RunExport(const ReadArgs& args, CliEnv& env) {
  if (args.all == !args.symbols.empty()) {
    return Exit(kExitUsage, "export: name the symbols to export, or pass --all (not both)");
  }
  auto keys = ParseKeys(args);
  if (!keys) {
    return Exit(kExitUsage, "{}", keys.error().message);
  }
  auto chosen = ResolveDefaults(args.function, {});
  if (!chosen) return Exit(kExitUsage, "{}", chosen.error().message);
  const Function named = keys->empty() ? chosen->function : keys->front().function;
  if (auto ok = MakeFilter(args, named == Function::kIntraday); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  Selection selection;
  if (!args.all) {
    auto found = FindSeries(**store, args, "export", Needs::kBars, db);
    if (!found) return Exit(kExitFailed, "{}", found.error().message);
    for (const SeriesState& state : *found) selection.keys.push_back(state.key);
    // One CSV holds one kind of series.
    for (const auto& key : selection.keys) {
      if (KindOf(key) != KindOf(selection.keys.front())) {
        return Exit(kExitUsage,
                    "export: {} and {} are different kinds of series; a CSV holds one: "
                    "export them apart",
                    Describe(selection.keys.front()), Describe(key));
      }
    }
  }
  // That of the series found, else --function's.
  const Function function =
      selection.keys.empty() ? chosen->function : selection.keys.front().function;
  auto filter = MakeFilter(args, function == Function::kIntraday);
  if (!filter) {
    return Exit(kExitUsage, "{}", filter.error().message);
  }
  if (args.all) {
    auto series = (*store)->ListSeries();
    if (!series) {
      return Exit(kExitFailed, "{}", series.error().message);
    }
    auto selected = SelectAll(*series, args, function);
    if (!selected) {
      return Exit(kExitUsage, "{}", selected.error().message);
    }
    selection = std::move(*selected);
  }

  auto file = OutputFile::Open(args.output, env.out);
  if (!file) {
    return Exit(kExitUsage, "{}", file.error().message);
  }
  const bool adjusted = IsAdjusted(function);
  std::string buffer = BarCsvHeader(true, adjusted);
  auto flush = [&] {
    const bool ok = (*file)->Write(buffer);
    buffer.clear();
    return ok;
  };
  Status read;
  if (!selection.keys.empty()) {
    read = (*store)->ForEachBar(selection.keys, *filter, [&](const SeriesKey& key, const Bar& bar) {
      AppendBarCsv(buffer, key.symbol, bar, adjusted);
      return buffer.size() < (1 << 16) || flush();
    });
  }
  // A read that failed on its own (not stopped by a failed write) leaves the old file alone.
  if (flush() && !read) {
    (*file)->Abandon();
    return Exit(kExitFailed, "export failed: {}", read.error().message);
  }
  if (auto written = (*file)->Commit(); !written) {
    return Exit(kExitFailed, "export failed: {}", written.error().message);
  }
  if (args.all) NoteLeftOut(selection, args, function, **file, env);
  return kExitOk;
}

Outcome RunList(const ReadArgs& args, CliEnv& env) {
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  if (args.format == "csv" || args.format == "json") {
    // Written as the series are read, a chunk at a time: 100,000 series are never held.
    constexpr size_t kListChunk = 1 << 16;
    const bool csv = args.format == "csv";
    std::string out = csv ? SeriesCsvHeader() : R"({"series":[)";
    bool first = true;
    Status listed = (*store)->ForEachSeries([&](SeriesState& state) {
      if (csv) {
        AppendSeriesCsv(out, state);
      } else {
        if (!first) out += ',';
        AppendSeriesJson(out, state);
      }
      first = false;
      if (out.size() >= kListChunk) {
        std::fwrite(out.data(), 1, out.size(), env.out);
        out.clear();
      }
    });
    if (!listed) return Exit(kExitFailed, "{}", listed.error().message);
    if (!csv) out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), env.out);
    return kExitOk;
  }
  auto series = (*store)->ListSeries();
  if (!series) {
    return Exit(kExitFailed, "{}", series.error().message);
  }
  // A person at a terminal sees a page of a long table; a pipe or a file gets every row.
  std::fputs(SeriesTable(*series, env.out_is_terminal ? kListPage : 0).c_str(), env.out);
  return kExitOk;
}

Outcome RunQuota(const ReadArgs& args, const std::string& given_rate, CliEnv& env) {
  // A --rate that cannot be parsed is refused before the store is opened.
  if (!given_rate.empty()) {
    if (auto rate = ParseRateSpec(given_rate); !rate) {
      return Exit(kExitUsage, "{}", rate.error().message);
    }
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  auto quota = QuotaRate(**store, given_rate);
  if (!quota) return Exit(kExitFailed, "{}", quota.error().message);
  const std::string& rate_text = quota->text;
  auto rate = ParseRateSpec(rate_text);
  if (!rate) {
    return Exit(kExitFailed, "the --rate recorded in {}: {}", db, rate.error().message);
  }
  WallTime now = env.clock->WallNow();
  auto times = (*store)->CallTimesSince(now - std::chrono::hours(24));
  if (!times) {
    return Exit(kExitFailed, "{}", times.error().message);
  }
  // Where the limit comes from, when it is the one the last refresh recorded.
  const std::string source = quota->recorded_at
                                 ? fmt::format("(--rate {}, recorded by the refresh of {})\n",
                                               rate_text, FormatUtc(*quota->recorded_at))
                                 : "";
  if (!rate->per_day) {
    fmt::print(env.out, "{} calls in the last 24 h; no daily quota in --rate '{}'\n{}",
               times->size(), rate_text, source);
    return kExitOk;
  }
  auto limit = static_cast<size_t>(*rate->per_day);
  std::string next = "now";
  if (times->size() >= limit) {
    next = FormatUtc((*times)[times->size() - limit] + std::chrono::hours(24));
  }
  fmt::print(env.out, "{} of {} calls spent in the last 24 h; next call allowed: {}\n{}",
             times->size(), limit, next, source);
  return kExitOk;
}

}  // namespace mdfetch
