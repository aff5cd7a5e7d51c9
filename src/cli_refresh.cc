// `mdfetch refresh` and `mdfetch fetch`: from a symbol list to stored bars, and the summary.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "cli_commands.h"
#include "mdfetch/engine.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/net.h"
#include "mdfetch/planner.h"
#include "mdfetch/proxy.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"

namespace mdfetch {
namespace {

// Turns SIGINT/SIGTERM into Engine::RequestStop() on a thread of its own: the signals are
// blocked in every thread (the mask is inherited by the threads created after it) and taken
// with sigwait(), so no work happens inside a signal handler.
class SignalWatcher {
 public:
  explicit SignalWatcher(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR1) return;
        signal_.store(sig);
        std::lock_guard lock(mu_);
        if (engine_ != nullptr) engine_->RequestStop();
      }
    });
  }
  ~SignalWatcher() {
    if (!enabled_) return;
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  // The engine to stop on a signal, until Watch(nullptr) (before the engine dies).
  void Watch(Engine* engine) {
    std::lock_guard lock(mu_);
    engine_ = engine;
    if (engine != nullptr && signal_.load() != 0) engine->RequestStop();
  }
  int Signal() const { return signal_.load(); }

 private:
  bool enabled_;
  sigset_t set_{};
  sigset_t old_{};
  std::thread thread_;
  std::atomic<int> signal_{0};
  std::mutex mu_;
  Engine* engine_ = nullptr;
};

// Creates the database's folder if needed; the error names the path. A PostgreSQL URI names
// no file.
Status PrepareDbPath(const std::string& db) {
  if (IsPostgresUri(db)) return {};
  std::filesystem::path parent = std::filesystem::path(db).parent_path();
  if (parent.empty() || db == ":memory:") return {};
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    return Fail(fmt::format("cannot create database '{}': cannot create folder '{}': {}", db,
                            parent.string(), ec.message()));
  }
  return {};
}

// Bars from the simulator and from the service never share a database.
Status CheckOrigin(Store& store, const std::string& db, bool sim) {
  std::string_view want = sim ? "simulator" : "alphavantage";
  auto origin = store.GetFact("origin");
  if (!origin) return std::unexpected(origin.error());
  if (origin->has_value() && **origin == want) return {};
  // A store without bars may change sides; one with bars never does.
  auto series = store.ListSeries();
  if (!series) return std::unexpected(series.error());
  bool has_bars = std::any_of(series->begin(), series->end(),
                              [](const SeriesState& s) { return s.bar_count > 0; });
  if (!has_bars) return store.SetFact("origin", want);
  if (sim) {
    return Fail(
        fmt::format("'{}' holds bars from Alpha Vantage; simulated bars never go into "
                    "it (use --db {})",
                    db, kDemoDb));
  }
  return Fail(
      fmt::format("'{}' holds simulated bars; real bars do not go into it (use --db "
                  "{} or another path)",
                  db, kDefaultDb));
}

}  // namespace

Result<std::string> ResolveApiKey(const RefreshArgs& args, CliEnv& env) {
  if (!args.api_key.empty()) {
    fmt::print(env.err,
               "mdfetch: other users of this machine can see --api-key in the process list; "
               "prefer --api-key-file or ALPHAVANTAGE_API_KEY\n");
    return args.api_key;
  }
  std::string file = args.api_key_file;
  std::string name = "--api-key-file";
  if (file.empty() && env.getenv) {
    file = env.getenv("ALPHAVANTAGE_API_KEY_FILE").value_or("");
    name = "ALPHAVANTAGE_API_KEY_FILE";
  }
  if (file.empty()) return env.getenv ? env.getenv("ALPHAVANTAGE_API_KEY").value_or("") : "";
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) {
    return Fail(fmt::format("cannot read {} '{}': {}", name, file, std::strerror(errno)));
  }
  if ((info.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    return Fail(fmt::format("{} '{}' is readable by other users; make it private: chmod 600 {}",
                            name, file, file));
  }
  if (S_ISDIR(info.st_mode)) {
    return Fail(fmt::format("cannot read {} '{}': it is a folder", name, file));
  }
  std::ifstream in(file);
  if (!in.is_open()) {
    return Fail(fmt::format("cannot read {} '{}': {}", name, file, std::strerror(errno)));
  }
  std::string key;
  std::getline(in, key);
  if (in.bad()) return Fail(fmt::format("cannot read {} '{}': read error", name, file));
  const size_t end = key.find_last_not_of(" \t\r\n");
  key.erase(end == std::string::npos ? 0 : end + 1);
  key.erase(0, std::min(key.size(), key.find_first_not_of(" \t")));
  // An empty file, or one whose first line is blank.
  if (key.empty()) return Fail(fmt::format("{} '{}' holds no key", name, file));
  return key;
}

