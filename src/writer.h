// Private to the engine: the writer threads that own the Store during a refresh (writer.cc),
// and the pool of kept-alive transports the workers borrow.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "mdfetch/store.h"
#include "mdfetch/transport.h"

namespace mdfetch {

// Runs tasks against the Store on the writer's main thread, in the order they were posted
// (Post, Call): the call log, leases, facts, flags. The queue is bounded by the engine itself
// (one pending task per call in flight), so it needs no cap. A task that fails is not
// dropped: its error is kept for the dispatcher (TakeErrors).
//
// Answer lanes. Storing an answer (Store::StoreAnswer, one transaction per answer) is most of
// the writing, and on PostgreSQL it is the server's CPU that bounds it: one connection is one
// server process, one core (docs/performance.md, issue 11). When the store opens more writing
// connections (Store::OpenConcurrentWriter), the writer runs up to `answer_lanes` more
// threads, each owning one, and PostAnswer gives a task to the least busy of them; tasks of
// one lane run in order, tasks of two lanes at once. Without such connections (SQLite, or
// none could be opened) PostAnswer is Post: everything runs on the main thread, in order.
// Why answers may leave the main thread's order:
// - A call is logged (BeginCall/ReserveCall, committed) on the main connection before it is
//   sent, so the fetches row an answer completes is committed before its StoreAnswer starts.
// - The engine learns that an answer is stored only from the task itself (its Completion is
//   queued after the commit), so whatever it does next about that series (release its lease,
//   call for it again) comes after the answer, as with one thread.
// - Two answers of one series at once (backfill months, or a month and the latest bars) take
//   turns: StoreAnswer's first lock is the series' row (EnsureSeries, FOR UPDATE), and all
//   else it locks (the series' bars, its own fetches row) follows; the main thread's tasks
//   lock that row first too, or wait for it holding only ReserveCall's advisory lock, which
//   no lane takes. No two locks are taken in two orders, so no deadlock. The later of two
//   such answers may commit first: the bars are the same either way, only last_attempt_at/
//   last_outcome follow commit order rather than the order the answers came in.
// - While a lane stores a series, ClaimSeries on the main thread skips its row (SKIP LOCKED)
//   as if another fetcher held it, and the engine asks again a moment later. So the engine
//   keeps backfill months (several calls of one series in flight) on the main thread, in
//   order, and sends only the latest bars to the lanes (src/engine_handle.cc).
// - Each answer is still one transaction: a killed process leaves each series as before or
//   with the whole answer.
// - Leases (Store::SharedFetching: ClaimSeries, ReserveCall, ReleaseSeries, ReleaseLeases)
//   are the main connection's alone, through Post and Call: a lease names that connection's
//   server process (series.lease_backend), which lanes never touch; StoreAnswer reads no
//   lease, as it did not before. The engine posts ReleaseLeases only once no call is in
//   flight, so after every answer of the run has committed.
class Writer {
 public:
  using Task = std::function<Status(Store&)>;

  // Starts the main thread on `store` (which must outlive the Writer) and `answer_lanes`
  // more threads, each of which opens a connection of its own with
  // store.OpenConcurrentWriter() and then serves as an answer lane. The lanes open at once and
  // while the main thread works (a connection to PostgreSQL and its set-up take ~20 ms each):
  // until one is open, PostAnswer is Post. A connection that cannot be opened means fewer
  // lanes (none: PostAnswer is Post), never a failure: the refresh runs as it would on one
  // connection.
  explicit Writer(Store& store, int answer_lanes = DefaultAnswerLanes());
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Answer lanes a Writer asks for by default: one per core, at most kMaxAnswerLanes.
  static int DefaultAnswerLanes();
  static constexpr int kMaxAnswerLanes = 4;

  // Queues `task` on the main thread. Thread-safe.
  void Post(Task task);

  // Queues `task` on the least busy answer lane that is open (ties go round), or on the main
  // thread when there is none. For tasks that may run out of order with the main thread's and
  // with each other (Store::StoreAnswer). Thread-safe.
  void PostAnswer(Task task);

  // Runs `fn` on the main thread and waits for its result.
  template <typename F>
  auto Call(F fn) -> decltype(fn(std::declval<Store&>())) {
    using R = decltype(fn(std::declval<Store&>()));
    std::promise<R> promise;
    auto future = promise.get_future();
    Post([&](Store& store) {
      promise.set_value(fn(store));
      return Status{};
    });
    return future.get();
  }

  // The answer lanes that opened their connection (0: everything runs on the main thread);
  // waits until each has opened it or given up.
  int AnswerLanes() const;

  // The errors of the tasks that failed since the last call (on any thread), oldest first.
  std::vector<Error> TakeErrors();

  // Finishes every posted task (the lanes', then the main thread's), then stops the threads.
  void Close();

 private:
  // One thread running tasks against one Store in the order they were posted.
  class Lane {
   public:
    enum class Kind { kMain, kAnswers };
    // kMain runs tasks on `store`. kAnswers first opens a connection of its own with
    // store.OpenConcurrentWriter() on its thread and runs tasks on that; when it cannot, its
    // thread ends at once and the lane never opens (nothing may be posted to it then).
    Lane(Kind kind, Store& store, Writer& writer);
    ~Lane() { Close(); }
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;
    void Post(Task task);
    // Tasks posted and not yet finished.
    int Pending() const { return pending_.load(std::memory_order_relaxed); }
    // Whether the lane has its store (kMain: always).
    bool Open() const { return open_.load(std::memory_order_acquire); }
    // Waits until the lane has opened its store or given up; Open() then.
    bool WaitOpen() const;
    void Close();

   private:
    void Run(Kind kind);
    void Loop();

    Store* store_;
    std::unique_ptr<Store> owned_;  // an answer lane's own connection; null for the main one
    Writer& writer_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Task> tasks_;
    std::atomic<int> pending_{0};
    std::atomic<bool> open_{false};
    bool settled_ = false;  // opened or given up (under mu_)
    bool closing_ = false;
    mutable std::condition_variable settled_cv_;
    std::thread thread_;  // last: starts once the rest is built
  };

  void Failed(Error error);

  std::mutex errors_mu_;
  std::vector<Error> errors_;
  std::atomic<unsigned> next_lane_{0};
  std::vector<std::unique_ptr<Lane>> lanes_;  // the answer lanes
  std::unique_ptr<Lane> main_;
};

// Transports kept alive across calls; a worker borrows one for a call and gives it back.
class TransportPool {
 public:
  explicit TransportPool(TransportFactory factory) : factory_(std::move(factory)) {}

  Transport* Borrow() {
    std::lock_guard lock(mu_);
    if (free_.empty()) {
      all_.push_back(factory_());
      in_use_.push_back(all_.back().get());
      return all_.back().get();
    }
    Transport* t = free_.back();
    free_.pop_back();
    in_use_.push_back(t);
    return t;
  }

  void Return(Transport* t) {
    std::lock_guard lock(mu_);
    std::erase(in_use_, t);
    free_.push_back(t);
  }

  // Aborts every call in progress.
  void CancelAll() {
    std::lock_guard lock(mu_);
    for (Transport* t : in_use_) t->Cancel();
  }

 private:
  TransportFactory factory_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Transport>> all_;
  std::vector<Transport*> free_;
  std::vector<Transport*> in_use_;
};

}  // namespace mdfetch
