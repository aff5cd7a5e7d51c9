// The man page and the bash completion, from the CLI11 app the command table builds.
#include "cli_doc.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <csignal>
#include <map>
#include <utility>

#include "mdfetch/cli.h"
#include "mdfetch/series.h"

namespace mdfetch {
namespace {

// main()'s last resort (EX_SOFTWARE); not one of the outcomes a command returns.
constexpr int kExitInternal = 70;

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// CLI11 writes an option's type and its validators' descriptions as one name:
// "TEXT:{table,json}", "INT:INT in [1 - 64]". The set, when there is one, is the choices.
DocOption DescribeOption(const CLI::Option& option) {
  DocOption doc;
  doc.positional = !option.nonpositional();
  doc.name = doc.positional                ? option.get_name(true)
             : option.get_lnames().empty() ? "-" + option.get_snames().front()
                                           : "--" + option.get_lnames().front();
  doc.help = option.get_description();
  doc.default_value = option.get_default_str();
  doc.required = option.get_required();
  doc.many = option.get_items_expected_max() > 1;
  if (option.get_type_size_max() == 0) return doc;  // a flag
  const std::string type = option.get_type_name();
  doc.value = type.substr(0, type.find(':'));
  for (const std::string& part : Split(type, ':')) {
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      doc.choices = Split(std::string_view(part).substr(1, part.size() - 2), ',');
    }
  }
  return doc;
}

// The functions the symbol parser knows, in the enum's order. ShortName() answers its first
// function's name for a value past the last, which ends the walk without a list of our own.
std::vector<std::string> FunctionNames() {
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) {
    std::string name(ShortName(static_cast<Function>(i)));
    if (std::find(names.begin(), names.end(), name) != names.end()) break;
    names.push_back(std::move(name));
  }
  return names;
}

std::vector<std::string> Intervals() {
  std::vector<std::string> intervals;
  for (const char* interval : {"1min", "5min", "15min", "30min", "60min"}) {
    if (IsValidInterval(interval)) intervals.emplace_back(interval);
  }
  return intervals;
}

}  // namespace

CliDoc DescribeCli(const CLI::App& app, std::string_view version) {
  CliDoc doc;
  doc.program = app.get_name();
  doc.summary = app.get_description();
  if (const std::string prefix = doc.program + ": "; doc.summary.starts_with(prefix)) {
    doc.summary.erase(0, prefix.size());
  }
  doc.version = version;
  for (const CLI::Option* option : app.get_options())
    doc.options.push_back(DescribeOption(*option));
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    DocCommand command{.name = sub->get_name(), .help = sub->get_description()};
    for (const CLI::Option* option : sub->get_options()) {
      if (option == sub->get_help_ptr() || option == sub->get_help_all_ptr()) continue;
      command.options.push_back(DescribeOption(*option));
    }
    std::stable_partition(command.options.begin(), command.options.end(),
                          [](const DocOption& o) { return o.positional; });
    doc.commands.push_back(std::move(command));
  }
  doc.functions = FunctionNames();
  doc.intervals = Intervals();
  return doc;
}

