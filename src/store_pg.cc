// The PostgreSQL store's connection: opening, the schema and its migrations, the identity
// check, the writer lock, facts and the integrity check (docs/postgresql.md, section 4).
#include <fmt/format.h>
#include <unistd.h>

#include <array>

#include "store_pg_internal.h"

namespace mdfetch {
namespace {

// The advisory lock keys: kApplicationId alone (a bigint key) serialises migrations; the
// pair (kApplicationId, 1) is the writer lock, held by a session for the store's life.
constexpr int64_t kMigrationLock = kApplicationId;
constexpr int kWriterLockSub = 1;

// Migration N takes the schema from version N-1 to N, in one transaction with the version
// update. Never edit one that has shipped: add the next.
constexpr std::array<const char*, kPgSchemaVersion> kPgMigrations{{
    R"sql(
CREATE TABLE IF NOT EXISTS mdfetch.meta(key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE mdfetch.series(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  symbol text COLLATE "C" NOT NULL, function text COLLATE "C" NOT NULL,
  interval text COLLATE "C" NOT NULL DEFAULT '', options text COLLATE "C" NOT NULL DEFAULT '',
  time_zone text NOT NULL DEFAULT '',
  last_refreshed text NOT NULL DEFAULT '',
  history_limited boolean NOT NULL DEFAULT false,
  needs_full boolean NOT NULL DEFAULT false,
  deferred boolean NOT NULL DEFAULT false,
  last_attempt_at timestamptz, last_success_at timestamptz,
  last_outcome text NOT NULL DEFAULT '', last_error text NOT NULL DEFAULT '',
  bar_count bigint NOT NULL DEFAULT 0,
  provisional_ts timestamp,
  lease_holder text, lease_expires timestamptz,
  UNIQUE(symbol, function, interval, options));
CREATE TABLE mdfetch.bars(
  series_id bigint NOT NULL REFERENCES mdfetch.series(id) ON DELETE CASCADE,
  ts timestamp NOT NULL,
  open double precision NOT NULL, high double precision NOT NULL,
  low double precision NOT NULL, close double precision NOT NULL,
  volume double precision,
  adjusted_close double precision, dividend double precision,
  split_coefficient double precision,
  PRIMARY KEY(series_id, ts));
CREATE INDEX bars_ts ON mdfetch.bars(ts);
CREATE FUNCTION mdfetch.bars_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE mdfetch.series AS s SET bar_count = s.bar_count - d.n
    FROM (SELECT series_id, count(*) AS n FROM old_bars GROUP BY series_id) AS d
    WHERE s.id = d.series_id;
  RETURN NULL;
END $$;
CREATE TRIGGER bars_deleted AFTER DELETE ON mdfetch.bars
  REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION mdfetch.bars_deleted();
CREATE TABLE mdfetch.fetches(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  series_id bigint REFERENCES mdfetch.series(id),
  outputsize text NOT NULL DEFAULT '', outcome text NOT NULL,
  http_status integer NOT NULL DEFAULT 0, bytes bigint NOT NULL DEFAULT 0,
  bars_new bigint NOT NULL DEFAULT 0, bars_changed bigint NOT NULL DEFAULT 0,
  bars_unchanged bigint NOT NULL DEFAULT 0, error text NOT NULL DEFAULT '',
  month text NOT NULL DEFAULT '',
  holder text NOT NULL DEFAULT '');
CREATE INDEX fetches_at ON mdfetch.fetches(at);
CREATE INDEX fetches_series_month ON mdfetch.fetches(series_id, month) WHERE month <> '';
CREATE TABLE mdfetch.facts(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE mdfetch.settings(key text COLLATE "C" PRIMARY KEY, value text NOT NULL,
                              set_at timestamptz NOT NULL);
)sql",
    // 2: the server process of the connection that holds a series' lease: a lease whose
    // holder's connection is gone (its fetcher was killed) is free before it expires. And no
    // foreign key from bars to series: checking it was 38% of the server's time per stored
    // bar (docs/performance.md), and every bar is written after its series row is found or
    // created in the same transaction, and `remove` deletes the bars itself.
    R"sql(
ALTER TABLE mdfetch.series ADD COLUMN lease_backend integer;
ALTER TABLE mdfetch.bars DROP CONSTRAINT IF EXISTS bars_series_id_fkey;
)sql",
    // 3: no index bars_ts on bars(ts). mdfetch's own one-date cross-section (ForEachBar with
    // from = to) joins series to bars and probes the primary key (series_id, ts) once per
    // series; keeping bars_ts up to date was a third of the server's CPU per stored bar
    // (docs/performance.md, "Several writer connections"). A DBA who queries one date across
    // all series by hand may create it again: mdfetch neither needs nor minds it.
    R"sql(
DROP INDEX IF EXISTS mdfetch.bars_ts;
)sql",
    // 4: bars in four partitions by hash of series_id. A refresh stores answers over several
    // connections at once, and PostgreSQL (before 16) grows a table one page at a time under
    // one lock, so two of them appending to one table took turns: a fifth of their time in
    // the 200-history ingest, 9% of its wall (docs/performance.md, issue 11). Each series'
    // bars stay in one partition, and a query of one series reads only it. The stored bars
    // move over in this one transaction; a bars table that is partitioned already is kept.
    R"sql(
DO $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'mdfetch.bars'::regclass) = 'r' THEN
    ALTER TABLE mdfetch.bars RENAME TO bars_before_4;
    ALTER INDEX mdfetch.bars_pkey RENAME TO bars_before_4_pkey;
    DROP TRIGGER bars_deleted ON mdfetch.bars_before_4;
    CREATE TABLE mdfetch.bars(
      series_id bigint NOT NULL,
      ts timestamp NOT NULL,
      open double precision NOT NULL, high double precision NOT NULL,
      low double precision NOT NULL, close double precision NOT NULL,
      volume double precision,
      adjusted_close double precision, dividend double precision,
      split_coefficient double precision,
      PRIMARY KEY(series_id, ts)) PARTITION BY HASH (series_id);
    CREATE TABLE mdfetch.bars_0 PARTITION OF mdfetch.bars FOR VALUES WITH (MODULUS 4, REMAINDER 0);
    CREATE TABLE mdfetch.bars_1 PARTITION OF mdfetch.bars FOR VALUES WITH (MODULUS 4, REMAINDER 1);
    CREATE TABLE mdfetch.bars_2 PARTITION OF mdfetch.bars FOR VALUES WITH (MODULUS 4, REMAINDER 2);
    CREATE TABLE mdfetch.bars_3 PARTITION OF mdfetch.bars FOR VALUES WITH (MODULUS 4, REMAINDER 3);
    INSERT INTO mdfetch.bars SELECT series_id, ts, open, high, low, close, volume,
      adjusted_close, dividend, split_coefficient FROM mdfetch.bars_before_4;
    DROP TABLE mdfetch.bars_before_4;
    CREATE TRIGGER bars_deleted AFTER DELETE ON mdfetch.bars REFERENCING OLD TABLE AS old_bars
      FOR EACH STATEMENT EXECUTE FUNCTION mdfetch.bars_deleted();
  END IF;
END $$;
)sql",
}};

