// What is the PostgreSQL store's alone: its schema in native types, the identity check, the
// writer lock, redacted errors, bar text round trips and the copy methods. What both backends
// share is tested by store_test.cc's parameterised suite.
#include "store_pg.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mdfetch/store.h"
#include "pg_conn.h"
#include "store_backends.h"

namespace mdfetch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const SeriesKey kIbm{"IBM", Function::kDaily, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min"};

std::vector<std::string> Timestamps(const std::vector<Bar>& bars) {
  std::vector<std::string> out;
  for (const Bar& bar : bars) out.push_back(bar.ts);
  return out;
}

class StorePgTest : public ::testing::Test {
 protected:
  void SetUp() override { MDFETCH_FRESH_PG_DATABASE(Backend::kPostgres, uri_); }

  std::unique_ptr<Store> Open(OpenMode mode = OpenMode::kReadWrite) {
    auto store = Store::Open(uri_, mode);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }
  std::string Raw(const std::string& sql) const { return RawText(Backend::kPostgres, uri_, sql); }

  static void Put(Store& store, const SeriesKey& key, const std::vector<Bar>& bars,
                  WallTime at = At(5'000)) {
    auto call = store.BeginCall(key, OutputSize::kFull, at);
    ASSERT_TRUE(call) << call.error().message;
    auto counts = store.StoreAnswer(*call, key, SeriesMeta{key.symbol, "x", "US/Eastern", "", ""},
                                    bars, false, CallRecord{"stored", 200, 10, ""}, at);
    ASSERT_TRUE(counts) << counts.error().message;
  }

  std::string uri_;
};

TEST_F(StorePgTest, NewStoreGetsTheSchemaInItsOwnNamespace) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw("SELECT value FROM mdfetch.meta WHERE key = 'application'"), "mdft");
  EXPECT_EQ(Raw("SELECT value FROM mdfetch.meta WHERE key = 'schema_version'"),
            std::to_string(kPgSchemaVersion));
  EXPECT_EQ(Raw("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables "
                "WHERE schemaname = 'mdfetch'"),
            "bars bars_0 bars_1 bars_2 bars_3 facts fetches meta series settings");
  EXPECT_EQ(Raw("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
  auto info = store->FileInfo();
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->backend, "postgresql");
  EXPECT_EQ(info->schema_version, kPgSchemaVersion);
  EXPECT_EQ(info->application_id, kApplicationId);
  EXPECT_GT(info->bytes, 0);
  EXPECT_EQ(info->page_size, 0);
  EXPECT_EQ(store->Location(), uri_);
  ASSERT_TRUE(store->Vacuum());
  // Opening again migrates nothing.
  store.reset();
  ASSERT_NE(Open(OpenMode::kWriter), nullptr);
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.meta"), "2");
}

TEST_F(StorePgTest, ColumnsHaveNativeTypes) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, {MakeBar("2024-01-02", 185.64, 82488674)}, At(5'000));
  Put(*store, kAapl5, {MakeBar("2024-01-02 09:35:00", 0.1, 9.35943544)}, At(6'000));
  const auto type = [&](const char* table, const char* column) {
    return Raw(
        fmt::format("SELECT data_type FROM information_schema.columns WHERE "
                    "table_schema = 'mdfetch' AND table_name = '{}' AND column_name = '{}'",
                    table, column));
  };
  EXPECT_EQ(type("bars", "ts"), "timestamp without time zone");
  EXPECT_EQ(type("bars", "close"), "double precision");
  EXPECT_EQ(type("bars", "volume"), "double precision");
  EXPECT_EQ(type("fetches", "at"), "timestamp with time zone");
  EXPECT_EQ(type("series", "needs_full"), "boolean");
  EXPECT_EQ(Raw("SELECT string_agg(ts::text || ' ' || close || ' ' || volume, ', ' ORDER BY ts) "
                "FROM bars"),
            "2024-01-02 00:00:00 185.64 82488674, 2024-01-02 09:35:00 0.1 9.35943544");
  EXPECT_EQ(Raw("SELECT string_agg((at = timestamptz '1970-01-01 00:00:05+00')::text, ' ' "
                "ORDER BY id) FROM fetches"),
            "true false");
  EXPECT_EQ(Raw("SELECT last_success_at = timestamptz '1970-01-01 00:00:06+00' FROM series "
                "WHERE symbol = 'AAPL'"),
            "t");
}

TEST_F(StorePgTest, BarsGoInByBinaryCopyExactlyAndAnOddTimestampByTextAsBefore) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Values whose text is long or special, times at the ends of the range COPY is used for.
  Bar odd = MakeBar("1999-12-31 23:59:59", 0.1 + 0.2, 1e300);
  odd.open = -0.0;
  odd.high = std::numeric_limits<double>::infinity();
  odd.low = 1e-300;
  odd.adjusted_close = 1.0 / 3;
  odd.dividend = std::nullopt;
  odd.split_coefficient = 2;
  const std::vector<Bar> minutes = {MakeBar("1900-02-28 09:30:00", 1), odd,
                                    MakeBar("2000-01-01 00:00:00", 2),
                                    MakeBar("2024-02-29 16:00:00", 3)};
  Put(*store, kAapl5, minutes);
  const std::vector<Bar> back = store->ReadBars(kAapl5, {}).value();
  EXPECT_EQ(back, minutes);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_TRUE(std::signbit(back[1].open));
  EXPECT_EQ(Raw("SELECT string_agg(ts::text, ', ' ORDER BY ts) FROM bars"),
            "1900-02-28 09:30:00, 1999-12-31 23:59:59, 2000-01-01 00:00:00, 2024-02-29 16:00:00");
  // A timestamp the binary encoder does not read goes by text: the server's own error.
  auto call = store->BeginCall(kIbm, OutputSize::kFull, At(5'000));
  ASSERT_TRUE(call);
  const std::vector<Bar> days = {MakeBar("2024-01-02", 1), MakeBar("2023-02-29", 2)};
  auto counts = store->StoreAnswer(*call, kIbm, SeriesMeta{"IBM", "x", "US/Eastern", "", ""}, days,
                                   false, CallRecord{"stored", 200, 10, ""}, At(5'000));
  ASSERT_FALSE(counts);
  EXPECT_THAT(counts.error().message, HasSubstr("storing IBM failed: "));
  EXPECT_THAT(counts.error().message, HasSubstr("out of range"));
  EXPECT_EQ(Raw("SELECT count(*) FROM bars WHERE series_id <> (SELECT id FROM series WHERE "
                "symbol = 'AAPL')"),
            "0");
}

TEST_F(StorePgTest, BarTimestampsComeBackAsTheSqliteStoreWritesThem) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::vector<Bar> days = {MakeBar("2023-12-29", 1), MakeBar("2024-01-02", 2)};
  const std::vector<Bar> minutes = {MakeBar("2024-01-02 09:35:00", 3),
                                    MakeBar("2024-01-02 16:00:00", 4)};
  Put(*store, kIbm, days);
  Put(*store, kAapl5, minutes);
  EXPECT_EQ(store->ReadBars(kIbm, {}).value(), days);
  EXPECT_EQ(store->ReadBars(kAapl5, {}).value(), minutes);
  // from/to bound as timestamps: a date as `to` ends at that day's 00:00, as text did.
  EXPECT_THAT(Timestamps(store->ReadBars(kAapl5, {"2024-01-02", "2024-01-02 12:00:00"}).value()),
              ElementsAre("2024-01-02 09:35:00"));
  EXPECT_TRUE(store->ReadBars(kAapl5, {"", "2024-01-02"}).value().empty());
  std::vector<std::string> rows;
  ASSERT_TRUE(store->ForEachBar({}, {}, [&](const SeriesKey& key, const Bar& bar) {
    rows.push_back(Describe(key) + " " + bar.ts);
    return true;
  }));
  EXPECT_THAT(rows, ElementsAre("AAPL intraday:5min 2024-01-02 09:35:00",
                                "AAPL intraday:5min 2024-01-02 16:00:00", "IBM 2023-12-29",
                                "IBM 2024-01-02"));
  auto state = store->Find(kAapl5).value();
  ASSERT_TRUE(state);
  EXPECT_EQ(state->first_ts, "2024-01-02 09:35:00");
  EXPECT_EQ(store->Find(kIbm).value()->last_ts, "2024-01-02");
}

TEST_F(StorePgTest, ReadOnlyOpenOfAnEmptyDatabaseSaysThereIsNoDataAndCreatesNothing) {
  auto store = Store::Open(uri_, OpenMode::kReadOnly);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message, "no mdfetch data in '" + uri_ + "'");
  EXPECT_EQ(Raw("SELECT count(*) FROM pg_namespace WHERE nspname = 'mdfetch'"), "0");
}

TEST_F(StorePgTest, ForeignMdfetchSchemaIsRefusedAndLeftUntouched) {
  ASSERT_EQ(Raw("CREATE SCHEMA mdfetch; CREATE TABLE mdfetch.things(x int)"), "");
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kWriter, OpenMode::kReadOnly}) {
    auto store = Store::Open(uri_, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().message,
              "'" + uri_ +
                  "' is not an mdfetch store (its schema mdfetch has tables of its own and no "
                  "meta table); it was left untouched: pass another --db");
  }
  ASSERT_EQ(Raw("CREATE TABLE mdfetch.meta(key text PRIMARY KEY, value text NOT NULL); "
                "INSERT INTO mdfetch.meta VALUES ('application', 'other')"),
            "");
  auto store = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "'" + uri_ +
                "' is not an mdfetch store (its schema mdfetch has no meta row application = "
                "'mdft'); it was left untouched: pass another --db");
  EXPECT_EQ(Raw("SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables "
                "WHERE schemaname = 'mdfetch'"),
            "meta things");
}

TEST_F(StorePgTest, NewerSchemaIsRefused) {
  ASSERT_NE(Open(), nullptr);
  const int newer = kPgSchemaVersion + 1;
  ASSERT_EQ(
      Raw(fmt::format("UPDATE mdfetch.meta SET value = '{}' WHERE key = 'schema_version'", newer)),
      "");
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto store = Store::Open(uri_, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().message,
              fmt::format("database '{}' has schema version {}, newer than this mdfetch "
                          "understands ({})",
                          uri_, newer, kPgSchemaVersion));
  }
}

