// `mdfetch serve`: every route over loopback against a store the simulator filled, the
// parameters a hostile client sends, that the store is only read, and that pages keep coming
// while a refresh writes.
#include "mdfetch/serve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "child_process.h"
#include "cli_commands.h"
#include "cli_output.h"
#include "serve_internal.h"
#include "sim_fixture.h"
#include "store_backends.h"

namespace mdfetch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ServeTest : public SimStoreTest {
 protected:
  void Fill(const std::string& symbols) {
    StartSim();
    WriteSymbols(symbols);
    auto run = RunCliCaptured(clock_, {"refresh", "--symbols", symbols_, "--db", db_, "--base-url",
                                       sim_->BaseUrl(), "--sim", "--rate", "5/min,25/day"});
    ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  }
  void Serve() { Serve(db_); }
  void Serve(const std::string& db) {
    server_ = std::make_unique<Server>(
        ServeOptions{.port = 0,
                     .open_store = [db] { return Store::Open(db, OpenMode::kReadOnly); },
                     .clock = &clock_});
    auto port = server_->Start();
    ASSERT_TRUE(port) << port.error().message;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    // A list page reads every bar of every series: slow under ThreadSanitizer.
    client_->set_read_timeout(120, 0);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    SimStoreTest::TearDown();
  }
  httplib::Result Get(const std::string& path) { return client_->Get(path.c_str()); }
  // The bars of `symbol` from `from` on, as the simulator served them.
  static size_t ServedFrom(const std::string& symbol, const std::string& from) {
    size_t n = 0;
    for (const Bar& bar : Served(symbol)) n += bar.ts >= from ? 1 : 0;
    return n;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeTest, ListPageShowsEveryStoredSeriesWithItsState) {
  Fill("IBM\nMSFT\n");
  Serve();
  auto res = Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string& page = res->body;
  EXPECT_EQ(Count(page, "<tr class=\"series-row\""), 2u);
  EXPECT_THAT(page, HasSubstr("<tr class=\"series-row\" data-series=\"IBM\">"));
  EXPECT_THAT(page, HasSubstr("<a href=\"/series?s=MSFT\">MSFT</a>"));
  EXPECT_EQ(Count(page, "<td class=\"fresh up-to-date\">up to date</td>"), 2u);
  const std::string bars = std::to_string(Served("IBM").size());
  EXPECT_THAT(page, HasSubstr("<td class=\"num\">" + bars + "</td><td>" + Served("IBM").front().ts +
                              "</td><td>2026-11-20</td><td>stored 2026-11-20 22:00:00Z</td>"));
  EXPECT_THAT(page, HasSubstr("<p id=\"quota\"><strong>2 of 25</strong> calls spent in the last "
                              "24 h (--rate 5/min,25/day, recorded by the refresh of "));
  EXPECT_THAT(page, HasSubstr("<p id=\"last-run\">2 calls from 2026-11-20 22:00:00Z to "));
  EXPECT_THAT(page, HasSubstr(": 2 stored.</p>"));
  EXPECT_THAT(page, HasSubstr("<form action=\"/compare\" method=\"get\">"));
  EXPECT_THAT(page, Not(HasSubstr("TESTKEY")));
}

TEST_F(ServeTest, ListSortsOnTheServer) {
  Fill("IBM\nAAPL\nMSFT\n");
  Serve();
  auto order = [&](const std::string& query) {
    auto res = Get("/" + query);
    EXPECT_TRUE(res && res->status == 200);
    std::vector<std::string> names;
    const std::string mark = "data-series=\"";
    for (size_t at = res->body.find(mark); at != std::string::npos;
         at = res->body.find(mark, at + 1)) {
      const size_t start = at + mark.size();
      names.push_back(res->body.substr(start, res->body.find('"', start) - start));
    }
    return names;
  };
  EXPECT_THAT(order(""), ::testing::ElementsAre("AAPL", "IBM", "MSFT"));
  EXPECT_THAT(order("?sort=series&order=desc"), ::testing::ElementsAre("MSFT", "IBM", "AAPL"));
  std::vector<std::pair<size_t, std::string>> by_bars;
  for (const char* s : {"IBM", "AAPL", "MSFT"}) by_bars.emplace_back(Served(s).size(), s);
  std::sort(by_bars.begin(), by_bars.end());
  EXPECT_THAT(order("?sort=bars"),
              ::testing::ElementsAre(by_bars[0].second, by_bars[1].second, by_bars[2].second));
}

TEST_F(ServeTest, SeriesPageHasChartRangeBarsCsvAndCalls) {
  Fill("IBM\n");
  Serve();
  auto res = Get("/series?s=IBM&range=1M");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string& page = res->body;
  const size_t in_range = ServedFrom("IBM", "2026-10-21");
  EXPECT_THAT(page, HasSubstr("<h1>IBM</h1>"));
  EXPECT_THAT(page, HasSubstr(fmt::format("<p id=\"range\">{} bars from ", in_range)));
  EXPECT_THAT(page, HasSubstr("to 2026-11-20 &middot; <a id=\"csv\" "
                              "href=\"/series.csv?s=IBM&amp;range=1M\" download>"));
  EXPECT_THAT(page, HasSubstr("<a class=\"current\" href=\"/series?s=IBM&amp;range=1M\">1M</a>"));
  for (const char* r : {"6M", "1Y", "5Y", "all"}) {
    EXPECT_THAT(page, HasSubstr(fmt::format("href=\"/series?s=IBM&amp;range={0}\">{0}</a>", r)));
  }
  // The chart: one candle per bar in range.
  EXPECT_EQ(Count(page, "<svg"), 1u);
  EXPECT_THAT(page, HasSubstr(fmt::format("data-bars=\"{}\"", in_range)));
  EXPECT_EQ(Count(page, "class=\"candle\""), in_range);
  // The newest 20 bars, newest first; the one call.
  const std::string table = page.substr(page.find("<table id=\"bars\">"));
  EXPECT_EQ(Count(table.substr(0, table.find("</table>")), "<tr><td>"), 20u);
  EXPECT_THAT(table, HasSubstr("<tr><td>2026-11-20</td>"));
  const std::string calls = page.substr(page.find("<table id=\"calls\">"));
  EXPECT_EQ(Count(calls.substr(0, calls.find("</table>")), "<tr><td>"), 1u);
  EXPECT_THAT(calls, HasSubstr("<td>full</td><td>stored</td><td>200</td>"));

  auto rows = Get("/series?s=IBM&range=all&rows=500");
  ASSERT_TRUE(rows && rows->status == 200);
  EXPECT_EQ(Count(rows->body, "<tr><td>"), 500u + 1u);  // and the call
  // Too many bars for candles across 960 pixels: a close line, no candle.
  EXPECT_THAT(rows->body, HasSubstr("data-mode=\"line\""));
}

TEST_F(ServeTest, CsvIsTheRangeAsQueryWritesIt) {
  Fill("IBM\n");
  Serve();
  auto res = Get("/series.csv?s=IBM&from=2026-11-16&to=2026-11-18");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Content-Disposition"),
            "attachment; filename=\"IBM-2026-11-16_2026-11-18.csv\"");
  auto cli = RunCliCaptured(clock_, {"query", "IBM", "--db", db_, "--from", "2026-11-16", "--to",
                                     "2026-11-18", "--format", "csv"});
  ASSERT_EQ(cli.code, kExitOk) << cli.err;
  EXPECT_EQ(res->body, cli.out);
  EXPECT_EQ(Count(res->body, "\r\n"), 4u);
}

