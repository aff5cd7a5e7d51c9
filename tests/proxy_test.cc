// The proxy (issue 10): which variable is read for which scheme, the proxy URL,
// NO_PROXY; the transport through a loopback proxy that refuses; and refreshes
// end to end through a logging proxy in front of the simulator.
#include "mdfetch/proxy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "logging_proxy.h"
#include "mdfetch/transport.h"
#include "sim_fixture.h"

namespace mdfetch {
namespace {

constexpr const char* kKey = "SECRETKEY7e2b";
constexpr const char* kPassword = "pr0xy-s3cret";
constexpr const char* kBasicAuth = "Basic b3BzOnByMHh5LXMzY3JldA==";  // ops:pr0xy-s3cret
constexpr const char* kExpected = "expected http://[user:password@]HOST[:PORT]";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

EnvLookup Env(std::map<std::string, std::string> variables) {
  return [variables](const char* name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

// The proxy chosen for `base_url` as "host:port", "direct", or the error's
// message.
std::string Chosen(std::string_view base_url, std::map<std::string, std::string> variables) {
  auto proxy = ResolveProxy(base_url, Env(std::move(variables)));
  if (!proxy) return proxy.error().message;
  return *proxy ? (*proxy)->Address() : "direct";
}

TEST(ResolveProxyTest, HttpsReadsHttpsProxyAndLowerCaseWins) {
  const std::string url = "https://www.alphavantage.co";
  EXPECT_EQ(Chosen(url, {{"https_proxy", "http://low:3128"}, {"HTTPS_PROXY", "http://up:3128"}}),
            "low:3128");
  EXPECT_EQ(Chosen(url, {{"HTTPS_PROXY", "http://up:3128"}}), "up:3128");
  // Set but empty still wins, and means no proxy (curl reads it so).
  EXPECT_EQ(Chosen(url, {{"https_proxy", ""}, {"HTTPS_PROXY", "http://up:3128"}}), "direct");
  EXPECT_EQ(Chosen(url, {{"http_proxy", "http://p:3128"}, {"HTTP_PROXY", "http://p:3128"}}),
            "direct");
  EXPECT_EQ(Chosen(url, {}), "direct");
  EXPECT_EQ(ResolveProxy(url, nullptr).value(), std::nullopt);
}

TEST(ResolveProxyTest, HttpReadsOnlyLowerCaseHttpProxy) {
  const std::string url = "http://127.0.0.1:8080";
  EXPECT_EQ(Chosen(url, {{"http_proxy", "p:3128"}, {"HTTP_PROXY", "up:3128"}}), "p:3128");
  EXPECT_EQ(Chosen(url, {{"HTTP_PROXY", "up:3128"}}),
            "direct");  // as curl: httpoxy
  EXPECT_EQ(Chosen(url, {{"https_proxy", "p:3128"}, {"HTTPS_PROXY", "p:3128"}}), "direct");
}

TEST(ResolveProxyTest, NoProxyNamingTheHostConnectsDirectlyAndLowerCaseWins) {
  const std::string url = "https://www.alphavantage.co/";
  const std::string proxy = "http://p:3128";
  EXPECT_EQ(Chosen(url, {{"https_proxy", proxy}, {"NO_PROXY", "alphavantage.co"}}), "direct");
  EXPECT_EQ(
      Chosen(url,
             {{"https_proxy", proxy}, {"no_proxy", "localhost"}, {"NO_PROXY", "alphavantage.co"}}),
      "p:3128");
  // The base URL's port plays no part; an exempt host never has its proxy value
  // read.
  EXPECT_EQ(Chosen("http://127.0.0.1:8080", {{"http_proxy", "ftp://x"}, {"no_proxy", "127.0.0.1"}}),
            "direct");
}

TEST(ResolveProxyTest, ABadValueIsNamedByTheVariableItCameFrom) {
  EXPECT_EQ(Chosen("https://www.alphavantage.co", {{"HTTPS_PROXY", "ftp://x"}}),
            fmt::format("bad HTTPS_PROXY 'ftp://x': {}", kExpected));
  // A base URL the transport refuses anyway gets no proxy (and no proxy error).
  EXPECT_EQ(Chosen("ftp://x", {{"http_proxy", "ftp://x"}, {"https_proxy", "ftp://x"}}), "direct");
}

TEST(ParseProxyUrlTest, AcceptsHttpUrlsAndHostPortWithCurlsDefaultPort) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://proxy.corp:3128", "proxy.corp:3128"},
      {"HTTP://proxy.corp:3128/", "proxy.corp:3128"},
      {"proxy.corp:8080", "proxy.corp:8080"},
      {"proxy.corp", "proxy.corp:1080"},
      {"http://10.0.0.1", "10.0.0.1:1080"},
      {"http://[::1]:3128", "[::1]:3128"},
      {"[fd00::7]", "[fd00::7]:1080"},
  };
  for (const auto& [value, address] : cases) {
    auto proxy = ParseProxyUrl("http_proxy", value);
    ASSERT_TRUE(proxy) << value << ": " << proxy.error().message;
    EXPECT_EQ(proxy->Address(), address) << value;
    EXPECT_EQ(proxy->Display(), "http://" + address) << value;
    EXPECT_TRUE(proxy->user.empty()) << value;
  }
}

TEST(ParseProxyUrlTest, CredentialsAreDecodedAndNeverShown) {
  auto proxy = ParseProxyUrl("https_proxy", fmt::format("http://ops:{}@proxy:3128", kPassword));
  ASSERT_TRUE(proxy) << proxy.error().message;
  EXPECT_EQ(proxy->user, "ops");
  EXPECT_EQ(proxy->password, kPassword);
  EXPECT_EQ(proxy->Display(), "http://***@proxy:3128");
  EXPECT_EQ(proxy->Address(), "proxy:3128");

  auto encoded = ParseProxyUrl("https_proxy", "d%40m:p%3aw@rd@proxy");
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_EQ(encoded->user, "d@m");
  EXPECT_EQ(encoded->password, "p:w@rd");
  EXPECT_EQ(encoded->Address(), "proxy:1080");
}

TEST(ParseProxyUrlTest, RefusesWhatItCannotUseNamingTheVariable) {
  for (const char* value :
       {"ftp://x", "https://proxy:3128", "socks5://proxy:1080", "http://", "",
        "http://proxy:", "http://proxy:0", "http://proxy:65536", "http://proxy:31x",
        "http://proxy:+80", "http://proxy/path", "http://[::1", "http://[proxy]:3128",
        "http://[::1]x", "http://pro xy:3128", "proxy:3128:1"}) {
    auto proxy = ParseProxyUrl("https_proxy", value);
    ASSERT_FALSE(proxy) << value;
    EXPECT_EQ(proxy.error().message, fmt::format("bad https_proxy '{}': {}", value, kExpected));
  }
}

TEST(ParseProxyUrlTest, ARefusedValueShowsItsCredentialsAsStars) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fmt::format("http://ops:{}@proxy:99999", kPassword), "http://***@proxy:99999"},
      {fmt::format("ftp://ops:{}@x", kPassword), "ftp://***@x"},
      {fmt::format("ops:{}@", kPassword), "***@"},
      {fmt::format("http://:{}@proxy", kPassword), "http://***@proxy"},
      {fmt::format("http://ops:{}%zz@proxy", kPassword), "http://***@proxy"},
  };
  for (const auto& [value, shown] : cases) {
    auto proxy = ParseProxyUrl("http_proxy", value);
    ASSERT_FALSE(proxy) << shown;
    EXPECT_EQ(proxy.error().message, fmt::format("bad http_proxy '{}': {}", shown, kExpected));
  }
  // cpp-httplib would send no credentials at all for a user without a password.
  auto no_password = ParseProxyUrl("http_proxy", "http://ops@proxy:3128");
  ASSERT_FALSE(no_password);
  EXPECT_EQ(no_password.error().message,
            fmt::format("bad http_proxy 'http://***@proxy:3128': the proxy "
                        "user has no password "
                        "({})",
                        kExpected));
}

