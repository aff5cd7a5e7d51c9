// Private to the CLI: one function per command, and what they share.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mdfetch/cli.h"
#include "mdfetch/engine.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "mdfetch/symbols.h"

namespace mdfetch {

class Store;

inline constexpr const char* kDefaultDb = "data/market.db";
inline constexpr const char* kDemoDb = "data/demo.db";
inline constexpr const char* kDefaultRate = "5/min,25/day";
inline constexpr const char* kDefaultSimRate = "1/s";
inline constexpr const char* kDefaultBaseUrl = "https://www.alphavantage.co";

struct RefreshArgs {
  bool fetch = false;                        // `fetch SYMBOL...` instead of the symbol file
  std::vector<std::string> symbols;          // for fetch
  std::string symbols_file = "symbols.txt";  // "-": stdin
  std::string db;  // empty: MDFETCH_DB, else data/market.db (data/demo.db with --sim)
  std::string api_key;
  std::string api_key_file;  // a file holding the key, readable by its owner only
  std::string base_url = kDefaultBaseUrl;
  bool base_url_given = false;  // with --sim: use that simulator, not an in-process one
  std::string rate;             // empty: kDefaultRate (kDefaultSimRate with --sim)
  int concurrency = 4;
  int retries = 4;
  bool full = false;
  bool force = false;
  bool sim = false;
  std::string function = "daily";
  std::string interval;
  std::string adjusted;        // true/false (any case) for intraday series that set none; "" = true
  std::string extended_hours;  // likewise
  std::vector<std::string> months;  // fetch --month: YYYY-MM or YYYY-MM..YYYY-MM
  bool dry_run = false;             // say what would be done (`mdfetch plan`), no call
  std::string report;               // --report: the run report's file, "-" for stdout
  bool quiet = false;               // only problems (failures, deferrals, the stop line)
  bool verbose = false;             // a line per call
  std::string format = "table";     // of the plan: table or json
  bool format_given = false;        // refresh/fetch --format: only with --dry-run
};

struct ReadArgs {
  std::vector<std::string> symbols;
  bool all = false;
  std::string db;
  std::string from;
  std::string to;
  int64_t last = 0;
  std::string format = "table";
  std::string output = "-";
  bool final_only = false;            // export: leave out provisional bars
  bool series_options_given = false;  // check: --function/--interval/... typed, not defaults
  std::string function = "daily";
  std::string interval;
  std::string adjusted;  // "" = not given (true, the service's default)
  std::string extended_hours;
};

struct SimArgs {
  int port = 8080;
  int64_t window_limit = 0;
  int64_t window_seconds = 60;
  int64_t daily_limit = 0;
  bool free_key = false;
  double fault_rate = 0;
  uint64_t seed = 1;
  std::string log;  // empty: no request log
};

// What a command ends with: its exit status and, when it failed, the error, which RunCli
// prints once as "mdfetch: ERROR" on stderr.
struct Outcome {
  Outcome(int exit_code = kExitOk) : code(exit_code) {}  // NOLINT: `return kExitOk;`
  int code;
  std::string error;
};

template <typename... Args>
Outcome Exit(int code, fmt::format_string<Args...> format, Args&&... args) {
  Outcome outcome(code);
  outcome.error = fmt::format(format, std::forward<Args>(args)...);
  return outcome;
}

// The series a refresh or fetch is about (the symbol list's or the arguments'), and the lines
// that name none, each with its reason.
struct Target {
  std::vector<SeriesKey> series;       // fetch: the arguments' series
  std::unique_ptr<SymbolReader> list;  // refresh: the symbol list, read as it is needed
  std::vector<std::string> problems;
  // The list, or `series` (read in place: made once the Target stays where it is).
  SeriesSource& source();
  std::unique_ptr<SeriesSource> source_of_series;
  // Every series at once (`plan`, which prints each).
  std::vector<SeriesKey> All();
};
// The key, from (first found) --api-key, --api-key-file, $ALPHAVANTAGE_API_KEY_FILE or
// $ALPHAVANTAGE_API_KEY; "" when none is given. A key file must not be readable by other
// users; --api-key says once that other users can see it.
Result<std::string> ResolveApiKey(const RefreshArgs& args, CliEnv& env);
// Reads the symbol list from `env.in` when it is "-".
Result<Target> CollectSeries(const RefreshArgs& args, CliEnv& env);
// --month values as a list of "YYYY-MM", in the order given, each once.
Result<std::vector<std::string>> ExpandMonths(const std::vector<std::string>& specs, WallTime now);

Outcome RunRefresh(const RefreshArgs& args, CliEnv& env);

// What a refresh or fetch tells (cli_report.cc).
inline constexpr int kReportVersion = 1;  // raised when a field changes meaning or goes away
enum class Verbosity { kQuiet, kNormal, kVerbose };

// What a run settled, read back in the order given for the summary and the report. A series
// settled without a call and with nothing to say (up to date) costs a byte; one with a call, a
// reason or bars ~48 bytes (its key is read again from the series' source, its reason kept once
// for all the series that share it): 100,000 series up to date are 100 KB, not 19 MB of
// SeriesResult.
class RunResults {
 public:
  // `series` (which outlives this) is read again, from the start, by ForEach().
  RunResults(SeriesSource& series, std::vector<std::string> months);
  void Add(size_t position, SeriesResult&& result);  // position as Engine::Run gives it
  // Each result, in the order given (series by series, each with its months).
  void ForEach(const std::function<void(const SeriesResult&)>& each) const;
  int64_t series() const { return static_cast<int64_t>(series_.size()); }

