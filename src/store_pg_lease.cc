// Several fetchers on one PostgreSQL store (docs/postgresql.md, section 5): a lease per series
// claimed with FOR UPDATE SKIP LOCKED, and every call reserved against the --rate windows and
// the daily quota of all fetchers together, under one advisory lock.
#include <fmt/format.h>

#include "store_pg_internal.h"

namespace mdfetch {
namespace {

using std::chrono::milliseconds;

// (kApplicationId, 2): one reservation at a time across every fetcher of the store. The pair
// (kApplicationId, 1) is the writer lock (store_pg.cc).
constexpr int kReserveLockSub = 2;

int64_t MillisOf(Nanos d) { return std::chrono::ceil<milliseconds>(d).count(); }
// Calls are logged to the millisecond, rounded up: a call is never counted earlier than it
// was made, so no fetcher spaces its next call from too early a time.
int64_t MillisOf(WallTime t) {
  return std::chrono::ceil<milliseconds>(t.time_since_epoch()).count();
}

// Of the calls logged after `since_ms`, the time of the `n`th newest (n >= 1), if there are
// that many.
Result<std::optional<int64_t>> NthNewestCall(PgConn& pg, int64_t since_ms, int64_t n) {
  auto rows = pg.Exec("SELECT " + PgMillisOf("at") + " FROM fetches WHERE at > " + PgTimeParam(1) +
                          " ORDER BY at DESC OFFSET $2 LIMIT 1",
                      {std::to_string(since_ms), std::to_string(n - 1)});
  if (!rows) return std::unexpected(rows.error());
  if (rows->Rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->Int(0, 0));
}

}  // namespace

Result<Claim> PgStore::ClaimSeries(const SeriesKey& key, std::string_view holder, WallTime now,
                                   Nanos lease) {
  auto claim = [&]() -> Result<Claim> {
    // The row is made only when there is none (an INSERT ... ON CONFLICT would spend an
    // identity value on every claim).
    auto exists = pg_->Exec(
        "SELECT 1 FROM series WHERE symbol = $1 AND function = $2 AND interval = $3 "
        "AND options = $4",
        KeyParams(key));
    if (!exists) return std::unexpected(exists.error());
    if (exists->Rows() == 0) {
      auto inserted = pg_->Exec(
          "INSERT INTO series(symbol, function, interval, options) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT DO NOTHING",
          KeyParams(key));
      if (!inserted) return std::unexpected(inserted.error());
    }
    // SKIP LOCKED: a row another fetcher is claiming or storing right now is not waited for;
    // the series is asked for again a moment later.
    // A lease is free when it has ended, or when the connection that took it is gone (the
    // server ends a killed fetcher's session as soon as it sees its socket close).
    auto row = pg_->Exec(
        "SELECT id, lease_holder, " + PgMillisOf("lease_expires") +
            ", lease_backend IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a "
            "WHERE a.pid = s.lease_backend) FROM series AS s WHERE symbol = $1 AND function = $2 "
            "AND interval = $3 AND options = $4 FOR UPDATE OF s SKIP LOCKED",
        KeyParams(key));
    if (!row) return std::unexpected(row.error());
    if (row->Rows() == 0) {
      return Claim{.holder = "another mdfetch (storing it now)", .expires = now};
    }
    const bool free = row->IsNull(0, 1) || row->Text(0, 1) == holder || row->IsNull(0, 2) ||
                      row->Int(0, 2) < MillisOf(now) || row->Bool(0, 3);
    if (!free) {
      return Claim{.holder = std::string(row->Text(0, 1)),
                   .expires = TimeFromMillis(row->Int(0, 2))};
    }
    auto leased =
        pg_->Exec("UPDATE series SET lease_holder = $2, lease_expires = " + PgTimeParam(3) +
                      ", lease_backend = pg_backend_pid() WHERE id = $1",
                  {std::to_string(row->Int(0, 0)), std::string(holder),
                   std::to_string(MillisOf(now) + MillisOf(lease))});
    if (!leased) return std::unexpected(leased.error());
    Result<std::optional<SeriesState>> state = Find(key);
    if (!state) return std::unexpected(state.error());
    return Claim{.granted = true, .state = std::move(*state)};
  };
  return PgInContext(pg_->InTransaction(claim, repairable_commit_), "claiming " + Describe(key));
}

Status PgStore::ReleaseSeries(const SeriesKey& key, std::string_view holder) {
  std::vector<PgParam> params = KeyParams(key);
  params.emplace_back(std::string(holder));
  // A transaction of its own only to commit lazily: two round trips more, no flush waited for.
  auto release = [&]() -> Status {
    auto released = pg_->Exec(
        "UPDATE series SET lease_holder = NULL, lease_expires = NULL, lease_backend = NULL "
        "WHERE symbol = $1 AND function = $2 AND interval = $3 AND options = $4 "
        "AND lease_holder = $5",
        params);
    if (!released) return std::unexpected(released.error());
    return {};
  };
  Status done = pg_->InTransaction(release, repairable_commit_);
  if (!done) {
    return Fail(done.error().code, fmt::format("ending the lease of {} failed: {}", Describe(key),
                                               done.error().message));
  }
  return {};
}

Status PgStore::ReleaseLeases(std::string_view holder) {
  auto done = pg_->Exec(
      "UPDATE series SET lease_holder = NULL, lease_expires = NULL, lease_backend = NULL "
      "WHERE lease_holder = $1",
      {std::string(holder)});
  if (!done) return Fail(done.error().code, "ending the leases failed: " + done.error().message);
  return {};
}

Result<Reservation> PgStore::ReserveCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                         std::string_view month, const RateSpec& rate,
                                         std::string_view holder, Nanos lease) {
  const int64_t now = MillisOf(at);
  auto reserved = pg_->InTransaction([&]() -> Result<Reservation> {
    if (auto locked = pg_->Exec(
            fmt::format("SELECT pg_advisory_xact_lock({}, {})", kApplicationId, kReserveLockSub));
        !locked) {
      return std::unexpected(locked.error());
    }
    auto renewed =
        pg_->Exec("UPDATE series SET lease_expires = " + PgTimeParam(5) +
                      " WHERE symbol = $1 AND function = $2 AND interval = $3 AND options = $4 "
                      "AND lease_holder = $6 RETURNING id",
                  [&] {
                    std::vector<PgParam> params = KeyParams(key);
                    params.emplace_back(std::to_string(now + MillisOf(lease)));
                    params.emplace_back(std::string(holder));
                    return params;
                  }());
    if (!renewed) return std::unexpected(renewed.error());
    if (renewed->Rows() == 0) return Reservation{.kind = Reservation::Kind::kLeaseLost};
    const int64_t series_id = renewed->Int(0, 0);

    if (rate.per_day) {
      const int64_t day = MillisOf(std::chrono::hours(24));
      auto nth = NthNewestCall(*pg_, now - day, *rate.per_day);
      if (!nth) return std::unexpected(nth.error());
      if (*nth) {
        return Reservation{.kind = Reservation::Kind::kDaySpent,
                           .retry_at = TimeFromMillis(**nth + day)};
      }
    }
    // Each window N/P: fewer than N calls in the last P, and the newest at least P/N ago.
    int64_t free_at = now;
    for (const Rate& window : rate.windows) {
      const int64_t period = MillisOf(window.period);
      auto nth = NthNewestCall(*pg_, now - period, window.count);
      if (!nth) return std::unexpected(nth.error());
      if (*nth) free_at = std::max(free_at, **nth + period);
      const int64_t spacing = (period + window.count - 1) / window.count;
      auto newest = NthNewestCall(*pg_, now - spacing, 1);
      if (!newest) return std::unexpected(newest.error());
      if (*newest) free_at = std::max(free_at, **newest + spacing);
    }
    if (free_at > now) {
      return Reservation{.kind = Reservation::Kind::kWait, .retry_at = TimeFromMillis(free_at)};
    }
    auto row = pg_->Exec(
        "INSERT INTO fetches(at, series_id, outputsize, month, outcome, holder) "
        "VALUES (" +
            PgTimeParam(1) + ", $2, $3, $4, 'sent', $5) RETURNING id",
        {std::to_string(now), std::to_string(series_id), std::string(OutputSizeName(outputsize)),
         std::string(month), std::string(holder)});
    if (!row) return std::unexpected(row.error());
    return Reservation{.fetch_id = row->Int(0, 0)};
  });
  return PgInContext(std::move(reserved), "reserving a call for " + Describe(key));
}

}  // namespace mdfetch
