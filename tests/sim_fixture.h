// The fixture of the end-to-end tests: a temp folder with a database and a symbol list, an
// in-process Simulator on loopback for a fixed last session, and virtual time.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cli_harness.h"
#include "fake_clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/simulator.h"
#include "mdfetch/store.h"
#include "test_times.h"

namespace mdfetch {

class SimStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The pid keeps two test runs on one machine (a CI clone beside a work tree) apart.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("mdfetch_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "db");
    db_ = (dir_ / "db" / "market.db").string();  // alone in its folder
    symbols_ = (dir_ / "symbols.txt").string();
  }
  void TearDown() override {
    sim_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartSim(SimOptions options = {}) {
    options.last_session = kLastSession;
    sim_.reset();
    sim_ = std::make_unique<Simulator>(options);
    ASSERT_TRUE(sim_->Start(0));
  }

  void WriteSymbols(const std::string& text) { std::ofstream(symbols_) << text; }

  std::vector<Bar> Stored(const SeriesKey& key) {
    auto store = Store::Open(db_, OpenMode::kReadOnly);
    EXPECT_TRUE(store) << store.error().message;
    if (!store) return {};
    auto bars = (*store)->ReadBars(key, BarFilter{});
    EXPECT_TRUE(bars);
    return bars ? *bars : std::vector<Bar>{};
  }
  std::vector<Bar> Stored(const std::string& symbol, Function f = Function::kDaily) {
    return Stored(SeriesKey{symbol, f, ""});
  }

  static std::vector<Bar> Served(const SeriesKey& key) {
    return Simulator::History(key, kLastSession);
  }
  static std::vector<Bar> Served(const std::string& symbol, Function f = Function::kDaily) {
    return Served(SeriesKey{symbol, f, ""});
  }

  FakeClock clock_{FridayEvening()};
  std::filesystem::path dir_;
  std::string db_;
  std::string symbols_;
  std::unique_ptr<Simulator> sim_;
};

}  // namespace mdfetch
