// The Alpha Vantage simulator: a cpp-httplib server on loopback that answers GET /query the
// way the service does, throttles the way it does, and injects faults on request.
//
// Bars are deterministic: History(key, last_session, month) is the same for the same arguments
// in every process, so a test can compare what was stored with what was served, bar for bar.
// Daily bars exist for every US trading day (market_calendar.h) from 2000-01-03 to the
// simulator's last session date; weekly and monthly bars aggregate them, keyed by the last
// trading day of the week or month. FX_DAILY has a bar for every weekday up to the last
// session, DIGITAL_CURRENCY_DAILY one for every UTC day (weekends included) of the 350 up to
// the simulator's current UTC day. Every refusal is HTTP 200 with the service's JSON body.
//
// Equities have corporate events like the service's data: three symbols in four pay a
// quarterly dividend, and a few (about one in seven) split 2:1 or 3:1 now and then (on rare
// days on which the price is 150 or more; from that day on prices continue from the
// split-divided level and volumes are multiplied by the coefficient). The raw series (daily,
// weekly, monthly) are as traded. The adjusted ones carry the standard backward adjustment: a
// bar's adjusted close is its close times the product, over every later event day D up to
// the answer's last day, of (1 - dividend_D / close of the trading day before D) for a
// dividend and 1 / coefficient_D for a split, rounded to 4 decimals. So every new event
// restates every older adjusted close. TIME_SERIES_DAILY_ADJUSTED gives each day's dividend
// and split coefficient (1 on most days); the weekly and monthly adjusted series give the sum
// of the period's dividends and, like the service, no split coefficient.
//
// TIME_SERIES_INTRADAY is modelled with the service's switches (ALPHAVANTAGE.md §1):
// - bars are labelled by their start, 04:00-20:00 New York on trading days; with
//   `extended_hours=false` only the bars starting in [09:30, 16:00), with the same values;
// - `adjusted=true` (the default) scales open/high/low/close by the same factor as the daily
//   adjusted close of the bar's day (the dividends and splits after it up to the last
//   session), so old bars are rewritten at each event; `adjusted=false` gives the raw prices;
//   volumes are the raw ones either way;
// - `month=YYYY-MM` (2000-01 up to the month of the last session) serves that month instead
//   of the trailing 30 calendar days. Any other value of these three is an invalid call.
//
// Time comes from SimOptions::clock (see there), so tests run the throttle window, the daily
// limit and the simulator's "today" on virtual time. Only `latency` and `slow_delay` sleep for
// real: they stand for a slow network.
//
// Thread-safe: Start() serves on a background thread; Stats() may be read at any time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"

