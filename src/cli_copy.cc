// `mdfetch copy --from SRC --to DST`: moves a whole store between any two backends through the
// Store interface (docs/postgresql.md, section 6): series, then bars in batches, then the call
// log in pages behind a high-water mark kept in DST, then facts and settings; then checks.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

// Bars per ImportBars call (one transaction each): large enough that a transaction's cost is
// spread thin, small enough that a batch is a few MB in memory.
constexpr size_t kBarsPerBatch = 100'000;
// Calls per ListCalls page (one ImportCalls transaction each).
constexpr int64_t kCallsPerPage = 10'000;
// The settings key prefix of the call log's high-water mark: the last SRC call id copied.
constexpr std::string_view kCallsFromPrefix = "copy.calls_from:";
// Settings a copy keeps for itself in DST (its marks, its probe): never copied from SRC.
constexpr std::string_view kCopyPrefix = "copy.";
// The settings key of the probe that tells whether SRC and DST are one store.
constexpr std::string_view kProbeKey = "copy.probe";
constexpr std::string_view kOriginFact = "origin";

// "1 fact", "5,012 calls".
std::string Counted(int64_t n, std::string_view what) {
  return fmt::format("{} {}{}", Grouped(n), what, n == 1 ? "" : "s");
}

// How a store is named in the high-water mark: a SQLite file by its absolute, normal path (so
// `a.db` and `./a.db` are one source), a PostgreSQL database by its redacted URI.
std::string SourceName(const std::string& db, const Store& store) {
  if (IsPostgresUri(db) || db == ":memory:") return store.Location();
  std::error_code ec;
  std::filesystem::path path = std::filesystem::weakly_canonical(db, ec);
  return ec ? store.Location() : path.string();
}

bool SameStore(const std::string& from, const std::string& to) {
  if (from == to) return true;
  if (IsPostgresUri(from) || IsPostgresUri(to)) return false;
  std::error_code ec;
  if (std::filesystem::equivalent(from, to, ec) && !ec) return true;
  const auto a = std::filesystem::weakly_canonical(from, ec);
  if (ec) return false;
  const auto b = std::filesystem::weakly_canonical(to, ec);
  return !ec && a == b;
}

// The progress line on a terminal's stderr, drawn at most once a second, cleared at the end.
class CopyProgress {
 public:
  CopyProgress(CliEnv& env, int64_t series, int64_t bars)
      : env_(env), series_total_(series), bars_total_(bars) {}
  ~CopyProgress() {
    if (drawn_) fmt::print(env_.err, "\r\x1b[K");
  }
  CopyProgress(const CopyProgress&) = delete;
  CopyProgress& operator=(const CopyProgress&) = delete;

