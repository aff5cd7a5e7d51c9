#include "store_checkpoint.h"

#include <sqlite3.h>

#include <utility>

namespace mdfetch {

WalCheckpointer::WalCheckpointer(sqlite3* writer, std::string path)
    : writer_(writer), path_(std::move(path)) {
  sqlite3_wal_hook(writer_, &WalCheckpointer::OnCommit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_, kRoundPages);  // replaces the hook
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

int WalCheckpointer::OnCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  return static_cast<WalCheckpointer*>(self)->Committed(pages);
}

int WalCheckpointer::Committed(int pages) {
  if (pages < last_pages_) wait_at_ = kWaitPages;  // the WAL restarted
  last_pages_ = pages;
  if (pages < kRoundPages) return SQLITE_OK;
  std::unique_lock lock(mu_);
  if (!thread_.joinable() && (start_failed_ || !StartLocked())) {
    ++stats_.own_rounds;
    lock.unlock();
    sqlite3_wal_checkpoint_v2(writer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  due_ = true;
  cv_.notify_all();
  if (pages >= wait_at_) {
    // A round under way began before this commit: wait for the one after it.
    const int64_t until = started_ + 1;
    ++stats_.writer_waits;
    cv_.wait(lock, [&] { return stats_.rounds >= until; });
    wait_at_ = pages + kWaitPages;
  }
  return SQLITE_OK;
}

bool WalCheckpointer::StartLocked() {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // The writer's sync level (a checkpoint syncs alike at NORMAL and FULL; said all the same).
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
  }
  // A connection opens the WAL at its first read; a checkpoint before that copies nothing.
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    start_failed_ = true;
    return false;
  }
  db_ = db;
  thread_ = std::thread([this] { Loop(); });
  return true;
}

void WalCheckpointer::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return due_ || stop_; });
    if (stop_) return;
    due_ = false;
    ++started_;
    lock.unlock();
    // Busy (another process checkpointing, a reader on an old snapshot) is what SQLite's own
    // autocheckpoint ignores too: the next commit asks again.
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++stats_.rounds;
    cv_.notify_all();
  }
}

WalCheckpointer::Stats WalCheckpointer::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !due_ && stats_.rounds == started_; });
  return stats_;
}

}  // namespace mdfetch
