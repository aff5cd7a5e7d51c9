// Private to the CLI: one function per command, and what they share.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "mdfetch/cli.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "mdfetch/symbols.h"

namespace mdfetch {

inline constexpr const char* kDefaultDb = "data/market.db";
inline constexpr const char* kDemoDb = "data/demo.db";
inline constexpr const char* kDefaultRate = "5/min,25/day";
inline constexpr const char* kDefaultSimRate = "1/s";
inline constexpr const char* kDefaultBaseUrl = "https://www.alphavantage.co";

struct RefreshArgs {
  bool fetch = false;                // `fetch SYMBOL...` instead of the symbol file
  std::vector<std::string> symbols;  // for fetch
  std::string symbols_file = "symbols.txt";
  std::string db;  // empty: MDFETCH_DB, else data/market.db (data/demo.db with --sim)
  std::string api_key;
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
  std::string adjusted;             // "true"/"false" for intraday series that set none; "" = true
  std::string extended_hours;       // likewise
  std::vector<std::string> months;  // fetch --month: YYYY-MM or YYYY-MM..YYYY-MM
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
  bool final_only = false;  // export: leave out provisional bars
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

int RunRefresh(const RefreshArgs& args, CliEnv& env);
int RunQuery(const ReadArgs& args, CliEnv& env);
int RunExport(const ReadArgs& args, CliEnv& env);
int RunList(const ReadArgs& args, CliEnv& env);
int RunQuota(const ReadArgs& args, const std::string& rate, CliEnv& env);
int RunSim(const SimArgs& args, CliEnv& env);

// "mdfetch: MESSAGE\n" on stderr.
template <typename... Args>
void PrintError(CliEnv& env, fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(env.err, "mdfetch: {}\n", fmt::format(format, std::forward<Args>(args)...));
}

// --db, else $MDFETCH_DB, else `fallback`.
std::string ResolveDb(const std::string& flag, CliEnv& env, const char* fallback);

// --function/--interval/--adjusted/--extended-hours into the defaults a symbol gets.
Result<SeriesDefaults> ResolveDefaults(const std::string& function, const std::string& interval,
                                       const std::string& adjusted = {},
                                       const std::string& extended_hours = {});

}  // namespace mdfetch
