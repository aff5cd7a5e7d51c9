// The man page and the bash completion (issue 10): every command and option --help shows is in
// both, each section of the man page is there, and roff's special characters in a description
// are escaped.
#include "cli_doc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string_view>

#include "cli_harness.h"
#include "fake_clock.h"

namespace mdfetch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Plain string scanning, each helper saying the regular expression it stands for. The test
// binary instantiates no standard regular expressions: its instrumented copies of that template
// code would interpose the ones inside the uninstrumented libcpp-httplib, and ThreadSanitizer
// would then report races in httplib's own regex objects.

// A character of regex's \w: an ASCII letter, digit or underscore.
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Where the run of characters `accepted` takes that starts at `at` ends.
template <typename Accepted>
size_t RunEnd(std::string_view text, size_t at, Accepted accepted) {
  while (at < text.size() && accepted(text[at])) ++at;
  return at;
}

// The word of a line `  WORD ...` (regex `^  (\w+) `), as help lists a command or a positional.
std::optional<std::string> IndentedWord(std::string_view line) {
  if (!line.starts_with("  ")) return std::nullopt;
  const size_t end = RunEnd(line, 2, IsWordChar);
  if (end == 2 || end == line.size() || line[end] != ' ') return std::nullopt;
  return std::string(line.substr(2, end - 2));
}

// The long option of a line `  --name...` or `  -x,--name...` (regex
// `^  (?:-\w,)?(--[\w-]+)`), as help lists an option.
std::optional<std::string> IndentedOption(std::string_view line) {
  if (!line.starts_with("  ")) return std::nullopt;
  auto long_option_at = [line](size_t at) -> std::optional<std::string> {
    if (!line.substr(at).starts_with("--")) return std::nullopt;
    const size_t end = RunEnd(line, at + 2, [](char c) { return IsWordChar(c) || c == '-'; });
    if (end == at + 2) return std::nullopt;
    return std::string(line.substr(at, end - at));
  };
  if (line.size() >= 5 && line[2] == '-' && IsWordChar(line[3]) && line[4] == ',') {
    if (auto option = long_option_at(5)) return option;
  }
  return long_option_at(2);
}

// What the completion script's case arm for `command` offers: the text between the last two
// quotes of the first line `\n    COMMAND) ...` that has two quotes after the parenthesis
// (regex `\n    COMMAND\) .*'(.*)'`).
std::optional<std::string> CaseArmWords(const std::string& script, const std::string& command) {
  const std::string head = "\n    " + command + ") ";
  for (size_t at = script.find(head); at != std::string::npos; at = script.find(head, at + 1)) {
    const size_t start = at + head.size();
    const std::string_view rest =
        std::string_view(script).substr(start, script.find('\n', start) - start);
    const size_t close = rest.rfind('\'');
    if (close == std::string_view::npos || close == 0) continue;
    const size_t open = rest.rfind('\'', close - 1);
    if (open == std::string_view::npos) continue;
    return std::string(rest.substr(open + 1, close - open - 1));
  }
  return std::nullopt;
}