TEST_F(StorePgTest, SchemaOneGainsTheLeasesBackendAndLosesTheBarsForeignKey) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->BeginCall(SeriesKey{"IBM", Function::kDaily, ""}, OutputSize::kCompact,
                                 WallTime{} + std::chrono::hours(500000)));
  }
  // What a store of schema 1 looked like.
  ASSERT_EQ(Raw("ALTER TABLE mdfetch.series DROP COLUMN lease_backend"), "");
  ASSERT_EQ(Raw("ALTER TABLE mdfetch.bars ADD CONSTRAINT bars_series_id_fkey FOREIGN KEY "
                "(series_id) REFERENCES mdfetch.series(id) ON DELETE CASCADE"),
            "");
  ASSERT_EQ(Raw("UPDATE mdfetch.meta SET value = '1' WHERE key = 'schema_version'"), "");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw("SELECT value FROM mdfetch.meta WHERE key = 'schema_version'"),
            std::to_string(kPgSchemaVersion));
  EXPECT_EQ(Raw("SELECT count(*) || ' ' || count(lease_backend) FROM mdfetch.series"), "1 0");
  EXPECT_EQ(Raw("SELECT count(*) FROM pg_constraint WHERE conrelid = 'mdfetch.bars'::regclass "
                "AND contype = 'f'"),
            "0");
  auto calls = store->CountCalls();
  ASSERT_TRUE(calls);
  EXPECT_EQ(*calls, 1);
}