TEST_F(ServeTest, ComparisonNormalisesAtTheFirstCommonBar) {
  Fill("IBM\nMSFT\n");
  Serve();
  auto res = Get("/compare?s=IBM&s=MSFT&range=6M");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Count(res->body, "<tr class=\"compared\">"), 2u);
  EXPECT_EQ(Count(res->body, "<svg"), 1u);
  EXPECT_THAT(res->body, HasSubstr("<p id=\"base\">Closes as 100 at 2026-05-21, their first bar in "
                                   "common.</p>"));
  auto api = Get("/api/compare?s=IBM&s=MSFT&range=6M");
  ASSERT_TRUE(api && api->status == 200);
  auto doc = nlohmann::json::parse(api->body);
  EXPECT_EQ(doc["base_ts"], "2026-05-21");
  ASSERT_EQ(doc["series"].size(), 2u);
  EXPECT_EQ(doc["series"][1]["series"], "MSFT");
  EXPECT_EQ(doc["series"][0]["points"][0][1], 100.0);
  EXPECT_EQ(doc["series"][0]["points"].size(), ServedFrom("IBM", "2026-05-21"));
  auto svg = Get("/chart.svg?s=IBM&s=MSFT&range=6M");
  ASSERT_TRUE(svg && svg->status == 200);
  EXPECT_EQ(svg->get_header_value("Content-Type"), "image/svg+xml; charset=utf-8");
  EXPECT_TRUE(svg->body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "))
      << svg->body.substr(0, 80);
  // Inline in a page, without the XML declaration.
  EXPECT_THAT(res->body, Not(HasSubstr("<?xml")));
}

