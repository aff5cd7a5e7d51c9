// Runs the CLI in-process with captured stdout/stderr, for integration tests: with a given
// environment, text on stdin, and stdin or stderr posing as a terminal.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mdfetch/cli.h"

namespace mdfetch {

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadStream(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  return text;
}

// How RunCliCaptured runs the CLI. A test sets only what it needs; the defaults are a run with
// no environment, the test process's own stdin, and neither stream a terminal.
struct CliRun {
  // What the CLI reads on stdin (`--symbols -`, the answer to a confirmation), from a
  // temporary file; nullopt leaves stdin the test process's own.
  std::optional<std::string> stdin_text;
  bool in_is_terminal = false;   // CliEnv::in_is_terminal: a person may answer a question
  bool err_is_terminal = false;  // CliEnv::err_is_terminal: draw the progress line
  int err_columns = 80;          // CliEnv::err_columns, and its default
  bool out_is_terminal = false;  // CliEnv::out_is_terminal: `list` shows a page
  // The whole environment the CLI sees; every other variable is unset. Declared last: a call
  // that passes a bare map, `{{"NAME", "value"}}`, then goes to the overload below and cannot
  // be read as this struct.
  std::map<std::string, std::string> env;
};

// Runs `mdfetch ARGS...` in-process on `clock` as `run` says, and returns its exit code and
// everything it wrote to stdout and stderr. The captured streams are temporary files, closed
// before it returns.
inline CliResult RunCliCaptured(Clock& clock, std::vector<std::string> args,
                                const CliRun& run = {}) {
  args.insert(args.begin(), "mdfetch");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::FILE* in = nullptr;
  if (run.stdin_text) {
    in = std::tmpfile();
    std::fwrite(run.stdin_text->data(), 1, run.stdin_text->size(), in);
    std::rewind(in);
  }
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CliEnv env;
  env.clock = &clock;
  if (in != nullptr) env.in = in;
  env.out = out;
  env.err = err;
  env.in_is_terminal = run.in_is_terminal;
  env.err_is_terminal = run.err_is_terminal;
  env.err_columns = run.err_columns;
  env.out_is_terminal = run.out_is_terminal;
  env.getenv = [environment = run.env](const char* name) -> std::optional<std::string> {
    auto it = environment.find(name);
    if (it == environment.end()) return std::nullopt;
    return it->second;
  };
  CliResult result;
  result.code = RunCli(static_cast<int>(argv.size()), argv.data(), env);
  result.out = ReadStream(out);
  result.err = ReadStream(err);
  for (std::FILE* f : {in, out, err}) {
    if (f != nullptr) std::fclose(f);
  }
  return result;
}

// RunCliCaptured with only an environment: `RunCliCaptured(clock, args, {{"NAME", "value"}})`,
// as tests written before CliRun call it.
inline CliResult RunCliCaptured(Clock& clock, std::vector<std::string> args,
                                std::map<std::string, std::string> environment) {
  return RunCliCaptured(clock, std::move(args), CliRun{.env = std::move(environment)});
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mdfetch
