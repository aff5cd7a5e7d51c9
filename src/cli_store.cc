// Housekeeping of the store: `remove`, `info` and `vacuum`; where a --db may be, and how a
// read command opens the store (read-only media included).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

// The database file and its -wal file, in bytes (a missing file counts 0).
struct FileSizes {
  uintmax_t db = 0;
  uintmax_t wal = 0;
  uintmax_t Total() const { return db + wal; }
};

FileSizes SizesOf(const std::string& db) {
  std::error_code ec;
  FileSizes sizes;
  sizes.db = std::filesystem::file_size(db, ec);
  if (ec) sizes.db = 0;
  sizes.wal = std::filesystem::file_size(db + "-wal", ec);
  if (ec) sizes.wal = 0;
  return sizes;
}

// "5.0 MiB": a size for people; the exact bytes are printed beside it.
std::string HumanSize(uintmax_t bytes) {
  constexpr std::array<const char*, 4> kUnits{"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  for (value /= 1024; value >= 1024 && unit + 1 < kUnits.size(); value /= 1024) ++unit;
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

// remove and vacuum write an existing store under the writer lock, like a refresh.
Result<std::unique_ptr<Store>> OpenForHousekeeping(const std::string& db) {
  std::error_code ec;
  if (db != ":memory:" && !std::filesystem::exists(db, ec)) {
    return Fail(fmt::format("no database at '{}'", db));
  }
  return Store::Open(db, OpenMode::kWriter);
}

// Asks on stderr, reads one line from env.in: only "y" or "yes" agrees.
bool Confirmed(CliEnv& env, const std::string& question) {
  fmt::print(env.err, "{} [y/N] ", question);
  std::fflush(env.err);
  std::string answer;
  for (int c = std::fgetc(env.in); c != EOF && c != '\n'; c = std::fgetc(env.in)) {
    answer += static_cast<char>(std::tolower(c));
  }
  std::erase_if(answer, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
  return answer == "y" || answer == "yes";
}

// "daily", "intraday:5min": how `info` groups series.
std::string FunctionGroup(const SeriesKey& key) {
  std::string out(ShortName(key.function));
  if (!key.interval.empty()) out += ":" + key.interval;
  return out;
}

struct Group {
  int64_t series = 0;
  int64_t bars = 0;
  std::string first;
  std::string last;
};

void Widen(Group& g, const SeriesState& s) {
  g.series += 1;
  g.bars += s.bar_count;
  if (!s.first_ts.empty() && (g.first.empty() || s.first_ts < g.first)) g.first = s.first_ts;
  if (!s.last_ts.empty() && s.last_ts > g.last) g.last = s.last_ts;
}

std::string Dash(const std::string& text) { return text.empty() ? "-" : text; }

}  // namespace

Status CheckDbFolder(const std::string& db) {
  if (db == ":memory:") return {};
  const std::filesystem::path folder = std::filesystem::path(db).parent_path();
  if (folder.empty() || folder == std::filesystem::path(kDefaultDb).parent_path()) return {};
  std::error_code ec;
  if (std::filesystem::is_directory(folder, ec)) return {};
  return Fail(fmt::format("--db '{}': {} '{}' (mdfetch creates only its default folder, data/)", db,
                          std::filesystem::exists(folder, ec) ? "not a folder:" : "no such folder",
                          folder.string()));
}

Result<std::unique_ptr<Store>> OpenStoreForReading(const std::string& db, CliEnv& env) {
  auto store = Store::Open(db, OpenMode::kReadOnly);
  if (store && (*store)->ReadOnlyMedia()) {
    const uintmax_t wal = SizesOf(db).wal;
    fmt::print(env.err, "mdfetch: '{}' is read-only here: reading it as it is on disk{}\n", db,
               wal == 0 ? std::string()
                        : fmt::format(" (its -wal file, {} bytes, is not read: a write not yet "
                                      "checkpointed into the database, if any, is missing)",
                                      wal));
  }
  return store;
}

Outcome RunRemove(const ReadArgs& args, bool yes, CliEnv& env) {
  // Named as `query` names them, with the same usage errors (an option that chooses nothing).
  if (auto ok = ParseSeriesArguments(args); !ok) return Exit(kExitUsage, "{}", ok.error().message);
  const std::string db = ResolveDb(args.db, env, kDefaultDb);
  auto writable = OpenForHousekeeping(db);
  if (!writable) return Exit(kExitUsage, "{}", writable.error().message);
  Store& store = **writable;
  auto found = FindSeries(store, args, "remove", Needs::kRow, db);
  if (!found) return Exit(kExitFailed, "{}; nothing removed", found.error().message);
  std::vector<SeriesKey> keys;
  std::vector<int64_t> bars;
  for (const SeriesState& state : *found) {
    keys.push_back(state.key);
    bars.push_back(state.bar_count);
  }
  int64_t total = 0;
  for (int64_t n : bars) total += n;
  if (env.in_is_terminal && !yes &&
      !Confirmed(env, fmt::format("remove {} series ({} bars)?", keys.size(), total))) {
    return Exit(kExitFailed, "nothing removed");
  }
  auto removed = store.RemoveSeries(keys, env.clock->WallNow());
  if (!removed) return Exit(kExitFailed, "{}", removed.error().message);
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out += fmt::format("removed {}: {}\n", Describe(keys[i]), Plural(bars[i], "bar"));
  }
  out += fmt::format("{}: removed {} series, {} and {}", db, removed->series,
                     Plural(removed->bars, "bar"), Plural(removed->calls, "logged call"));
  if (removed->calls_kept > 0) {
    out += fmt::format("; {} of the last 24 h {} logged: the daily quota counts them",
                       Plural(removed->calls_kept, "call"),
                       removed->calls_kept == 1 ? "stays" : "stay");
  }
  out += '\n';
  std::fputs(out.c_str(), env.out);
  return kExitOk;
}

Outcome RunVacuum(const ReadArgs& args, CliEnv& env) {
  const std::string db = ResolveDb(args.db, env, kDefaultDb);
  const FileSizes before = SizesOf(db);
  auto writable = OpenForHousekeeping(db);
  if (!writable) return Exit(kExitUsage, "{}", writable.error().message);
  if (Status done = (*writable)->Vacuum(); !done) {
    return Exit(kExitFailed, "{}", done.error().message);
  }
  const FileSizes after = SizesOf(db);
  fmt::print(env.out, "{}: {} bytes before ({}), {} bytes after ({}), database and -wal\n", db,
             before.Total(), HumanSize(before.Total()), after.Total(), HumanSize(after.Total()));
  return kExitOk;
}

Result<QuotaRateText> QuotaRate(Store& store, const std::string& given) {
  QuotaRateText rate{.text = given};
  if (rate.text.empty()) {
    auto stored = store.GetSetting(kRateSetting);
    if (!stored) return std::unexpected(stored.error());
    if (*stored) {
      rate.text = (*stored)->value;
      rate.recorded_at = (*stored)->set_at;
    }
  }
  if (rate.text.empty()) rate.text = kDefaultRate;
  return rate;
}

Outcome RunInfo(const ReadArgs& args, CliEnv& env) {
  std::string db;
  auto store = OpenReadDb(args.db, env, db);
  if (!store) return Exit(kExitUsage, "{}", store.error().message);
  auto file = (*store)->FileInfo();
  auto series = (*store)->ListSeries();
  const WallTime now = env.clock->WallNow();
  auto calls = (*store)->CallTimesSince(now - std::chrono::hours(24));
  auto quota = QuotaRate(**store, "");
  if (!file || !series || !calls || !quota) {
    return Exit(kExitFailed, "{}",
                (!file     ? file.error()
                 : !series ? series.error()
                 : !calls  ? calls.error()
                           : quota.error())
                    .message);
  }
  const std::string& rate_text = quota->text;
  const std::optional<WallTime>& rate_at = quota->recorded_at;
  auto rate = ParseRateSpec(rate_text);
  std::map<std::string, Group> groups;
  Group all;
  for (const SeriesState& s : *series) {
    Widen(groups[FunctionGroup(s.key)], s);
    Widen(all, s);
  }
  const FileSizes sizes = SizesOf(db);
  const int64_t per_bar = all.bars > 0 ? static_cast<int64_t>(sizes.db) / all.bars : 0;
  const std::string recorded =
      rate_at ? fmt::format("recorded by the refresh of {}", FormatUtc(*rate_at))
              : "the default: no refresh recorded one";
  // 0: no daily quota in the rate (or a recorded rate that no longer parses).
  const int64_t per_day = rate && rate->per_day ? *rate->per_day : 0;
  if (args.format == "json") {
    nlohmann::ordered_json doc{{"version", 1},
                               {"database", db},
                               {"read_only", (*store)->ReadOnlyMedia()},
                               {"bytes", sizes.db},
                               {"wal_bytes", sizes.wal},
                               {"schema_version", file->schema_version},
                               {"application_id", file->application_id},
                               {"free_pages", file->free_pages},
                               {"page_size", file->page_size}};
    doc["functions"] = nlohmann::ordered_json::array();
    for (const auto& [name, g] : groups) {
      doc["functions"].push_back({{"function", name},
                                  {"series", g.series},
                                  {"bars", g.bars},
                                  {"first", g.first},
                                  {"last", g.last}});
    }
    doc["series"] = all.series;
    doc["bars"] = all.bars;
    doc["bytes_per_bar"] = per_bar;
    doc["first"] = all.first;
    doc["last"] = all.last;
    doc["rate"] = rate_text;
    doc["rate_recorded_at"] = rate_at ? nlohmann::ordered_json(FormatUtc(*rate_at)) : nullptr;
    doc["quota_per_day"] = per_day > 0 ? nlohmann::ordered_json(per_day) : nullptr;
    doc["calls_last_24h"] = calls->size();
    std::fputs((JsonText(doc, 2) + "\n").c_str(), env.out);
    return kExitOk;
  }
  std::string out =
      fmt::format("store       {}{}\n", db, (*store)->ReadOnlyMedia() ? " (read-only media)" : "");
  out +=
      fmt::format("size        {} bytes + {} bytes -wal ({}); {} free pages of {} bytes\n",
                  sizes.db, sizes.wal, HumanSize(sizes.Total()), file->free_pages, file->page_size);
  out += fmt::format("schema      version {}, application_id {:#010x}\n", file->schema_version,
                     file->application_id);
  size_t width = 14;
  for (const auto& [name, g] : groups) width = std::max(width, name.size());
  out += fmt::format("{:<{}} {:>7} {:>10}  {:<19}  {}\n", "function", width, "series", "bars",
                     "oldest bar", "newest bar");
  for (const auto& [name, g] : groups) {
    out += fmt::format("{:<{}} {:>7} {:>10}  {:<19}  {}\n", name, width, g.series, g.bars,
                       Dash(g.first), Dash(g.last));
  }
  out += fmt::format("{:<{}} {:>7} {:>10}  {:<19}  {}\n", "all", width, all.series, all.bars,
                     Dash(all.first), Dash(all.last));
  out += fmt::format("bytes/bar   {}\n", all.bars > 0 ? std::to_string(per_bar) : "-");
  out += fmt::format("quota       --rate {} ({}){}\n", rate_text, recorded,
                     per_day > 0 ? fmt::format(": {} calls a day", per_day) : ": no daily quota");
  out += fmt::format("calls       {} in the last 24 h\n", calls->size());
  std::fputs(out.c_str(), env.out);
  return kExitOk;
}

}  // namespace mdfetch