std::string NotOurs(const std::string& name, const std::string& why) {
  return fmt::format("'{}' is not an mdfetch store ({}); it was left untouched: pass another --db",
                     name, why);
}

std::string TooNew(const std::string& name, int version) {
  return fmt::format(
      "database '{}' has schema version {}, newer than this mdfetch understands ({})", name,
      version, kPgSchemaVersion);
}

// What the database holds of mdfetch: -1 when it has no schema `mdfetch` (or an empty one),
// else meta's schema_version (0 before the first migration committed). Refuses a schema
// `mdfetch` that is someone else's. Reads only.
Result<int> StoredVersion(PgConn& pg) {
  auto objects = pg.Exec(
      "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'mdfetch'), "
      "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'mdfetch'), to_regclass('mdfetch.meta') IS NOT NULL");
  if (!objects) return std::unexpected(objects.error());
  if (objects->Int(0, 0) == 0 || objects->Int(0, 1) == 0) return -1;
  if (!objects->Bool(0, 2)) {
    return Fail(NotOurs(pg.Name(), "its schema mdfetch has tables of its own and no meta table"));
  }
  auto meta = pg.Exec(
      "SELECT (SELECT value FROM mdfetch.meta WHERE key = 'application'), "
      "(SELECT value FROM mdfetch.meta WHERE key = 'schema_version')");
  if (!meta) return std::unexpected(meta.error());
  if (meta->IsNull(0, 0) || meta->Text(0, 0) != "mdft") {
    return Fail(NotOurs(pg.Name(), "its schema mdfetch has no meta row application = 'mdft'"));
  }
  if (meta->IsNull(0, 1)) return 0;
  return static_cast<int>(meta->Int(0, 1));
}

