// mdfetch_bench_tool: the end-to-end benchmark's helpers (bench/e2e.py runs them).
//
//   corpus DIR N       writes DIR/full/SYMi.json (i < N): full daily answers for the last session
//                      kBenchLastSession, cut to 5,600-6,800 bars each, and
//                      DIR/compact/SYMi.json: the compact answers one session later
//   breakdown DIR N DB times, on the same N histories and one thread each: decoding every full
//                      answer; Store::StoreAnswer of every history into a new database DB; and
//                      the SQLite ceiling (bench_sqlite.h) into DB.ceiling. Prints one JSON
//                      object.
//   fetch URL N C      GETs the N full answers from URL on C kept-alive connections, without
//                      decoding them: what the network and the server cost alone. Prints JSON.
//   schema DB          creates mdfetch's schema in a new store DB, nothing else (the Python
//                      baseline's database: `refresh` refuses an empty symbol list)
//   store DB S B       fills DB (a new SQLite file or an empty PostgreSQL database) through
//                      Store::StoreAnswer with S daily series SYM0.. of B bars each: every
//                      weekday back from kBenchLastSession, a deterministic random walk. The
//                      large store of the query and export benchmark. Prints JSON.
//
// Exit status: 0 done, 1 failed (the reason on stderr), 2 usage.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench_corpus.h"
#include "bench_sqlite.h"
#include "mdfetch/av_codec.h"
#include "mdfetch/store.h"