namespace mdfetch {

struct SimOptions {
  // Throttling: at most `window_limit` calls in any sliding `window` of clock->Now() (0 = no
  // limit). Over it, the answer is the burst-throttle Information body (or the 2018 Note body
  // when `note_style`), and the call is not counted as served.
  int64_t window_limit = 0;
  std::chrono::milliseconds window{60000};
  bool note_style = false;
  // At most `daily_limit` calls per UTC day of clock->WallNow() (0 = none); over it, the
  // daily-cap Information body, which quotes the API key back like the service does. The
  // service does not document when its count starts over; the simulator's does at 00:00 UTC.
  int64_t daily_limit = 0;
  // A free key, refused what the README's table "Which functions a free key gets" calls
  // premium, with the service's Information texts: TIME_SERIES_DAILY_ADJUSTED and
  // TIME_SERIES_INTRADAY (whatever the parameters, `month` included) get the premium-endpoint
  // body, TIME_SERIES_DAILY with `outputsize=full` the premium-feature body. The weekly and
  // monthly series (plain and adjusted), FX_DAILY and DIGITAL_CURRENCY_DAILY are served.
  bool free_key = false;
  // Functions answered with the premium-endpoint Information body (whatever the key).
  std::set<Function> premium_functions;
  // Symbols answered with `Error Message` (in addition to any symbol starting "INVALID").
  std::set<std::string> unknown_symbols;
  // Symbols whose `outputsize=full` gets `Error Message` while compact works (the service
  // did this for listings whose deep history failed its QA).
  std::set<std::string> full_refused_symbols;
  // The last session the simulator has data for; unset = LastSessionDate(clock->WallNow()) on
  // each call. Crypto's last day is the UTC day of clock->WallNow() either way.
  std::optional<Date> last_session;
  // Faults, each drawn per call with this probability from a generator seeded with `seed`.
  double p_http500 = 0, p_http503 = 0, p_reset = 0, p_truncate = 0, p_malformed = 0;
  // A slow answer waits `slow_delay` more, and every answer waits `latency`: real sleeps on
  // the serving thread, whatever the clock, as a slow network would.
  double p_slow = 0;
  std::chrono::milliseconds slow_delay{2000};
  std::chrono::milliseconds latency{0};
  uint64_t seed = 1;
  // symbol -> the first N calls for it answer HTTP 503.
  std::map<std::string, int> fail_first;
  // The source of time: Now() for the throttle window, WallNow() for the daily limit, the
  // default last session and crypto's current day (and the log's times). nullptr = a real
  // clock owned by the simulator. Not owned: it must outlive the simulator.
  Clock* clock = nullptr;
  // The request log: one JSON line per GET /query received, written whole and flushed under
  // a lock (so lines from concurrent calls never interleave), appended to this stream; nullptr
  // = no log. Not owned: open it (e.g. fopen(path, "a")) before Start() and close it after the
  // simulator is destroyed. A line, with the fields in this order:
  //   {"time":"2026-11-20T22:00:00.123Z","query":{"apikey":"***","function":"TIME_SERIES_DAILY",
  //    "symbol":"IBM"},"outcome":"data","status":200,"bytes":2874}
  // - time: clock->WallNow() when the request arrived, UTC, ISO 8601 with milliseconds;
  // - query: every query parameter as sent (by name), except that the apikey's value is "***";
  // - outcome: data, throttled, daily_limit, premium, error_message (invalid call, unknown
  //   function, missing key), or the injected fault: http500, http503, reset, truncated,
  //   malformed;
  // - status: the HTTP status sent (200 also for reset and truncated, whose status line goes
  //   out before the connection is cut);
  // - bytes: the body bytes sent (0 for a reset, the half sent for a truncation);
  // - "slow":true is added when the slow fault delayed the answer (any outcome).
  std::FILE* log = nullptr;
};

struct SimStats {
  int64_t calls = 0;      // every GET /query received
  int64_t served = 0;     // answered with data
  int64_t throttled = 0;  // answered with the burst throttle
  int64_t daily_limited = 0;
  int64_t premium = 0;
  int64_t errors = 0;  // Error Message answers
  int64_t faults = 0;  // injected 5xx, resets, truncations, malformed bodies
  std::map<std::string, int64_t> calls_by_symbol;
};

// The simulator's server as the CLI drives it, through the HTTP module (mdfetch/net.h).
class SimServer {
 public:
  virtual ~SimServer() = default;
  // Binds 127.0.0.1:port (0 = an ephemeral port) and serves on a background thread.
  // Returns the bound port, or "cannot listen on 127.0.0.1:PORT".
  virtual Result<int> Start(int port = 0) = 0;
  // Serves until Stop() (from another thread or a signal handler's thread).
  virtual void Wait() = 0;
  virtual void Stop() = 0;
  virtual std::string BaseUrl() const = 0;  // "http://127.0.0.1:PORT"
  virtual SimStats Stats() const = 0;
};

class Simulator final : public SimServer {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator() override;  // stops the server
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  Result<int> Start(int port = 0) override;
  void Wait() override;
  void Stop() override;
  std::string BaseUrl() const override;
  SimStats Stats() const override;

  // The bars the simulator serves for `key` in a full answer whose last session is
  // `last_session`, oldest first. A compact answer is the newest 100 of these. For
  // DIGITAL_CURRENCY_DAILY, which trades every day, `last_session` is the last UTC day served
  // (the simulator's current UTC day).
  // For intraday, `key.adjusted` and `key.extended_hours` select the series as the query
  // parameters of the same names do, and `month` ("YYYY-MM") is the `month` parameter: empty
  // = the trading days of the 30 calendar days up to `last_session`, else every trading day
  // of that month up to `last_session` (no bars for a month after it, before 2000-01, or not
  // written YYYY-MM). Other functions ignore `month` and the two switches.
  static std::vector<Bar> History(const SeriesKey& key, Date last_session,
                                  std::string_view month = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdfetch
