// Argument parsing: every command in one table, every option accepted after the command name.
#include "mdfetch/cli.h"

#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <tuple>
#include <vector>

#include "cli_commands.h"
#include "cli_doc.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

// The --db help of the commands that take it.
constexpr const char* kDbHelpTail =
    "; a SQLite file, or a PostgreSQL URI postgresql://[USER@]HOST[:PORT]/DB[?PARAMS] (libpq's "
    "PGHOST, PGUSER, PGPASSFILE, ... fill in the rest; a password is shown as ***)";

constexpr const char* kExitCodes =
    "Exit status: 0 every due series stored or up to date; 1 some series failed or some "
    "symbols were invalid; 2 usage or configuration error, nothing fetched; 3 stopped by the "
    "daily quota, the rest deferred (3 wins over 1); 4 the service could not be reached, the "
    "rest deferred with the quota intact; 130/143 interrupted by SIGINT/SIGTERM.";

constexpr const char* kSymbolsHelp = "symbol list, or - to read it from stdin";
constexpr const char* kSeriesHelp =
    "series, each like a symbol-list line (IBM, \"AAPL intraday:5min\", BTC/EUR, ...)";

// The intraday switches, named like the service's parameters. Their values are checked by
// ResolveOptions, with the symbol list's parser.
// `adjusted` null: no --adjusted (chart's --adjusted is a flag; a series argument still
// writes the switch, "AAPL intraday:5min adjusted=false").
void AddSwitchOptions(CLI::App& cmd, std::string* adjusted, std::string& extended_hours,
                      const std::string& which) {
  if (adjusted != nullptr) {
    cmd.add_option(
           "--adjusted", *adjusted,
           "intraday prices adjusted for splits and dividends, true or false (any case); " + which)
        ->type_name("BOOL");
  }
  cmd.add_option(
         "--extended-hours", extended_hours,
         "intraday bars from 04:00 to 20:00 New York (true) or 09:30-16:00 only (false); " + which)
      ->type_name("BOOL");
}

void AddFetchOptions(CLI::App& cmd, RefreshArgs& a) {
  cmd.add_option("--db", a.db,
                 std::string("database (default $MDFETCH_DB, else data/market.db; data/demo.db "
                             "with --sim)") +
                     kDbHelpTail);
  cmd.add_option("--api-key", a.api_key,
                 "Alpha Vantage key (visible to other users in `ps`: prefer --api-key-file or "
                 "$ALPHAVANTAGE_API_KEY)");
  cmd.add_option("--api-key-file", a.api_key_file,
                 "file whose first line is the key, readable by its owner only (default "
                 "$ALPHAVANTAGE_API_KEY_FILE, else $ALPHAVANTAGE_API_KEY)")
      ->type_name("FILE");
  cmd.add_option("--base-url", a.base_url,
                 "service URL (through $https_proxy or $http_proxy unless $no_proxy names its "
                 "host)")
      ->capture_default_str();
  cmd.add_option("--rate", a.rate,
                 "comma list of N/s, N/min, N/h, N/day or unlimited (default 5/min,25/day, the "
                 "free tier; 1/s with --sim)");
  cmd.add_option("--concurrency", a.concurrency, "calls in flight at most")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd.add_option("--retries", a.retries, "retries of a transient fault per series")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  cmd.add_option("--function", a.function,
                 "function for symbols that name none, written as in the symbol list, any case "
                 "(daily, daily_adjusted, weekly, monthly_adjusted, intraday:5min, fx_daily, "
                 "crypto_daily, ...)")
      ->capture_default_str();
  cmd.add_option("--interval", a.interval,
                 "interval of --function intraday: 1min, 5min, 15min, 30min or 60min (default "
                 "5min); refused with any other function");
  AddSwitchOptions(cmd, &a.adjusted, a.extended_hours,
                   "for intraday series that set none (default true); refused when no series is "
                   "intraday");
  cmd.add_flag("--full", a.full, "ask outputsize=full (the whole history) for every series");
  cmd.add_flag("--force", a.force, "fetch even series that are up to date");
  cmd.add_flag("--dry-run", a.dry_run, "say what would be done, like `mdfetch plan`; no call");
  cmd.add_flag("--sim", a.sim,
               "fetch simulated bars (into data/demo.db) from the built-in simulator on a "
               "loopback port, or from a running `mdfetch sim` named by --base-url");
}

