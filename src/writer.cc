// The writer's threads: the main one and the answer lanes (see writer.h).
#include "writer.h"

#include <algorithm>
#include <limits>

namespace mdfetch {

Writer::Lane::Lane(Kind kind, Store& store, Writer& writer)
    : store_(&store), writer_(writer), thread_([this, kind] { Run(kind); }) {}

void Writer::Lane::Run(Kind kind) {
  bool opened = true;
  if (kind == Kind::kAnswers) {
    // The main thread may be using *store_ meanwhile: OpenConcurrentWriter reads only what
    // the store's Open fixed (store.h).
    Result<std::unique_ptr<Store>> more = store_->OpenConcurrentWriter();
    // nullptr: the backend has one writer; an error: make do with the other lanes.
    opened = more && *more;
    if (opened) {
      owned_ = std::move(*more);
      store_ = owned_.get();
    }
  }
  {
    std::lock_guard lock(mu_);
    open_.store(opened, std::memory_order_release);
    settled_ = true;
  }
  settled_cv_.notify_all();
  if (opened) Loop();
}

bool Writer::Lane::WaitOpen() const {
  std::unique_lock lock(mu_);
  settled_cv_.wait(lock, [&] { return settled_; });
  return Open();
}

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
    if (Status done = task(*store_); !done) writer_.Failed(std::move(done.error()));
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
  main_ = std::make_unique<Lane>(Lane::Kind::kMain, store, *this);
  for (int i = 0; i < answer_lanes; ++i) {
    lanes_.push_back(std::make_unique<Lane>(Lane::Kind::kAnswers, store, *this));
  }
}

int Writer::AnswerLanes() const {
  int open = 0;
  for (const auto& lane : lanes_) open += lane->WaitOpen() ? 1 : 0;
  return open;
}

Writer::~Writer() { Close(); }

void Writer::Post(Task task) { main_->Post(std::move(task)); }

void Writer::PostAnswer(Task task) {
  // Least pending of the open lanes; among equals, the one after the last choice, so that an
  // idle writer's answers still spread over every lane. Two threads may pick at once: a lane
  // one task busier than it needs to be is harmless.
  const size_t n = lanes_.size();
  const size_t first = n == 0 ? 0 : next_lane_.fetch_add(1, std::memory_order_relaxed) % n;
  Lane* best = nullptr;
  int best_pending = std::numeric_limits<int>::max();
  for (size_t k = 0; k < n; ++k) {
    Lane& lane = *lanes_[(first + k) % n];
    if (!lane.Open()) continue;  // still opening, or never will
    if (const int pending = lane.Pending(); pending < best_pending) {
      best = &lane;
      best_pending = pending;
    }
  }
  if (best == nullptr) {
    Post(std::move(task));
    return;
  }
  best->Post(std::move(task));
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
