// The command line: `mdfetch refresh|fetch|query|export|list|quota|sim`, parsed with CLI11.
//
// RunCli() is the whole program but for the real clock, streams and environment, which it is
// handed, so tests run it in-process. It returns the exit status:
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "mdfetch/clock.h"

namespace mdfetch {

inline constexpr int kExitOk = 0;             // every due series stored or already up to date
inline constexpr int kExitFailed = 1;         // some series failed or some symbols were invalid
inline constexpr int kExitUsage = 2;          // usage or configuration error; nothing fetched
inline constexpr int kExitQuota = 3;          // stopped by the daily quota; the rest deferred
inline constexpr int kExitUnreachable = 4;    // the service could not be reached; rest deferred
inline constexpr int kExitInterrupted = 130;  // SIGINT (143 for SIGTERM)

struct CliEnv {
  Clock* clock = nullptr;
  std::FILE* in = stdin;  // `--symbols -`, answers to a confirmation
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool in_is_terminal = false;   // a person may answer a question
  bool err_is_terminal = false;  // draw the progress line
  bool out_is_terminal = false;  // `list` shows a page of a long table
  int err_columns = 80;          // the terminal's width, for the progress line
  // Reads an environment variable (ALPHAVANTAGE_API_KEY, MDFETCH_DB).
  std::function<std::optional<std::string>(const char*)> getenv;
  // Catch SIGINT/SIGTERM during a refresh (off in tests, which call no signal handlers).
  bool handle_signals = false;
};

int RunCli(int argc, const char* const* argv, CliEnv& env);

}  // namespace mdfetch