// What a refresh or fetch tells, and where (not `plan`, which makes no call).
void AddRunOptions(CLI::App& cmd, RefreshArgs& a) {
  cmd.add_option("--report", a.report,
                 "write a JSON report of the run to FILE (- for stdout), also when it stops "
                 "early; never holds the key")
      ->type_name("FILE");
  cmd.add_flag("--quiet", a.quiet,
               "print only what went wrong (failures, deferrals, why the run stopped): nothing "
               "when every series is stored or up to date");
  cmd.add_flag("--verbose", a.verbose,
               "print a line per call on stderr: time, series, outputsize, outcome, bytes, ms");
}

// The plan's --format (plan; refresh and fetch with --dry-run).
void AddPlanFormat(CLI::App& cmd, RefreshArgs& a, const char* help) {
  cmd.add_option("--format", a.format, help)
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

// A refresh or fetch, or with --dry-run its plan (which makes no call to report on).
Outcome RefreshOrPlan(const RefreshArgs& a, CliEnv& env) {
  if (!a.dry_run && a.format_given) {
    return Exit(kExitUsage, "--format is the format of --dry-run's plan; a run prints no table");
  }
  if (!a.dry_run) return RunRefresh(a, env);
  if (!a.report.empty() || a.quiet || a.verbose) {
    return Exit(kExitUsage,
                "--dry-run makes no call: --report, --quiet and --verbose apply to a run");
  }
  return RunPlan(a, env);
}

void AddReadOptions(CLI::App& cmd, ReadArgs& a, bool range, bool intraday_adjusted = true) {
  cmd.add_option("--db", a.db,
                 std::string("database (default $MDFETCH_DB, else data/market.db)") + kDbHelpTail);
  cmd.add_option("--function", a.function,
                 "which of a symbol's series, written as in the symbol list, any case (daily, "
                 "weekly, intraday:5min, ...); a pair such as BTC/EUR finds its FX or crypto "
                 "series without it")
      ->capture_default_str();
  cmd.add_option("--interval", a.interval,
                 "interval of --function intraday (1min, 5min, ...); refused with any other "
                 "function");
  AddSwitchOptions(cmd, intraday_adjusted ? &a.adjusted : nullptr, a.extended_hours,
                   "which intraday series (default true); refused when no series is intraday");
  if (range) {
    cmd.add_option("--from", a.from,
                   "first bar: YYYY-MM-DD, or for intraday YYYY-MM-DDTHH:MM[:SS] (or with a "
                   "space) in the series' exchange zone; inclusive")
        ->type_name("WHEN");
    cmd.add_option("--to", a.to,
                   "last bar: YYYY-MM-DD (the whole day), or for intraday a time as --from; "
                   "inclusive, not before --from")
        ->type_name("WHEN");
  }
}

std::string DbHelp() {
  return std::string("database (default $MDFETCH_DB, else data/market.db)") + kDbHelpTail;
}

}  // namespace

std::string ResolveDb(const std::string& flag, CliEnv& env, const char* fallback) {
  if (!flag.empty()) return flag;
  if (env.getenv) {
    if (auto value = env.getenv("MDFETCH_DB"); value && !value->empty()) return *value;
  }
  return fallback;
}