TEST_F(StorePgTest, SchemaTwoLosesTheIndexOnTsAndTheCrossSectionProbesThePrimaryKey) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, {MakeBar("2024-01-02", 10), MakeBar("2024-01-03", 11)});
  }
  // What a store of schema 2 looked like.
  ASSERT_EQ(Raw("CREATE INDEX bars_ts ON mdfetch.bars(ts)"), "");
  ASSERT_EQ(Raw("UPDATE mdfetch.meta SET value = '2' WHERE key = 'schema_version'"), "");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw("SELECT value FROM mdfetch.meta WHERE key = 'schema_version'"),
            std::to_string(kPgSchemaVersion));
  EXPECT_EQ(Raw("SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes "
                "WHERE schemaname = 'mdfetch' AND tablename = 'bars'"),
            "bars_pkey");
  // One date across the series reads as it did with the index.
  std::vector<std::string> seen;
  ASSERT_TRUE(store->ForEachBar({}, BarFilter{.from = "2024-01-03", .to = "2024-01-03 23:59:59"},
                                [&](const SeriesKey& key, const Bar& bar) {
                                  seen.push_back(key.symbol + " " + bar.ts);
                                  return true;
                                }));
  EXPECT_THAT(seen, ElementsAre("IBM 2024-01-03"));
}