namespace mdfetch::bench {
namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;
using Steady = std::chrono::steady_clock;

constexpr size_t kFewestBars = 5600;
constexpr size_t kBarSpread = 1201;  // histories hold kFewestBars .. kFewestBars + 1200 bars

std::string Symbol(int64_t i) { return fmt::format("SYM{}", i); }

// Spread evenly and deterministically over the range (7919 is prime, so i -> bars is varied).
size_t HistoryBars(int64_t i) { return kFewestBars + static_cast<size_t>(i * 7919) % kBarSpread; }

Status WriteFile(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return Fail(fmt::format("cannot write '{}'", path.string()));
  return {};
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(fmt::format("cannot read '{}'", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// Writes one kind of answer for every symbol from a simulator whose last session is `session`.
Status WriteBodies(const fs::path& dir, int64_t n, Date session, bool full) {
  fs::create_directories(dir);
  auto source = BodySource::Start(session);
  if (!source) return std::unexpected(source.error());
  for (int64_t i = 0; i < n; ++i) {
    auto body = (*source)->Daily(Symbol(i), full ? "full" : "compact");
    if (!body) return std::unexpected(body.error());
    std::string text = full ? KeepNewest(*body, HistoryBars(i)) : std::move(*body);
    if (Status ok = WriteFile(dir / (Symbol(i) + ".json"), text); !ok) return ok;
  }
  return {};
}

Status Corpus(const fs::path& dir, int64_t n) {
  if (Status ok = WriteBodies(dir / "full", n, kBenchLastSession, true); !ok) return ok;
  return WriteBodies(dir / "compact", n, kBenchNextSession, false);
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
}

Status StoreAll(const std::string& path, const std::vector<Answer>& answers, int64_t& rows) {
  RemoveDb(path);
  auto store = Store::Open(path, OpenMode::kReadWrite);
  if (!store) return std::unexpected(store.error());
  const WallTime at = std::chrono::system_clock::now();
  for (size_t i = 0; i < answers.size(); ++i) {
    const SeriesKey key{Symbol(static_cast<int64_t>(i)), Function::kDaily, ""};
    auto fetch_id = (*store)->BeginCall(key, OutputSize::kFull, at);
    if (!fetch_id) return std::unexpected(fetch_id.error());
    auto counts = (*store)->StoreAnswer(*fetch_id, key, answers[i].meta, answers[i].bars, false,
                                        CallRecord{}, at);
    if (!counts) return std::unexpected(counts.error());
    rows += counts->added;
  }
  return {};
}

Status CeilingAll(const std::string& path, const std::vector<Answer>& answers, int64_t& rows) {
  RemoveDb(path);
  auto writer = RawBarWriter::Open(path);
  if (!writer) return std::unexpected(writer.error());
  for (size_t i = 0; i < answers.size(); ++i) {
    auto series_id = (*writer)->AddSeries(Symbol(static_cast<int64_t>(i)));
    if (!series_id) return std::unexpected(series_id.error());
    if (Status ok = (*writer)->InsertBars(*series_id, answers[i].bars); !ok) return ok;
    rows += static_cast<int64_t>(answers[i].bars.size());
  }
  return {};
}

// Times `fn` including closing its database (the final checkpoint is part of the job).
template <typename F>
Result<double> Timed(F fn) {
  const auto start = Steady::now();
  if (Status ok = fn(); !ok) return std::unexpected(ok.error());
  return Seconds(Steady::now() - start).count();
}

Status Breakdown(const fs::path& dir, int64_t n, const std::string& db) {
  std::vector<std::string> bodies;
  int64_t bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto body = ReadFile(dir / "full" / (Symbol(i) + ".json"));
    if (!body) return std::unexpected(body.error());
    bytes += static_cast<int64_t>(body->size());
    bodies.push_back(std::move(*body));
  }
  std::vector<Answer> answers;
  auto decode = Timed([&]() -> Status {
    for (size_t i = 0; i < bodies.size(); ++i) {
      const SeriesKey key{Symbol(static_cast<int64_t>(i)), Function::kDaily, ""};
      answers.push_back(DecodeAnswer(Request{key, OutputSize::kFull, ""}, bodies[i]));
      if (answers.back().kind != AnswerKind::kData) return Fail(answers.back().message);
    }
    return {};
  });
  if (!decode) return std::unexpected(decode.error());
  bodies = {};
  int64_t stored = 0, ceiling_rows = 0;
  auto store = Timed([&] { return StoreAll(db, answers, stored); });
  if (!store) return std::unexpected(store.error());
  auto ceiling = Timed([&] { return CeilingAll(db + ".ceiling", answers, ceiling_rows); });
  if (!ceiling) return std::unexpected(ceiling.error());
  RemoveDb(db + ".ceiling");
  fmt::print(
      "{{\"histories\": {}, \"bytes\": {}, \"rows\": {}, \"decode_s\": {:.4f}, "
      "\"store_s\": {:.4f}, \"ceiling_s\": {:.4f}, \"ceiling_rows_per_s\": {:.0f}}}\n",
      n, bytes, stored, *decode, *store, *ceiling, static_cast<double>(ceiling_rows) / *ceiling);
  return {};
}

Status Fetch(const std::string& url, int64_t n, int concurrency) {
  auto factory = MakeHttpTransportFactory(url, TransportOptions{});
  if (!factory) return std::unexpected(factory.error());
  std::atomic<int64_t> next{0}, bytes{0}, failures{0};
  const auto start = Steady::now();
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < concurrency; ++w) {
      workers.emplace_back([&] {
        auto transport = (*factory)();
        for (int64_t i = next++; i < n; i = next++) {
          const SeriesKey key{Symbol(i), Function::kDaily, ""};
          auto response = transport->Get(BuildTarget(Request{key, OutputSize::kFull, ""}, "bench"));
          if (!response || response->status != 200) {
            ++failures;
            continue;
          }
          bytes += static_cast<int64_t>(response->body.size());
        }
      });
    }
  }
  const double seconds = Seconds(Steady::now() - start).count();
  if (failures > 0) return Fail(fmt::format("{} of {} GETs failed", failures.load(), n));
  fmt::print("{{\"histories\": {}, \"bytes\": {}, \"seconds\": {:.4f}}}\n", n, bytes.load(),
             seconds);
  return {};
}

// B weekdays ending at kBenchLastSession (holidays are not left out: the readers do not care),
// oldest first, prices a random walk seeded by `seed`.
std::vector<Bar> SyntheticBars(int64_t seed, int64_t count) {
  std::vector<Date> days;
  days.reserve(static_cast<size_t>(count));
  std::chrono::sys_days day{kBenchLastSession};
  while (std::ssize(days) < count) {
    if (std::chrono::weekday(day).iso_encoding() <= 5) days.push_back(Date(day));
    day -= std::chrono::days(1);
  }
  uint64_t state = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(seed + 1);
  auto next = [&state] {  // xorshift64*, in [0, 1)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<double>((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
  };
  std::vector<Bar> bars;
  bars.reserve(days.size());
  double close = 20 + 200 * next();
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    const double open = close;
    close = std::max(1.0, std::round(open * (0.98 + 0.04 * next()) * 100) / 100);
    Bar bar{.ts = FormatDate(*it), .open = open, .close = close};
    bar.high = std::round((std::max(open, close) + next()) * 100) / 100;
    bar.low = std::max(0.5, std::round((std::min(open, close) - next()) * 100) / 100);
    bar.volume = std::round(1e5 + 1e7 * next());
    bars.push_back(std::move(bar));
  }
  return bars;
}