namespace {

// The exit status of a run that got as far as the engine (cli.h).
int ExitStatus(const RefreshSummary& summary, bool invalid_lines, int signal) {
  switch (summary.stop) {
    case StopCause::kInterrupted:
      return signal == SIGTERM ? 143 : kExitInterrupted;
    case StopCause::kQuota:
      return kExitQuota;
    case StopCause::kUnreachable:
      return kExitUnreachable;
    case StopCause::kError:
      return kExitFailed;
    case StopCause::kNone:
      break;
  }
  if (summary.Count(SeriesStatus::kFailed) > 0 || invalid_lines) return kExitFailed;
  return kExitOk;
}

}  // namespace

Result<Target> CollectSeries(const RefreshArgs& args, CliEnv& env) {
  auto options = ResolveOptions(args.function, args.interval, args.adjusted, args.extended_hours);
  if (!options) return std::unexpected(options.error());
  Target target;
  if (!args.fetch) {
    const bool from_stdin = args.symbols_file == "-";
    auto list = from_stdin ? OpenSymbolStream(env.in, "stdin", options->defaults)
                           : OpenSymbolFile(args.symbols_file, options->defaults);
    if (!list) return std::unexpected(list.error());
    // A nightly job on a symbol list that lost its lines must not pass as "0 series".
    if ((*list)->size() == 0 && (*list)->problems().empty()) {
      return Fail(fmt::format("{} names no series (only blank lines and comments)",
                              from_stdin ? std::string("the symbol list on stdin")
                                         : fmt::format("symbol file '{}'", args.symbols_file)));
    }
    target.problems = (*list)->problems();
    target.list = std::move(*list);
  } else {
    std::set<SeriesKey> seen;
    for (const auto& text : args.symbols) {
      auto key = ParseSeriesArgument(text, options->defaults);
      if (!key) {
        target.problems.push_back(key.error().message);
      } else if (seen.insert(*key).second) {
        target.series.push_back(*key);
      }
    }
  }
  if (auto ok = target.list ? options->CheckSwitchesApply(*target.list)
                            : options->CheckSwitchesApply(target.series);
      !ok) {
    return std::unexpected(ok.error());
  }
  return target;
}

SeriesSource& Target::source() {
  if (list) return *list;
  if (!source_of_series) source_of_series = std::make_unique<VectorSource>(series);
  return *source_of_series;
}

std::vector<SeriesKey> Target::All() {
  if (!list) return series;
  std::vector<SeriesKey> all;
  all.reserve(list->size());
  list->Rewind();
  for (SeriesKey key; list->Next(key);) all.push_back(key);
  return all;
}

// --month values as a list of "YYYY-MM", in the order given, each once. The service has
// intraday months from 2000-01 to the current one (in New York).
Result<std::vector<std::string>> ExpandMonths(const std::vector<std::string>& specs, WallTime now) {
  using std::chrono::year_month;
  const year_month first{std::chrono::year(2000), std::chrono::January};
  const Date today = std::chrono::floor<std::chrono::days>(now + NewYorkOffset(now));
  const year_month current{today.year(), today.month()};
  auto month_text = [](year_month ym) {
    return fmt::format("{:04}-{:02}", static_cast<int>(ym.year()),
                       static_cast<unsigned>(ym.month()));
  };
  std::vector<std::string> months;
  std::set<std::string> seen;
  for (const std::string& spec : specs) {
    size_t dots = spec.find("..");
    std::string_view from_text = std::string_view(spec).substr(0, dots);
    std::string_view to_text =
        dots == std::string::npos ? from_text : std::string_view(spec).substr(dots + 2);
    auto from = ParseMonth(from_text);
    auto to = ParseMonth(to_text);
    if (!from || !to) {
      return Fail(
          fmt::format("bad --month '{}': expected YYYY-MM or YYYY-MM..YYYY-MM", Printable(spec)));
    }
    if (*to < *from) return Fail(fmt::format("--month {} runs backwards", Printable(spec)));
    if (*from < first) {
      return Fail(fmt::format("--month {}: intraday history starts at 2000-01", Printable(spec)));
    }
    if (*to > current) {
      return Fail(fmt::format("--month {}: {} has not begun", Printable(spec), month_text(*to)));
    }
    for (year_month ym = *from; ym <= *to; ym += std::chrono::months(1)) {
      if (seen.insert(month_text(ym)).second) months.push_back(month_text(ym));
    }
  }
  return months;
}

