// mdfetch: keep a local SQLite store of Alpha Vantage time series. See README.md.
#include <malloc.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "mdfetch/cli.h"
#include "mdfetch/clock.h"

int main(int argc, char** argv) {
  // An answer is up to a few MB (a full daily history ~1.3 MB), and a refresh receives, decodes
  // and stores hundreds of them on several threads. With glibc's defaults each such buffer is
  // a fresh mmap, its pages zero-filled and faulted in one by one, then unmapped again: a fifth
  // of mdfetch's CPU in the 200-history ingest (docs/performance.md, "Page faults"). Served
  // from the threads' heaps and kept there, the same pages serve the next answer, for ~10 MB
  // more peak RSS in that ingest. Anything larger than 32 MB is still a mapping of its own.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
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
