// The engine's test seam: a fake Alpha Vantage that answers from a script and records every
// request with its virtual time, and the bodies the engine tests build.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fake_clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/transport.h"
#include "test_times.h"

namespace mdfetch {

inline constexpr std::string_view kKey = "SECRETKEY123";

inline std::string DailyBody(const std::string& symbol, int bars, double base = 100) {
  std::string series;
  std::chrono::sys_days day = std::chrono::sys_days(std::chrono::year{2026} / 11 / 20);
  int written = 0;
  for (; written < bars; day -= std::chrono::days(1)) {
    Date d{day};
    if (!IsTradingDay(d)) continue;
    double p = base + written;
    series += fmt::format(
        "{}\"{}\": {{\"1. open\": \"{:.4f}\", \"2. high\": \"{:.4f}\", \"3. low\": \"{:.4f}\", "
        "\"4. close\": \"{:.4f}\", \"5. volume\": \"{}\"}}",
        written ? ",\n" : "", FormatDate(d), p, p + 1, p - 1, p + 0.5, 1000 + written);
    ++written;
  }
  return fmt::format(
      "{{\"Meta Data\": {{\"1. Information\": \"Daily Prices\", \"2. Symbol\": \"{}\", \"3. "
      "Last Refreshed\": \"2026-11-20\", \"4. Output Size\": \"Compact\", \"5. Time Zone\": "
      "\"US/Eastern\"}}, \"Time Series (Daily)\": {{{}}}}}",
      symbol, series);
}

inline std::string Info(std::string_view text) {
  return fmt::format("{{\"Information\": \"{}\"}}", text);
}

inline constexpr std::string_view kBurst =
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
    "more sparingly. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) "
    "and instantly unlock all premium endpoints";

// Answers from a script: a handler per call, and a log of every request with its time.
class FakeService {
 public:
  using Handler = std::function<Result<HttpResponse>(const std::string& target, int call)>;

  explicit FakeService(FakeClock& clock) : clock_(clock) {}

  void SetHandler(Handler h) { handler_ = std::move(h); }

  TransportFactory Factory() {
    return [this] { return std::make_unique<Fake>(*this); };
  }

  struct Request {
    std::string target;
    SteadyTime at;
  };
  std::vector<Request> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int CallsFor(std::string_view symbol) {
    int n = 0;
    for (const auto& r : Requests()) {
      n += r.target.find(fmt::format("symbol={}&", symbol)) != std::string::npos ? 1 : 0;
    }
    return n;
  }

 private:
  class Fake final : public Transport {
   public:
    explicit Fake(FakeService& service) : service_(service) {}
    Result<HttpResponse> Get(const std::string& target) override {
      int call;
      {
        std::lock_guard lock(service_.mu_);
        call = static_cast<int>(service_.requests_.size());
        service_.requests_.push_back({target, service_.clock_.Now()});
      }
      return service_.handler_(target, call);
    }
    void Cancel() override {}

   private:
    FakeService& service_;
  };

  FakeClock& clock_;
  Handler handler_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

inline std::string SymbolOf(const std::string& target) {
  size_t at = target.find("symbol=");
  size_t end = target.find('&', at);
  return target.substr(at + 7, end - at - 7);
}

inline Result<HttpResponse> Ok(std::string body) { return HttpResponse{200, std::move(body)}; }

}  // namespace mdfetch