Outcome RunRefresh(const RefreshArgs& args, CliEnv& env) {
  // An answer is up to a few MB (a full daily history ~1.3 MB), and a run receives, decodes
  // and stores hundreds of them on several threads. With glibc's defaults each such buffer is
  // a fresh mmap, its pages zero-filled and faulted in one by one, then unmapped again: a fifth
  // of mdfetch's CPU in the 200-history ingest (docs/performance.md, "Page faults"). Served
  // from the threads' heaps and kept there, the same pages serve the next answer, for ~10 MB
  // more peak RSS in that ingest. Anything larger than 32 MB is still a mapping of its own.
  // The other commands keep glibc's defaults: a list of 100,000 series grows its vectors by
  // mremap then, not by copying within the heap (11 MB less peak RSS).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  const WallTime started = env.clock->WallNow();
  SignalWatcher signals(env.handle_signals);
  if (args.quiet && args.verbose)
    return Exit(kExitUsage, "--quiet and --verbose exclude each other");
  const std::string rate_text =
      args.rate.empty() ? (args.sim ? kDefaultSimRate : kDefaultRate) : args.rate;
  auto rate = ParseRateSpec(rate_text);
  if (!rate) {
    return Exit(kExitUsage, "{}", rate.error().message);
  }
  if (!args.report.empty()) {
    if (Status ok = CheckReportPath(args.report); !ok)
      return Exit(kExitUsage, "{}", ok.error().message);
  }
  auto target = CollectSeries(args, env);
  if (!target) {
    return Exit(kExitUsage, "{}", target.error().message);
  }
  auto months = ExpandMonths(args.months, env.clock->WallNow());
  if (!months) {
    return Exit(kExitUsage, "{}", months.error().message);
  }
  SeriesSource& series = target->source();
  series.Rewind();
  for (SeriesKey key; !months->empty() && series.Next(key);) {
    if (key.function != Function::kIntraday) {
      return Exit(kExitUsage,
                  "--month backfills intraday series; {} is not one (name it like \"{} "
                  "intraday:5min\", or pass --function intraday)",
                  Describe(key), key.symbol);
    }
  }
  // After the arguments are known good, so a usage error is not preceded by the warning.
  Result<std::string> resolved_key = ResolveApiKey(args, env);
  if (!resolved_key) return Exit(kExitUsage, "{}", resolved_key.error().message);
  std::string api_key = std::move(*resolved_key);
  if (api_key.empty() && args.sim) api_key = "simulator-key";
  if (api_key.empty()) {
    return Exit(kExitUsage,
                "no API key: set ALPHAVANTAGE_API_KEY or pass --api-key-file (or --sim to run "
                "against the built-in simulator)");
  }
  // How long a series claimed on a shared store stays this run's without a call; tests shorten
  // it to see a killed fetcher's series taken over. Checked before the store is opened.
  Nanos lease = EngineOptions{}.lease;
  if (auto text = env.getenv ? env.getenv("MDFETCH_LEASE_SECONDS") : std::nullopt;
      text && !text->empty()) {
    char* end = nullptr;
    const long seconds = std::strtol(text->c_str(), &end, 10);
    if (end == text->c_str() || *end != '\0' || seconds < 1 || seconds > 86400) {
      return Exit(
          kExitUsage,
          "MDFETCH_LEASE_SECONDS must be a whole number of seconds from 1 to 86400, not '{}'",
          *text);
    }
    lease = std::chrono::seconds(seconds);
  }
  std::string db = ResolveDb(args.db, env, args.sim ? kDemoDb : kDefaultDb);
  if (auto ok = PrepareDbPath(db); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  // On SQLite, kWriter holds the store's writer lock (<db>.lock) until the store dies, so a
  // second refresh of the same file is refused naming the holder. On PostgreSQL refreshes
  // share the store: each claims its series and reserves its calls in it (Store::SharedFetching).
  auto store = Store::Open(db, IsPostgresUri(db) ? OpenMode::kReadWrite : OpenMode::kWriter);
  if (!store) {
    return Exit(kExitUsage, "{}", store.error().message);
  }
  // From here on the store is named as messages show it: a URI's password is never printed.
  db = (*store)->Location();
  if (auto ok = CheckOrigin(**store, db, args.sim); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  // `quota` and `info` count against the limit the refreshes run with.
  if (auto ok = (*store)->SetSetting(kRateSetting, rate_text, env.clock->WallNow()); !ok) {
    return Exit(kExitFailed, "{}", ok.error().message);
  }

  auto net = LoadNet();
  if (!net) return Exit(kExitFailed, "{}", net.error().message);
  std::unique_ptr<SimServer> simulator;
  std::string base_url = args.base_url;
  if (args.sim && !args.base_url_given) {
    SimOptions sim_options;
    sim_options.clock = env.clock;  // the simulator's "today" is the refresh's
    simulator = (*net)->make_simulator(sim_options);
    if (auto port = simulator->Start(0); !port) {
      return Exit(kExitUsage, "{}", port.error().message);
    }
    base_url = simulator->BaseUrl();
    if (!args.quiet) {
      fmt::print(env.err,
                 "mdfetch: no real service: fetching simulated bars from the built-in "
                 "simulator at {} into {}\n",
                 base_url, db);
    }
  }
  TransportOptions transport_options;
  // The built-in simulator listens on this machine's loopback, where no proxy can reach it.
  if (simulator == nullptr) {
    auto proxy = ResolveProxy(base_url, env.getenv);
    if (!proxy) return Exit(kExitUsage, "{}", proxy.error().message);
    transport_options.proxy = std::move(*proxy);
  }
  auto transports = (*net)->make_transport_factory(base_url, transport_options);
  if (!transports) {
    return Exit(kExitUsage, "{}", transports.error().message);
  }
  if (transport_options.proxy && !args.quiet) {
    fmt::print(env.err, "mdfetch: using proxy {} for {}\n", transport_options.proxy->Display(),
               UrlAuthority(base_url));
  }
  for (const auto& problem : target->problems) fmt::print(env.err, "mdfetch: {}\n", problem);

  const Verbosity verbosity = args.quiet     ? Verbosity::kQuiet
                              : args.verbose ? Verbosity::kVerbose
                                             : Verbosity::kNormal;
  EngineOptions options{.rate = *rate,
                        .concurrency = args.concurrency,
                        .retries = args.retries,
                        .force = args.force,
                        .full = args.full,
                        .months = *months,
                        .api_key = api_key,
                        .simulated = args.sim};
  options.lease = lease;
  if (verbosity == Verbosity::kVerbose) {
    options.on_call = [&env](const CallEvent& call) { PrintCall(env.err, call); };
  }
  Engine engine(*env.clock, *transports, **store, options);
  signals.Watch(&engine);
  RefreshSummary summary;
  RunResults results(series, *months);
  {
    // A quiet run draws nothing; a verbose one has its call lines instead.
    ProgressLine progress(env);
    std::function<void(const Progress&)> on_progress;
    if (verbosity == Verbosity::kNormal) on_progress = std::ref(progress);
    summary = engine.Run(
        series,
        [&](size_t position, SeriesResult&& result) { results.Add(position, std::move(result)); },
        on_progress);
  }
  signals.Watch(nullptr);

  RunReport report{.args = &args,
                   .summary = &summary,
                   .results = &results,
                   .db = db,
                   .rate = rate_text,
                   .months = *months,
                   .problems = target->problems,
                   .started = started,
                   .ended = env.clock->WallNow(),
                   .exit_status = ExitStatus(summary, !target->problems.empty(), signals.Signal())};
  // With the report on stdout, what a person reads goes to stderr.
  PrintSummary(args.report == "-" ? env.err : env.out, report, verbosity);
  if (args.report.empty()) return report.exit_status;
  if (Status written = WriteReport(args.report, report, env.out); !written) {
    return Exit(report.exit_status == kExitOk ? kExitFailed : report.exit_status, "{}",
                written.error().message);
  }
  return report.exit_status;
}

}  // namespace mdfetch