  void Update(int64_t series_done, int64_t bars_done) {
    if (!env_.err_is_terminal) return;
    const SteadyTime now = env_.clock->Now();
    if (drawn_ && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    std::string line =
        fmt::format("copy: {}/{} series, {}/{} bars", Grouped(series_done), Grouped(series_total_),
                    Grouped(bars_done), Grouped(bars_total_));
    const size_t width = static_cast<size_t>(std::max(env_.err_columns, 2) - 1);
    if (line.size() > width) line.resize(width);
    fmt::print(env_.err, "\r\x1b[K{}", line);
    std::fflush(env_.err);
    drawn_ = true;
  }

 private:
  CliEnv& env_;
  int64_t series_total_;
  int64_t bars_total_;
  bool drawn_ = false;
  SteadyTime last_{};
};

// "simulated bars", "bars from Alpha Vantage".
std::string OriginText(std::string_view origin) {
  if (origin == "simulator") return "simulated bars";
  if (origin == "alphavantage") return "bars from Alpha Vantage";
  return fmt::format("bars of origin '{}'", origin);
}

bool HasBars(const std::vector<SeriesState>& series) {
  return std::any_of(series.begin(), series.end(),
                     [](const SeriesState& s) { return s.bar_count > 0; });
}

// Simulated and real bars never share a store (see CheckOrigin in cli_refresh.cc): a DST
// holding bars of the other origin is refused. A DST without bars takes SRC's origin.
Status CheckOrigins(Store& src, Store& dst, const std::vector<SeriesState>& dst_series) {
  auto from = src.GetFact(kOriginFact);
  if (!from) return std::unexpected(from.error());
  auto to = dst.GetFact(kOriginFact);
  if (!to) return std::unexpected(to.error());
  if (!*from || !*to || **from == **to || !HasBars(dst_series)) return {};
  return Fail(fmt::format(
      "'{}' holds {} and '{}' holds {}: a copy never mixes them; nothing copied (copy into "
      "another --to)",
      src.Location(), OriginText(**from), dst.Location(), OriginText(**to)));
}

// What one run did, and what it checks at the end.
struct CopyTally {
  int64_t series_done = 0;
  int64_t bars_done = 0;  // progress: bars copied or found already in DST
  int64_t bars_added = 0;
  int64_t calls_imported = 0;
  int64_t dst_calls_before = 0;
  int64_t last_src_call = 0;  // the high-water mark reached
};

// Streams the bars of `state` from `from_ts` on (inclusive; "" for all) into DST, kBarsPerBatch
// to a transaction.
Status CopyBars(Store& src, Store& dst, const SeriesState& state, const std::string& from_ts,
                CopyTally& tally, CopyProgress& progress) {
  std::vector<Bar> batch;
  batch.reserve(std::min<size_t>(kBarsPerBatch, static_cast<size_t>(state.bar_count) + 1));
  Status failed;
  auto flush = [&]() -> bool {
    auto added = dst.ImportBars(state.key, batch);
    if (!added) {
      failed = std::unexpected(added.error());
      return false;
    }
    tally.bars_added += *added;
    batch.clear();
    return true;
  };
  BarFilter filter;
  filter.from = from_ts;
  const std::vector<SeriesKey> keys{state.key};
  int64_t streamed = 0;
  Status read = src.ForEachBar(keys, filter, [&](const SeriesKey&, const Bar& bar) {
    batch.push_back(bar);
    ++streamed;
    if (batch.size() < kBarsPerBatch) return true;
    const bool ok = flush();
    progress.Update(tally.series_done, tally.bars_done + std::min(streamed, state.bar_count));
    return ok;
  });
  if (!failed) return failed;
  if (!read) return read;
  if (!batch.empty() && !flush()) return failed;
  return {};
}

// Whether DST's state of a series says it holds the bars SRC's state says SRC holds: the same
// answers stored (when, what they said is the newest) and the same bars (how many, first, last).
bool SameBars(const SeriesState& a, const SeriesState& b) {
  return a.last_success_at == b.last_success_at && a.last_attempt_at == b.last_attempt_at &&
         a.last_refreshed == b.last_refreshed && a.provisional_ts == b.provisional_ts &&
         a.bar_count == b.bar_count && a.first_ts == b.first_ts && a.last_ts == b.last_ts;
}

bool SameState(const SeriesState& a, const SeriesState& b) {
  return SameBars(a, b) && a.time_zone == b.time_zone && a.history_limited == b.history_limited &&
         a.needs_full == b.needs_full && a.deferred == b.deferred &&
         a.last_outcome == b.last_outcome && a.last_error == b.last_error;
}

// Series, then the bars of each. A series whose DST state equals SRC's is skipped. Any other is
// copied whole (upserts: an unchanged bar is left as it is), SRC's bars can have changed
// anywhere (a full refresh rewrites adjusted closes). DST's state is a bare key while the bars
// go in and SRC's state only once they all are: a copy killed midway never leaves DST claiming
// bars it lacks, and its state differs from SRC's, so the next run copies the series again.
Status CopySeries(Store& src, Store& dst, const std::vector<SeriesState>& series, CopyTally& tally,
                  CopyProgress& progress) {
  for (const SeriesState& state : series) {
    auto before = dst.Find(state.key);
    if (!before) return std::unexpected(before.error());
    if (!*before || !SameBars(**before, state)) {
      SeriesState bare;
      bare.key = state.key;
      if (Status done = dst.ImportSeries(bare); !done) return done;
      if (state.bar_count > 0) {
        if (Status done = CopyBars(src, dst, state, "", tally, progress); !done) return done;
      }
      if (Status done = dst.ImportSeries(state); !done) return done;
    } else if (!SameState(**before, state)) {
      if (Status done = dst.ImportSeries(state); !done) return done;
    }
    tally.series_done += 1;
    tally.bars_done += state.bar_count;
    progress.Update(tally.series_done, tally.bars_done);
  }
  return {};
}

// The high-water mark's value: "LAST" once the calls up to SRC id LAST are in DST, or
// "LAST NEXT COUNT" while the page (LAST, NEXT] is being imported into a DST log of COUNT rows.
struct CallMark {
  int64_t last = 0;
  std::optional<std::pair<int64_t, int64_t>> pending;  // NEXT, COUNT
};

std::optional<CallMark> ParseMark(const std::string& text) {
  CallMark mark;
  int64_t next = 0;
  int64_t count = 0;
  char extra = 0;
  const int n = std::sscanf(text.c_str(), "%" SCNd64 " %" SCNd64 " %" SCNd64 " %c", &mark.last,
                            &next, &count, &extra);
  if (n == 1) return mark;
  if (n != 3) return std::nullopt;
  mark.pending = std::pair{next, count};
  return mark;
}

// Where the log's copy stands. A page's import and its mark are two transactions, so the mark
// says "pending" first: a copy killed between them left DST's log either COUNT rows long (the
// page did not go in) or COUNT plus the page (it did).
Result<int64_t> CopiedUpTo(Store& src, Store& dst, const std::string& mark_key) {
  auto stored = dst.GetSetting(mark_key);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return 0;
  std::optional<CallMark> mark = ParseMark((*stored)->value);
  if (!mark) {
    return Fail(fmt::format("'{}': setting {} is not a call id: '{}'", dst.Location(), mark_key,
                            (*stored)->value));
  }
  if (!mark->pending) return mark->last;
  const auto [next, count] = *mark->pending;
  auto page = src.ListCalls(mark->last, kCallsPerPage);
  auto now = dst.CountCalls();
  if (!page) return std::unexpected(page.error());
  if (!now) return std::unexpected(now.error());
  const auto in_page = static_cast<int64_t>(
      std::count_if(page->begin(), page->end(), [next](const CallRow& c) { return c.id <= next; }));
  if (*now == count + in_page) return next;
  if (*now == count) return mark->last;
  return Fail(fmt::format(
      "'{}': a copy from this source stopped while importing calls {} to {}, and the call log "
      "changed since ({} rows, {} before): cannot tell whether they were copied",
      dst.Location(), mark->last + 1, next, *now, count));
}

// The call log in id order, a page per transaction, behind the high-water mark.
Status CopyCalls(Store& src, Store& dst, const std::string& mark_key, WallTime now,
                 CopyTally& tally) {
  auto copied = CopiedUpTo(src, dst, mark_key);
  if (!copied) return std::unexpected(copied.error());
  int64_t after = *copied;
  tally.last_src_call = after;
  auto before = dst.CountCalls();
  if (!before) return std::unexpected(before.error());
  tally.dst_calls_before = *before;
  int64_t count = *before;
  // SRC's newest call id at the start bounds the copy: calls logged in SRC meanwhile wait for the
  // next run, and a SRC that is DST after all (ids it gains from each page imported) cannot
  // keep the loop going for ever.
  int64_t end = after;
  for (;;) {
    auto page = src.ListCalls(end, kCallsPerPage);
    if (!page) return std::unexpected(page.error());
    if (page->empty()) break;
    end = page->back().id;
  }
  for (;;) {
    if (after >= end) return dst.SetSetting(mark_key, std::to_string(after), now);
    auto page = src.ListCalls(after, kCallsPerPage);
    if (!page) return std::unexpected(page.error());
    std::erase_if(*page, [end](const CallRow& c) { return c.id > end; });
    if (page->empty()) return dst.SetSetting(mark_key, std::to_string(after), now);
    const int64_t next = page->back().id;
    if (Status done = dst.SetSetting(mark_key, fmt::format("{} {} {}", after, next, count), now);
        !done) {
      return done;
    }
    if (Status done = dst.ImportCalls(*page); !done) return done;
    if (Status done = dst.SetSetting(mark_key, std::to_string(next), now); !done) return done;
    after = next;
    count += static_cast<int64_t>(page->size());
    tally.calls_imported += static_cast<int64_t>(page->size());
    tally.last_src_call = after;
  }
}

Status CopyFactsAndSettings(Store& src, Store& dst) {
  auto facts = src.ListFacts();
  if (!facts) return std::unexpected(facts.error());
  for (const NamedValue& fact : *facts) {
    if (Status done = dst.SetFact(fact.key, fact.value); !done) return done;
  }
  auto settings = src.ListSettings();
  if (!settings) return std::unexpected(settings.error());
  for (const NamedValue& setting : *settings) {
    // SRC's own marks and probes are about copies into SRC, not into DST.
    if (setting.key.starts_with(kCopyPrefix)) continue;
    if (Status done =
            dst.SetSetting(setting.key, setting.value, setting.set_at.value_or(WallTime{}));
        !done) {
      return done;
    }
  }
  return {};
}

// Every difference between SRC and DST that a complete copy rules out, one line each.
Result<std::vector<std::string>> Differences(Store& src, Store& dst,
                                             const std::vector<SeriesState>& series,
                                             const CopyTally& tally, int64_t src_calls) {
  std::vector<std::string> found;
  for (const SeriesState& state : series) {
    auto copy = dst.Find(state.key);
    if (!copy) return std::unexpected(copy.error());
    if (!*copy) {
      found.push_back(fmt::format("{}: missing in DST", Describe(state.key)));
    } else if ((*copy)->bar_count != state.bar_count || (*copy)->first_ts != state.first_ts ||
               (*copy)->last_ts != state.last_ts) {
      found.push_back(fmt::format("{}: {} ({} to {}) in SRC, {} ({} to {}) in DST",
                                  Describe(state.key), Counted(state.bar_count, "bar"),
                                  state.first_ts, state.last_ts, Counted((*copy)->bar_count, "bar"),
                                  (*copy)->first_ts, (*copy)->last_ts));
    }
  }
  auto dst_calls = dst.CountCalls();
  if (!dst_calls) return std::unexpected(dst_calls.error());
  if (*dst_calls - tally.dst_calls_before != tally.calls_imported) {
    found.push_back(fmt::format("calls: {} imported, but DST's log grew by {}",
                                Grouped(tally.calls_imported),
                                Grouped(*dst_calls - tally.dst_calls_before)));
  }
  if (*dst_calls < src_calls) {
    found.push_back(
        fmt::format("calls: {} in SRC, only {} in DST", Grouped(src_calls), Grouped(*dst_calls)));
  }
  auto facts = src.ListFacts();
  if (!facts) return std::unexpected(facts.error());
  for (const NamedValue& fact : *facts) {
    auto copy = dst.GetFact(fact.key);
    if (!copy) return std::unexpected(copy.error());
    if (*copy != fact.value) {
      found.push_back(fmt::format("fact {}: '{}' in SRC, {} in DST", fact.key, fact.value,
                                  *copy ? fmt::format("'{}'", **copy) : "none"));
    }
  }
  return found;
}

struct Stores {
  std::unique_ptr<Store> src;
  std::unique_ptr<Store> dst;
};

// 128 random bits in hex.
std::string Nonce() {
  std::random_device random;
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", random());
  return out;
}

// Whether SRC and DST are one store under two names (`db` and `db:5432`, a link to a file):
// a nonce written to DST, read back through SRC.
Result<bool> SameStoreProbe(Store& src, Store& dst, WallTime now) {
  const std::string nonce = Nonce();
  if (Status done = dst.SetSetting(kProbeKey, nonce, now); !done) {
    return std::unexpected(done.error());
  }
  auto seen = src.GetSetting(kProbeKey);
  if (!seen) return std::unexpected(seen.error());
  return *seen && (*seen)->value == nonce;
}

// Opens SRC read-only and DST as its writer, or says why not (exit 2: nothing copied).
Result<Stores> OpenStores(const CopyArgs& args, CliEnv& env) {
  if (SameStore(args.from, args.to)) {
    return Fail(fmt::format("--from and --to name the same store '{}'; nothing copied",
                            RedactDb(args.from)));
  }
  if (!IsPostgresUri(args.to)) {
    if (Status ok = CheckDbFolder(args.to); !ok) return std::unexpected(ok.error());
  }
  Stores stores;
  auto src = OpenStoreForReading(args.from, env);
  if (!src) return std::unexpected(src.error());
  stores.src = std::move(*src);
  auto dst = Store::Open(args.to, OpenMode::kWriter);
  if (!dst) return std::unexpected(dst.error());
  stores.dst = std::move(*dst);
  auto same = SameStoreProbe(*stores.src, *stores.dst, env.clock->WallNow());
  if (!same) return std::unexpected(same.error());
  if (*same) {
    return Fail(fmt::format("--from '{}' and --to '{}' are the same store; nothing copied",
                            RedactDb(args.from), RedactDb(args.to)));
  }
  return stores;
}

}  // namespace

