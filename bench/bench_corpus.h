// Benchmark inputs: real daily answers rendered by the simulator and fetched over loopback
// with mdfetch's own transport, so every benchmark parses exactly the text the simulator (and
// the service) sends. Not part of mdfetch; used by bench/ only.
//
// Every body is for a fixed last session (kBenchLastSession), so the inputs are the same on
// every run and every day. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "mdfetch/market_calendar.h"
#include "mdfetch/result.h"
#include "mdfetch/simulator.h"
#include "mdfetch/transport.h"

namespace mdfetch::bench {

// A Friday: full daily histories end here (about 6,760 bars from 2000-01-03).
inline constexpr Date kBenchLastSession{std::chrono::year(2026), std::chrono::November,
                                        std::chrono::day(20)};
// The next trading day: a compact answer for it holds one bar newer than a full history
// served for kBenchLastSession, like an evening refresh.
inline constexpr Date kBenchNextSession{std::chrono::year(2026), std::chrono::November,
                                        std::chrono::day(23)};

// A simulator on 127.0.0.1 with no limits and no faults, and one kept-alive client.
class BodySource {
 public:
  // Fails with the simulator's or the transport's message.
  static Result<std::unique_ptr<BodySource>> Start(Date last_session);
  ~BodySource();
  BodySource(const BodySource&) = delete;
  BodySource& operator=(const BodySource&) = delete;

  // The TIME_SERIES_DAILY answer for `symbol`; `outputsize` is "compact" or "full".
  // Fails unless the answer is HTTP 200.
  Result<std::string> Daily(const std::string& symbol, std::string_view outputsize);

 private:
  BodySource() = default;
  // The transport goes first when destroyed: the simulator stops at once only when its
  // clients have closed their keep-alive connections.
  std::unique_ptr<Simulator> simulator_;
  std::unique_ptr<Transport> transport_;
};

// A rendered daily `body` cut to its newest `bars` bars (the series is newest first), still
// valid JSON in the simulator's layout. Returns the body unchanged when it holds no more.
std::string KeepNewest(std::string_view body, size_t bars);

}  // namespace mdfetch::bench