TEST(NoProxyMatchesTest, AStarMatchesEveryHost) {
  EXPECT_TRUE(NoProxyMatches("*", "www.alphavantage.co"));
  EXPECT_TRUE(NoProxyMatches("example.com, *", "127.0.0.1"));
  EXPECT_FALSE(NoProxyMatches("", "www.alphavantage.co"));
  EXPECT_FALSE(NoProxyMatches(" , ,", "www.alphavantage.co"));
}

TEST(NoProxyMatchesTest, ADomainMatchesItselfAndItsSubDomainsWithOrWithoutALeadingDot) {
  for (const char* list : {"alphavantage.co", ".alphavantage.co", "ALPHAVANTAGE.co."}) {
    EXPECT_TRUE(NoProxyMatches(list, "alphavantage.co")) << list;
    EXPECT_TRUE(NoProxyMatches(list, "www.alphavantage.co")) << list;
    EXPECT_TRUE(NoProxyMatches(list, "a.b.AlphaVantage.co.")) << list;
    EXPECT_FALSE(NoProxyMatches(list, "notalphavantage.co")) << list;
    EXPECT_FALSE(NoProxyMatches(list, "alphavantage.co.evil.example")) << list;
  }
  EXPECT_TRUE(NoProxyMatches("localhost, internal.corp\tother.corp", "api.other.corp"));
  EXPECT_FALSE(NoProxyMatches("localhost,internal.corp", "www.alphavantage.co"));
}