TEST_F(StorePgTest, SchemaThreeMovesEveryBarIntoFourHashPartitions) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, {MakeBar("2024-01-02", 10), MakeBar("2024-01-03", 11)});
    Put(*store, kAapl5, {MakeBar("2024-01-02 09:35:00", 1)});
  }
  EXPECT_EQ(Raw("SELECT relkind FROM pg_class WHERE oid = 'mdfetch.bars'::regclass"), "p");
  EXPECT_EQ(Raw("SELECT string_agg(relid::regclass::text, ' ' ORDER BY relid::regclass::text) "
                "FROM pg_partition_tree('mdfetch.bars') WHERE isleaf"),
            "bars_0 bars_1 bars_2 bars_3");
  // What a store of schema 3 looked like: bars one table, with its delete trigger.
  ASSERT_EQ(Raw("ALTER TABLE mdfetch.bars RENAME TO bars_parted; "
                "ALTER INDEX mdfetch.bars_pkey RENAME TO bars_parted_pkey; "
                "DROP TRIGGER bars_deleted ON mdfetch.bars_parted; "
                "CREATE TABLE mdfetch.bars (LIKE mdfetch.bars_parted); "
                "ALTER TABLE mdfetch.bars ADD PRIMARY KEY (series_id, ts); "
                "INSERT INTO mdfetch.bars SELECT * FROM mdfetch.bars_parted; "
                "DROP TABLE mdfetch.bars_parted; "
                "CREATE TRIGGER bars_deleted AFTER DELETE ON mdfetch.bars REFERENCING OLD TABLE "
                "AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION mdfetch.bars_deleted(); "
                "UPDATE mdfetch.meta SET value = '3' WHERE key = 'schema_version'"),
            "");
  ASSERT_EQ(Raw("SELECT relkind FROM pg_class WHERE oid = 'mdfetch.bars'::regclass"), "r");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw("SELECT value FROM mdfetch.meta WHERE key = 'schema_version'"),
            std::to_string(kPgSchemaVersion));
  EXPECT_EQ(Raw("SELECT relkind FROM pg_class WHERE oid = 'mdfetch.bars'::regclass"), "p");
  EXPECT_EQ(Raw("SELECT count(*) FROM pg_partition_tree('mdfetch.bars') WHERE isleaf"), "4");
  EXPECT_EQ(Raw("SELECT to_regclass('mdfetch.bars_before_4') IS NULL"), "t");
  auto bars = store->ReadBars(kIbm, BarFilter{});
  ASSERT_TRUE(bars) << bars.error().message;
  EXPECT_THAT(Timestamps(*bars), ElementsAre("2024-01-02", "2024-01-03"));
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.bars"), "3");
  // Each series whole in one partition; deleting bars still lowers bar_count.
  EXPECT_EQ(Raw("SELECT count(DISTINCT tableoid) FROM mdfetch.bars WHERE series_id = "
                "(SELECT id FROM mdfetch.series WHERE symbol = 'IBM')"),
            "1");
  ASSERT_EQ(Raw("DELETE FROM mdfetch.bars WHERE ts = '2024-01-03'"), "");
  EXPECT_EQ(Raw("SELECT bar_count FROM mdfetch.series WHERE symbol = 'IBM'"), "1");
}

