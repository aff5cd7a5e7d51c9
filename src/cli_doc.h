// Private to the CLI: the man page and the bash completion, generated from the CLI11 app that
// RunCli builds from the command table, so they say what --help says and never drift from it.
//
// DescribeCli() walks the app once into a plain description (commands, their options, the
// function names the symbol parser knows); ManPage() and BashCompletion() render it. All three
// are pure functions of their arguments. `mdfetch help --man` and `mdfetch help --completion
// bash` (hidden) print them; the build runs those to make the installed files.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace mdfetch {

struct DocOption {
  std::string name;                  // "--db", or a positional's name ("symbols")
  std::string value;                 // "TEXT", "INT", "FILE", ...; empty for a flag
  std::vector<std::string> choices;  // the values it takes when they are a set, else empty
  std::string help;
  std::string default_value;  // shown by --help, else empty
  bool positional = false;
  bool required = false;
  bool many = false;  // takes more than one value (a positional list)
};

struct DocCommand {
  std::string name;
  std::string help;
  std::vector<DocOption> options;  // positionals first, then in the table's order; no --help
};

struct CliDoc {
  std::string program;  // "mdfetch"
  std::string summary;  // one line, without the program's name
  std::string version;
  std::vector<DocOption> options;  // the program's own: --help, --help-all, --version
  std::vector<DocCommand> commands;
  std::vector<std::string> functions;  // "daily", "weekly_adjusted", ...: --function's values
  std::vector<std::string> intervals;  // "1min", ...: --interval's values
};

// Everything the man page and the completion say about `app`: its subcommands in order, each
// with its options (CLI11's --help left out), and the program's own options.
CliDoc DescribeCli(const CLI::App& app, std::string_view version);

// The man page, section 1, in roff (man macros).
std::string ManPage(const CliDoc& doc);

// A bash completion script defining `_<program>` and registering it with `complete -F`:
// commands, each command's options, and the values of options that take one of a set
// (--function's function names, --interval's intervals, --format's formats); file names for
// other text values.
std::string BashCompletion(const CliDoc& doc);

// `text` as roff body text: backslashes as \e, every hyphen as \- (so options copy and paste
// as typed), and a line starting with `.` or `'` guarded with \& so it is never a request.
std::string RoffText(std::string_view text);

// The hidden `help --man` and `help --completion bash`: when argv[2] is `--man` or
// `--completion`, writes the document to `out` and returns the exit status (kExitUsage, with
// a message on `err`, for a shell other than bash); nullopt for any other `help` invocation.
std::optional<int> RunHelpDoc(const CLI::App& app, int argc, const char* const* argv,
                              std::FILE* out, std::FILE* err);

}  // namespace mdfetch