TEST_F(ServeTest, ApiGivesThePagesDataAsJson) {
  Fill("IBM\nMSFT\n");
  Serve();
  auto series = Get("/api/series");
  ASSERT_TRUE(series && series->status == 200);
  EXPECT_EQ(series->get_header_value("Content-Type"), "application/json; charset=utf-8");
  auto doc = nlohmann::ordered_json::parse(series->body);
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["database"], db_);
  EXPECT_EQ(doc["at"], IsoUtc(clock_.WallNow()));
  ASSERT_EQ(doc["series"].size(), 2u);
  const auto& ibm = doc["series"][0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : ibm.items()) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre(
                        "series", "symbol", "function", "interval", "options", "time_zone",
                        "bar_count", "first_ts", "last_ts", "provisional_ts", "last_refreshed",
                        "history_limited", "needs_full", "deferred", "last_attempt_at",
                        "last_success_at", "last_outcome", "last_error", "freshness", "findings"));
  EXPECT_EQ(ibm["series"], "IBM");
  EXPECT_EQ(ibm["freshness"], "up to date");
  EXPECT_EQ(ibm["bar_count"], Served("IBM").size());
  EXPECT_TRUE(ibm["findings"].is_array());

  auto status = nlohmann::json::parse(Get("/api/status")->body);
  EXPECT_EQ(status["quota"]["rate"], "5/min,25/day");
  EXPECT_EQ(status["quota"]["per_day"], 25);
  EXPECT_EQ(status["quota"]["spent_last_24h"], 2);
  EXPECT_EQ(status["last_run"]["source"], "call log");
  EXPECT_EQ(status["last_run"]["calls"], 2);
  EXPECT_EQ(status["last_run"]["outcomes"]["stored"], 2);

  auto bars = Get("/api/bars?s=IBM&range=1M");
  ASSERT_TRUE(bars && bars->status == 200);
  auto cli = RunCliCaptured(
      clock_, {"query", "IBM", "--db", db_, "--from", "2026-10-21", "--format", "json"});
  EXPECT_EQ(bars->body, cli.out);

  auto calls = nlohmann::json::parse(Get("/api/calls?s=MSFT")->body);
  EXPECT_EQ(calls["series"], "MSFT");
  ASSERT_EQ(calls["calls"].size(), 1u);
  EXPECT_EQ(calls["calls"][0]["outcome"], "stored");
  EXPECT_EQ(calls["calls"][0]["series"], "MSFT");
  auto all = nlohmann::json::parse(Get("/api/calls?limit=1")->body);
  EXPECT_EQ(all["series"], nullptr);
  EXPECT_EQ(all["calls"].size(), 1u);
}