std::string RoffText(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string Bold(std::string_view text) { return "\\fB" + RoffText(text) + "\\fR"; }
std::string Italic(std::string_view text) { return "\\fI" + RoffText(text) + "\\fR"; }

// How an option is written in the man page: `--format table|json`, `--db TEXT`, `SYMBOLS...`.
std::string OptionTerm(const DocOption& option) {
  if (option.positional) return Italic(option.name) + (option.many ? "..." : "");
  std::string term = Bold(option.name);
  if (!option.choices.empty()) {
    for (size_t i = 0; i < option.choices.size(); ++i) {
      term += (i == 0 ? " " : "|") + Italic(option.choices[i]);
    }
  } else if (!option.value.empty()) {
    term += " " + Italic(option.value);
  }
  return term;
}

void AppendCommand(std::string& out, const CliDoc& doc, const DocCommand& command) {
  out += ".SS " + RoffText(command.name) + "\n";
  out += Bold(doc.program + " " + command.name);
  for (const DocOption& option : command.options) {
    if (!option.positional) continue;
    out += " " + (option.required ? OptionTerm(option) : "[" + OptionTerm(option) + "]");
  }
  out += " [" + Italic("options") + "]\n.PP\n" + RoffText(command.help) + ".\n";
  for (const DocOption& option : command.options) {
    out += ".TP\n" + OptionTerm(option) + "\n" + RoffText(option.help);
    if (!option.default_value.empty()) out += " (default: " + RoffText(option.default_value) + ")";
    out += "\n";
  }
}

void AppendList(std::string& out,
                std::initializer_list<std::pair<std::string, std::string>> items) {
  for (const auto& [term, text] : items) out += ".TP\n" + term + "\n" + RoffText(text) + "\n";
}

constexpr const char* kDescription =
    "A symbol list drives a concurrent fetcher paced exactly at the key's quota; bars land in "
    "a SQLite database idempotently; the query commands read them back and export CSV. Built "
    "for a nightly cron job that never loses a bar and never wastes a call.\n";

constexpr const char* kSymbolLines =
    "A series is named like a line of the symbol list: a symbol, then optionally a function "
    "(intraday with its interval), then the intraday switches, e.g. IBM, \"MSFT "
    "daily_adjusted\", \"AAPL intraday:5min adjusted=false\", EUR/USD fx_daily, BTC/EUR "
    "crypto_daily.\n";

void AppendFixedSections(std::string& out, const CliDoc& doc) {
  out += ".SH ENVIRONMENT\n";
  AppendList(out, {{Bold("ALPHAVANTAGE_API_KEY"),
                    "The Alpha Vantage key, when neither --api-key, --api-key-file nor "
                    "ALPHAVANTAGE_API_KEY_FILE gives one. It is never printed, logged or stored."},
                   {Bold("ALPHAVANTAGE_API_KEY_FILE"),
                    "A file whose first line is the key, when --api-key-file is not given. Only "
                    "its owner may read it (chmod 600): a file readable by others is refused."},
                   {Bold("MDFETCH_DB"), "The database, when --db is not given."},
                   {Bold("HTTPS_PROXY") + ", " + Bold("https_proxy"),
                    "The proxy for an https:// base URL, reached through a CONNECT tunnel; the "
                    "lower-case one wins, an empty value means none. http_proxy serves an "
                    "http:// base URL (HTTP_PROXY is ignored, as curl does)."},
                   {Bold("NO_PROXY") + ", " + Bold("no_proxy"),
                    "Hosts to contact directly, separated by commas: * for all, a domain (with "
                    "its sub-domains), an IP address or a CIDR range."}});
  out += ".SH FILES\n";
  AppendList(out, {{Italic("symbols.txt"),
                    "The symbol list refresh reads by default: one series per line."},
                   {Italic("data/market.db"),
                    "The database by default: SQLite in WAL mode, with its -wal and -shm files "
                    "beside it."},
                   {Italic("data/demo.db"), "The database of simulated bars (--sim)."}});
  out += ".SH EXIT STATUS\n";
  const auto code = [](int value) { return Bold(std::to_string(value)); };
  AppendList(out,
             {{code(kExitOk), "Every due series stored or already up to date."},
              {code(kExitFailed), "Some series failed or some symbol lines were invalid."},
              {code(kExitUsage), "Usage or configuration error: nothing fetched."},
              {code(kExitQuota),
               "Stopped by the daily quota: the rest deferred, first next run (3 wins over 1)."},
              {code(kExitUnreachable),
               "The service could not be reached: the rest deferred with the quota intact."},
              {code(kExitInterrupted) + ", " + code(128 + SIGTERM),
               "Stopped by SIGINT, SIGTERM: everything stored stays stored, the rest deferred."},
              {code(kExitInternal), "Internal error (a bug: please report it)."}});
  out += ".SH EXAMPLES\n.nf\n.RS\n";
  for (const char* example :
       {"mdfetch refresh --symbols symbols.txt", "mdfetch plan",
        "mdfetch fetch \"AAPL intraday:5min\" --month 2024-01..2024-06",
        "mdfetch query IBM --last 5 --format csv", "mdfetch export --all --output bars.csv",
        "mdfetch check", "mdfetch refresh --sim"}) {
    out += RoffText(example) + "\n";
  }
  out += ".RE\n.fi\n.SH SEE ALSO\n" + Bold("sqlite3") + "(1); " + Bold(doc.program) + " help " +
         Italic("command") + "\n";
}

}  // namespace

std::string ManPage(const CliDoc& doc) {
  std::string out =
      ".\\\" Generated by `" + doc.program + " help --man` from the command table: do not edit.\n";
  std::string upper;
  for (char c : doc.program)
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += ".TH " + RoffText(upper) + " 1 \"\" \"" + RoffText(doc.program + " " + doc.version) +
         "\" \"User Commands\"\n";
  out += ".SH NAME\n" + RoffText(doc.program) + " \\- " + RoffText(doc.summary) + "\n";
  out += ".SH SYNOPSIS\n" + Bold(doc.program) + " " + Italic("command") + " [" + Italic("options") +
         "]\n.br\n" + Bold(doc.program + " help") + " [" + Italic("command") + "]\n";
  for (const DocOption& option : doc.options) {
    out += ".br\n" + Bold(doc.program) + " " + Bold(option.name) + "\n";
  }
  out += ".SH DESCRIPTION\n" + RoffText(kDescription) + ".PP\n" + RoffText(kSymbolLines);
  out += ".PP\nFunctions:";
  for (size_t i = 0; i < doc.functions.size(); ++i) {
    out += (i == 0 ? " " : ", ") + Bold(doc.functions[i]);
  }
  out += ". Intraday intervals:";
  for (size_t i = 0; i < doc.intervals.size(); ++i) {
    out += (i == 0 ? " " : ", ") + Bold(doc.intervals[i]);
  }
  out += ".\n.SH OPTIONS\n";
  for (const DocOption& option : doc.options) {
    out += ".TP\n" + OptionTerm(option) + "\n" + RoffText(option.help) + "\n";
  }
  out += ".SH COMMANDS\nEvery command takes " + Bold("--help") + ".\n";
  for (const DocCommand& command : doc.commands) AppendCommand(out, doc, command);
  AppendFixedSections(out, doc);
  return out;
}