TEST_F(StorePgTest, SecondWriterIsRefusedNamingTheHolderUntilTheFirstCloses) {
  auto first = Open(OpenMode::kWriter);
  ASSERT_NE(first, nullptr);
  std::array<char, 256> host{};
  ASSERT_EQ(::gethostname(host.data(), host.size() - 1), 0);
  auto second = Store::Open(uri_, OpenMode::kWriter);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            fmt::format("{} is being refreshed by another mdfetch (pid {} on {}); try again when "
                        "it finishes",
                        uri_, ::getpid(), host.data()));
  // Readers and plain read-write opens are not kept out.
  EXPECT_NE(Open(OpenMode::kReadOnly), nullptr);
  EXPECT_NE(Open(OpenMode::kReadWrite), nullptr);
  first.reset();
  EXPECT_NE(Open(OpenMode::kWriter), nullptr);
}

TEST_F(StorePgTest, ReadOnlySessionRefusesWrites) {
  ASSERT_NE(Open(), nullptr);
  auto reader = Open(OpenMode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  Result<int64_t> call = reader->BeginCall(kIbm, OutputSize::kFull, At(1));
  ASSERT_FALSE(call);
  EXPECT_EQ(call.error().message,
            "logging a call for IBM failed: cannot execute INSERT in a read-only transaction");
}

TEST_F(StorePgTest, IntegrityCheckNamesWhatDisagrees) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, {MakeBar("2024-01-02", 1), MakeBar("2024-01-03", 2)});
  Put(*store, kAapl5, {MakeBar("2024-01-02 09:35:00", 3)});
  EXPECT_EQ(store->IntegrityCheck().value(), "ok");
  // The statement-level trigger keeps bar_count through a delete by hand.
  ASSERT_EQ(Raw("DELETE FROM mdfetch.bars WHERE ts = '2024-01-02'"), "");
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 1);
  EXPECT_EQ(store->IntegrityCheck().value(), "ok");
  ASSERT_EQ(Raw("UPDATE mdfetch.series SET bar_count = 7 WHERE symbol = 'AAPL'; "
                "UPDATE mdfetch.series SET provisional_ts = '2024-01-09' WHERE symbol = 'IBM'"),
            "");
  EXPECT_EQ(store->IntegrityCheck().value(),
            "series AAPL intraday:5min: bar_count 7, but 1 bars\n"
            "series IBM daily: provisional bar 2024-01-09 00:00:00 is not stored");
}

