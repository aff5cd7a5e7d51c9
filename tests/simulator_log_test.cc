// The simulator's request log (SimOptions::log, `mdfetch sim --log`): one JSON line per
// request, the key never written.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_harness.h"
#include "simulator_client.h"

namespace mdfetch {
namespace {

using nlohmann::json;
using namespace std::chrono;

constexpr const char* kKey = "SECRETKEY4b1d";

class SimulatorLogTest : public SimulatorTest {
 protected:
  // The log is a file in the test's temp folder, opened for appending as `mdfetch sim --log`
  // opens it, and read back through a stream of its own.
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = ::testing::TempDir() + "mdfetch_simlog_" + info->name() + "_" +
            std::to_string(::getpid()) + ".log";
    std::remove(path_.c_str());
    log_ = std::fopen(path_.c_str(), "a");
    ASSERT_NE(log_, nullptr) << path_;
  }
  void TearDown() override {
    sim_.reset();  // stops the server before its log closes
    if (log_ != nullptr) std::fclose(log_);
    std::remove(path_.c_str());
  }
  void StartLogged(SimOptions options) {
    options.log = log_;
    StartSim(std::move(options));
  }
  // What the log holds, and each line parsed.
  std::string Text() { return ReadFileBytes(path_); }
  std::vector<json> Lines() {
    std::vector<json> lines;
    const std::string text = Text();
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      lines.push_back(json::parse(text.substr(start, end - start)));
    }
    EXPECT_EQ(start, text.size()) << "the last line has no newline";
    return lines;
  }

  std::string path_;
  std::FILE* log_ = nullptr;
};

TEST_F(SimulatorLogTest, EachRequestIsOneJsonLineWithTimeQueryOutcomeStatusAndBytes) {
  SimOptions options;
  options.free_key = true;
  options.window_limit = 4;
  options.window = seconds(60);
  options.daily_limit = 5;
  StartLogged(options);
  const std::string key = std::string("&apikey=") + kKey;
  auto data = Get("function=TIME_SERIES_DAILY&symbol=ibm" + key);
  ASSERT_TRUE(data);
  clock_.Advance(milliseconds(1234));
  ASSERT_TRUE(Get("function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min" + key));
  ASSERT_TRUE(Get("function=TIME_SERIES_WEEKLY&symbol=INVALIDX" + key));
  ASSERT_TRUE(Get("function=TIME_SERIES_DAILY&symbol=IBM"));  // no key: counts toward nothing
  ASSERT_TRUE(Get("function=TIME_SERIES_MONTHLY&symbol=IBM" + key));
  auto throttled = Get("function=TIME_SERIES_MONTHLY&symbol=IBM" + key);
  ASSERT_TRUE(throttled);
  clock_.Advance(seconds(60));
  ASSERT_TRUE(Get("function=TIME_SERIES_MONTHLY&symbol=IBM" + key));
  auto limited = Get("function=TIME_SERIES_MONTHLY&symbol=IBM" + key);
  ASSERT_TRUE(limited);

  const std::string text = Text();
  EXPECT_EQ(text.substr(0, text.find('\n') + 1),
            fmt::format("{{\"time\":\"2026-05-15T22:00:00.000Z\",\"query\":{{\"apikey\":\"***\","
                        "\"function\":\"TIME_SERIES_DAILY\",\"symbol\":\"ibm\"}},\"outcome\":"
                        "\"data\",\"status\":200,\"bytes\":{}}}\n",
                        data->body.size()));
  const std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[1]["time"], "2026-05-15T22:00:01.234Z");
  const std::vector<std::string> outcomes = {"data", "premium",   "error_message", "error_message",
                                             "data", "throttled", "data",          "daily_limit"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["outcome"], outcomes[i]) << i;
    EXPECT_EQ(lines[i]["status"], 200) << i;
    EXPECT_FALSE(lines[i].contains("slow")) << i;
  }
  EXPECT_EQ(lines[1]["query"], json::parse(R"({"function":"TIME_SERIES_INTRADAY","symbol":"IBM",
                                               "interval":"5min","apikey":"***"})"));
  EXPECT_EQ(lines[3]["query"], json::parse(R"({"function":"TIME_SERIES_DAILY","symbol":"IBM"})"));
  EXPECT_EQ(lines[5]["bytes"], throttled->body.size());
  EXPECT_EQ(lines[7]["bytes"], limited->body.size());
  EXPECT_NE(limited->body.find(kKey), std::string::npos);  // the service quotes the key back
  EXPECT_EQ(Text().find(kKey), std::string::npos);         // the log never does
  EXPECT_EQ(lines[6]["time"], "2026-05-15T22:01:01.234Z");
}