TEST_F(ServeTest, HostileRequestsAreRefusedBeforeTheStore) {
  Fill("IBM\n");
  Serve();
  const std::pair<std::string, int> cases[] = {
      {"/../../etc/passwd", 404},
      {"/series/../../etc/passwd", 404},
      {"/style.css/..", 404},
      {"/series?s=NOPE", 404},
      {"/api/bars?s=NOPE", 404},
      {"/series?s=IBM%27%20OR%20%271%27=%271", 400},
      {"/series?s=IBM%22%3E%3Cscript%3E", 400},
      {"/series?s=", 400},
      {"/series", 400},
      {"/series?s=IBM&range=2Y", 400},
      {"/series?s=IBM&from=2024-02-30", 400},
      {"/series?s=IBM&from=2024-13-01", 400},
      {"/series?s=IBM&to=20241201", 400},
      {"/series?s=IBM&from=2024-12-01&to=2024-11-01", 400},
      {"/series?s=IBM&from=2024-12-01&range=1Y", 400},
      {"/series?s=IBM&rows=99999999999999999999999", 400},
      {"/series?s=IBM&rows=-1", 400},
      {"/series?s=IBM&rows=0x10", 400},
      {"/series?s=IBM&s=MSFT", 400},
      {"/series?s=IBM&debug=1", 400},
      {"/series?s=" + std::string(100, 'A'), 400},
      {"/?sort=bars;DROP%20TABLE%20bars", 400},
      {"/?order=sideways", 400},
      {"/api/calls?limit=1e9", 400},
      {"/api/calls?limit=1001", 400},
      {"/compare", 400},
      {"/compare?s=IBM&s=A&s=B&s=C&s=D&s=E&s=F&s=G&s=H", 400},
      {"/style.css?x=1", 400},
  };
  for (const auto& [path, status] : cases) {
    auto res = Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, status) << path << "\n" << res->body;
    EXPECT_THAT(res->body, Not(HasSubstr("<script"))) << path;
  }
  EXPECT_THAT(Get("/series?s=NOPE")->body,
              HasSubstr("<h1>Not found (404)</h1>\n<p class=\"error\">NOPE is not stored</p>"));
  EXPECT_THAT(Get("/series?s=IBM&range=2Y")->body,
              HasSubstr("bad range &#39;2Y&#39;: expected 1M, 6M, 1Y, 5Y or all"));
  EXPECT_EQ(Get("/api/bars?s=NOPE")->body, "{\"error\":\"NOPE is not stored\"}\n");
  // A range far larger than the store is capped by the store's bars, not an error.
  EXPECT_EQ(Get("/series?s=IBM&from=0001-01-01&to=9999-12-31")->status, 200);
  auto post = client_->Post("/series?s=IBM", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
}

