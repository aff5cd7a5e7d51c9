// The read side: `query`, `export`, `list` and `quota`, on read-only connections that WAL
// lets run beside a refresh.
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "cli_commands.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"

namespace mdfetch {
namespace {

// A number as the service would write it, without float noise: the shortest text that
// reads back as the same double ("101.0924", "22165128").
void AppendNumber(std::string& out, double value) {
  fmt::format_to(std::back_inserter(out), "{}", value);
}

void AppendOptional(std::string& out, const std::optional<double>& value) {
  if (value) AppendNumber(out, *value);
}

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, quotes doubled.
void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void AppendBarCsv(std::string& out, const Bar& bar, bool adjusted) {
  AppendCsvField(out, bar.ts);
  for (double v : {bar.open, bar.high, bar.low, bar.close}) {
    out += ',';
    AppendNumber(out, v);
  }
  out += ',';
  AppendOptional(out, bar.volume);
  if (adjusted) {
    out += ',';
    AppendOptional(out, bar.adjusted_close);
    out += ',';
    AppendOptional(out, bar.dividend);
    out += ',';
    AppendOptional(out, bar.split_coefficient);
  }
  out += "\r\n";
}

constexpr std::string_view kBarHeader = "timestamp,open,high,low,close,volume";
constexpr std::string_view kAdjustedHeader = ",adjusted_close,dividend_amount,split_coefficient";

Result<std::unique_ptr<Store>> OpenForReading(const ReadArgs& args, CliEnv& env, std::string& db) {
  return OpenReadDb(args.db, env, db);
}

// --from/--to as dates; --to takes in every intraday bar of its day.
Result<BarFilter> MakeFilter(const ReadArgs& args) {
  BarFilter filter{
      .from = args.from, .to = args.to, .last = args.last, .final_only = args.final_only};
  for (const auto* value : {&args.from, &args.to}) {
    if (!value->empty() && (!ParseDate(*value) || value->size() != 10)) {
      return Fail(fmt::format("bad date '{}': expected YYYY-MM-DD", Printable(*value)));
    }
  }
  if (!filter.to.empty()) filter.to += " 99";
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

std::string FormatWhen(const std::optional<WallTime>& t) { return t ? FormatUtc(*t) : "-"; }

// The mark of a provisional bar, in the table and in `list`, and its footnote.
constexpr std::string_view kProvisionalMark = "*";
constexpr std::string_view kProvisionalNote =
    "* provisional: taken while its session was open (the close is the last price); the first "
    "fetch after the close makes it final\n";

void PrintTable(CliEnv& env, const std::vector<Bar>& bars, bool adjusted,
                const std::string& provisional_ts) {
  std::string out = fmt::format("{:<19} {:>12} {:>12} {:>12} {:>12} {:>14}", "timestamp", "open",
                                "high", "low", "close", "volume");
  if (adjusted) out += fmt::format(" {:>12} {:>9} {:>6}", "adj_close", "dividend", "split");
  out += '\n';
  auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; };
  for (const auto& b : bars) {
    out += fmt::format("{:<19} {:>12} {:>12} {:>12} {:>12} {:>14}", b.ts, b.open, b.high, b.low,
                       b.close, opt(b.volume));
    if (adjusted) {
      out += fmt::format(" {:>12} {:>9} {:>6}", opt(b.adjusted_close), opt(b.dividend),
                         opt(b.split_coefficient));
    }
    if (b.ts == provisional_ts) out += kProvisionalMark;
    out += '\n';
  }
  if (!provisional_ts.empty() && !bars.empty() && bars.back().ts == provisional_ts) {
    out += kProvisionalNote;
  }
  std::fputs(out.c_str(), env.out);
}

void PrintJson(CliEnv& env, const SeriesKey& key, const std::vector<Bar>& bars,
               const std::string& provisional_ts) {
  // Symbols and timestamps hold only [A-Z0-9./: -]: nothing to escape.
  std::string out =
      fmt::format("{{\"symbol\":\"{}\",\"function\":\"{}\",", key.symbol, ShortName(key.function));
  if (key.function == Function::kIntraday) {
    out += fmt::format("\"interval\":\"{}\",\"adjusted\":{},\"extended_hours\":{},", key.interval,
                       key.adjusted, key.extended_hours);
  }
  out += "\"bars\":[";
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : "null"; };
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    out += fmt::format(
        "{}{{\"timestamp\":\"{}\",\"open\":{},\"high\":{},\"low\":{},\"close\":{},\"volume\":{}",
        i ? "," : "", b.ts, b.open, b.high, b.low, b.close, num(b.volume));
    if (IsAdjusted(key.function)) {
      out += fmt::format(",\"adjusted_close\":{},\"dividend_amount\":{},\"split_coefficient\":{}",
                         num(b.adjusted_close), num(b.dividend), num(b.split_coefficient));
    }
    out += fmt::format(",\"provisional\":{}}}", b.ts == provisional_ts);
  }
  out += "]}\n";
  std::fputs(out.c_str(), env.out);
}