// Creates or upgrades the schema in one transaction, re-reading the version under the
// migration lock in case another mdfetch migrated it meanwhile.
Status Migrate(PgConn& pg) {
  return pg.InTransaction([&]() -> Status {
    if (auto locked = pg.Exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLock));
        !locked) {
      return std::unexpected(locked.error());
    }
    Result<int> version = StoredVersion(pg);
    if (!version) return std::unexpected(version.error());
    if (*version > kPgSchemaVersion) return Fail(TooNew(pg.Name(), *version));
    if (*version == kPgSchemaVersion) return {};
    if (*version < 0) {
      if (auto made = pg.Exec("CREATE SCHEMA IF NOT EXISTS mdfetch"); !made) {
        return std::unexpected(made.error());
      }
    }
    for (int next = std::max(*version, 0) + 1; next <= kPgSchemaVersion; ++next) {
      if (auto done = pg.Exec(kPgMigrations[static_cast<size_t>(next - 1)]); !done) {
        return std::unexpected(done.error());
      }
    }
    auto stamped = pg.Exec(fmt::format(
        "INSERT INTO mdfetch.meta(key, value) VALUES ('application', 'mdft'), "
        "('schema_version', '{}') ON CONFLICT(key) DO UPDATE SET value = EXCLUDED.value",
        kPgSchemaVersion));
    if (!stamped) return std::unexpected(stamped.error());
    return {};
  });
}

// Brings a fresh connection to the state every method expects; says how the transactions
// that a crash of the server may lose at no cost commit (PgStore::repairable_commit_).
Result<PgCommit> Setup(PgConn& pg, OpenMode mode) {
  std::string session =
      "SET search_path = mdfetch; SET DateStyle = ISO; SET TimeZone = 'UTC'; "
      "SET client_encoding = 'UTF8'; "
      "SET extra_float_digits = 1; SET client_min_messages = warning";
  if (mode == OpenMode::kReadOnly) session += "; SET default_transaction_read_only = on";
  // The last statement's rows are what PQexec returns: whether anyone set synchronous_commit
  // for this session (configuration file, ALTER ROLE / DATABASE, PGOPTIONS, the URI's options).
  session += "; SELECT source <> 'default' FROM pg_settings WHERE name = 'synchronous_commit'";
  auto set = pg.Exec(session);
  if (!set) return std::unexpected(set.error());
  const PgCommit repairable =
      set->Rows() == 1 && !set->Bool(0, 0) ? PgCommit::kLazy : PgCommit::kDurable;
  if (mode != OpenMode::kReadOnly) {
    // A foreign schema is refused before anything is written (Migrate checks again).
    if (Result<int> version = StoredVersion(pg); !version) return std::unexpected(version.error());
    if (Status migrated = Migrate(pg); !migrated) return std::unexpected(migrated.error());
    // The staging table of the merge (store_pg_write.cc), made once per connection and
    // outside any transaction, so that no rollback takes it away.
    auto staging = pg.Exec("CREATE TEMP TABLE incoming (LIKE mdfetch.bars) ON COMMIT DELETE ROWS");
    if (!staging) return std::unexpected(staging.error());
    return repairable;
  }
  Result<int> version = StoredVersion(pg);
  if (!version) return std::unexpected(version.error());
  if (*version <= 0) {
    return Fail(ErrorCode::kNoStore, fmt::format("no mdfetch data in '{}'", pg.Name()));
  }
  if (*version > kPgSchemaVersion) return Fail(TooNew(pg.Name(), *version));
  if (*version < kPgSchemaVersion) {
    return Fail(fmt::format(
        "database '{}' has schema version {}, older than this mdfetch needs ({}); open it "
        "once for writing (e.g. refresh) to upgrade it",
        pg.Name(), *version, kPgSchemaVersion));
  }
  return repairable;
}

