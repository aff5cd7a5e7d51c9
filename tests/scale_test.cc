// Many series (issue 13): what the planner reads of the store at once, and output that stays
// readable at 100,000 series (list's page on a terminal, the summary's counts).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli_commands.h"
#include "cli_harness.h"
#include "cli_output.h"
#include "engine_run.h"
#include "fake_clock.h"
#include "mdfetch/engine.h"
#include "mdfetch/planner.h"
#include "mdfetch/store.h"
#include "mdfetch/transport.h"

namespace mdfetch {
namespace {

SeriesState ScaleState(SeriesKey key, int64_t i) {
  return SeriesState{.key = std::move(key),
                     .time_zone = "US/Eastern",
                     .last_refreshed = "2026-11-20",
                     .last_success_at = WallTime(std::chrono::seconds(1'763'676'000 + i)),
                     .last_outcome = "stored"};
}

std::string ScaleSymbol(int i) { return fmt::format("S{:03}", i); }

class ScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    std::filesystem::remove(db_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Stores n daily series S000.. (no bars) in db_.
  void StoreSeries(int n) {
    auto store = Store::Open(db_, OpenMode::kReadWrite);
    ASSERT_TRUE(store);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          (*store)->ImportSeries(ScaleState(SeriesKey{ScaleSymbol(i), Function::kDaily, ""}, i)));
    }
  }

  // One folder per test process: ctest runs the cases of this fixture side by side.
  std::string dir_ =
      (std::filesystem::path(::testing::TempDir()) / fmt::format("mdfetch-scale-{}", ::getpid()))
          .string();
  std::string db_ = dir_ + "/s.db";
};

// Past 64 series the snapshot comes from one listing of the store: it must hold exactly what a
// look-up of each series finds, under the key asked for, and nothing of series not asked for.
TEST_F(ScaleTest, SnapshotOfManySeriesHoldsWhatFindingEachFinds) {
  auto store = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(store);
  const SeriesKey raw{"AAPL", Function::kIntraday, "5min", false, true};
  ASSERT_TRUE((*store)->ImportSeries(ScaleState(raw, 0)));
  ASSERT_TRUE(
      (*store)->ImportSeries(ScaleState(SeriesKey{"AAPL", Function::kIntraday, "5min"}, 1)));
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(
        (*store)->ImportSeries(ScaleState(SeriesKey{ScaleSymbol(i), Function::kDaily, ""}, i)));
  }
  // Asked: the raw intraday series, 80 stored daily ones (every other), 20 not stored, and the
  // weekly series of a stored symbol (not stored).
  std::vector<SeriesKey> asked = {raw, SeriesKey{"S000", Function::kWeekly, ""}};
  for (int i = 0; i < 160; i += 2) asked.push_back(SeriesKey{ScaleSymbol(i), Function::kDaily, ""});
  for (int i = 0; i < 20; ++i)
    asked.push_back(SeriesKey{fmt::format("N{}", i), Function::kDaily, ""});
  ASSERT_GT(asked.size(), 64u);

