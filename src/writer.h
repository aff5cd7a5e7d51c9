// Private to the engine: the single writer thread that owns the Store during a refresh, and
// the pool of kept-alive transports the workers borrow.
#pragma once

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

// Runs tasks against the Store on one thread, in the order they were posted. The queue is
// bounded by the engine itself (one pending task per call in flight), so it needs no cap.
// A task that fails is not dropped: its error is kept for the dispatcher (TakeErrors).
class Writer {
 public:
  explicit Writer(Store& store) : store_(store), thread_([this] { Loop(); }) {}
  ~Writer() { Close(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  using Task = std::function<Status(Store&)>;

  void Post(Task task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Runs `fn` on the writer thread and waits for its result.
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

  // The errors of the tasks that failed since the last call, oldest first.
  std::vector<Error> TakeErrors() {
    std::lock_guard lock(mu_);
    return std::exchange(errors_, {});
  }

  // Finishes every posted task, then stops the thread.
  void Close() {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  void Loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return closing_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      if (Status done = task(store_); !done) {
        std::lock_guard lock(mu_);
        errors_.push_back(std::move(done.error()));
      }
    }
  }

  Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  std::vector<Error> errors_;
  bool closing_ = false;
  std::thread thread_;
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