std::string ApplicationName() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return fmt::format("mdfetch (pid {} on {})", ::getpid(), host.data());
}

// Takes the writer lock, or says who holds it.
Status TakeWriterLock(PgConn& pg) {
  auto taken =
      pg.Exec(fmt::format("SELECT pg_try_advisory_lock({}, {})", kApplicationId, kWriterLockSub));
  if (!taken) return std::unexpected(taken.error());
  if (taken->Bool(0, 0)) return {};
  auto holder = pg.Exec(
      fmt::format("SELECT a.application_name, a.pid FROM pg_locks AS l "
                  "JOIN pg_stat_activity AS a ON a.pid = l.pid "
                  "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {} AND l.objid = {} "
                  "AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database "
                  "WHERE datname = current_database()) LIMIT 1",
                  kApplicationId, kWriterLockSub));
  std::string who;
  if (holder && holder->Rows() == 1) {
    std::string_view app = holder->Text(0, 0);
    constexpr std::string_view kOurs = "mdfetch (";
    if (app.starts_with(kOurs) && app.ends_with(')')) {
      who = fmt::format(" ({})", app.substr(kOurs.size(), app.size() - kOurs.size() - 1));
    } else {
      who = fmt::format(" (server pid {})", holder->Text(0, 1));
    }
  }
  return Fail(fmt::format("{} is being refreshed by another mdfetch{}; try again when it finishes",
                          pg.Name(), who));
}

}  // namespace

std::string PgTimeParam(int n) {
  return fmt::format("(timestamptz 'epoch' + ${}::bigint * interval '1 millisecond')", n);
}

std::string PgMillisOf(std::string_view column) {
  return fmt::format("(extract(epoch FROM {}) * 1000)::bigint", column);
}

std::string MillisText(WallTime time) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

WallTime TimeFromMillis(int64_t millis) {
  return WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(millis)));
}

std::string BarTsText(std::string_view pg_text, Function function) {
  // Days are stored at 00:00; the SQLite store and the service write them as dates.
  if (function != Function::kIntraday && pg_text.size() >= 10) pg_text = pg_text.substr(0, 10);
  return std::string(pg_text);
}

std::vector<PgParam> KeyParams(const SeriesKey& key) {
  return {key.symbol, std::string(ShortName(key.function)), key.interval, OptionsText(key)};
}

Result<SeriesKey> PgReadKey(const PgRows& rows, int row, int first) {
  std::string_view function_name = rows.Text(row, first + 1);
  std::optional<Function> function = ParseFunction(function_name);
  if (!function) return Fail(fmt::format("unknown function '{}' in the database", function_name));
  SeriesKey key{std::string(rows.Text(row, first)), *function,
                std::string(rows.Text(row, first + 2))};
  if (!ParseOptionsText(rows.Text(row, first + 3), key)) {
    return Fail(
        fmt::format("unknown series options '{}' in the database", rows.Text(row, first + 3)));
  }
  return key;
}

Result<std::unique_ptr<Store>> PgStore::Open(const std::string& uri, OpenMode mode) {
  auto pg = PgConn::Connect(uri, ApplicationName());
  if (!pg) return std::unexpected(pg.error());
  if (mode == OpenMode::kWriter) {
    if (Status locked = TakeWriterLock(**pg); !locked) return std::unexpected(locked.error());
  }
  Result<PgCommit> ready = Setup(**pg, mode);
  if (!ready) {
    const Error& e = ready.error();
    // Messages that already name the store stay as they are.
    if (e.message.find((*pg)->Name()) != std::string::npos) return std::unexpected(e);
    return Fail(e.code, fmt::format("cannot open database '{}': {}", (*pg)->Name(), e.message));
  }
  return std::unique_ptr<Store>(new PgStore(std::move(*pg), uri, mode, *ready));
}

PgStore::PgStore(std::unique_ptr<PgConn> pg, std::string uri, OpenMode mode,
                 PgCommit repairable_commit)
    : pg_(std::move(pg)),
      uri_(std::move(uri)),
      mode_(mode),
      repairable_commit_(repairable_commit) {}