Outcome RunCopy(const CopyArgs& args, CliEnv& env) {
  auto opened = OpenStores(args, env);
  if (!opened) return Exit(kExitUsage, "{}", opened.error().message);
  Store& src = *opened->src;
  Store& dst = *opened->dst;
  auto series = src.ListSeries();
  if (!series) return Exit(kExitFailed, "{}", series.error().message);
  auto dst_series = dst.ListSeries();
  if (!dst_series) return Exit(kExitFailed, "{}", dst_series.error().message);
  if (Status ok = CheckOrigins(src, dst, *dst_series); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  int64_t bars_total = 0;
  for (const SeriesState& state : *series) bars_total += state.bar_count;

  CopyTally tally;
  const std::string mark_key = std::string(kCallsFromPrefix) + SourceName(args.from, src);
  Status copied;
  {
    CopyProgress progress(env, static_cast<int64_t>(series->size()), bars_total);
    copied = CopySeries(src, dst, *series, tally, progress);
  }
  if (copied) copied = CopyCalls(src, dst, mark_key, env.clock->WallNow(), tally);
  if (copied) copied = CopyFactsAndSettings(src, dst);
  if (!copied) {
    return Exit(kExitFailed, "copy from '{}' to '{}' stopped: {} (run it again to finish)",
                src.Location(), dst.Location(), copied.error().message);
  }

  auto src_calls = src.CountCalls();
  auto facts = src.ListFacts();
  if (!src_calls || !facts) {
    return Exit(kExitFailed, "copy: {}", (!src_calls ? src_calls.error() : facts.error()).message);
  }
  auto differences = Differences(src, dst, *series, tally, *src_calls);
  if (!differences) return Exit(kExitFailed, "copy: {}", differences.error().message);
  if (!differences->empty()) {
    for (const std::string& line : *differences) fmt::print(env.err, "mdfetch: copy: {}\n", line);
    return Exit(kExitFailed, "copy from '{}' to '{}' not verified: {}", src.Location(),
                dst.Location(), Counted(static_cast<int64_t>(differences->size()), "difference"));
  }
  fmt::print(env.out, "copied and verified: {} series, {}, {}, {}\n",
             Grouped(static_cast<int64_t>(series->size())), Counted(bars_total, "bar"),
             Counted(*src_calls, "call"), Counted(static_cast<int64_t>(facts->size()), "fact"));
  return kExitOk;
}

}  // namespace mdfetch