Result<std::unique_ptr<Store>> OpenReadDb(const std::string& flag, CliEnv& env, std::string& db) {
  const std::string location = ResolveDb(flag, env, kDefaultDb);
  db = RedactDb(location);
  auto store = OpenStoreForReading(location, env);
  if (store) {
    db = (*store)->Location();
    return store;
  }
  // After the demo (`refresh --sim` without a real key) only data/demo.db exists. A database
  // the user named (--db, $MDFETCH_DB) is the one meant: no hint. (The default is a file.)
  const bool defaulted = ResolveDb(flag, env, "").empty();
  std::error_code ec;
  if (defaulted && !std::filesystem::exists(location, ec) && std::filesystem::exists(kDemoDb, ec)) {
    return Fail(fmt::format("{} (the demo stored into {}: add --db {})", store.error().message,
                            kDemoDb, kDemoDb));
  }
  return store;
}

bool SeriesOptions::Matches(const SeriesKey& key) const {
  return key.function == defaults.function &&
         (!interval_given || key.interval == defaults.interval) &&
         (!adjusted_given || key.adjusted == defaults.adjusted) &&
         (!extended_hours_given || key.extended_hours == defaults.extended_hours);
}

Status SeriesOptions::CheckSwitchesApply(const std::vector<SeriesKey>& keys) const {
  VectorSource source(keys);
  return CheckSwitchesApply(source);
}

Status SeriesOptions::CheckSwitchesApply(SeriesSource& keys) const {
  std::vector<std::string_view> given, functions;
  if (adjusted_given) given.push_back("--adjusted");
  if (extended_hours_given) given.push_back("--extended-hours");
  if (given.empty() || keys.size() == 0) return {};
  keys.Rewind();
  for (SeriesKey key; keys.Next(key);) {
    if (key.function == Function::kIntraday) return {};
    if (std::find(functions.begin(), functions.end(), ShortName(key.function)) == functions.end()) {
      functions.push_back(ShortName(key.function));
    }
  }
  return Fail(fmt::format("{} appl{} to intraday series only, not to {}", fmt::join(given, " and "),
                          given.size() == 1 ? "ies" : "y", fmt::join(functions, ", ")));
}

Result<SeriesOptions> ResolveOptions(const std::string& function, const std::string& interval,
                                     const std::string& adjusted,
                                     const std::string& extended_hours) {
  auto name = ParseFunctionName(function);
  if (!name) return Fail("--function: " + name.error().message);
  SeriesOptions options{.defaults = {.function = name->function}};
  if (!name->interval.empty()) {
    options.defaults.interval = name->interval;
    options.interval_given = true;
  }
  if (!interval.empty()) {
    auto canonical = ParseInterval(interval);
    if (!canonical) return Fail("--interval: " + canonical.error().message);
    if (name->function != Function::kIntraday) {
      return Fail(fmt::format("--interval applies to --function intraday only, not to {}",
                              ShortName(name->function)));
    }
    if (options.interval_given && *canonical != name->interval) {
      return Fail(
          fmt::format("--interval {} contradicts --function {}", *canonical, Printable(function)));
    }
    options.defaults.interval = *canonical;
    options.interval_given = true;
  }
  for (auto [text, option, value, given] :
       {std::tuple{&adjusted, "--adjusted", &options.defaults.adjusted, &options.adjusted_given},
        std::tuple{&extended_hours, "--extended-hours", &options.defaults.extended_hours,
                   &options.extended_hours_given}}) {
    if (text->empty()) continue;
    std::optional<bool> parsed = ParseSwitch(*text);
    if (!parsed) {
      return Fail(
          fmt::format("{}: bad value '{}' (expected true or false)", option, Printable(*text)));
    }
    *value = *parsed;
    *given = true;
  }
  return options;
}

Result<SeriesDefaults> ResolveDefaults(const std::string& function, const std::string& interval,
                                       const std::string& adjusted,
                                       const std::string& extended_hours) {
  auto options = ResolveOptions(function, interval, adjusted, extended_hours);
  if (!options) return std::unexpected(options.error());
  return options->defaults;
}

