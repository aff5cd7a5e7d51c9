// The engine's writer (src/writer.h): answers stored over several PostgreSQL connections at
// once are each stored once and leave the store as one connection does; a lane's error reaches
// TakeErrors; a connection that cannot be opened means fewer lanes; SQLite gets none. The
// suites are named Engine* so that the ThreadSanitizer stage of .ci/run runs them.
#include "writer.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mdfetch/store.h"
#include "pg_conn.h"
#include "store_backends.h"

namespace mdfetch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `n` daily bars from 2020-01-01 on, closes from `first_close` up.
std::vector<Bar> Days(int n, double first_close) {
  std::vector<Bar> bars;
  for (int i = 0; i < n; ++i) {
    bars.push_back(
        MakeBar(fmt::format("{}-{:02}-{:02}", 2020 + i / 336, i / 28 % 12 + 1, i % 28 + 1),
                first_close + i));
  }
  return bars;
}

// The 5-minute bars of the first 20 days of `month` ("YYYY-MM"), 09:30 to 10:25.
std::vector<Bar> Minutes(const std::string& month) {
  std::vector<Bar> bars;
  for (int day = 1; day <= 20; ++day) {
    for (int m = 0; m < 60; m += 5) {
      bars.push_back(MakeBar(
          fmt::format("{}-{:02} {:02}:{:02}:00", month, day, 9 + (30 + m) / 60, (30 + m) % 60),
          100 + day + m / 100.0));
    }
  }
  return bars;
}

TEST(EngineWriterTest, ASqliteStoreGetsNoAnswerLaneAndKeepsOneOrder) {
  auto store = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(store) << store.error().message;
  auto more = (*store)->OpenConcurrentWriter();
  ASSERT_TRUE(more) << more.error().message;
  EXPECT_EQ(*more, nullptr);

  std::vector<std::string> order;  // written by the writer's threads only, read after Close
  std::set<std::thread::id> threads;
  std::set<Store*> stores;
  Writer writer(**store, 4);
  EXPECT_EQ(writer.AnswerLanes(), 0);
  auto task = [&](std::string name) {
    return [&, name](Store& s) {
      order.push_back(name);
      threads.insert(std::this_thread::get_id());
      stores.insert(&s);
      return Status{};
    };
  };
  writer.Post(task("post 1"));
  writer.PostAnswer(task("answer 1"));
  writer.Post(task("post 2"));
  writer.PostAnswer(task("answer 2"));
  writer.Close();
  EXPECT_THAT(order, ElementsAre("post 1", "answer 1", "post 2", "answer 2"));
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_THAT(stores, ElementsAre(store->get()));
}

class EngineWriterPgTest : public ::testing::Test {
 protected:
  void SetUp() override { MDFETCH_FRESH_PG_DATABASE(Backend::kPostgres, uri_); }

  std::string NewDatabase() {
    auto cluster = PgCluster::Shared();
    EXPECT_TRUE(cluster);
    if (!cluster) return "";
    auto uri = (*cluster)->NewDatabase();
    EXPECT_TRUE(uri) << uri.error().message;
    return uri ? *uri : "";
  }
  std::string Raw(const std::string& uri, const std::string& sql) const {
    return RawText(Backend::kPostgres, uri, sql);
  }

  std::string uri_;
};

// What StoreAll leaves, in a form two stores compare by.
struct Outcome {
  std::map<int64_t, std::string> counts;  // by fetch id: "added changed unchanged"
  std::vector<std::string> calls;         // the call log, one line a row
  std::vector<std::string> series;        // ListSeries, one line a series
  std::map<std::string, std::vector<Bar>> bars;
  std::set<std::thread::id> answer_threads;
};