Status FillStore(const std::string& location, int64_t series, int64_t per_series) {
  auto store = Store::Open(location, OpenMode::kReadWrite);
  if (!store) return std::unexpected(store.error());
  const WallTime at = std::chrono::system_clock::now();
  const SeriesMeta meta{.last_refreshed = FormatDate(kBenchLastSession),
                        .time_zone = "US/Eastern",
                        .output_size = "Full size"};
  int64_t rows = 0;
  const auto start = Steady::now();
  for (int64_t i = 0; i < series; ++i) {
    const SeriesKey key{Symbol(i), Function::kDaily, ""};
    const std::vector<Bar> bars = SyntheticBars(i, per_series);
    SeriesMeta named = meta;
    named.symbol = key.symbol;
    auto fetch_id = (*store)->BeginCall(key, OutputSize::kFull, at);
    if (!fetch_id) return std::unexpected(fetch_id.error());
    auto counts = (*store)->StoreAnswer(*fetch_id, key, named, bars, false,
                                        CallRecord{.outcome = "stored", .http_status = 200}, at);
    if (!counts) return std::unexpected(counts.error());
    rows += counts->added;
  }
  store->reset();
  const double seconds = Seconds(Steady::now() - start).count();
  fmt::print("{{\"series\": {}, \"rows\": {}, \"seconds\": {:.3f}}}\n", series, rows, seconds);
  return {};
}

std::optional<int64_t> Count(const char* text) {
  int64_t value = 0;
  const std::string_view s(text);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value <= 0) return std::nullopt;
  return value;
}

int Main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  const int64_t n = argc > 3 ? Count(argv[3]).value_or(0) : 0;
  const int64_t c = argc > 4 ? Count(argv[4]).value_or(0) : 0;
  Status done;
  if (command == "corpus" && argc == 4 && n > 0) {
    done = Corpus(argv[2], n);
  } else if (command == "breakdown" && argc == 5 && n > 0) {
    done = Breakdown(argv[2], n, argv[4]);
  } else if (command == "schema" && argc == 3) {
    auto store = Store::Open(argv[2], OpenMode::kReadWrite);
    if (!store) done = std::unexpected(store.error());
  } else if (command == "store" && argc == 5 && n > 0 && c > 0) {
    done = FillStore(argv[2], n, c);
  } else if (command == "fetch" && argc == 5 && n > 0 && c > 0) {
    done = Fetch(argv[2], n, static_cast<int>(c));
  } else {
    std::fputs(
        "usage: mdfetch_bench_tool corpus DIR N | breakdown DIR N DB | fetch URL N CONCURRENCY | "
        "schema DB | store DB SERIES BARS\n",
        stderr);
    return 2;
  }
  if (!done) {
    fmt::print(stderr, "mdfetch_bench_tool {}: {}\n", command, done.error().message);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace mdfetch::bench

int main(int argc, char** argv) { return mdfetch::bench::Main(argc, argv); }