int64_t PgStore::LazyTransactions() const { return pg_->LazyTransactions(); }

// kReadWrite even beside a kWriter store: the writer lock keeps other mdfetch processes out,
// and this connection is the same process's (taking the lock again would refuse it).
Result<std::unique_ptr<Store>> PgStore::OpenConcurrentWriter() {
  if (mode_ == OpenMode::kReadOnly) return std::unique_ptr<Store>();
  return Open(uri_, OpenMode::kReadWrite);
}

// The session's advisory lock ends with the connection.
PgStore::~PgStore() = default;

std::string PgStore::Location() const { return pg_->Name(); }

Result<std::optional<int64_t>> PgStore::SeriesId(const SeriesKey& key, bool for_update) {
  auto rows = pg_->Exec(std::string("SELECT id FROM series WHERE symbol = $1 AND function = $2 "
                                    "AND interval = $3 AND options = $4") +
                            (for_update ? " FOR UPDATE" : ""),
                        KeyParams(key));
  if (!rows) return std::unexpected(rows.error());
  if (rows->Rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->Int(0, 0));
}

Result<int64_t> PgStore::EnsureSeries(const SeriesKey& key) {
  auto inserted = pg_->Exec(
      "INSERT INTO series(symbol, function, interval, options) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT DO NOTHING",
      KeyParams(key));
  if (!inserted) return std::unexpected(inserted.error());
  // FOR UPDATE: two writers of one series take turns.
  Result<std::optional<int64_t>> id = SeriesId(key, true);
  if (!id) return std::unexpected(id.error());
  if (!*id) return Fail("the series vanished while it was written");
  return **id;
}

Result<std::optional<std::string>> PgStore::GetFact(std::string_view key) {
  auto rows = pg_->Exec("SELECT value FROM facts WHERE key = $1", {std::string(key)});
  if (!rows)
    return PgInContext<std::optional<std::string>>(std::unexpected(rows.error()),
                                                   fmt::format("reading fact '{}'", key));
  if (rows->Rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(std::string(rows->Text(0, 0)));
}

Status PgStore::SetFact(std::string_view key, std::string_view value) {
  auto done = pg_->Exec(
      "INSERT INTO facts(key, value) VALUES ($1, $2) "
      "ON CONFLICT(key) DO UPDATE SET value = EXCLUDED.value",
      {std::string(key), std::string(value)});
  if (!done) {
    return PgInContext<void>(std::unexpected(done.error()), fmt::format("saving fact '{}'", key));
  }
  return {};
}

Result<std::string> PgStore::IntegrityCheck() {
  // A series as Describe names it: "IBM daily", "AAPL intraday:5min".
  const std::string name =
      "s.symbol || ' ' || s.function || CASE WHEN s.interval <> '' THEN ':' || s.interval "
      "ELSE '' END";
  auto rows = pg_->Exec(
      "SELECT format('series %s: bar_count %s, but %s bars', " + name +
      ", s.bar_count, coalesce(b.n, 0)) FROM series AS s LEFT JOIN (SELECT series_id, "
      "count(*) AS n FROM bars GROUP BY series_id) AS b ON b.series_id = s.id "
      "WHERE s.bar_count <> coalesce(b.n, 0) "
      "UNION ALL SELECT format('series %s: provisional bar %s is not stored', " +
      name +
      ", s.provisional_ts) FROM series AS s WHERE s.provisional_ts IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM bars AS b WHERE b.series_id = s.id AND b.ts = s.provisional_ts) "
      "UNION ALL SELECT format('%s bars of no series', count(*)) FROM bars AS b "
      "WHERE NOT EXISTS (SELECT 1 FROM series AS s WHERE s.id = b.series_id) HAVING count(*) > 0");
  if (!rows) return Fail("integrity check failed: " + rows.error().message);
  if (rows->Rows() == 0) return std::string("ok");
  std::string report;
  for (int row = 0; row < rows->Rows(); ++row) {
    if (!report.empty()) report += '\n';
    report += rows->Text(row, 0);
  }
  return report;
}

}  // namespace mdfetch
