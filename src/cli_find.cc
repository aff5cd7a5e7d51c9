// Finding the stored series a user names on the command line of query, export and check: by
// what was typed, and when it is not stored, with what is stored instead and how to read it.
#include <fmt/ranges.h>

#include <algorithm>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"

namespace mdfetch {
namespace {

bool IsPairFunction(Function f) { return f == Function::kFxDaily || f == Function::kCryptoDaily; }

// "monthly", "intraday:5min adjusted=false": the function as a symbol-list line writes it.
std::string FunctionText(const SeriesKey& key) {
  std::string out(ShortName(key.function));
  if (!key.interval.empty()) out += ":" + key.interval;
  if (std::string options = OptionsText(key); !options.empty()) out += " " + options;
  return out;
}

// The command that reads `key`: "mdfetch query NVDA --function intraday:5min --adjusted false".
std::string ReadCommand(const SeriesKey& key, std::string_view command, const ReadArgs& args) {
  std::string out =
      fmt::format("mdfetch {} {} --function {}", command, key.symbol, ShortName(key.function));
  if (!key.interval.empty()) out += ":" + key.interval;
  if (!key.adjusted) out += " --adjusted false";
  if (!key.extended_hours) out += " --extended-hours false";
  if (!args.db.empty()) out += " --db " + ShellQuote(RedactDb(args.db));
  return out;
}

// The stored series of one symbol (with bars unless `needs` is kRow), read once per lookup.
class StoredSeries {
 public:
  explicit StoredSeries(Store& store) : store_(store) {}
  Result<std::vector<SeriesState>> Of(const std::string& symbol, Needs needs) {
    if (!all_) {
      auto all = store_.ListSeries();
      if (!all) return std::unexpected(all.error());
      all_ = std::move(*all);
    }
    std::vector<SeriesState> out;
    for (const SeriesState& s : *all_) {
      if (s.key.symbol == symbol && (needs == Needs::kRow || s.bar_count > 0)) out.push_back(s);
    }
    return out;
  }

 private:
  Store& store_;
  std::optional<std::vector<SeriesState>> all_;
};

// "monthly (mdfetch query NVDA --function monthly), weekly (...)".
std::string Alternatives(const std::vector<SeriesState>& stored, std::string_view command,
                         const ReadArgs& args) {
  std::vector<std::string> parts;
  for (const SeriesState& s : stored) {
    parts.push_back(fmt::format("{} ({})", FunctionText(s.key), ReadCommand(s.key, command, args)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

Result<SeriesArgument> ParseSeriesArgumentFor(std::string_view text,
                                              const SeriesDefaults& defaults) {
  auto key = ParseSeriesArgument(text, defaults);
  if (key) return SeriesArgument{.key = std::move(*key)};
  // `BTC/EUR` alone, as `list` prints it: the default function takes no pair; FX and crypto do.
  const bool one_word = text.find_first_of(" \t") == std::string_view::npos;
  if (one_word && text.find('/') != std::string_view::npos && !IsPairFunction(defaults.function)) {
    SeriesDefaults pair = defaults;
    pair.function = Function::kCryptoDaily;
    if (auto pair_key = ParseSeriesArgument(text, pair)) {
      return SeriesArgument{.key = std::move(*pair_key), .any_pair_function = true};
    }
  }
  return std::unexpected(key.error());
}

Result<std::vector<SeriesArgument>> ParseSeriesArguments(const ReadArgs& args) {
  auto options = ResolveOptions(args.function, args.interval, args.adjusted, args.extended_hours);
  if (!options) return std::unexpected(options.error());
  std::vector<SeriesArgument> wanted;
  std::vector<SeriesKey> keys;
  for (const std::string& text : args.symbols) {
    auto argument = ParseSeriesArgumentFor(text, options->defaults);
    if (!argument) return std::unexpected(argument.error());
    keys.push_back(argument->key);
    wanted.push_back(std::move(*argument));
  }
  // `export --all` reads the series of --function.
  if (args.all) keys.push_back(SeriesKey{.function = options->defaults.function});
  if (auto ok = options->CheckSwitchesApply(keys); !ok) return std::unexpected(ok.error());
  return wanted;
}

Result<std::vector<SeriesState>> FindSeries(Store& store, const ReadArgs& args,
                                            std::string_view command, Needs needs,
                                            const std::string& db) {
  auto wanted = ParseSeriesArguments(args);
  if (!wanted) return std::unexpected(wanted.error());
  StoredSeries stored_series(store);
  std::vector<SeriesState> found;
  std::vector<std::string> problems;       // one part of the message per series not found
  std::vector<std::string> nothing_names;  // series whose symbol has nothing stored
  std::vector<std::string> nothing_fetch;  // the fetch arguments that would store them
  for (const SeriesArgument& argument : *wanted) {
    const SeriesKey& key = argument.key;
    std::optional<SeriesState> pick;
    if (!argument.any_pair_function) {
      auto state = store.Find(key);
      if (!state) return std::unexpected(state.error());
      if (*state && (needs == Needs::kRow || (*state)->bar_count > 0)) pick = std::move(**state);
    }
    if (!pick) {
      auto stored = stored_series.Of(key.symbol, needs);
      if (!stored) return std::unexpected(stored.error());
      if (argument.any_pair_function) {
        std::erase_if(*stored,
                      [](const SeriesState& s) { return !IsPairFunction(s.key.function); });
      }
      if (argument.any_pair_function && stored->size() == 1) {
        pick = stored->front();
      } else if (argument.any_pair_function && stored->size() > 1) {
        problems.push_back(fmt::format("{} names several series in {}: {}", key.symbol, db,
                                       Alternatives(*stored, command, args)));
      } else if (argument.any_pair_function) {
        problems.push_back(fmt::format(
            "no bars for {} in {} (fetch it first: mdfetch fetch \"{} fx_daily\" or mdfetch "
            "fetch \"{} crypto_daily\")",
            key.symbol, db, key.symbol, key.symbol));
      } else if (!stored->empty()) {
        problems.push_back(fmt::format("no {} {} in {}; stored for {}: {}", key.symbol,
                                       FunctionText(key), db, key.symbol,
                                       Alternatives(*stored, command, args)));
      } else {
        nothing_names.push_back(Describe(key));
        nothing_fetch.push_back(ShellQuote(Describe(key)));
      }
    }
    if (pick && std::none_of(found.begin(), found.end(),
                             [&](const SeriesState& s) { return s.key == pick->key; })) {
      found.push_back(std::move(*pick));
    }
  }
  if (!nothing_names.empty() && command == "remove") {
    problems.push_back(
        fmt::format("nothing stored for {} in {}", fmt::join(nothing_names, ", "), db));
  } else if (!nothing_names.empty()) {
    problems.push_back(fmt::format(
        "no bars for {} in {} (fetch {} first: mdfetch fetch {})", fmt::join(nothing_names, ", "),
        db, nothing_names.size() == 1 ? "it" : "them", fmt::join(nothing_fetch, " ")));
  }
  if (!problems.empty()) return Fail(fmt::format("{}", fmt::join(problems, "; ")));
  return found;
}

}  // namespace mdfetch