// PgConn prepares a statement text on its second run; what comes back does not change.
TEST_F(StorePgTest, StatementRunTwiceIsPreparedAndAnswersAsBefore) {
  ASSERT_NE(Open(), nullptr);  // the schema
  auto pg = PgConn::Connect(uri_, "test");
  ASSERT_TRUE(pg) << pg.error().message;
  PgConn& conn = **pg;
  auto add = [&](const std::string& sql, const char* value) -> std::string {
    auto rows = conn.Exec(sql, {std::string(value)});
    if (!rows) return "error: " + rows.error().message;
    return std::string(rows->Text(0, 0));
  };
  const std::string plus_one = "SELECT $1::int + 1";
  EXPECT_EQ(add(plus_one, "1"), "2");
  EXPECT_EQ(conn.PreparedCount(), 0);  // a text run once costs no Prepare
  EXPECT_EQ(add(plus_one, "2"), "3");
  EXPECT_EQ(conn.PreparedCount(), 1);
  EXPECT_EQ(add(plus_one, "41"), "42");
  EXPECT_EQ(conn.PreparedCount(), 1);
  EXPECT_EQ(conn.Exec("SELECT count(*) FROM pg_prepared_statements")->Text(0, 0), "1");

  // Prepared in a transaction that rolls back: still there, and the rows are the rollback's.
  const std::string count = "SELECT count(*) FROM mdfetch.facts WHERE key <> $1";
  ASSERT_TRUE(conn.Exec("BEGIN"));
  ASSERT_TRUE(conn.Exec("INSERT INTO mdfetch.facts VALUES ('k', 'v')"));
  EXPECT_EQ(add(count, ""), "1");
  EXPECT_EQ(add(count, ""), "1");
  EXPECT_EQ(conn.PreparedCount(), 2);
  ASSERT_TRUE(conn.Exec("ROLLBACK"));
  EXPECT_EQ(add(count, ""), "0");

  // An error reads the same on the first run, on the Prepare of the second and after.
  const std::string bad = "SELECT no_such_column FROM mdfetch.facts WHERE key = $1";
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(add(bad, "k"), "error: column \"no_such_column\" does not exist");
  }
  EXPECT_EQ(add("SELECT 1 / $1::int", "0"), "error: division by zero");
  EXPECT_EQ(add("SELECT 1 / $1::int", "0"), "error: division by zero");
  EXPECT_EQ(conn.PreparedCount(), 3);
}

TEST_F(StorePgTest, LazyTransactionCommitsWithoutTheFlushWaitAndLeavesTheSessionAsItWas) {
  auto pg = PgConn::Connect(uri_, "test");
  ASSERT_TRUE(pg) << pg.error().message;
  PgConn& conn = **pg;
  auto setting = [&] { return std::string(conn.Exec("SHOW synchronous_commit")->Text(0, 0)); };
  ASSERT_EQ(setting(), "on");  // the test server leaves it unset, as a user's server does
  ASSERT_TRUE(conn.Exec("CREATE TEMP TABLE t (v int)"));
  std::string inside;
  Status done = conn.InTransaction(
      [&]() -> Status {
        inside = setting();
        if (auto added = conn.Exec("INSERT INTO t VALUES (1)"); !added) {
          return std::unexpected(added.error());
        }
        return {};
      },
      PgCommit::kLazy);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(inside, "off");
  EXPECT_EQ(setting(), "on");
  EXPECT_EQ(conn.Exec("SELECT count(*) FROM t")->Text(0, 0), "1");  // committed

  // A failing body rolls back as a durable transaction does, and the session is as before.
  Status failed = conn.InTransaction(
      [&]() -> Status {
        if (auto added = conn.Exec("INSERT INTO t VALUES (2)"); !added) {
          return std::unexpected(added.error());
        }
        return Fail("stop");
      },
      PgCommit::kLazy);
  EXPECT_FALSE(failed);
  EXPECT_FALSE(conn.InTransaction());
  EXPECT_EQ(setting(), "on");
  EXPECT_EQ(conn.Exec("SELECT count(*) FROM t")->Text(0, 0), "1");

  done = conn.InTransaction([&]() -> Status {
    inside = setting();
    return {};
  });
  ASSERT_TRUE(done);
  EXPECT_EQ(inside, "on");  // kDurable: the session's own
}

