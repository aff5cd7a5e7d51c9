// mdfetch: keep a local SQLite store of Alpha Vantage time series. See README.md.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "mdfetch/cli.h"
#include "mdfetch/clock.h"

int main(int argc, char** argv) {
  try {
    mdfetch::RealClock clock;
    mdfetch::CliEnv env;
    env.clock = &clock;
    env.in_is_terminal = isatty(STDIN_FILENO) == 1;
    env.err_is_terminal = isatty(STDERR_FILENO) == 1;
    env.out_is_terminal = isatty(STDOUT_FILENO) == 1;
    winsize size{};
    if (env.err_is_terminal && ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      env.err_columns = size.ws_col;
    }
    env.handle_signals = true;
    env.getenv = [](const char* name) -> std::optional<std::string> {
      const char* value = std::getenv(name);
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
    return mdfetch::RunCli(argc, argv, env);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdfetch: internal error: %s\n", e.what());
    return 70;  // EX_SOFTWARE: not one of the documented outcomes
  }
}
