// The fixture of the simulator's own tests: one Simulator on a loopback port, an HTTP client
// for it, and virtual time (the simulator runs on the fixture's FakeClock).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "mdfetch/simulator.h"

namespace mdfetch {

inline Date D(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

inline const Date kLast = D(2026, 5, 15);  // a Friday

// Friday 2026-05-15, 22:00 UTC: two hours after that session's close.
inline WallTime FridayNight() { return std::chrono::sys_days(kLast) + std::chrono::hours(22); }

class SimulatorTest : public ::testing::Test {
 protected:
  // Starts the simulator with `options`, on clock_ unless they name a clock, and with kLast
  // as its last session unless they name one or `pin_last_session` is false.
  void StartSim(SimOptions options = {}, bool pin_last_session = true) {
    if (!options.last_session && pin_last_session) options.last_session = kLast;
    if (options.clock == nullptr) options.clock = &clock_;
    sim_ = std::make_unique<Simulator>(std::move(options));
    auto port = sim_->Start(0);
    ASSERT_TRUE(port) << port.error().message;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }

  httplib::Result Get(const std::string& query) { return client_->Get("/query?" + query); }

  // The JSON body of a successful HTTP 200 answer, keys in the order served.
  nlohmann::ordered_json GetJson(const std::string& query) {
    auto res = Get(query);
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return {};
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    return nlohmann::ordered_json::parse(res->body);
  }

  FakeClock clock_{FridayNight()};
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<httplib::Client> client_;
};

inline double Num(const nlohmann::ordered_json& bar, const char* field) {
  return std::stod(bar.at(field).get<std::string>());
}

// The served series (newest first) equals `expected` (oldest first), value for value.
inline void ExpectSeriesEquals(const nlohmann::ordered_json& series,
                               const std::vector<Bar>& expected) {
  ASSERT_EQ(series.size(), expected.size());
  auto want = expected.rbegin();
  for (const auto& [ts, bar] : series.items()) {
    ASSERT_EQ(ts, want->ts);
    EXPECT_EQ(Num(bar, "1. open"), want->open) << ts;
    EXPECT_EQ(Num(bar, "2. high"), want->high) << ts;
    EXPECT_EQ(Num(bar, "3. low"), want->low) << ts;
    EXPECT_EQ(Num(bar, "4. close"), want->close) << ts;
    if (want->volume) {
      EXPECT_EQ(Num(bar, "5. volume"), *want->volume) << ts;
    }
    ++want;
  }
}

// The text under `key` ("Information", "Note", "Error Message"), or "<no KEY>".
inline std::string Message(const nlohmann::ordered_json& body, const char* key) {
  return body.contains(key) ? body[key].get<std::string>() : "<no " + std::string(key) + ">";
}

}  // namespace mdfetch