// Eight daily histories and four backfill months of one intraday series (the same series
// on several lanes at once), each answer logged by BeginCall on the main thread first, then
// stored with PostAnswer, through a writer of `lanes` answer lanes on the store at `uri`.
Outcome StoreAll(const std::string& uri, int lanes) {
  Outcome out;
  auto store = Store::Open(uri, OpenMode::kReadWrite);
  EXPECT_TRUE(store) << store.error().message;
  if (!store) return out;
  const WallTime at = At(1'700'000'000'000);
  const SeriesKey minutes{"AAPL", Function::kIntraday, "5min"};
  std::vector<SeriesKey> keys;
  std::mutex mu;
  {
    Writer writer(**store, lanes);
    EXPECT_EQ(writer.AnswerLanes(), lanes);
    auto post = [&](const SeriesKey& key, std::vector<Bar> bars, const std::string& month) {
      auto id = writer.Call([&](Store& s) {
        return s.BeginCall(key, month.empty() ? OutputSize::kFull : OutputSize::kCompact, at,
                           month);
      });
      ASSERT_TRUE(id) << id.error().message;
      writer.PostAnswer([&, key, month, id = *id, bars = std::move(bars)](Store& s) -> Status {
        const SeriesMeta meta{key.symbol, "2024-01-01", "US/Eastern", "", key.interval};
        auto counts =
            s.StoreAnswer(id, key, meta, bars, false, CallRecord{"stored", 200, 99, ""}, at,
                          month.empty() ? StoreScope::kLatest : StoreScope::kBackfill);
        if (!counts) return std::unexpected(counts.error());
        std::lock_guard lock(mu);
        out.counts[id] = fmt::format("{} {} {}", counts->added, counts->changed, counts->unchanged);
        out.answer_threads.insert(std::this_thread::get_id());
        return Status{};
      });
    };
    for (int i = 0; i < 8; ++i) {
      keys.push_back(SeriesKey{fmt::format("SYM{}", i), Function::kDaily, ""});
      post(keys.back(), Days(400 + 50 * i, 10.0 * i), "");
    }
    keys.push_back(minutes);
    for (const char* month : {"2024-01", "2024-02", "2024-03", "2024-04"}) {
      post(minutes, Minutes(month), month);
    }
    writer.Close();
    for (const Error& error : writer.TakeErrors()) ADD_FAILURE() << error.message;
  }
  auto calls = (*store)->ListCalls(0, 100);
  EXPECT_TRUE(calls);
  for (const CallRow& c : *calls) {
    out.calls.push_back(fmt::format(
        "{} {} {} {} {} {} {} {} {} {}", c.id, c.series ? Describe(*c.series) : "-", c.outputsize,
        c.outcome, c.http_status, c.bytes, c.bars_new, c.bars_changed, c.bars_unchanged, c.month));
  }
  auto series = (*store)->ListSeries();
  EXPECT_TRUE(series);
  for (const SeriesState& s : *series) {
    out.series.push_back(fmt::format(
        "{} {} {} {} {} {} {}", Describe(s.key), s.bar_count, s.first_ts, s.last_ts, s.last_outcome,
        s.last_success_at ? "success" : "-", s.last_attempt_at ? "attempt" : "-"));
  }
  for (const SeriesKey& key : keys) {
    auto bars = (*store)->ReadBars(key, BarFilter{});
    EXPECT_TRUE(bars);
    out.bars[Describe(key)] = *bars;
  }
  auto check = (*store)->IntegrityCheck();
  EXPECT_TRUE(check);
  EXPECT_EQ(*check, "ok");
  return out;
}

TEST_F(EngineWriterPgTest, AnswersOverSeveralLanesAreStoredOnceAsOverOne) {
  const std::string one_lane = NewDatabase();
  ASSERT_FALSE(one_lane.empty());
  const Outcome one = StoreAll(one_lane, 0);
  const Outcome three = StoreAll(uri_, 3);

  EXPECT_EQ(one.answer_threads.size(), 1u);
  // The first three answers went to three lanes (the least busy, ties in turn).
  EXPECT_EQ(three.answer_threads.size(), 3u);
  EXPECT_EQ(three.counts, one.counts);
  EXPECT_EQ(three.counts.size(), 12u);
  EXPECT_EQ(three.calls, one.calls);
  EXPECT_EQ(three.series, one.series);
  EXPECT_EQ(three.bars, one.bars);
  // Each bar once: as many rows as the answers had bars, every call stored.
  EXPECT_EQ(Raw(uri_, "SELECT count(*) FROM bars"), std::to_string(8 * 400 + 50 * 28 + 4 * 240));
  EXPECT_EQ(Raw(uri_, "SELECT count(*) FROM fetches WHERE outcome = 'stored'"), "12");
  EXPECT_EQ(Raw(uri_, "SELECT bar_count FROM series WHERE symbol = 'AAPL'"), "960");
}