 private:
  struct Detail {
    StoreCounts counts;
    int32_t calls = 0;
    uint32_t reason = 0;  // into reasons_; 0: none
    OutputSize outputsize = OutputSize::kNone;
  };
  SeriesSource& series_;
  std::vector<std::string> months_;
  std::vector<uint8_t> brief_;  // per item: status, history limited, has a Detail
  mutable std::vector<std::pair<size_t, Detail>> details_;  // sorted by ForEach
  std::vector<std::string> reasons_{""};
  std::unordered_map<std::string, uint32_t> reason_ids_;
};

// One run, for the summary and the report. The pointers outlive the RunReport.
struct RunReport {
  const RefreshArgs* args = nullptr;
  const RefreshSummary* summary = nullptr;
  const RunResults* results = nullptr;
  std::string db;
  std::string rate;                   // the --rate in force
  std::vector<std::string> months;    // --month, expanded
  std::vector<std::string> problems;  // symbol lines (or arguments) that name no series
  WallTime started{};
  WallTime ended{};
  int exit_status = kExitOk;
};

// "1 call", "2 calls".
std::string Plural(int64_t n, std::string_view what);
// The summary of a run; with kQuiet only what went wrong, nothing at all when nothing did.
void PrintSummary(std::FILE* out, const RunReport& report, Verbosity verbosity);
// One line of --verbose: when, which series, outputsize, outcome, bytes, time taken.
void PrintCall(std::FILE* err, const CallEvent& call);
// The report as a JSON document (README, "The run report"), written a piece at a time (one
// series a piece: a report of 100,000 series is never held whole).
void WriteReportJson(const RunReport& report, const std::function<void(std::string_view)>& write);
std::string ReportJson(const RunReport& report);
// A usage error when the report's folder is missing or not writable ("-" always does).
Status CheckReportPath(const std::string& path);
// Writes the report to `path` (beside it, then renamed) or, for "-", to `out`.
Status WriteReport(const std::string& path, const RunReport& report, std::FILE* out);

// The progress line on a terminal's stderr, cut to its width, cleared when done.
class ProgressLine {
 public:
  explicit ProgressLine(CliEnv& env) : env_(env) {}
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void operator()(const Progress& p);