  Result<StoreSnapshot> snapshot = ReadSnapshot(**store, asked, {});
  ASSERT_TRUE(snapshot) << snapshot.error().message;
  size_t found = 0;
  for (const SeriesKey& key : asked) {
    auto each = (*store)->Find(key);
    ASSERT_TRUE(each);
    auto it = snapshot->series.find(key);
    ASSERT_EQ(it != snapshot->series.end(), each->has_value()) << Describe(key);
    if (!*each) continue;
    ++found;
    EXPECT_EQ(it->second.key, key);
    EXPECT_EQ(it->second.id, (**each).id);
    EXPECT_EQ(it->second.last_success_at, (**each).last_success_at);
  }
  EXPECT_EQ(found, 76u);  // the raw intraday series and S000, S002, ..., S148
  EXPECT_EQ(snapshot->series.size(), 76u);
}

// A refresh reads a big store without each series' newest bar: the series up to date are only
// marked (not held; EngineRun::Begin makes the same marks), the others read whole. The plan must be
// the one the whole snapshot gives, series by series, including the daily series that is up to date
// only by its newest bar.
TEST_F(ScaleTest, RefreshSnapshotMarksUpToDateSeriesAndPlansAsTheWholeSnapshot) {
  using std::chrono::hours;
  using std::chrono::minutes;
  const WallTime friday = std::chrono::sys_days(std::chrono::year{2026} / 11 / 20);
  const WallTime now = friday + hours(36);  // Saturday noon UTC
  auto store = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(store);
  std::vector<SeriesKey> asked;
  for (int i = 0; i < 120; ++i) {
    const SeriesKey key{ScaleSymbol(i), Function::kDaily, ""};
    SeriesState state = ScaleState(key, i);
    state.last_success_at = friday + hours(22);  // after the close and the publication lag
    std::string last_ts = "2026-11-20";
    switch (i % 6) {
      case 0:  // never stored a bar: due
        state.last_success_at.reset();
        break;
      case 1:  // up to date
        break;
      case 2:  // up to date, only the compact window could be had
        state.history_limited = true;
        break;
      case 3:  // remembered as unknown to the service
        state.last_outcome = "unknown";
        state.last_attempt_at = friday + hours(20);
        break;
      case 4:  // fetched Thursday: due, and left deferred by a quota stop
        state.last_success_at = friday - hours(2);
        state.deferred = true;
        last_ts = "2026-11-19";
        break;
      case 5:  // fetched 30 minutes after the close: up to date only as it holds Friday's bar
        state.last_success_at = friday + hours(21) + minutes(30);
        break;
    }
    ASSERT_TRUE((*store)->ImportSeries(state));
    if (i % 6 != 0) {
      const Bar bar{.ts = last_ts, .open = 1, .high = 2, .low = 1, .close = 2, .volume = 10};
      ASSERT_TRUE((*store)->ImportBars(key, std::span(&bar, 1)));
    }
    asked.push_back(key);
  }
  asked.push_back(asked[7]);                                  // asked twice
  asked.push_back(SeriesKey{"NEW", Function::kDaily, ""});    // not stored
  asked.push_back(SeriesKey{"S001", Function::kWeekly, ""});  // not stored

  Result<StoreSnapshot> whole = ReadSnapshot(**store, asked, {});
  Result<StoreSnapshot> marked = ReadSnapshot(**store, asked, {}, now);
  ASSERT_TRUE(whole && marked);
  EXPECT_TRUE(whole->up_to_date.empty());
  ASSERT_EQ(marked->up_to_date.size(), asked.size());
  EXPECT_EQ(marked->up_to_date[1], UpToDateMark::kYes);
  EXPECT_EQ(marked->up_to_date[2], UpToDateMark::kYesHistoryLimited);
  EXPECT_EQ(marked->up_to_date[5], UpToDateMark::kNo);  // decided on its newest bar
  EXPECT_EQ(marked->up_to_date[3], UpToDateMark::kNo);
  // Held whole: the due, unknown and half-hour series (4 kinds of 6); S007's twin is marked.
  EXPECT_EQ(marked->up_to_date[120], UpToDateMark::kYes);
  EXPECT_EQ(marked->series.size(), 80u);
  ASSERT_TRUE(marked->series.contains(asked[5]));
  EXPECT_EQ(marked->series.at(asked[5]).last_ts, "2026-11-20");
  EXPECT_FALSE(marked->series.contains(asked[1]));

  const Plan a = MakePlan(asked, *whole, now, {});
  const Plan b = MakePlan(asked, *marked, now, {});
  EXPECT_EQ(a.items, b.items);
  ASSERT_EQ(a.settled.size(), b.settled.size());
  for (size_t i = 0; i < a.settled.size(); ++i) {
    EXPECT_EQ(a.settled[i].item, b.settled[i].item);
    EXPECT_EQ(a.settled[i].verdict, b.settled[i].verdict);
    EXPECT_EQ(a.settled[i].reason, b.settled[i].reason);
    EXPECT_EQ(a.settled[i].history_limited, b.settled[i].history_limited);
  }
  ASSERT_EQ(a.calls.size(), b.calls.size());
  for (size_t i = 0; i < a.calls.size(); ++i) {
    EXPECT_EQ(a.calls[i].item, b.calls[i].item);
    EXPECT_EQ(a.calls[i].key, b.calls[i].key);
    EXPECT_EQ(a.calls[i].outputsize, b.calls[i].outputsize);
    EXPECT_EQ(a.calls[i].known_last, b.calls[i].known_last);
    EXPECT_EQ(a.calls[i].history_limited, b.calls[i].history_limited);
    EXPECT_EQ(a.calls[i].forced, b.calls[i].forced);
  }
  // What each kind became: up to date (1, 2, 5 and the twin of 7 = kind 1), unknown (3),
  // called (0, 4, NEW, the weekly): deferred ones first.
  EXPECT_EQ(b.settled.size(), 4u * 20 + 1);
  EXPECT_EQ(b.calls.size(), 2u * 20 + 2);
  EXPECT_EQ(b.calls.front().key, asked[4]);
  EXPECT_EQ(b.calls.front().known_last, "2026-11-19");
}

TEST_F(ScaleTest, ListOnATerminalShowsAPageAndHowManyMore) {
  StoreSeries(53);
  FakeClock clock;
  auto run = RunCliCaptured(clock, {"list", "--db", db_}, CliRun{.out_is_terminal = true});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  std::vector<std::string> lines;
  for (size_t at = 0, next; at < run.out.size(); at = next + 1) {
    next = run.out.find('\n', at);
    lines.push_back(run.out.substr(at, next - at));
  }
  ASSERT_EQ(lines.size(), 1 + kListPage + 1) << run.out;
  EXPECT_EQ(lines[1].substr(0, 5), "S000 ");
  EXPECT_EQ(lines[kListPage].substr(0, 5), "S049 ");
  EXPECT_EQ(lines.back(),
            "... and 3 more series (53 in all): mdfetch list | less, or --format csv|json");
  EXPECT_EQ(run.err, "");
}

TEST_F(ScaleTest, ListIntoAPipeOrAsCsvGivesEverySeries) {
  StoreSeries(53);
  FakeClock clock;
  auto table = RunCliCaptured(clock, {"list", "--db", db_});
  ASSERT_EQ(table.code, kExitOk) << table.err;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 54);
  EXPECT_EQ(table.out.find("more series"), std::string::npos);
  auto csv = RunCliCaptured(clock, {"list", "--db", db_, "--format", "csv"},
                            CliRun{.out_is_terminal = true});
  ASSERT_EQ(csv.code, kExitOk) << csv.err;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 54);
}