TEST_F(EngineWriterPgTest, ALanesErrorsReachTakeErrorsAndAFailedAnswerStoresNothing) {
  auto store = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_TRUE(store) << store.error().message;
  const SeriesKey ibm{"IBM", Function::kDaily, ""};
  std::vector<Bar> bars = Days(30, 100);
  bars[20].close = std::numeric_limits<double>::quiet_NaN();  // NOT NULL refuses it
  Writer writer(**store, 2);
  ASSERT_EQ(writer.AnswerLanes(), 2);
  auto id = writer.Call([&](Store& s) { return s.BeginCall(ibm, OutputSize::kFull, At(5'000)); });
  ASSERT_TRUE(id) << id.error().message;
  writer.PostAnswer([&](Store& s) -> Status {
    auto counts = s.StoreAnswer(*id, ibm, SeriesMeta{"IBM", "", "US/Eastern", "", ""}, bars, false,
                                CallRecord{"stored", 200, 10, ""}, At(5'000));
    if (!counts) return std::unexpected(counts.error());
    return Status{};
  });
  writer.PostAnswer([](Store&) -> Status { return Fail("the second lane's task failed"); });
  writer.Close();
  std::vector<std::string> messages;
  for (const Error& error : writer.TakeErrors()) messages.push_back(error.message);
  ASSERT_EQ(messages.size(), 2u);
  std::sort(messages.begin(), messages.end());
  EXPECT_EQ(messages[1], "the second lane's task failed");
  EXPECT_THAT(messages[0], HasSubstr("storing IBM failed: "));
  EXPECT_THAT(messages[0], HasSubstr("null value in column \"close\""));
  EXPECT_TRUE(writer.TakeErrors().empty());
  // All or nothing: the answer's transaction left no bar, and the call is still "sent".
  EXPECT_EQ(Raw(uri_, "SELECT count(*) FROM bars"), "0");
  EXPECT_EQ(Raw(uri_, "SELECT outcome FROM fetches"), "sent");
}

TEST_F(EngineWriterPgTest, AConnectionThatCannotOpenMeansFewerLanesNotAFailure) {
  auto store = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_TRUE(store) << store.error().message;
  // New sessions of this database are read-only: a writing connection cannot be set up (its
  // staging table is refused); the store already open writes on.
  const std::string database = Raw(uri_, "SELECT current_database()");
  ASSERT_EQ(Raw(uri_, fmt::format("ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
                                  database)),
            "");
  auto more = (*store)->OpenConcurrentWriter();
  ASSERT_FALSE(more);
  EXPECT_THAT(more.error().message, HasSubstr("read-only transaction"));

  Writer writer(**store, 2);
  EXPECT_EQ(writer.AnswerLanes(), 0);
  Store* ran_on = nullptr;
  writer.PostAnswer([&](Store& s) {
    ran_on = &s;
    return s.SetFact("k", "v");
  });
  writer.Close();
  EXPECT_TRUE(writer.TakeErrors().empty());
  EXPECT_EQ(ran_on, store->get());
  EXPECT_EQ(Raw(uri_, "SELECT value FROM facts WHERE key = 'k'"), "v");
}

TEST_F(EngineWriterPgTest, LanesOpenWhileTheMainThreadWorksAndAnswersWaitForNone) {
  // Every writing connection's set-up takes the migration lock (the key kApplicationId) for a
  // moment; held here, the lanes cannot finish opening. lock_timeout (the lanes use the main
  // store's URI) turns a writer that waited for its lanes before it started into a failure
  // rather than a hang.
  const std::string separator = uri_.find('?') == std::string::npos ? "?" : "&";
  auto store =
      Store::Open(uri_ + separator + "options=-clock_timeout%3D20000", OpenMode::kReadWrite);
  ASSERT_TRUE(store) << store.error().message;
  auto holder = PgConn::Connect(uri_, "test");
  ASSERT_TRUE(holder) << holder.error().message;
  ASSERT_TRUE((*holder)->Exec(fmt::format("SELECT pg_advisory_lock({})", kApplicationId)));

  Writer writer(**store, 2);
  // The main thread runs, and an answer goes there while no lane is open.
  auto fact = writer.Call([](Store& s) { return s.SetFact("k", "v"); });
  EXPECT_TRUE(fact);
  std::promise<Store*> early;
  writer.PostAnswer([&](Store& s) {
    early.set_value(&s);
    return Status{};
  });
  EXPECT_EQ(early.get_future().get(), store->get());
  ASSERT_TRUE((*holder)->Exec(fmt::format("SELECT pg_advisory_unlock({})", kApplicationId)));
  EXPECT_EQ(writer.AnswerLanes(), 2);
  std::promise<Store*> late;
  writer.PostAnswer([&](Store& s) {
    late.set_value(&s);
    return Status{};
  });
  Store* lane = late.get_future().get();
  EXPECT_NE(lane, store->get());
  writer.Close();
  EXPECT_TRUE(writer.TakeErrors().empty());
}

TEST_F(EngineWriterPgTest, AReadOnlyStoreOpensNoWriter) {
  { ASSERT_TRUE(Store::Open(uri_, OpenMode::kReadWrite)); }  // the schema
  auto store = Store::Open(uri_, OpenMode::kReadOnly);
  ASSERT_TRUE(store) << store.error().message;
  auto more = (*store)->OpenConcurrentWriter();
  ASSERT_TRUE(more) << more.error().message;
  EXPECT_EQ(*more, nullptr);
}

TEST_F(EngineWriterPgTest, AConcurrentWriterIsANewConnectionThatTakesNoWriterLock) {
  auto store = Store::Open(uri_, OpenMode::kWriter);
  ASSERT_TRUE(store) << store.error().message;
  auto more = (*store)->OpenConcurrentWriter();
  ASSERT_TRUE(more) << more.error().message;
  ASSERT_NE(*more, nullptr);
  EXPECT_EQ((*more)->Location(), (*store)->Location());
  ASSERT_TRUE((*more)->SetFact("from", "the second connection"));
  auto fact = (*store)->GetFact("from");
  ASSERT_TRUE(fact) << fact.error().message;
  EXPECT_EQ(*fact, "the second connection");
  EXPECT_EQ(Raw(uri_,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'mdfetch (%'"),
            "2");
}

}  // namespace
}  // namespace mdfetch