 private:
  CliEnv& env_;
  bool drawn_ = false;
};
Outcome RunPlan(const RefreshArgs& args, CliEnv& env);
Outcome RunQuery(const ReadArgs& args, CliEnv& env);
Outcome RunExport(const ReadArgs& args, CliEnv& env);
Outcome RunList(const ReadArgs& args, CliEnv& env);
Outcome RunCheck(const ReadArgs& args, CliEnv& env);
Outcome RunQuota(const ReadArgs& args, const std::string& rate, CliEnv& env);
Outcome RunSim(const SimArgs& args, CliEnv& env);
Outcome RunRemove(const ReadArgs& args, bool yes, CliEnv& env);
Outcome RunInfo(const ReadArgs& args, CliEnv& env);
Outcome RunVacuum(const ReadArgs& args, CliEnv& env);

// `mdfetch chart` (cli_chart.cc): stored series drawn as one SVG document (chart.h).
struct ChartArgs {
  ReadArgs read;  // the series, --db, --from, --to, --output ("-": stdout), --function, ...
  bool adjusted_prices = false;  // --adjusted: adjusted prices (not the intraday switch)
  bool log = false;              // --log
  std::string size = "960x540";  // --size WIDTHxHEIGHT
  std::string title;             // --title; empty: built from the series
};
// --size: "WIDTHxHEIGHT", width 200-10000 and height 150-10000 pixels; the usage error names
// the value: "bad --size '12x': expected WIDTHxHEIGHT in pixels, e.g. 960x540 (width
// 200-10000, height 150-10000)".
Result<std::pair<int, int>> ParseChartSize(std::string_view text);
// Errors: usage (exit 2) for bad options and --adjusted on a series without adjusted closes;
// exit 1 for series not stored (FindSeries' message), a range with no bar ("no bars of IBM
// daily in DB from 2030-01-02 (its bars run 2000-01-03..2026-11-27)"), a non-positive price
// with --log, series with no timestamp in common, and a failed write.
Outcome RunChart(const ChartArgs& args, CliEnv& env);

// `mdfetch copy` (cli_copy.cc): a whole store from one database to another, any backends.
struct CopyArgs {
  std::string from;  // SQLite path or PostgreSQL URI, opened read-only
  std::string to;    // created when missing; written under its writer lock
};
Outcome RunCopy(const CopyArgs& args, CliEnv& env);

// `mdfetch serve` (cli_serve.cc): the read-only web view until SIGINT/SIGTERM.
struct ServeArgs {
  std::string db;
  std::string listen = "127.0.0.1:8765";
};
struct Listen {
  std::string host;
  int port = 0;
};
// "HOST:PORT", "[::1]:PORT"; errors: "bad --listen 'x': no port (expected HOST:PORT, ...)".
Result<Listen> ParseListen(std::string_view text);
// Without env.handle_signals (tests) it returns as soon as the server has started, and stops it.
Outcome RunServe(const ServeArgs& args, CliEnv& env);

// cli_store.cc: the store's housekeeping and what every command shares about --db.
class Store;
// A --db in a folder that does not exist is an error naming both (only the default folder,
// data/, is created, by a refresh); ":memory:" and a bare file name always pass.
Status CheckDbFolder(const std::string& db);
// `text` with every password of the PostgreSQL URI `db` shown as "***" (as written and
// percent-decoded), and `db` itself as RedactDb shows it; unchanged for a SQLite path. What
// reaches the user passes through it, in case a library quoted the URI or its password.
std::string HideDbPassword(std::string_view text, const std::string& db);
// Opens `db` read-only; on read-only media says so once on env.err (see Store::Open).
Result<std::unique_ptr<Store>> OpenStoreForReading(const std::string& db, CliEnv& env);
// The --rate `quota` and `info` count against: `given` when not empty, else the one the last
// refresh recorded (with when), else kDefaultRate.
struct QuotaRateText {
  std::string text;
  std::optional<WallTime> recorded_at;
};
Result<QuotaRateText> QuotaRate(Store& store, const std::string& given);

// --db, else $MDFETCH_DB, else `fallback`.
std::string ResolveDb(const std::string& flag, CliEnv& env, const char* fallback);

// Opens the database a read command names (--db, else $MDFETCH_DB, else data/market.db)
// read-only and sets `db` to its name for messages: the path, or the URI with its password
// redacted (Store::Location). When the default database is missing but the demo's
// (data/demo.db) exists, the error says so: "no database at 'data/market.db' (the demo
// stored into data/demo.db: add --db data/demo.db)".
Result<std::unique_ptr<Store>> OpenReadDb(const std::string& flag, CliEnv& env, std::string& db);

// --function, --interval, --adjusted and --extended-hours, resolved and checked together with
// the symbol list's own parser (symbols.h): any case, `--function intraday:5min` as a line
// writes it. An option that applies to no series is a usage error, never ignored.
struct SeriesOptions {
  SeriesDefaults defaults;            // what a symbol that names no function or switch gets
  bool interval_given = false;        // --interval, or --function intraday:INTERVAL
  bool adjusted_given = false;        // --adjusted
  bool extended_hours_given = false;  // --extended-hours
  // Whether `key` is of the function asked and has what was given (`export --all`).
  bool Matches(const SeriesKey& key) const;
  // Fails naming --adjusted and --extended-hours when they were given and none of `keys` is
  // intraday ("--adjusted applies to intraday series only, not to daily"); OK for no keys.
  Status CheckSwitchesApply(const std::vector<SeriesKey>& keys) const;
  Status CheckSwitchesApply(SeriesSource& keys) const;
};
// Errors name the option: "--function: unknown function 'dayly' (expected ...)",
// "--interval applies to --function intraday only, not to daily", "--interval 15min
// contradicts --function intraday:5min", "--adjusted: bad value 'yes' (expected true or
// false)". Empty strings are options not given.
Result<SeriesOptions> ResolveOptions(const std::string& function, const std::string& interval,
                                     const std::string& adjusted = {},
                                     const std::string& extended_hours = {});
// ResolveOptions' defaults alone.
Result<SeriesDefaults> ResolveDefaults(const std::string& function, const std::string& interval,
                                       const std::string& adjusted = {},
                                       const std::string& extended_hours = {});

// ---- finding what the user named (cli_find.cc) ----

// Which stored series a read command needs: one with bars (query, export), or any stored row
// (check, which also judges a series whose fetches keep failing).
enum class Needs { kBars, kRow };

// One series argument, written like a symbol-list line and completed by `defaults`. A pair
// that names no function (`BTC/EUR`) where the default function takes no pair means its
// stored FX or crypto series: `any_pair_function` is set and key.function is kCryptoDaily.
struct SeriesArgument {
  SeriesKey key;
  bool any_pair_function = false;
};
// The error is the argument's reason ("'IBM$' is not a valid symbol ...").
Result<SeriesArgument> ParseSeriesArgumentFor(std::string_view text,
                                              const SeriesDefaults& defaults);

// Every series argument of a read command parsed, and its options checked (an option that
// applies to none of them, or to no series of --function with `export --all`, is an error).
// Usage errors only: nothing is looked up.
Result<std::vector<SeriesArgument>> ParseSeriesArguments(const ReadArgs& args);

// The stored series `args.symbols` name, in order (each once), for `command` ("query",
// "export", "check"). Fails naming every one not found, in one message: a symbol with other
// series stored gets those and the command that reads each ("no NVDA daily in DB; stored for
// NVDA: monthly (mdfetch query NVDA --function monthly)"); symbols with nothing stored, the
// fetch that stores them ("no bars for NOPE, ZZZ in DB (fetch them first: mdfetch fetch NOPE
// ZZZ)"). Argument and option errors are ParseSeriesArguments'.
Result<std::vector<SeriesState>> FindSeries(Store& store, const ReadArgs& args,
                                            std::string_view command, Needs needs,
                                            const std::string& db);

}  // namespace mdfetch
