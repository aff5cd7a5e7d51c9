// Argument parsing: every command in one table, every option accepted after the command name.
#include "mdfetch/cli.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "cli_commands.h"

namespace mdfetch {
namespace {

constexpr const char* kExitCodes =
    "Exit status: 0 every due series stored or up to date; 1 some series failed or some "
    "symbols were invalid; 2 usage or configuration error, nothing fetched; 3 stopped by the "
    "daily quota, the rest deferred (3 wins over 1); 4 the service could not be reached, the "
    "rest deferred with the quota intact; 130/143 interrupted by SIGINT/SIGTERM.";

// The intraday switches, named like the service's parameters.
void AddSwitchOptions(CLI::App& cmd, std::string& adjusted, std::string& extended_hours,
                      const std::string& which) {
  cmd.add_option("--adjusted", adjusted,
                 "intraday prices adjusted for splits and dividends, true or false; " + which)
      ->check(CLI::IsMember({"true", "false"}));
  cmd.add_option(
         "--extended-hours", extended_hours,
         "intraday bars from 04:00 to 20:00 New York (true) or 09:30-16:00 only (false); " + which)
      ->check(CLI::IsMember({"true", "false"}));
}

void AddFetchOptions(CLI::App& cmd, RefreshArgs& a) {
  cmd.add_option("--db", a.db,
                 "SQLite database (default $MDFETCH_DB, else data/market.db; "
                 "data/demo.db with --sim)");
  cmd.add_option("--api-key", a.api_key, "Alpha Vantage key (default $ALPHAVANTAGE_API_KEY)");
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
                 "function for symbols that name none (daily, daily_adjusted, weekly, ...)")
      ->capture_default_str();
  cmd.add_option("--interval", a.interval, "interval for --function intraday (default 5min)");
  AddSwitchOptions(cmd, a.adjusted, a.extended_hours,
                   "for intraday series that set none (default true)");
  cmd.add_flag("--full", a.full, "ask outputsize=full (the whole history) for every series");
  cmd.add_flag("--force", a.force, "fetch even series that are up to date");
  cmd.add_flag("--sim", a.sim,
               "fetch simulated bars (into data/demo.db) from the built-in simulator on a "
               "loopback port, or from a running `mdfetch sim` named by --base-url");
}

void AddReadOptions(CLI::App& cmd, ReadArgs& a, bool range) {
  cmd.add_option("--db", a.db, "SQLite database (default $MDFETCH_DB, else data/market.db)");
  cmd.add_option("--function", a.function, "which of a symbol's series")->capture_default_str();
  cmd.add_option("--interval", a.interval, "intraday interval (1min, 5min, ...)");
  AddSwitchOptions(cmd, a.adjusted, a.extended_hours, "which intraday series (default true)");
  if (range) {
    cmd.add_option("--from", a.from, "first date, YYYY-MM-DD (inclusive)");
    cmd.add_option("--to", a.to, "last date, YYYY-MM-DD (inclusive)");
  }
}

}  // namespace

std::string ResolveDb(const std::string& flag, CliEnv& env, const char* fallback) {
  if (!flag.empty()) return flag;
  if (env.getenv) {
    if (auto value = env.getenv("MDFETCH_DB"); value && !value->empty()) return *value;
  }
  return fallback;
}

Result<SeriesDefaults> ResolveDefaults(const std::string& function, const std::string& interval,
                                       const std::string& adjusted,
                                       const std::string& extended_hours) {
  auto f = ParseFunction(function);
  if (!f) {
    return Fail(
        fmt::format("unknown --function '{}' (expected daily, daily_adjusted, weekly, "
                    "weekly_adjusted, monthly, monthly_adjusted, intraday, fx_daily, "
                    "crypto_daily)",
                    Printable(function)));
  }
  SeriesDefaults defaults{.function = *f};
  if (!interval.empty()) {
    if (!IsValidInterval(interval)) {
      return Fail(
          fmt::format("unknown --interval '{}' (expected 1min, 5min, 15min, 30min or "
                      "60min)",
                      Printable(interval)));
    }
    defaults.interval = interval;
  }
  defaults.adjusted = adjusted != "false";
  defaults.extended_hours = extended_hours != "false";
  return defaults;
}

