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
#include "mdfetch/redact.h"
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

// remove and vacuum write an existing store under the writer lock, like a refresh. A
// PostgreSQL store is checked by the server, when Store::Open connects.
Result<std::unique_ptr<Store>> OpenForHousekeeping(const std::string& db) {
  std::error_code ec;
  if (!IsPostgresUri(db) && db != ":memory:" && !std::filesystem::exists(db, ec)) {
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
  if (db == ":memory:" || IsPostgresUri(db)) return {};
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
    fmt::print(env.err, "mdfetch: '{}' is read-only here: reading it as it is on disk{}\n",
               (*store)->Location(),
               wal == 0 ? std::string()
                        : fmt::format(" (its -wal file, {} bytes, is not read: a write not yet "
                                      "checkpointed into the database, if any, is missing)",
                                      wal));
  }
  return store;
}

std::string HideDbPassword(std::string_view text, const std::string& db) {
  if (!IsPostgresUri(db)) return std::string(text);
  const std::string shown = RedactDb(db);
  const std::vector<std::string> secrets = DbPasswords(db);
  // The URI as a whole becomes the redacted URI, which is kept as it is; the passwords are
  // masked in the text between (a common password such as "postgres" would otherwise turn
  // the scheme of every shown URI into "***ql://").
  std::string out;
  size_t from = 0;
  while (from <= text.size()) {
    size_t whole = text.find(db, from);
    size_t redacted = text.find(shown, from);
    size_t next = std::min(whole, redacted);
    std::string between(
        text.substr(from, next == std::string_view::npos ? text.npos : next - from));
    for (const std::string& secret : secrets) between = Redact(between, secret);
    out += between;
    if (next == std::string_view::npos) break;
    out += shown;
    from = next + (next == whole ? db.size() : shown.size());
  }
  return out;
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
  out += fmt::format("{}: removed {} series, {} and {}", store.Location(), removed->series,
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
  const FileSizes before = IsPostgresUri(db) ? FileSizes{} : SizesOf(db);
  auto writable = OpenForHousekeeping(db);
  if (!writable) return Exit(kExitUsage, "{}", writable.error().message);
  Store& store = **writable;
  auto info_before = store.FileInfo();
  if (!info_before) return Exit(kExitFailed, "{}", info_before.error().message);
  if (Status done = store.Vacuum(); !done) {
    return Exit(kExitFailed, "{}", done.error().message);
  }
  if (info_before->backend == "sqlite") {
    const FileSizes after = SizesOf(db);
    fmt::print(env.out, "{}: {} bytes before ({}), {} bytes after ({}), database and -wal\n",
               store.Location(), before.Total(), HumanSize(before.Total()), after.Total(),
               HumanSize(after.Total()));
    return kExitOk;
  }
  // PostgreSQL keeps the space VACUUM frees for new rows of the same tables; VACUUM FULL would
  // give it back but locks the tables while it rewrites them, which is the DBA's call.
  auto info_after = store.FileInfo();
  if (!info_after) return Exit(kExitFailed, "{}", info_after.error().message);
  fmt::print(env.out,
             "{}: VACUUM (ANALYZE) of mdfetch's tables: {} bytes before ({}), {} bytes after "
             "({}); freed space is reused by new rows, not given back (VACUUM FULL does that, "
             "locking the tables)\n",
             store.Location(), info_before->bytes,
             HumanSize(static_cast<uintmax_t>(info_before->bytes)), info_after->bytes,
             HumanSize(static_cast<uintmax_t>(info_after->bytes)));
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
  // SQLite: the files on disk; PostgreSQL: what the server says mdfetch's tables take.
  const bool sqlite = file->backend == "sqlite";
  const FileSizes sizes = sqlite ? SizesOf(db) : FileSizes{};
  const int64_t bytes = sqlite ? static_cast<int64_t>(sizes.db) : file->bytes;
  const int64_t per_bar = all.bars > 0 ? bytes / all.bars : 0;
  const std::string recorded =
      rate_at ? fmt::format("recorded by the refresh of {}", FormatUtc(*rate_at))
              : "the default: no refresh recorded one";
  // 0: no daily quota in the rate (or a recorded rate that no longer parses).
  const int64_t per_day = rate && rate->per_day ? *rate->per_day : 0;
  if (args.format == "json") {
    // The SQLite-only figures are null on another backend.
    auto sqlite_only = [sqlite](auto value) {
      return sqlite ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
    };
    nlohmann::ordered_json doc{{"version", 1},
                               {"database", db},
                               {"backend", file->backend},
                               {"read_only", (*store)->ReadOnlyMedia()},
                               {"bytes", bytes},
                               {"wal_bytes", sqlite_only(sizes.wal)},
                               {"schema_version", file->schema_version},
                               {"application_id", sqlite_only(file->application_id)},
                               {"free_pages", sqlite_only(file->free_pages)},
                               {"page_size", sqlite_only(file->page_size)}};
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
    doc["rate_recorded_at"] = rate_at ? nlohmann::ordered_json(IsoUtc(*rate_at)) : nullptr;
    doc["quota_per_day"] = per_day > 0 ? nlohmann::ordered_json(per_day) : nullptr;
    doc["calls_last_24h"] = calls->size();
    std::fputs((JsonText(doc, 2) + "\n").c_str(), env.out);
    return kExitOk;
  }
  std::string out;
  if (sqlite) {
    out += fmt::format("store       {}{}\n", db,
                       (*store)->ReadOnlyMedia() ? " (read-only media)" : "");
    out += fmt::format("size        {} bytes + {} bytes -wal ({}); {} free pages of {} bytes\n",
                       sizes.db, sizes.wal, HumanSize(sizes.Total()), file->free_pages,
                       file->page_size);
    out += fmt::format("schema      version {}, application_id {:#010x}\n", file->schema_version,
                       file->application_id);
  } else {
    out += fmt::format("store       {} ({})\n", db, file->backend);
    out += fmt::format("size        {} bytes ({}): mdfetch's tables and indexes\n", bytes,
                       HumanSize(static_cast<uintmax_t>(bytes)));
    out += fmt::format("schema      version {}\n", file->schema_version);
  }
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