TEST_F(ServeTest, TextFromTheStoreIsEscaped) {
  Fill("IBM\n");
  {
    auto store = Store::Open(db_, OpenMode::kReadWrite);
    ASSERT_TRUE(store);
    const SeriesKey ibm{"IBM", Function::kDaily, ""};
    auto call = (*store)->BeginCall(ibm, OutputSize::kCompact, clock_.WallNow());
    ASSERT_TRUE(call);
    ASSERT_TRUE((*store)->FinishCall(*call, ibm, {"error", 500, 0, "<script>alert('x')</script>"}));
  }
  Serve();
  for (const char* path : {"/", "/series?s=IBM"}) {
    auto res = Get(path);
    ASSERT_TRUE(res && res->status == 200) << path;
    EXPECT_THAT(res->body, Not(HasSubstr("<script>"))) << path;
    EXPECT_THAT(res->body, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")) << path;
  }
  EXPECT_EQ(serve::Escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
  EXPECT_EQ(serve::UrlEncode("EUR/USD fx_daily"), "EUR%2FUSD%20fx_daily");
}

TEST_F(ServeTest, ServingLeavesTheStoreAsItWas) {
  Fill("IBM\nMSFT\n");
  const std::string wal = db_ + "-wal";
  const std::string db_before = FileBytes(db_);
  const std::string wal_before = FileBytes(wal);
  Serve();
  for (const char* path :
       {"/", "/series?s=IBM&range=all", "/series.csv?s=IBM", "/compare?s=IBM&s=MSFT", "/api/status",
        "/api/series", "/api/calls", "/chart.svg?s=IBM"}) {
    auto res = Get(path);
    ASSERT_TRUE(res && res->status == 200) << path;
  }
  client_.reset();
  server_.reset();
  EXPECT_EQ(FileBytes(db_), db_before);
  EXPECT_EQ(FileBytes(wal), wal_before);
}

TEST_F(ServeTest, PagesKeepComingWhileARefreshWrites) {
  Fill("IBM\n");
  Serve();
  std::string symbols;
  for (int i = 0; i < 24; ++i) symbols += fmt::format("S{:02}\n", i);
  WriteSymbols(symbols);
  std::atomic<bool> done{false};
  CliResult run;
  std::thread refresh([&] {
    run = RunCliCaptured(clock_, {"refresh", "--symbols", symbols_, "--db", db_, "--base-url",
                                  sim_->BaseUrl(), "--sim", "--rate", "unlimited"});
    done = true;
  });
  int during = 0, answered = 0;
  bool failed = false;
  while (!done && !failed) {
    for (const char* path : {"/", "/api/series", "/series?s=IBM"}) {
      auto res = Get(path);
      failed = failed || !res || res->status != 200;
      EXPECT_TRUE(res && res->status == 200) << path << (res ? res->body : "no answer");
      ++answered;
    }
    during += done ? 0 : 1;
  }
  refresh.join();  // before any assertion can leave the test
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_GT(answered, 0);
  auto doc = nlohmann::json::parse(Get("/api/series")->body);
  EXPECT_EQ(doc["series"].size(), 25u);
  RecordProperty("rounds_during_refresh", during);
}

TEST_F(ServeTest, PostgresqlStoreServesTheSamePages) {
  std::string uri;
  MDFETCH_FRESH_PG_DATABASE(Backend::kPostgres, uri);
  Fill("IBM\nMSFT\n");
  auto copy = RunCliCaptured(clock_, {"copy", "--from", db_, "--to", uri});
  ASSERT_EQ(copy.code, kExitOk) << copy.out << copy.err;
  Serve(db_);
  auto sqlite = nlohmann::json::parse(Get("/api/series")->body)["series"];
  const std::string sqlite_page = Get("/series?s=IBM&range=1M")->body;
  Serve(uri);
  auto pg = Get("/api/series");
  ASSERT_TRUE(pg && pg->status == 200) << (pg ? pg->body : "");
  EXPECT_EQ(nlohmann::json::parse(pg->body)["series"], sqlite);
  auto page = Get("/series?s=IBM&range=1M");
  ASSERT_TRUE(page && page->status == 200);
  EXPECT_EQ(Count(page->body, "class=\"candle\""), Count(sqlite_page, "class=\"candle\""));
  EXPECT_EQ(Get("/series?s=NOPE")->status, 404);
}

TEST_F(ServeTest, StartsOnAFreePortStopsTwiceAndRefusesAPortInUse) {
  Fill("IBM\n");
  Serve();
  EXPECT_EQ(Get("/")->status, 200);
  const std::string url = server_->BaseUrl();
  EXPECT_TRUE(url.starts_with("http://127.0.0.1:")) << url;
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  Server other(
      ServeOptions{.port = port,
                   .open_store = [db = db_] { return Store::Open(db, OpenMode::kReadOnly); },
                   .clock = &clock_});
  auto refused = other.Start();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, fmt::format("cannot listen on 127.0.0.1:{}", port));
  client_.reset();
  server_->Stop();
  server_->Stop();
}

TEST_F(ServeTest, CommandChecksListenAndDbBeforeListening) {
  for (const auto& [listen, why] :
       std::vector<std::pair<std::string, std::string>>{{"8765", "no port"},
                                                        {":8765", "no host"},
                                                        {"127.0.0.1:http", "the port must be"},
                                                        {"127.0.0.1:70000", "the port must be"}}) {
    auto run = RunCliCaptured(clock_, {"serve", "--db", db_, "--listen", listen});
    EXPECT_EQ(run.code, kExitUsage) << listen;
    EXPECT_THAT(run.err, HasSubstr(fmt::format("mdfetch: bad --listen '{}': {}", listen, why)));
  }
  auto run = RunCliCaptured(clock_, {"serve", "--db", db_});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, "mdfetch: no database at '" + db_ + "'\n");
  EXPECT_FALSE(std::filesystem::exists(db_));
  auto ipv6 = ParseListen("[::1]:0");
  ASSERT_TRUE(ipv6);
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 0);
}

TEST_F(ServeTest, BinaryServesUntilSigtermAndExitsCleanly) {
  Fill("IBM\n");
  const std::string out = (dir_ / "serve.out").string();
  const pid_t pid =
      SpawnChild({MDFETCH_BINARY, "serve", "--db", db_, "--listen", "127.0.0.1:0"}, out, "");
  ASSERT_GT(pid, 0);
  // The first line names the port; the child writes it once it listens.
  std::string text;
  while (text.find('\n') == std::string::npos) {
    text = FileBytes(out);
    std::this_thread::yield();
  }
  const std::string mark = "on http://127.0.0.1:";
  ASSERT_NE(text.find(mark), std::string::npos) << text;
  const size_t start = text.find(mark) + mark.size();
  const std::string port = text.substr(start, text.find('/', start) - start);
  httplib::Client client("127.0.0.1", std::stoi(port));
  auto res = client.Get("/api/series");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  client.stop();
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid), 0);
  EXPECT_EQ(FileBytes(out), fmt::format("serving {} read-only on http://127.0.0.1:{}/ ; Ctrl-C "
                                        "stops it\nstopped\n",
                                        db_, port));
}

}  // namespace
}  // namespace mdfetch