int RunCli(int argc, const char* const* argv, CliEnv& env) {
  CLI::App app{"mdfetch: a local, queryable store of Alpha Vantage time series", "mdfetch"};
  app.footer(kExitCodes);
  app.require_subcommand(1, 1);
  app.set_help_all_flag("--help-all", "help for every command");

  RefreshArgs refresh, fetch;
  fetch.fetch = true;
  ReadArgs query, exporting, listing, quota;
  SimArgs sim;
  std::string quota_rate = kDefaultRate;

  auto* cmd_refresh = app.add_subcommand("refresh", "fetch every due series of the symbol list");
  cmd_refresh->add_option("--symbols", refresh.symbols_file, "symbol list")->capture_default_str();
  AddFetchOptions(*cmd_refresh, refresh);

  auto* cmd_fetch = app.add_subcommand("fetch", "fetch the named symbols only");
  cmd_fetch
      ->add_option("symbols", fetch.symbols,
                   "symbols, each like a symbol-list line (IBM, \"AAPL intraday:5min\", ...)")
      ->required();
  AddFetchOptions(*cmd_fetch, fetch);
  cmd_fetch
      ->add_option("--month", fetch.months,
                   "backfill intraday months: YYYY-MM or a range YYYY-MM..YYYY-MM (repeatable); "
                   "one call per series and month, months already stored whole are skipped")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  auto* cmd_query = app.add_subcommand("query", "print the stored bars of one symbol");
  cmd_query->add_option("symbol", query.symbols, "the symbol")->required()->expected(1);
  AddReadOptions(*cmd_query, query, true);
  cmd_query->add_option("--last", query.last, "only the newest N bars")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd_query->add_option("--format", query.format, "output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();

  auto* cmd_export = app.add_subcommand("export", "write stored bars as RFC 4180 CSV");
  cmd_export->add_option("symbols", exporting.symbols, "symbols to export");
  cmd_export->add_flag("--all", exporting.all, "export every stored symbol");
  AddReadOptions(*cmd_export, exporting, true);
  cmd_export->add_option("--output", exporting.output, "file to write, or - for stdout")
      ->capture_default_str();
  cmd_export->add_flag("--final-only", exporting.final_only,
                       "leave out provisional bars (taken while their session was open)");

  auto* cmd_list = app.add_subcommand("list", "list every stored series");
  cmd_list->add_option("--db", listing.db, "SQLite database");

  auto* cmd_quota = app.add_subcommand("quota", "show the daily quota: calls spent and next");
  cmd_quota->add_option("--db", quota.db, "SQLite database");
  cmd_quota->add_option("--rate", quota_rate, "the --rate the refreshes use")
      ->capture_default_str();

  auto* cmd_sim = app.add_subcommand("sim", "run the Alpha Vantage simulator in the foreground");
  cmd_sim->add_option("--port", sim.port, "TCP port on 127.0.0.1 (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd_sim->add_option("--window-limit", sim.window_limit,
                      "calls allowed per --window-seconds (0: no limit)");
  cmd_sim->add_option("--window-seconds", sim.window_seconds, "length of the throttle window")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  cmd_sim->add_option("--daily-limit", sim.daily_limit, "calls allowed in all (0: no limit)");
  cmd_sim->add_flag("--free-key", sim.free_key, "refuse outputsize=full as premium");
  cmd_sim
      ->add_option("--fault-rate", sim.fault_rate,
                   "probability of each injected fault (500, 503, reset, truncation, "
                   "malformed JSON)")
      ->check(CLI::Range(0.0, 0.2));
  cmd_sim->add_option("--seed", sim.seed, "seed of the fault generator");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    std::fputs(out.str().c_str(), env.out);
    std::fputs(err.str().c_str(), env.err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  refresh.base_url_given = cmd_refresh->count("--base-url") > 0;
  fetch.base_url_given = cmd_fetch->count("--base-url") > 0;
  if (cmd_refresh->parsed()) return RunRefresh(refresh, env);
  if (cmd_fetch->parsed()) return RunRefresh(fetch, env);
  if (cmd_query->parsed()) return RunQuery(query, env);
  if (cmd_export->parsed()) return RunExport(exporting, env);
  if (cmd_list->parsed()) return RunList(listing, env);
  if (cmd_quota->parsed()) return RunQuota(quota, quota_rate, env);
  if (cmd_sim->parsed()) return RunSim(sim, env);
  return kExitUsage;
}

}  // namespace mdfetch
