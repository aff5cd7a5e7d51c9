// Micro-benchmarks of the write path: the store's upsert of a whole history (new, then the
// same again), one evening's call (decode a compact answer, store one new bar and 99 known
// ones), and the SQLite ceiling the store is measured against. Every database is a file in a
// temporary folder with the store's settings (WAL, synchronous=NORMAL): the refresh's case.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "bench_sqlite.h"
#include "mdfetch/store.h"
#include "micro_inputs.h"

namespace mdfetch::bench {
namespace {

namespace fs = std::filesystem;

const SeriesKey kKey{"IBM", Function::kDaily, ""};

// A folder of its own under $TMPDIR, removed with everything in it.
class TempDb {
 public:
  TempDb() : dir_(fs::temp_directory_path() / fmt::format("mdfetch-micro-{}", getpid())) {
    fs::create_directories(dir_);
  }
  ~TempDb() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  // The database path after deleting any database (and its WAL) left there.
  std::string Fresh() const {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(Path() + suffix);
    return Path();
  }
  std::string Path() const { return (dir_ / "bench.db").string(); }

 private:
  fs::path dir_;
};

const MicroInputs* InputsOrSkip(benchmark::State& state) {
  const MicroInputs& in = Inputs();
  if (in.error.empty()) return &in;
  state.SkipWithError(in.error.c_str());
  return nullptr;
}

std::unique_ptr<Store> OpenOrSkip(benchmark::State& state, const std::string& path) {
  auto store = Store::Open(path, OpenMode::kReadWrite);
  if (store) return std::move(*store);
  state.SkipWithError(store.error().message.c_str());
  return nullptr;
}

void Report(benchmark::State& state, size_t bars) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(bars));
  state.SetLabel(fmt::format("{} bars", bars));
}

// StoreAnswer of a whole history into a new database: items/s is the store's insert rate.
void BM_StoreAnswerFresh(benchmark::State& state) {
  const MicroInputs* in = InputsOrSkip(state);
  if (in == nullptr) return;
  TempDb db;
  const WallTime at = std::chrono::system_clock::now();
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Store> store = OpenOrSkip(state, db.Fresh());
    if (!store) return;
    auto fetch_id = store->BeginCall(kKey, OutputSize::kFull, at);
    state.ResumeTiming();
    auto counts = store->StoreAnswer(fetch_id.value_or(0), kKey, in->full.meta, in->full.bars,
                                     false, CallRecord{}, at);
    if (!counts || counts->added != static_cast<int64_t>(in->full.bars.size())) {
      state.SkipWithError("StoreAnswer did not add every bar");
      return;
    }
    state.PauseTiming();
    store.reset();  // closing checkpoints the WAL: not the upsert's cost
    state.ResumeTiming();
  }
  Report(state, in->full.bars.size());
}
BENCHMARK(BM_StoreAnswerFresh)->Unit(benchmark::kMillisecond);

// The same history stored again: every bar is found unchanged (the idempotent path).
void BM_StoreAnswerUnchanged(benchmark::State& state) {
  const MicroInputs* in = InputsOrSkip(state);
  if (in == nullptr) return;
  TempDb db;
  std::unique_ptr<Store> store = OpenOrSkip(state, db.Fresh());
  if (!store) return;
  const WallTime at = std::chrono::system_clock::now();
  const int64_t fetch_id = store->BeginCall(kKey, OutputSize::kFull, at).value_or(0);
  (void)store->StoreAnswer(fetch_id, kKey, in->full.meta, in->full.bars, false, {}, at);
  for (auto _ : state) {
    auto counts = store->StoreAnswer(fetch_id, kKey, in->full.meta, in->full.bars, false, {}, at);
    if (!counts || counts->unchanged != static_cast<int64_t>(in->full.bars.size())) {
      state.SkipWithError("StoreAnswer did not find every bar unchanged");
      return;
    }
  }
  Report(state, in->full.bars.size());
}
BENCHMARK(BM_StoreAnswerUnchanged)->Unit(benchmark::kMillisecond);

// One call of an evening refresh, our side of it: log the call, decode the compact answer,
// store it over the full history (1 new bar, 99 unchanged).
void BM_DailyCall(benchmark::State& state) {
  const MicroInputs* in = InputsOrSkip(state);
  if (in == nullptr) return;
  TempDb db;
  std::unique_ptr<Store> store = OpenOrSkip(state, db.Fresh());
  if (!store) return;
  const WallTime at = std::chrono::system_clock::now();
  (void)store->StoreAnswer(0, kKey, in->full.meta, in->full.bars, false, {}, at);
  for (auto _ : state) {
    auto fetch_id = store->BeginCall(kKey, OutputSize::kCompact, at);
    Answer answer = DecodeAnswer(Request{kKey, OutputSize::kCompact, ""}, in->next_body);
    auto counts = store->StoreAnswer(fetch_id.value_or(0), kKey, answer.meta, answer.bars, false,
                                     CallRecord{}, at);
    if (!counts) {
      state.SkipWithError(counts.error().message.c_str());
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(in->next_body.size()));
}
BENCHMARK(BM_DailyCall)->Unit(benchmark::kMicrosecond);

// The ceiling: the same bars through one prepared plain INSERT, one transaction, the same
// schema and settings, no parsing and no bookkeeping (bench_sqlite.h).
void BM_SqliteCeiling(benchmark::State& state) {
  const MicroInputs* in = InputsOrSkip(state);
  if (in == nullptr) return;
  TempDb db;
  for (auto _ : state) {
    state.PauseTiming();
    auto writer = RawBarWriter::Open(db.Fresh());
    auto series_id = writer ? (*writer)->AddSeries(kKey.symbol) : Result<int64_t>(0);
    if (!writer || !series_id) {
      state.SkipWithError("cannot create the ceiling's database");
      return;
    }
    state.ResumeTiming();
    if (Status done = (*writer)->InsertBars(*series_id, in->full.bars); !done) {
      state.SkipWithError(done.error().message.c_str());
      return;
    }
    state.PauseTiming();
    writer->reset();
    state.ResumeTiming();
  }
  Report(state, in->full.bars.size());
}
BENCHMARK(BM_SqliteCeiling)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mdfetch::bench
