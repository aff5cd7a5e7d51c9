// The writer's threads: the main one and the answer lanes (see writer.h).
#include "writer.h"

#include <algorithm>
#include <limits>

namespace mdfetch {

Writer::Lane::Lane(Store& store, std::unique_ptr<Store> owned, Writer& writer)
    : store_(store), owned_(std::move(owned)), writer_(writer), thread_([this] { Loop(); }) {}

void Writer::Lane::Post(Task task) {
  pending_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void Writer::Lane::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Writer::Lane::Loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    if (Status done = task(store_); !done) writer_.Failed(std::move(done.error()));
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
}

int Writer::DefaultAnswerLanes() {
  // The server's work per answer is what lanes spread; one lane per core it may use (the
  // server is most often this machine's). hardware_concurrency() may say 0: one lane.
  const unsigned cores = std::thread::hardware_concurrency();
  return std::clamp(static_cast<int>(cores), 1, kMaxAnswerLanes);
}

Writer::Writer(Store& store, int answer_lanes) {
  for (int i = 0; i < answer_lanes; ++i) {
    Result<std::unique_ptr<Store>> more = store.OpenConcurrentWriter();
    // nullptr: the backend has one writer; an error: make do with the lanes so far.
    if (!more || !*more) break;
    Store& lane_store = **more;
    lanes_.push_back(std::make_unique<Lane>(lane_store, std::move(*more), *this));
  }
  main_ = std::make_unique<Lane>(store, nullptr, *this);
}

Writer::~Writer() { Close(); }

void Writer::Post(Task task) { main_->Post(std::move(task)); }

void Writer::PostAnswer(Task task) {
  if (lanes_.empty()) {
    Post(std::move(task));
    return;
  }
  // Least pending; among equals, the one after the last choice, so that an idle writer's
  // answers still spread over every lane. Two threads may pick at once: a lane one task
  // busier than it needs to be is harmless.
  const size_t n = lanes_.size();
  const size_t first = next_lane_.fetch_add(1, std::memory_order_relaxed) % n;
  size_t best = first;
  int best_pending = std::numeric_limits<int>::max();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (first + k) % n;
    if (const int pending = lanes_[i]->Pending(); pending < best_pending) {
      best = i;
      best_pending = pending;
    }
  }
  lanes_[best]->Post(std::move(task));
}

std::vector<Error> Writer::TakeErrors() {
  std::lock_guard lock(errors_mu_);
  return std::exchange(errors_, {});
}

void Writer::Failed(Error error) {
  std::lock_guard lock(errors_mu_);
  errors_.push_back(std::move(error));
}

void Writer::Close() {
  for (auto& lane : lanes_) lane->Close();
  main_->Close();
}

}  // namespace mdfetch
