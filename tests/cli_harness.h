// Runs the CLI in-process with captured stdout/stderr, for integration tests.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
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

inline CliResult RunCliCaptured(Clock& clock, std::vector<std::string> args,
                                std::map<std::string, std::string> environment = {}) {
  args.insert(args.begin(), "mdfetch");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CliEnv env;
  env.clock = &clock;
  env.out = out;
  env.err = err;
  env.getenv = [environment](const char* name) -> std::optional<std::string> {
    auto it = environment.find(name);
    if (it == environment.end()) return std::nullopt;
    return it->second;
  };
  CliResult result;
  result.code = RunCli(static_cast<int>(argv.size()), argv.data(), env);
  result.out = ReadStream(out);
  result.err = ReadStream(err);
  std::fclose(out);
  std::fclose(err);
  return result;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mdfetch