// list streams its rows as the store hands them: the same text as the whole list formatted at
// once, odd texts included (quotes, a line break, a comma, UTF-8, a byte that is not UTF-8).
TEST_F(ScaleTest, StreamedListIsTheWholeListFormatted) {
  {
    auto store = Store::Open(db_, OpenMode::kReadWrite);
    ASSERT_TRUE(store);
    for (int i = 0; i < 70; ++i) {
      SeriesState state = ScaleState(SeriesKey{ScaleSymbol(i), Function::kDaily, ""}, i);
      if (i % 7 == 3) state.last_error = "said \"no\",\nthen \xC3\xA9 and \xFF";
      if (i % 7 == 4) state.last_attempt_at.reset();
      ASSERT_TRUE((*store)->ImportSeries(state));
    }
  }
  auto store = Store::Open(db_, OpenMode::kReadOnly);
  ASSERT_TRUE(store);
  auto all = (*store)->ListSeries();
  ASSERT_TRUE(all);
  FakeClock clock;
  auto csv = RunCliCaptured(clock, {"list", "--db", db_, "--format", "csv"});
  auto json = RunCliCaptured(clock, {"list", "--db", db_, "--format", "json"});
  ASSERT_EQ(csv.code, kExitOk) << csv.err;
  ASSERT_EQ(json.code, kExitOk) << json.err;
  EXPECT_EQ(csv.out, SeriesCsv(*all));
  EXPECT_EQ(json.out, SeriesJson(*all));
  const auto doc = nlohmann::ordered_json::parse(json.out);
  ASSERT_EQ(doc["series"].size(), 70u);
  EXPECT_EQ(doc["series"][3]["last_error"], "said \"no\",\nthen \xC3\xA9 and \xEF\xBF\xBD");
  EXPECT_EQ(doc["series"][4]["last_attempt_at"], nullptr);
  EXPECT_EQ(JsonText(doc) + "\n", json.out);
}

TEST(SeriesTableTest, APageNoLongerThanTheListIsTheWholeTable) {
  std::vector<SeriesState> two = {ScaleState(SeriesKey{"A", Function::kDaily, ""}, 0),
                                  ScaleState(SeriesKey{"B", Function::kDaily, ""}, 0)};
  EXPECT_EQ(SeriesTable(two, 2), SeriesTable(two));
  EXPECT_EQ(SeriesTable(two, 1).substr(SeriesTable(two, 1).rfind("...")),
            "... and 1 more series (2 in all): mdfetch list | less, or --format csv|json\n");
}