namespace {

// One command: its name and help, the options it declares on its CLI11 subcommand, and what
// runs it once parsed. --help, `help COMMAND`, the man page's synopsis and the suggestion for
// a mistyped name all come from this one table.
struct Command {
  std::string_view name;
  std::string_view help;
  // Declares the options on `cmd`; the returned function runs the command with them.
  std::function<std::function<Outcome(CliEnv&)>(CLI::App& cmd)> setup;
};

template <typename Args>
std::shared_ptr<Args> Make() {
  return std::make_shared<Args>();
}

std::function<Outcome(CliEnv&)> AddSimCommand(CLI::App& cmd) {
  auto a = Make<SimArgs>();
  cmd.add_option("--port", a->port, "TCP port on 127.0.0.1 (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd.add_option("--window-limit", a->window_limit,
                 "calls allowed per --window-seconds (0: no limit)");
  cmd.add_option("--window-seconds", a->window_seconds, "length of the throttle window")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  cmd.add_option("--daily-limit", a->daily_limit, "calls allowed per UTC day (0: no limit)");
  cmd.add_flag("--free-key", a->free_key,
               "answer like a free key: TIME_SERIES_DAILY_ADJUSTED and TIME_SERIES_INTRADAY are "
               "premium endpoints, TIME_SERIES_DAILY outputsize=full a premium feature");
  cmd.add_option("--fault-rate", a->fault_rate,
                 "probability of each injected fault (500, 503, reset, truncation, malformed "
                 "JSON)")
      ->check(CLI::Range(0.0, 0.2));
  cmd.add_option("--seed", a->seed, "seed of the fault generator");
  cmd.add_option("--log", a->log,
                 "append one JSON line per request to FILE (time, query with the apikey as ***, "
                 "outcome, HTTP status, bytes)")
      ->type_name("FILE");
  return [a](CliEnv& env) { return RunSim(*a, env); };
}

std::vector<Command> Commands() {
  std::vector<Command> commands;
  commands.push_back(
      {"refresh", "fetch every due series of the symbol list", [](CLI::App& cmd) {
         auto a = Make<RefreshArgs>();
         cmd.add_option("--symbols", a->symbols_file, kSymbolsHelp)->capture_default_str();
         AddFetchOptions(cmd, *a);
         AddRunOptions(cmd, *a);
         AddPlanFormat(cmd, *a, "output format of --dry-run's plan");
         return [a, &cmd](CliEnv& env) {
           a->base_url_given = cmd.count("--base-url") > 0;
           a->format_given = cmd.count("--format") > 0;
           return RefreshOrPlan(*a, env);
         };
       }});
  commands.push_back(
      {"plan", "say what a refresh would do now: no call", [](CLI::App& cmd) {
         auto a = Make<RefreshArgs>();
         cmd.add_option("--symbols", a->symbols_file, kSymbolsHelp)->capture_default_str();
         AddFetchOptions(cmd, *a);
         AddPlanFormat(cmd, *a, "output format");
         return [a](CliEnv& env) { return RunPlan(*a, env); };
       }});
  commands.push_back({"fetch", "fetch the named symbols only", [](CLI::App& cmd) {
                        auto a = Make<RefreshArgs>();
                        a->fetch = true;
                        cmd.add_option("symbols", a->symbols,
                                       "symbols, each like a symbol-list line (IBM, \"AAPL "
                                       "intraday:5min\", ...)")
                            ->required();
                        AddFetchOptions(cmd, *a);
                        AddRunOptions(cmd, *a);
                        cmd.add_option("--month", a->months,
                                       "backfill intraday months: YYYY-MM or a range "
                                       "YYYY-MM..YYYY-MM (repeatable); one call per series and "
                                       "month, months already stored whole are skipped")
                            ->expected(1)
                            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
                        AddPlanFormat(cmd, *a, "output format of --dry-run's plan");
                        return [a, &cmd](CliEnv& env) {
                          a->base_url_given = cmd.count("--base-url") > 0;
                          a->format_given = cmd.count("--format") > 0;
                          return RefreshOrPlan(*a, env);
                        };
                      }});
  commands.push_back({"query", "print the stored bars of one symbol", [](CLI::App& cmd) {
                        auto a = Make<ReadArgs>();
                        cmd.add_option("symbol", a->symbols, kSeriesHelp)->required()->expected(1);
                        AddReadOptions(cmd, *a, true);
                        cmd.add_option("--last", a->last, "only the newest N bars")
                            ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
                        cmd.add_option("--format", a->format, "output format")
                            ->check(CLI::IsMember({"table", "csv", "json"}))
                            ->capture_default_str();
                        return [a](CliEnv& env) { return RunQuery(*a, env); };
                      }});
  commands.push_back({"export", "write stored bars as RFC 4180 CSV", [](CLI::App& cmd) {
                        auto a = Make<ReadArgs>();
                        cmd.add_option("symbols", a->symbols, kSeriesHelp);
                        cmd.add_flag("--all", a->all,
                                     "export every stored series of --function (one kind per CSV)");
                        AddReadOptions(cmd, *a, true);
                        cmd.add_option("--output", a->output,
                                       "file to write (replaced whole, through a symbolic "
                                       "link), a named pipe or device (written in place), or - "
                                       "for stdout")
                            ->capture_default_str();
                        cmd.add_flag(
                            "--final-only", a->final_only,
                            "leave out provisional bars (taken while their session was open)");
                        return [a](CliEnv& env) { return RunExport(*a, env); };
                      }});
  commands.push_back(
      {"chart", "draw stored series as one SVG: candles, volume, gaps, splits; no call",
       [](CLI::App& cmd) {
         auto a = Make<ChartArgs>();
         cmd.add_option("series", a->read.symbols,
                        std::string(kSeriesHelp) +
                            "; one: its bars; several: closes normalised to 100 at their first "
                            "common date")
             ->required();
         AddReadOptions(cmd, a->read, true, false);
         cmd.add_option("--output", a->read.output,
                        "SVG file to write (replaced whole, through a symbolic link), a named "
                        "pipe or device (written in place), or - for stdout")
             ->capture_default_str();
         cmd.add_flag("--adjusted", a->adjusted_prices,
                      "draw adjusted prices (daily_adjusted, weekly_adjusted, monthly_adjusted); "
                      "dividends and splits are marked either way");
         cmd.add_flag("--log", a->log, "logarithmic price scale");
         cmd.add_option("--size", a->size, "width and height in pixels, WIDTHxHEIGHT")
             ->type_name("WxH")
             ->capture_default_str();
         cmd.add_option("--title", a->title, "title (default: the series)");
         return [a](CliEnv& env) { return RunChart(*a, env); };
       }});
  commands.push_back(
      {"check", "report gaps, bad bars and suspect values: no call", [](CLI::App& cmd) {
         auto a = Make<ReadArgs>();
         cmd.add_option("symbols", a->symbols,
                        "series to check, each like a symbol-list line (default: "
                        "every stored series)");
         AddReadOptions(cmd, *a, false);
         cmd.add_option("--format", a->format, "output format")
             ->check(CLI::IsMember({"table", "json"}))
             ->capture_default_str();
         return [a, &cmd](CliEnv& env) {
           // With no series named, the series options narrow the stored ones checked.
           for (const char* option :
                {"--function", "--interval", "--adjusted", "--extended-hours"}) {
             a->series_options_given = a->series_options_given || cmd.count(option) > 0;
           }
           return RunCheck(*a, env);
         };
       }});
  commands.push_back({"list", "list every stored series", [](CLI::App& cmd) {
                        auto a = Make<ReadArgs>();
                        cmd.add_option("--db", a->db, DbHelp());
                        cmd.add_option("--format", a->format,
                                       "table (100 columns), or every field as json or csv")
                            ->check(CLI::IsMember({"table", "json", "csv"}))
                            ->capture_default_str();
                        return [a](CliEnv& env) { return RunList(*a, env); };
                      }});
  commands.push_back({"quota", "show the daily quota: calls spent and next", [](CLI::App& cmd) {
                        auto a = Make<ReadArgs>();
                        auto rate = std::make_shared<std::string>();
                        cmd.add_option("--db", a->db, DbHelp());
                        cmd.add_option(
                            "--rate", *rate,
                            "the --rate the refreshes use (default: the one the last refresh "
                            "recorded, else 5/min,25/day)");
                        return [a, rate](CliEnv& env) { return RunQuota(*a, *rate, env); };
                      }});
  commands.push_back(
      {"info", "describe the store: size, schema, series and bars, quota", [](CLI::App& cmd) {
         auto a = Make<ReadArgs>();
         cmd.add_option("--db", a->db, DbHelp());
         cmd.add_option("--format", a->format, "output format")
             ->check(CLI::IsMember({"table", "json"}))
             ->capture_default_str();
         return [a](CliEnv& env) { return RunInfo(*a, env); };
       }});
  commands.push_back(
      {"remove", "delete stored series with their bars and logged calls", [](CLI::App& cmd) {
         auto a = Make<ReadArgs>();
         auto yes = std::make_shared<bool>(false);
         cmd.add_option("symbols", a->symbols, "series to remove, each like a symbol-list line")
             ->required();
         AddReadOptions(cmd, *a, false);
         cmd.add_flag("--yes,-y", *yes, "do not ask (asked only when stdin is a terminal)");
         return [a, yes](CliEnv& env) { return RunRemove(*a, *yes, env); };
       }});
  commands.push_back({"vacuum",
                      "give back free space (SQLite: rebuild the file; PostgreSQL: VACUUM)",
                      [](CLI::App& cmd) {
                        auto a = Make<ReadArgs>();
                        cmd.add_option("--db", a->db, DbHelp());
                        return [a](CliEnv& env) { return RunVacuum(*a, env); };
                      }});
  commands.push_back(
      {"copy", "copy a whole store (series, bars, calls, facts) to another database",
       [](CLI::App& cmd) {
         auto a = Make<CopyArgs>();
         cmd.add_option("--from", a->from, "the store to copy: SQLite path or postgresql:// URI")
             ->required();
         cmd.add_option("--to", a->to,
                        "the store to copy into (created if missing; a rerun finishes an "
                        "interrupted copy and copies nothing twice)")
             ->required();
         return [a](CliEnv& env) { return RunCopy(*a, env); };
       }});
  commands.push_back(
      {"serve", "a read-only web view of the store on loopback, until Ctrl-C", [](CLI::App& cmd) {
         auto a = Make<ServeArgs>();
         cmd.add_option("--db", a->db, DbHelp());
         cmd.add_option("--listen", a->listen,
                        "HOST:PORT to listen on; another host than 127.0.0.1 or [::1] lets other "
                        "machines read the store (0 as the port: any free one)")
             ->capture_default_str();
         return [a](CliEnv& env) { return RunServe(*a, env); };
       }});
  commands.push_back({"sim", "run the Alpha Vantage simulator in the foreground", AddSimCommand});
  return commands;
}

// The command whose name is closest to `typed` (edit distance at most 2), if any.
std::optional<std::string_view> Closest(std::string_view typed,
                                        const std::vector<std::string_view>& names) {
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (std::string_view name : names) {
    std::vector<size_t> row(name.size() + 1);
    for (size_t j = 0; j <= name.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= typed.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= name.size(); ++j) {
        const size_t above = row[j];
        row[j] = std::min(
            {row[j] + 1, row[j - 1] + 1, diagonal + (typed[i - 1] == name[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row[name.size()] < best_distance) {
      best_distance = row[name.size()];
      best = name;
    }
  }
  return best;
}

}  // namespace

int RunCli(int argc, const char* const* argv, CliEnv& env) {
  CLI::App app{"mdfetch: a local, queryable store of Alpha Vantage time series", "mdfetch"};
  app.footer(kExitCodes);
  app.require_subcommand(1, 1);
  app.set_help_all_flag("--help-all", "help for every command");
  app.set_version_flag("--version", std::string("mdfetch ") + MDFETCH_VERSION);

  std::vector<std::string_view> names;
  std::vector<std::pair<CLI::App*, std::function<Outcome(CliEnv&)>>> runners;
  const std::vector<Command> commands = Commands();
  for (const Command& command : commands) names.push_back(command.name);
  // A line that starts with a command's name parses that command alone, so only its options
  // are declared: declaring every command's was a fifth of the instructions of `query`'s
  // whole process (docs/performance.md). Anything else (--help, help, a mistyped name)
  // declares them all.
  const bool one = argc >= 2 && std::ranges::find(names, std::string_view(argv[1])) != names.end();
  for (const Command& command : commands) {
    if (one && command.name != argv[1]) continue;
    CLI::App* cmd = app.add_subcommand(std::string(command.name), std::string(command.help));
    runners.emplace_back(cmd, command.setup(*cmd));
  }
  // The stores the command names (--db; copy's --from and --to), once parsed: a password in
  // their URIs never reaches stderr, whatever quoted it (the stores redact their own
  // messages; this is the last guard).
  std::vector<std::string> dbs_named;
  auto print_error = [&](const Outcome& outcome) {
    if (!outcome.error.empty()) {
      std::string text = outcome.error;
      for (const std::string& db : dbs_named) text = HideDbPassword(text, db);
      fmt::print(env.err, "mdfetch: {}\n", text);
    }
    return outcome.code;
  };

  // `mdfetch help [COMMAND]`, and a mistyped command named as such.
  if (argc >= 2 && argv[1][0] != '-') {
    const std::string_view first = argv[1];
    const bool known = std::find(names.begin(), names.end(), first) != names.end();
    if (first == "help") {
      // Hidden: `help --man`, `help --completion bash` (the build installs what they print).
      if (auto doc = RunHelpDoc(app, argc, argv, env.out, env.err)) return *doc;
      CLI::App* about = &app;
      if (argc >= 3) {
        auto it = std::find(names.begin(), names.end(), std::string_view(argv[2]));
        if (it == names.end()) {
          return print_error(Exit(kExitUsage, "help: unknown command '{}'", Printable(argv[2])));
        }
        about = runners[static_cast<size_t>(it - names.begin())].first;
      }
      std::fputs(about == &app ? app.help().c_str() : about->help("mdfetch").c_str(), env.out);
      return kExitOk;
    }
    if (!known) {
      auto closest = Closest(first, names);
      return print_error(closest ? Exit(kExitUsage, "unknown command '{}'; did you mean '{}'?",
                                        Printable(first), *closest)
                                 : Exit(kExitUsage, "unknown command '{}' (commands: {}, help)",
                                        Printable(first), fmt::join(names, ", ")));
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    std::fputs(out.str().c_str(), env.out);
    // CLI11's own wording, with the program's prefix like every other message.
    if (const std::string text = err.str(); !text.empty()) fmt::print(env.err, "mdfetch: {}", text);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& [cmd, run] : runners) {
    if (!cmd->parsed()) continue;
    for (const char* name : {"--from", "--to"}) {
      const CLI::Option* store = cmd->get_option_no_throw(name);
      if (store != nullptr && store->count() > 0) dbs_named.push_back(store->as<std::string>());
    }
    // Every command's --db (or $MDFETCH_DB) must be in a folder that exists.
    if (const CLI::Option* db = cmd->get_option_no_throw("--db"); db != nullptr) {
      const std::string given = db->count() > 0 ? db->as<std::string>() : std::string();
      dbs_named.push_back(ResolveDb(given, env, kDefaultDb));
      if (Status ok = CheckDbFolder(dbs_named.back()); !ok) {
        return print_error(Exit(kExitUsage, "{}", ok.error().message));
      }
    }
    return print_error(run(env));
  }
  return kExitUsage;
}

}  // namespace mdfetch