// The series `export --all` writes: every one of the function, narrowed by --interval,
// --adjusted and --extended-hours when given. The CSV names only the symbol, so intraday
// series of several intervals or switches cannot share it: that is an error naming them.
Result<std::vector<SeriesKey>> SelectAll(const std::vector<SeriesState>& series,
                                         const ReadArgs& args, Function function) {
  auto chosen = ResolveOptions(args.function, args.interval, args.adjusted, args.extended_hours);
  if (!chosen) return std::unexpected(chosen.error());
  std::vector<SeriesKey> keys;
  std::set<std::string> variants;
  for (const auto& s : series) {
    const SeriesKey& key = s.key;
    if (key.function != function || !chosen->Matches(key)) continue;
    keys.push_back(key);
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
  return keys;
}

// "intraday:5min adjusted=false": the function column of `list`.
std::string FunctionColumn(const SeriesKey& key) {
  std::string out(ShortName(key.function));
  if (!key.interval.empty()) out += ":" + key.interval;
  if (std::string options = OptionsText(key); !options.empty()) out += " " + options;
  return out;
}

}  // namespace

Outcome RunQuery(const ReadArgs& args, CliEnv& env) {
  auto keys = ParseKeys(args);
  auto filter = MakeFilter(args);
  if (!keys || !filter) {
    return Exit(kExitUsage, "{}", (!keys ? keys.error() : filter.error()).message);
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  auto found = FindSeries(**store, args, "query", Needs::kBars, db);
  if (!found) return Exit(kExitFailed, "{}", found.error().message);
  const SeriesKey key = found->front().key;
  auto state = (*store)->Find(key);
  if (!state || !*state || (*state)->bar_count == 0) {
    // The fetch command that names the same series: quoted when it has several words.
    std::string name = Describe(key);
    std::string argument = name.find(' ') == std::string::npos ? name : "\"" + name + "\"";
    return Exit(kExitFailed, "no bars for {} in {} (fetch it first: mdfetch fetch {})", name, db,
                argument);
  }
  auto bars = (*store)->ReadBars(key, *filter);
  if (!bars) {
    return Exit(kExitFailed, "{}", bars.error().message);
  }
  bool adjusted = IsAdjusted(key.function);
  if (args.format == "csv") {
    std::string out(kBarHeader);
    if (adjusted) out += kAdjustedHeader;
    out += "\r\n";
    for (const auto& bar : *bars) AppendBarCsv(out, bar, adjusted);
    std::fputs(out.c_str(), env.out);
  } else if (args.format == "json") {
    PrintJson(env, key, *bars, (*state)->provisional_ts);
  } else {
    PrintTable(env, *bars, adjusted, (*state)->provisional_ts);
  }
  return kExitOk;
}

Outcome RunExport(const ReadArgs& args, CliEnv& env) {
  if (args.all == !args.symbols.empty()) {
    return Exit(kExitUsage, "export: name the symbols to export, or pass --all (not both)");
  }
  auto keys = ParseKeys(args);
  auto filter = MakeFilter(args);
  if (!keys || !filter) {
    return Exit(kExitUsage, "{}", (!keys ? keys.error() : filter.error()).message);
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  Function function = ResolveDefaults(args.function, {})->function;  // ParseKeys checked it
  if (args.all) {
    auto series = (*store)->ListSeries();
    if (!series) {
      return Exit(kExitFailed, "{}", series.error().message);
    }
    auto selected = SelectAll(*series, args, function);
    if (!selected) {
      return Exit(kExitUsage, "{}", selected.error().message);
    }
    *keys = std::move(*selected);
  } else {
    auto found = FindSeries(**store, args, "export", Needs::kBars, db);
    if (!found) return Exit(kExitFailed, "{}", found.error().message);
    keys->clear();
    for (const SeriesState& state : *found) keys->push_back(state.key);
  }

  // A file is written beside its final name and renamed at the end: never half a file.
  std::FILE* out = env.out;
  std::string final_path = args.output;
  std::string temp_path;
  if (args.output != "-") {
    temp_path = fmt::format("{}.tmp-{}", final_path, getpid());
    out = std::fopen(temp_path.c_str(), "wb");
    if (out == nullptr) {
      return Exit(kExitUsage, "cannot write '{}': {}", final_path, std::strerror(errno));
    }
  }
  bool adjusted = IsAdjusted(function);
  std::string buffer = "symbol,";
  buffer += kBarHeader;
  if (adjusted) buffer += kAdjustedHeader;
  buffer += "\r\n";
  bool write_ok = true;
  auto flush = [&] {
    write_ok = write_ok && std::fwrite(buffer.data(), 1, buffer.size(), out) == buffer.size();
    buffer.clear();
    return write_ok;
  };
  Status status;
  if (!keys->empty()) {
    status = (*store)->ForEachBar(*keys, *filter, [&](const SeriesKey& key, const Bar& bar) {
      AppendCsvField(buffer, key.symbol);
      buffer += ',';
      AppendBarCsv(buffer, bar, adjusted);
      return buffer.size() < (1 << 16) || flush();
    });
  }
  flush();
  if (out != env.out) {
    write_ok = std::fclose(out) == 0 && write_ok;
    if (status && write_ok) {
      std::error_code ec;
      std::filesystem::rename(temp_path, final_path, ec);
      if (ec) status = Fail(fmt::format("cannot rename '{}': {}", temp_path, ec.message()));
    }
    if (!status || !write_ok) std::remove(temp_path.c_str());
  } else {
    write_ok = std::fflush(out) == 0 && write_ok;
  }
  if (!status || !write_ok) {
    return Exit(kExitFailed, "export to '{}' failed: {}", final_path,
                !status ? status.error().message : std::string(std::strerror(errno)));
  }
  return kExitOk;
}

Outcome RunList(const ReadArgs& args, CliEnv& env) {
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  auto series = (*store)->ListSeries();
  if (!series) {
    return Exit(kExitFailed, "{}", series.error().message);
  }
  // The function column is as wide as its longest entry ("intraday:5min adjusted=false ...").
  size_t width = 18;
  for (const auto& s : *series) width = std::max(width, FunctionColumn(s.key).size());
  std::string out =
      fmt::format("{:<12} {:<{}} {:>7} {:<19} {:<19} {:<20} {}\n", "symbol", "function", width,
                  "bars", "first", "last", "last fetch (UTC)", "outcome");
  bool any_provisional = false;
  for (const auto& s : *series) {
    std::string outcome = s.last_outcome.empty() ? "-" : s.last_outcome;
    if (s.last_outcome == "unknown" && s.last_attempt_at) {
      // The planner does not call it again for a week (--force does).
      outcome = fmt::format("unknown to the service since {}",
                            FormatDate(std::chrono::floor<std::chrono::days>(*s.last_attempt_at)));
    } else if (!s.last_error.empty()) {
      outcome += ": " + s.last_error;
    }
    if (s.history_limited) outcome += " (history limited to compact)";
    std::string last = s.last_ts.empty() ? "-" : s.last_ts;
    if (!s.provisional_ts.empty() && s.provisional_ts == s.last_ts) {
      last += kProvisionalMark;
      any_provisional = true;
    }
    out += fmt::format("{:<12} {:<{}} {:>7} {:<19} {:<19} {:<20} {}\n", s.key.symbol,
                       FunctionColumn(s.key), width, s.bar_count,
                       s.first_ts.empty() ? "-" : s.first_ts, last, FormatWhen(s.last_attempt_at),
                       outcome);
  }
  if (any_provisional) out += kProvisionalNote;
  if (series->empty()) out += "(no series stored yet)\n";
  std::fputs(out.c_str(), env.out);
  return kExitOk;
}

Outcome RunQuota(const ReadArgs& args, const std::string& rate_text, CliEnv& env) {
  auto rate = ParseRateSpec(rate_text);
  if (!rate) {
    return Exit(kExitUsage, "{}", rate.error().message);
  }
  std::string db;
  auto store = OpenForReading(args, env, db);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  WallTime now = env.clock->WallNow();
  auto times = (*store)->CallTimesSince(now - std::chrono::hours(24));
  if (!times) {
    return Exit(kExitFailed, "{}", times.error().message);
  }
  if (!rate->per_day) {
    fmt::print(env.out, "{} calls in the last 24 h; no daily quota in --rate '{}'\n", times->size(),
               rate_text);
    return kExitOk;
  }
  auto limit = static_cast<size_t>(*rate->per_day);
  std::string next = "now";
  if (times->size() >= limit) {
    next = FormatUtc((*times)[times->size() - limit] + std::chrono::hours(24));
  }
  fmt::print(env.out, "{} of {} calls spent in the last 24 h; next call allowed: {}\n",
             times->size(), limit, next);
  return kExitOk;
}

}  // namespace mdfetch