TEST_F(SimulatorLogTest, InjectedFaultsAreNamedWithTheStatusAndBytesSent) {
  struct Case {
    std::string name;
    SimOptions options;
    int status;
  };
  std::vector<Case> cases(6);
  cases[0] = {"http500", {}, 500};
  cases[0].options.p_http500 = 1;
  cases[1] = {"http503", {}, 503};
  cases[1].options.p_http503 = 1;
  cases[2] = {"reset", {}, 200};
  cases[2].options.p_reset = 1;
  cases[3] = {"truncated", {}, 200};
  cases[3].options.p_truncate = 1;
  cases[4] = {"malformed", {}, 200};
  cases[4].options.p_malformed = 1;
  cases[5] = {"data", {}, 200};  // slow, by no time at all: the answer is data
  cases[5].options.p_slow = 1;
  cases[5].options.slow_delay = milliseconds(0);
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    StartLogged(c.options);
    std::string received;
    auto res = client_->Get("/query?function=TIME_SERIES_MONTHLY&symbol=IBM&apikey=K",
                            [&](const char* data, size_t n) {
                              received.append(data, n);
                              return true;
                            });
    const json line = Lines().back();
    EXPECT_EQ(line["outcome"], c.name);
    EXPECT_EQ(line["status"], c.status);
    EXPECT_EQ(line["bytes"], received.size());
    EXPECT_EQ(line.contains("slow"), c.name == "data");
  }
  const std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), cases.size());  // appended, one simulator after the other
  EXPECT_EQ(lines[2]["bytes"], 0);
  EXPECT_GT(lines[3]["bytes"], 0);
  EXPECT_EQ(lines[5]["slow"], true);
}

TEST_F(SimulatorLogTest, ConcurrentCallsWriteWholeLines) {
  StartLogged({});
  const int kThreads = 4, kCalls = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      httplib::Client client(sim_->BaseUrl());
      for (int i = 0; i < kCalls; ++i) {
        EXPECT_TRUE(
            client.Get(fmt::format("/query?function=TIME_SERIES_MONTHLY&symbol=S{}&apikey=K", t)));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::vector<json> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kCalls));
  for (const json& line : lines) EXPECT_EQ(line["outcome"], "data");
}

TEST(SimCliTest, UnwritableLogIsAUsageErrorAtStart) {
  FakeClock clock;
  auto run = RunCliCaptured(clock, {"sim", "--port", "0", "--log", "/nonexistent/dir/sim.log"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err,
            "mdfetch: cannot open --log '/nonexistent/dir/sim.log': No such file or directory\n");
  EXPECT_EQ(run.out, "");
}

TEST(SimCliTest, HelpSaysWhatFreeKeyRefusesAndWhatLogWrites) {
  FakeClock clock;
  auto run = RunCliCaptured(clock, {"sim", "--help"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_NE(run.out.find("answer like a free key: TIME_SERIES_DAILY_ADJUSTED and "
                         "TIME_SERIES_INTRADAY are premium endpoints, TIME_SERIES_DAILY "
                         "outputsize=full a premium feature"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("--log FILE"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace mdfetch