TEST(NoProxyMatchesTest, AnAddressMatchesOnlyThatAddressWrittenAsOne) {
  EXPECT_TRUE(NoProxyMatches("localhost,127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(NoProxyMatches("127.0.0.1", "127.0.0.10"));
  EXPECT_FALSE(NoProxyMatches("127.0.0.1", "localhost"));  // names are not resolved
  EXPECT_FALSE(NoProxyMatches("0.0.1", "127.0.0.1"));      // no suffix match on addresses
  EXPECT_TRUE(NoProxyMatches("::1", "[::1]"));
  EXPECT_TRUE(NoProxyMatches("[::1]", "0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(NoProxyMatches("::1", "127.0.0.1"));
}

TEST(NoProxyMatchesTest, ACidrRangeMatchesTheAddressesInIt) {
  EXPECT_TRUE(NoProxyMatches("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(NoProxyMatches("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(NoProxyMatches("192.168.4.0/22", "192.168.7.255"));
  EXPECT_FALSE(NoProxyMatches("192.168.4.0/22", "192.168.8.0"));
  EXPECT_TRUE(NoProxyMatches("fd00::/8", "[fd12:3456::1]"));
  EXPECT_TRUE(NoProxyMatches("0.0.0.0/0", "8.8.8.8"));
  EXPECT_FALSE(NoProxyMatches("10.0.0.0/33,10.0.0.0/x", "10.0.0.1"));
  EXPECT_FALSE(NoProxyMatches("10.0.0.0/8", "10.example.com"));
}

// The transport through a loopback proxy that refuses: the service
// (127.0.0.1:9, where nothing listens) is never contacted, and nothing costs a
// call.
class ProxyTransportTest : public ::testing::Test {
 protected:
  static Result<HttpResponse> GetThrough(const std::string& base_url, ProxySettings proxy,
                                         int calls = 1) {
    auto factory = MakeHttpTransportFactory(base_url, TransportOptions{.proxy = proxy});
    EXPECT_TRUE(factory);
    auto transport = (*factory)();
    Result<HttpResponse> result = Fail("no call");
    for (int i = 0; i < calls; ++i) result = transport->Get("/query?apikey=" + std::string(kKey));
    return result;
  }
  static void ExpectNotSent(const Result<HttpResponse>& result, const std::string& message) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kNotSent);
    EXPECT_EQ(result.error().message, message);
  }
};

// httplib 0.11's own CONNECT deadlocked on an HTTP/1.0 refusal (and on
// "Connection: close", which the 407 below carries), then went on to a TLS
// handshake with the proxy.
TEST_F(ProxyTransportTest, ARefusedTunnelIsNotSentAndNamesTheProxy) {
  LoggingProxy proxy({.connect_answer = "HTTP/1.0 403 Forbidden"});
  ASSERT_GT(proxy.Port(), 0);
  auto result = GetThrough("https://127.0.0.1:9", {.host = "127.0.0.1", .port = proxy.Port()});
  ExpectNotSent(result, fmt::format("cannot reach 127.0.0.1:9 through proxy 127.0.0.1:{}: the "
                                    "proxy refused the tunnel (HTTP 403)",
                                    proxy.Port()));
  ASSERT_EQ(proxy.Requests().size(), 1u);
  EXPECT_EQ(proxy.Requests()[0].request_line, "CONNECT 127.0.0.1:9 HTTP/1.1");
  EXPECT_EQ(proxy.Requests()[0].proxy_authorization, "");
}

TEST_F(ProxyTransportTest, AProxyThatHangsUpOnTheTunnelIsNotSent) {
  LoggingProxy proxy;
  ASSERT_GT(proxy.Port(), 0);
  auto result = GetThrough("https://127.0.0.1:9", {.host = "127.0.0.1", .port = proxy.Port()});
  ExpectNotSent(result, fmt::format("cannot reach 127.0.0.1:9 through proxy 127.0.0.1:{}: the "
                                    "proxy closed the connection without answering",
                                    proxy.Port()));
}

// The proxy opens the tunnel and hangs up: the TLS handshake fails (and the
// write into the closed connection raises SIGPIPE, which must not end the
// process).
TEST_F(ProxyTransportTest, ATunnelThatDropsDuringTheHandshakeFailsTheCallNotTheProcess) {
  LoggingProxy proxy({.connect_answer = "HTTP/1.1 200 Connection established"});
  ASSERT_GT(proxy.Port(), 0);
  auto result = GetThrough("https://127.0.0.1:9", {.host = "127.0.0.1", .port = proxy.Port()});
  ExpectNotSent(result, fmt::format("cannot reach 127.0.0.1:9 through proxy 127.0.0.1:{}: TLS "
                                    "handshake failed",
                                    proxy.Port()));
}

TEST_F(ProxyTransportTest, RefusedCredentialsAreNotSentEvenOnTheNextCall) {
  LoggingProxy proxy({.required_authorization = "Basic other"});
  ASSERT_GT(proxy.Port(), 0);
  const ProxySettings settings{
      .host = "127.0.0.1", .port = proxy.Port(), .user = "ops", .password = kPassword};
  // The second call must not reuse the connection the refused CONNECT left
  // without a tunnel.
  auto tunnel = GetThrough("https://127.0.0.1:9", settings, 2);
  ExpectNotSent(tunnel, fmt::format("cannot reach 127.0.0.1:9 through proxy 127.0.0.1:{}: the "
                                    "proxy refused the credentials (HTTP 407)",
                                    proxy.Port()));
  ASSERT_EQ(proxy.Requests().size(), 2u);
  EXPECT_EQ(proxy.Requests()[1].proxy_authorization, kBasicAuth);

  auto plain = GetThrough("http://127.0.0.1:9", {.host = "127.0.0.1", .port = proxy.Port()});
  ExpectNotSent(plain, fmt::format("cannot reach 127.0.0.1:9 through proxy 127.0.0.1:{}: the "
                                   "proxy asks for credentials (HTTP 407)",
                                   proxy.Port()));
}

TEST_F(ProxyTransportTest, AProxyNameThatDoesNotResolveIsNamed) {
  auto result = GetThrough("https://127.0.0.1:9", {.host = "no..such.host", .port = 3128});
  ExpectNotSent(result, "cannot reach proxy no..such.host:3128: name resolution failed");
}

// End to end: `refresh --sim --base-url` against the simulator, the proxy in
// the CLI's environment.
class ProxyEndToEndTest : public SimStoreTest {
 protected:
  CliResult Refresh(std::map<std::string, std::string> environment,
                    std::vector<std::string> extra = {}) {
    environment["ALPHAVANTAGE_API_KEY"] = kKey;
    std::vector<std::string> args = {"refresh", "--symbols", symbols_, "--db",
                                     db_,       "--sim",     "--rate", "10/s,25/day"};
    if (sim_) args.insert(args.end(), {"--base-url", sim_->BaseUrl()});
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCliCaptured(clock_, args, environment);
  }
  std::string QuotaLine() {
    return RunCliCaptured(clock_, {"quota", "--db", db_, "--rate", "10/s,25/day"}).out;
  }
  static std::string WithCredentials(const LoggingProxy& proxy) {
    return fmt::format("http://ops:{}@127.0.0.1:{}", kPassword, proxy.Port());
  }
  static void ExpectNoSecret(const CliResult& run) {
    for (const char* secret : {kKey, kPassword}) {
      EXPECT_FALSE(Contains(run.out, secret)) << run.out;
      EXPECT_FALSE(Contains(run.err, secret)) << run.err;
    }
  }
};

TEST_F(ProxyEndToEndTest, ARefreshGoesThroughTheProxyWithItsCredentialsAndShowsNoSecret) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  LoggingProxy proxy({.required_authorization = kBasicAuth});
  ASSERT_GT(proxy.Port(), 0);
  auto run = Refresh({{"http_proxy", WithCredentials(proxy)}});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(run.err, fmt::format("mdfetch: using proxy http://***@127.0.0.1:{} for {}\n",
                                 proxy.Port(), UrlAuthority(sim_->BaseUrl())));
  for (const char* s : {"IBM", "MSFT"}) EXPECT_EQ(Stored(s), Served(s)) << s;
  EXPECT_EQ(sim_->Stats().calls, 2);
  const auto seen = proxy.Requests();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& request : seen) {
    EXPECT_TRUE(request.request_line.starts_with(
        fmt::format("GET {}/query?function=TIME_SERIES_DAILY&", sim_->BaseUrl())))
        << request.request_line;
    EXPECT_TRUE(request.request_line.ends_with(" HTTP/1.1")) << request.request_line;
    EXPECT_EQ(request.proxy_authorization, kBasicAuth);
  }
  ExpectNoSecret(run);
}

TEST_F(ProxyEndToEndTest, NoProxyNamingTheHostBypassesTheProxy) {
  StartSim();
  WriteSymbols("IBM\n");
  LoggingProxy proxy;
  ASSERT_GT(proxy.Port(), 0);
  auto run = Refresh({{"http_proxy", WithCredentials(proxy)}, {"NO_PROXY", "127.0.0.1"}});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(Stored("IBM"), Served("IBM"));
  EXPECT_TRUE(proxy.Requests().empty());
}

TEST_F(ProxyEndToEndTest, AProxyWhereNothingListensSpendsNoQuotaAndExitsFourNamingIt) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  auto run = Refresh({{"http_proxy", fmt::format("http://ops:{}@127.0.0.1:1", kPassword)}});
  EXPECT_EQ(run.code, kExitUnreachable) << run.out << run.err;
  EXPECT_TRUE(
      Contains(run.out,
               "\nmdfetch: stopped: cannot reach proxy 127.0.0.1:1: connection refused or host "
               "unreachable\n"))
      << run.out;
  EXPECT_EQ(QuotaLine(), "0 of 25 calls spent in the last 24 h; next call allowed: now\n");
  EXPECT_EQ(sim_->Stats().calls, 0);
  ExpectNoSecret(run);
}

TEST_F(ProxyEndToEndTest, RefusedCredentialsSpendNoQuotaAndExitFour) {
  StartSim();
  WriteSymbols("IBM\n");
  LoggingProxy proxy({.required_authorization = "Basic other"});
  ASSERT_GT(proxy.Port(), 0);
  auto run = Refresh({{"http_proxy", WithCredentials(proxy)}});
  EXPECT_EQ(run.code, kExitUnreachable) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, fmt::format("\nmdfetch: stopped: cannot reach {} through proxy "
                                            "127.0.0.1:{}: the proxy refused the credentials "
                                            "(HTTP 407)\n",
                                            UrlAuthority(sim_->BaseUrl()), proxy.Port())))
      << run.out;
  EXPECT_EQ(QuotaLine(), "0 of 25 calls spent in the last 24 h; next call allowed: now\n");
  EXPECT_EQ(sim_->Stats().calls, 0);
  ExpectNoSecret(run);
}

TEST_F(ProxyEndToEndTest, ABadProxyValueIsAUsageErrorThatHidesItsCredentials) {
  StartSim();
  WriteSymbols("IBM\n");
  auto run = Refresh({{"http_proxy", fmt::format("ftp://ops:{}@x", kPassword)}});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, fmt::format("mdfetch: bad http_proxy 'ftp://***@x': {}\n", kExpected));
  EXPECT_EQ(sim_->Stats().calls, 0);
}

TEST_F(ProxyEndToEndTest, TheBuiltInSimulatorIsNeverReachedThroughAProxy) {
  WriteSymbols("IBM\n");
  LoggingProxy proxy;
  ASSERT_GT(proxy.Port(), 0);
  auto run = Refresh({{"http_proxy", WithCredentials(proxy)}});  // no --base-url
  EXPECT_FALSE(Contains(run.err, "using proxy")) << run.err;
  EXPECT_NE(run.code, kExitUnreachable) << run.out << run.err;
  EXPECT_TRUE(proxy.Requests().empty());
}

}  // namespace
}  // namespace mdfetch