namespace {

// A word the script may hold unquoted inside '...' and as a compgen word: every name of our
// table is one. Anything else is left out of the completion rather than quoted.
bool IsShellWord(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_-.,:/+=@%").find(c) != std::string_view::npos;
  });
}

std::string Words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    if (!IsShellWord(word)) continue;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

std::string Compgen(const std::string& words) {
  return "mapfile -t COMPREPLY < <(compgen -W '" + words + "' -- \"$cur\")";
}

// What follows an option: one of its words, a file name, or anything (no completion).
std::string ValueCompletion(const CliDoc& doc, const DocOption& option) {
  if (option.name == "--function") return Compgen(Words(doc.functions));
  if (option.name == "--interval") return Compgen(Words(doc.intervals));
  if (!option.choices.empty()) return Compgen(Words(option.choices));
  if (option.value == "TEXT" || option.value == "FILE" || option.value == "PATH") {
    return "compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")";
  }
  return ":";
}

}  // namespace

std::string BashCompletion(const CliDoc& doc) {
  std::vector<std::string> commands, program_options;
  for (const DocCommand& command : doc.commands) commands.push_back(command.name);
  commands.emplace_back("help");
  for (const DocOption& option : doc.options) program_options.push_back(option.name);

  // "refresh --format" -> how its value completes, grouped by completion.
  std::map<std::string, std::vector<std::string>> values;
  std::string options_case;
  for (const DocCommand& command : doc.commands) {
    if (!IsShellWord(command.name)) continue;
    std::vector<std::string> names;
    for (const DocOption& option : command.options) {
      if (option.positional) continue;
      names.push_back(option.name);
      if (!option.value.empty() && IsShellWord(option.name)) {
        values[ValueCompletion(doc, option)].push_back("'" + command.name + " " + option.name +
                                                       "'");
      }
    }
    names.emplace_back("--help");
    options_case += "    " + command.name + ") " + Compgen(Words(names)) + " ;;\n";
  }
  std::string values_case;
  for (const auto& [completion, patterns] : values) {
    std::string joined;
    for (const std::string& pattern : patterns) joined += (joined.empty() ? "" : "|") + pattern;
    values_case += "    " + joined + ")\n      " + completion + "\n      return ;;\n";
  }

  const std::string& p = doc.program;
  return "# bash completion for " + p + " " + doc.version +
         ": commands, options, function names.\n"
         "# Generated by `" +
         p +
         " help --completion bash` from the command table: do not "
         "edit.\n"
         "_" +
         p +
         "() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} prev='' cmd='' i\n"
         "  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
         "  # --option=value: bash breaks the word at '='.\n"
         "  if [[ $cur == = ]]; then\n"
         "    cur=''\n"
         "  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
         "    prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
         "  fi\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    if [[ ${COMP_WORDS[i]} != -* ]]; then cmd=${COMP_WORDS[i]}; break; fi\n"
         "  done\n"
         "  COMPREPLY=()\n"
         "  case $cmd in\n"
         "    '')\n"
         "      if [[ $cur == -* ]]; then " +
         Compgen(Words(program_options)) +
         "\n"
         "      else " +
         Compgen(Words(commands)) +
         "\n"
         "      fi\n"
         "      return ;;\n"
         "    help)\n"
         "      ((COMP_CWORD == i + 1)) && " +
         Compgen(Words(commands)) +
         "\n"
         "      return ;;\n"
         "  esac\n"
         "  case \"$cmd $prev\" in\n" +
         values_case +
         "  esac\n"
         "  case $cmd in\n" +
         options_case +
         "  esac\n"
         "}\n"
         "complete -F _" +
         p + " " + p + "\n";
}

std::optional<int> RunHelpDoc(const CLI::App& app, int argc, const char* const* argv,
                              std::FILE* out, std::FILE* err) {
  if (argc < 3) return std::nullopt;
  const std::string_view what = argv[2];
  if (what == "--man") {
    std::fputs(ManPage(DescribeCli(app, MDFETCH_VERSION)).c_str(), out);
    return kExitOk;
  }
  if (what != "--completion") return std::nullopt;
  if (argc != 4 || std::string_view(argv[3]) != "bash") {
    fmt::print(err, "mdfetch: help: --completion takes the shell's name: bash\n");
    return kExitUsage;
  }
  std::fputs(BashCompletion(DescribeCli(app, MDFETCH_VERSION)).c_str(), out);
  return kExitOk;
}

}  // namespace mdfetch