// list --format json is written row by row: one valid document, in the compact form a whole
// document dumped at once takes.
TEST(SeriesJsonTest, RowByRowIsOneCompactDocument) {
  std::vector<SeriesState> series = {ScaleState(SeriesKey{"A", Function::kDaily, ""}, 0),
                                     ScaleState(SeriesKey{"B", Function::kMonthly, ""}, 1)};
  series[1].last_error = "say \"no\"\n";
  const std::string text = SeriesJson(series);
  const auto doc = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(JsonText(doc) + "\n", text);
  ASSERT_EQ(doc["series"].size(), 2u);
  EXPECT_EQ(doc["series"][0]["symbol"], "A");
  EXPECT_EQ(doc["series"][1]["last_error"], "say \"no\"\n");
  EXPECT_EQ(SeriesJson({}), "{\"series\":[]}\n");
}

TEST(GroupedTest, GroupsThousands) {
  EXPECT_EQ(Grouped(0), "0");
  EXPECT_EQ(Grouped(999), "999");
  EXPECT_EQ(Grouped(99'950), "99,950");
  EXPECT_EQ(Grouped(-1'120'000), "-1,120,000");
}

// The summary names 20 failed or deferred series, then counts the rest by what they say;
// --verbose names every one.
std::string ScaleSummary(int deferred, int failed, Verbosity verbosity) {
  RefreshSummary s;
  s.items = deferred + failed;
  s.by_status[static_cast<size_t>(SeriesStatus::kDeferred)] = deferred;
  s.by_status[static_cast<size_t>(SeriesStatus::kFailed)] = failed;
  std::vector<SeriesKey> keys;
  for (int i = 0; i < deferred + failed; ++i) {
    keys.push_back(SeriesKey{ScaleSymbol(i), Function::kDaily, ""});
  }
  VectorSource source(keys);
  RunResults results(source, {});
  for (int i = 0; i < deferred + failed; ++i) {
    const bool defer = i < deferred;
    results.Add(static_cast<size_t>(i),
                SeriesResult{.key = keys[static_cast<size_t>(i)],
                             .status = defer ? SeriesStatus::kDeferred : SeriesStatus::kFailed,
                             .reason = defer ? "the daily quota is spent" : "unknown symbol"});
  }
  RefreshArgs args;
  RunReport report{.args = &args, .summary = &s, .results = &results, .db = "m.db"};
  std::FILE* out = std::tmpfile();
  PrintSummary(out, report, verbosity);
  std::string text = ReadStream(out);
  std::fclose(out);
  return text;
}

TEST(SummaryAtScaleTest, NamesTwentySeriesThenCountsTheRestByReason) {
  std::string expected =
      "m.db: 25 series: 0 stored, 0 up to date, 2 failed, 23 deferred; 0 calls (0 throttled, 0 "
      "retried); 0 bars added, 0 changed\n";
  for (int i = 0; i < 20; ++i) {
    expected += fmt::format("  deferred {}: the daily quota is spent\n", ScaleSymbol(i));
  }
  expected +=
      "  3 more deferred: the daily quota is spent\n"
      "  2 more failed: unknown symbol\n"
      "  (each series: --verbose, or --report FILE)\n";
  EXPECT_EQ(ScaleSummary(23, 2, Verbosity::kNormal), expected);
}

TEST(SummaryAtScaleTest, QuietCountsTooAndVerboseNamesEverySeries) {
  const std::string quiet = ScaleSummary(21, 0, Verbosity::kQuiet);
  EXPECT_EQ(quiet.substr(quiet.find("mdfetch: deferred S019")),
            "mdfetch: deferred S019: the daily quota is spent\n"
            "mdfetch: 1 more deferred: the daily quota is spent\n"
            "mdfetch: (each series: --verbose, or --report FILE)\n");
  const std::string verbose = ScaleSummary(21, 1, Verbosity::kVerbose);
  EXPECT_NE(verbose.find("  deferred S020: the daily quota is spent\n"), std::string::npos);
  EXPECT_NE(verbose.find("  failed S021: unknown symbol\n"), std::string::npos);
  EXPECT_EQ(verbose.find("more"), std::string::npos);
}

TEST(SummaryAtScaleTest, TwentyAreNamedWithoutACount) {
  const std::string text = ScaleSummary(20, 0, Verbosity::kNormal);
  EXPECT_NE(text.find("  deferred S019: the daily quota is spent\n"), std::string::npos);
  EXPECT_EQ(text.find("more"), std::string::npos);
}

// A run where the plan settles every series draws the progress line once, not once a series.
TEST(ProgressAtScaleTest, SeriesSettledByThePlanAreReportedOnce) {
  FakeClock clock;
  auto store = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(store);
  std::vector<SeriesKey> keys;
  for (int i = 0; i < 100; ++i) {
    SeriesState state = ScaleState(SeriesKey{ScaleSymbol(i), Function::kMonthly, ""}, i);
    state.last_success_at = clock.WallNow();  // monthly: up to date until the next close
    ASSERT_TRUE((*store)->ImportSeries(state));
    const Bar bar{.ts = "2026-10-30", .open = 1, .high = 1, .low = 1, .close = 1};
    ASSERT_TRUE((*store)->ImportBars(state.key, std::span(&bar, 1)));
    keys.push_back(state.key);
  }
  int transports = 0;
  Engine engine(
      clock,
      [&transports]() -> std::unique_ptr<Transport> {
        ++transports;
        return nullptr;
      },
      **store, EngineOptions{});
  std::vector<Progress> drawn;
  RefreshSummary summary = engine.Run(keys, [&drawn](const Progress& p) { drawn.push_back(p); });
  EXPECT_EQ(summary.Count(SeriesStatus::kUpToDate), 100);
  EXPECT_EQ(transports, 0);
  ASSERT_EQ(drawn.size(), 1u);
  EXPECT_EQ(drawn[0].settled, 100);
  EXPECT_EQ(drawn[0].total, 100);
  EXPECT_EQ(drawn[0].calls, 0);
  EXPECT_EQ(drawn[0].last, "S099 monthly");
}

// The summary and the report read a run's results back from RunResults in the order given,
// whatever order they came in, with what each said.
TEST(RunResultsTest, GivesBackEachResultInTheOrderGivenWithItsDetail) {
  std::vector<SeriesKey> keys = {{"A", Function::kIntraday, "5min"},
                                 {"B", Function::kIntraday, "5min"}};
  VectorSource source(keys);
  RunResults results(source, {"2024-01", "2024-02"});
  results.Add(3, SeriesResult{.key = keys[1],
                              .month = "2024-02",
                              .status = SeriesStatus::kDeferred,
                              .reason = "later"});
  results.Add(0, SeriesResult{.key = keys[0],
                              .month = "2024-01",
                              .status = SeriesStatus::kStored,
                              .counts = {.added = 7},
                              .calls = 2,
                              .outputsize = OutputSize::kFull});
  results.Add(1, SeriesResult{.key = keys[0],
                              .month = "2024-02",
                              .status = SeriesStatus::kUpToDate,
                              .history_limited = true});
  results.Add(2, SeriesResult{.key = keys[1],
                              .month = "2024-01",
                              .status = SeriesStatus::kDeferred,
                              .reason = "later"});
  std::vector<SeriesResult> seen;
  results.ForEach([&](const SeriesResult& r) { seen.push_back(r); });
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(Describe(seen[0]), "A intraday:5min month=2024-01");
  EXPECT_EQ(seen[0].status, SeriesStatus::kStored);
  EXPECT_EQ(seen[0].counts.added, 7);
  EXPECT_EQ(seen[0].calls, 2);
  EXPECT_EQ(seen[0].outputsize, OutputSize::kFull);
  EXPECT_EQ(Describe(seen[1]), "A intraday:5min month=2024-02");
  EXPECT_EQ(seen[1].status, SeriesStatus::kUpToDate);
  EXPECT_TRUE(seen[1].history_limited);
  EXPECT_EQ(seen[1].calls, 0);
  EXPECT_EQ(Describe(seen[3]), "B intraday:5min month=2024-02");
  EXPECT_EQ(seen[2].reason, "later");
  EXPECT_EQ(seen[3].reason, "later");
  EXPECT_EQ(seen[3].status, SeriesStatus::kDeferred);
  EXPECT_EQ(results.series(), 2);
}

}  // namespace
}  // namespace mdfetch