TEST_F(StorePgTest, AnswersAndLeasesCommitLazilyUnlessSynchronousCommitWasSetForTheSession) {
  // One series through a shared fetcher's steps; returns the lazy transactions it took.
  auto run = [](Store& store) -> int64_t {
    auto* pg = dynamic_cast<PgStore*>(&store);
    if (pg == nullptr) return -1;
    const int64_t before = pg->LazyTransactions();
    const auto lease = std::chrono::minutes(10);
    auto claim = store.ClaimSeries(kIbm, "host:1:1", At(5'000), lease);
    EXPECT_TRUE(claim && claim->granted);
    auto call =
        store.ReserveCall(kIbm, OutputSize::kFull, At(5'000), "", RateSpec{}, "host:1:1", lease);
    EXPECT_TRUE(call) << call.error().message;
    auto counts = store.StoreAnswer(
        call ? call->fetch_id : 0, kIbm, SeriesMeta{"IBM", "x", "US/Eastern", "", ""},
        std::vector<Bar>{Bar{.ts = "2024-01-02", .open = 1, .high = 2, .low = 0.5, .close = 1.5}},
        false, CallRecord{"stored", 200, 10, ""}, At(5'000));
    EXPECT_TRUE(counts) << counts.error().message;
    EXPECT_TRUE(store.ReleaseSeries(kIbm, "host:1:1"));
    return pg->LazyTransactions() - before;
  };
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(run(*store), 3);  // the claim, the answer, the release; not the reserved call
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.bars"), "1");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.fetches WHERE outcome = 'stored'"), "1");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE lease_holder IS NULL"), "1");
  auto lane = store->OpenConcurrentWriter();
  ASSERT_TRUE(lane && *lane) << (lane ? "no lane" : lane.error().message);
  EXPECT_EQ(run(**lane), 3);
  store.reset();
  lane->reset();

  // Whoever sets it for the session, even to "on", is heard: here the URI's options.
  const std::string separator = uri_.find('?') == std::string::npos ? "?" : "&";
  for (const char* value : {"on", "off", "remote_apply"}) {
    auto set = Store::Open(uri_ + separator + "options=-csynchronous_commit%3D" + value,
                           OpenMode::kReadWrite);
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(run(**set), 0) << value;
  }
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.fetches WHERE outcome = 'stored'"), "5");
}

TEST_F(StorePgTest, PreparedStatementsStopAtTheLimitAndTheRestRunUnprepared) {
  auto pg = PgConn::Connect(uri_, "test");
  ASSERT_TRUE(pg) << pg.error().message;
  for (int i = 0; i < PgConn::kMaxPrepared + 6; ++i) {
    const std::string sql = fmt::format("SELECT $1::int + {}", i);
    for (int run = 0; run < 3; ++run) {
      auto rows = (*pg)->Exec(sql, {std::to_string(run)});
      ASSERT_TRUE(rows) << rows.error().message;
      EXPECT_EQ(rows->Text(0, 0), std::to_string(run + i));
    }
  }
  EXPECT_EQ((*pg)->PreparedCount(), PgConn::kMaxPrepared);
  EXPECT_EQ((*pg)->Exec("SELECT count(*) FROM pg_prepared_statements")->Text(0, 0),
            std::to_string(PgConn::kMaxPrepared));
}

// No cluster needed: libpq fails before it reaches a server.
TEST(StorePgErrorTest, PasswordNeverAppearsInAnError) {
  const std::string uri = "postgresql://u:SECRET@/nodb?host=/nonexistent";
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly, OpenMode::kWriter}) {
    auto store = Store::Open(uri, mode);
    ASSERT_FALSE(store);
    EXPECT_THAT(store.error().message,
                ::testing::StartsWith("cannot open database 'postgresql://u:***@/nodb?host="
                                      "/nonexistent': "));
    EXPECT_THAT(store.error().message, Not(HasSubstr("SECRET")));
  }
  auto keyword =
      Store::Open("postgres:///nodb?host=/nonexistent&password=SECRET", OpenMode::kReadWrite);
  ASSERT_FALSE(keyword);
  EXPECT_THAT(keyword.error().message, Not(HasSubstr("SECRET")));
  EXPECT_THAT(keyword.error().message, HasSubstr("password=***"));
}

// mdfetch copy's path: SQLite to PostgreSQL, every column of the series, bars, the call log,
// facts and settings; a second import adds nothing.
TEST_F(StorePgTest, CopyMethodsRoundTripFromSqlite) {
  auto from = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(from) << from.error().message;
  Store& src = **from;
  Put(src, kIbm, {MakeBar("2024-01-02", 1.5, std::nullopt), MakeBar("2024-01-03", 2.25)});
  Put(src, kAapl5, {MakeBar("2024-01-02 09:35:00", 0.1, 9.35943544)}, At(7'000));
  ASSERT_TRUE(src.SetDeferred(kIbm, true, "daily limit"));
  ASSERT_TRUE(src.FinishCall(0, kAapl5, {"throttled", 200, 1, "slow down"}));
  ASSERT_TRUE(src.BeginCall(kIbm, OutputSize::kCompact, At(8'000), "2024-01"));
  ASSERT_TRUE(src.SetFact("full_refused:daily", "1"));
  ASSERT_TRUE(src.SetSetting(kRateSetting, "5/min", At(9'000)));

  auto dst = Open();
  ASSERT_NE(dst, nullptr);
  auto series = src.ListSeries().value();
  for (const SeriesState& state : series) {
    ASSERT_TRUE(dst->ImportSeries(state));
    auto bars = src.ReadBars(state.key, {}).value();
    EXPECT_EQ(dst->ImportBars(state.key, bars).value(), static_cast<int64_t>(bars.size()));
    EXPECT_EQ(dst->ImportBars(state.key, bars).value(), 0);
    EXPECT_EQ(dst->ReadBars(state.key, {}).value(), bars);
  }
  auto copied = dst->ListSeries().value();
  ASSERT_EQ(copied.size(), series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    copied[i].id = series[i].id;
    EXPECT_EQ(copied[i].key, series[i].key);
    EXPECT_EQ(copied[i].time_zone, series[i].time_zone);
    EXPECT_EQ(copied[i].last_refreshed, series[i].last_refreshed);
    EXPECT_EQ(copied[i].deferred, series[i].deferred);
    EXPECT_EQ(copied[i].last_attempt_at, series[i].last_attempt_at);
    EXPECT_EQ(copied[i].last_success_at, series[i].last_success_at);
    EXPECT_EQ(copied[i].last_outcome, series[i].last_outcome);
    EXPECT_EQ(copied[i].last_error, series[i].last_error);
    EXPECT_EQ(copied[i].bar_count, series[i].bar_count);
    EXPECT_EQ(copied[i].first_ts, series[i].first_ts);
    EXPECT_EQ(copied[i].last_ts, series[i].last_ts);
  }
  auto calls = src.ListCalls(0, 100).value();
  ASSERT_EQ(calls.size(), 3u);
  ASSERT_TRUE(dst->ImportCalls(calls));
  auto back = dst->ListCalls(0, 100).value();
  ASSERT_EQ(back.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(back[i].at, calls[i].at);
    EXPECT_EQ(back[i].series, calls[i].series);
    EXPECT_EQ(back[i].outputsize, calls[i].outputsize);
    EXPECT_EQ(back[i].outcome, calls[i].outcome);
    EXPECT_EQ(back[i].bytes, calls[i].bytes);
    EXPECT_EQ(back[i].bars_new, calls[i].bars_new);
    EXPECT_EQ(back[i].month, calls[i].month);
  }
  EXPECT_EQ(dst->ListCalls(back[0].id, 1).value().front().id, back[1].id);
  EXPECT_EQ(dst->CountCalls().value(), 3);
  const std::vector<NamedValue> src_facts = src.ListFacts().value();
  const std::vector<NamedValue> src_settings = src.ListSettings().value();
  for (const NamedValue& fact : src_facts) {
    ASSERT_TRUE(dst->SetFact(fact.key, fact.value));
  }
  for (const NamedValue& setting : src_settings) {
    ASSERT_TRUE(dst->SetSetting(setting.key, setting.value, *setting.set_at));
  }
  auto facts = dst->ListFacts().value();
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].value, "1");
  auto settings = dst->ListSettings().value();
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_EQ(settings[0].set_at, At(9'000));
  EXPECT_EQ(dst->IntegrityCheck().value(), "ok");
  auto missing = dst->ImportBars(SeriesKey{"MSFT", Function::kDaily, ""}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "importing bars of MSFT failed: the series is not stored");
}

}  // namespace
}  // namespace mdfetch