// Whether a line is one of the roff requests the man page writes: `.` or `'`, then \" or one
// of TH SH SS PP TP br nf fi RS RE, then a space or the line's end (regex
// `^[.'](\\"|TH|SH|SS|PP|TP|br|nf|fi|RS|RE)( |$)`).
bool IsKnownRequest(std::string_view line) {
  if (!line.starts_with(".") && !line.starts_with("'")) return false;
  const std::string_view rest = line.substr(1);
  for (std::string_view name :
       {"\\\"", "TH", "SH", "SS", "PP", "TP", "br", "nf", "fi", "RS", "RE"}) {
    if (rest.starts_with(name) && (rest.size() == name.size() || rest[name.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

class CliDocTest : public ::testing::Test {
 protected:
  CliResult Cli(std::vector<std::string> args) { return RunCliCaptured(clock_, std::move(args)); }

  // The commands `mdfetch help` lists, read from its "Subcommands:" block.
  std::vector<std::string> HelpCommands() {
    auto help = Cli({"help"});
    EXPECT_EQ(help.code, kExitOk);
    std::vector<std::string> commands;
    std::istringstream lines(help.out.substr(help.out.find("Subcommands:")));
    std::string line;
    std::getline(lines, line);
    std::optional<std::string> command;
    while (std::getline(lines, line) && (command = IndentedWord(line))) {
      commands.push_back(*command);
    }
    return commands;
  }

  // The options `mdfetch help COMMAND` lists (--help aside), and its positionals.
  std::vector<std::string> HelpOptions(const std::string& command) {
    auto help = Cli({"help", command});
    EXPECT_EQ(help.code, kExitOk);
    std::vector<std::string> options;
    std::istringstream lines(help.out);
    std::string line;
    bool positionals = false;
    while (std::getline(lines, line)) {
      if (line.starts_with("Positionals:")) positionals = true;
      if (line.starts_with("Options:")) positionals = false;
      const std::optional<std::string> option = IndentedOption(line);
      std::optional<std::string> positional;
      if (option && *option != "--help" && *option != "--help-all") {
        options.push_back(*option);
      } else if (positionals && (positional = IndentedWord(line))) {
        options.push_back(*positional);
      }
    }
    return options;
  }

  FakeClock clock_;
};

// The part of the man page about one command: from its .SS to the next section.
std::string ManSection(const std::string& man, const std::string& command) {
  const size_t start = man.find(".SS " + command + "\n");
  if (start == std::string::npos) return "";
  const size_t end = man.find("\n.S", start + 1);
  return man.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string Escaped(const std::string& option) { return RoffText(option); }

TEST_F(CliDocTest, EveryCommandAndOptionOfHelpIsInTheManPageAndTheCompletion) {
  auto man = Cli({"help", "--man"});
  auto completion = Cli({"help", "--completion", "bash"});
  ASSERT_EQ(man.code, kExitOk) << man.err;
  ASSERT_EQ(completion.code, kExitOk) << completion.err;
  const std::vector<std::string> commands = HelpCommands();
  ASSERT_GE(commands.size(), 9u);
  for (const std::string& command : commands) {
    const std::string section = ManSection(man.out, command);
    EXPECT_NE(section, "") << "the man page has no section for " << command;
    const std::optional<std::string> words = CaseArmWords(completion.out, command);
    ASSERT_TRUE(words) << "the completion has no options for " << command;
    const std::string completed = " " + *words + " ";
    const std::vector<std::string> options = HelpOptions(command);
    ASSERT_FALSE(options.empty()) << command;
    for (const std::string& option : options) {
      EXPECT_THAT(section, HasSubstr(Escaped(option) + "\\fR")) << command << " " << option;
      if (option.starts_with("--")) {
        EXPECT_THAT(completed, HasSubstr(" " + option + " ")) << command << " " << option;
      }
    }
    EXPECT_THAT(completed, HasSubstr(" --help ")) << command;
    EXPECT_THAT(completion.out, HasSubstr(" " + command)) << "not completed: " << command;
  }
}

TEST_F(CliDocTest, TheManPageHasEverySectionTheVersionAndTheExitCodes) {
  auto man = Cli({"help", "--man"}).out;
  EXPECT_THAT(man, HasSubstr(".TH MDFETCH 1 \"\" \"mdfetch " MDFETCH_VERSION "\""));
  for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS",
                              "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"}) {
    EXPECT_THAT(man, HasSubstr("\n.SH " + std::string(section) + "\n")) << section;
  }
  EXPECT_THAT(man, HasSubstr(".SH NAME\nmdfetch \\- a local, queryable store of Alpha Vantage "
                             "time series\n"));
  for (const char* variable : {"ALPHAVANTAGE_API_KEY\\fR", "ALPHAVANTAGE_API_KEY_FILE\\fR",
                               "MDFETCH_DB\\fR", "HTTPS_PROXY\\fR", "NO_PROXY\\fR"}) {
    EXPECT_THAT(man, HasSubstr(variable));
  }
  const std::string exit_status = man.substr(man.find(".SH EXIT STATUS\n"));
  for (int code : {kExitOk, kExitFailed, kExitUsage, kExitQuota, kExitUnreachable, kExitInterrupted,
                   143, 70}) {
    EXPECT_THAT(exit_status, HasSubstr("\\fB" + std::to_string(code) + "\\fR")) << code;
  }
  EXPECT_THAT(man, HasSubstr("\\fB\\-\\-format\\fR \\fItable\\fR|\\fIjson\\fR\n"));
  EXPECT_THAT(man, HasSubstr("\\fB\\-\\-symbols\\fR \\fITEXT\\fR\nsymbol list, or \\- to read it "
                             "from stdin (default: symbols.txt)\n"));
  EXPECT_THAT(man, HasSubstr("\\fBmdfetch fetch\\fR \\fIsymbols\\fR... [\\fIoptions\\fR]\n"));
}

TEST_F(CliDocTest, TheCompletionOffersFunctionNamesIntervalsAndEachCommandsFormats) {
  auto completion = Cli({"help", "--completion", "bash"}).out;
  EXPECT_THAT(completion,
              HasSubstr("compgen -W 'daily daily_adjusted weekly weekly_adjusted monthly "
                        "monthly_adjusted intraday fx_daily crypto_daily' -- \"$cur\""));
  EXPECT_THAT(completion, HasSubstr("compgen -W '1min 5min 15min 30min 60min'"));
  EXPECT_THAT(completion, HasSubstr("'plan --format'|"));
  EXPECT_THAT(completion, HasSubstr("'query --format'"));
  EXPECT_THAT(completion, HasSubstr("mapfile -t COMPREPLY < <(compgen -W 'table csv json' -- "
                                    "\"$cur\")\n"));
  EXPECT_THAT(completion, HasSubstr("compgen -W 'refresh plan "));
  EXPECT_THAT(completion, HasSubstr(" help' -- \"$cur\""));
  EXPECT_THAT(completion, HasSubstr("\ncomplete -F _mdfetch mdfetch\n"));
}

TEST_F(CliDocTest, OnlyBashHasACompletion) {
  auto run = Cli({"help", "--completion", "zsh"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, "mdfetch: help: --completion takes the shell's name: bash\n");
  EXPECT_EQ(run.out, "");
}

TEST(RoffTextTest, EscapesBackslashesHyphensAndLinesThatWouldBeRequests) {
  EXPECT_EQ(RoffText("--db PATH"), "\\-\\-db PATH");
  EXPECT_EQ(RoffText("C:\\temp\\fB"), "C:\\etemp\\efB");
  EXPECT_EQ(RoffText(".SH EVIL\n'br\nx. 'y'"), "\\&.SH EVIL\n\\&'br\nx. 'y'");
}

TEST(ManPageTest, AHostileDescriptionCannotAddARequest) {
  CliDoc doc{.program = "mdfetch", .summary = "s", .version = "1"};
  doc.commands.push_back(
      {.name = "evil",
       .help = ".SH INJECTED\n'bp\n\\fBbold",
       .options = {{.name = "--x", .value = "TEXT", .help = ".so /etc/passwd\n.\\\" hidden"}}});
  const std::string man = ManPage(doc);
  EXPECT_THAT(man, HasSubstr("\\&.SH INJECTED\n\\&'bp\n\\efBbold"));
  EXPECT_THAT(man, HasSubstr(".TP\n\\fB\\-\\-x\\fR \\fITEXT\\fR\n\\&.so /etc/passwd\n\\&.\\e\" "
                             "hidden\n"));
  std::istringstream lines(man);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(".") || line.starts_with("'")) {
      EXPECT_TRUE(IsKnownRequest(line)) << line;
    }
  }
  EXPECT_THAT(man, Not(HasSubstr("\n.SH INJECTED")));
}

}  // namespace
}  // namespace mdfetch
