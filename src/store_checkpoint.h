// WalCheckpointer: copies a writing connection's WAL into its database file from a second
// connection on a thread of its own, so that the writer never waits for a checkpoint's
// writes and fsyncs. Private to the SQLite store (store.cc opens one for OpenMode::kWriter).
//
// Why: with `synchronous = NORMAL` every checkpoint syncs the WAL, writes its pages into the
// database and syncs that; SQLite's own autocheckpoint does it on the writer's thread after
// the commit that brings the WAL to 1,000 pages. A first import of 200 full histories spent
// ~0.47 s of its 1.6 s blocked in those fdatasync calls on the one thread that bounds it
// (docs/performance.md, "Checkpoints off the writer").
//
// What a crash can cost is what it costs with SQLite's autocheckpoint. A killed process
// loses no commit (the WAL keeps each one until a round has copied it). A power cut can lose
// the commits made since the WAL was last synced: a round starts after every commit that
// leaves 1,000 pages or more in the WAL (back to back while the writer keeps it that full)
// and syncs the WAL first, as the autocheckpoint would after that commit.
//
// While the writer commits faster than a round copies, the WAL cannot restart (SQLite
// restarts it at the next transaction only once a round has copied all of it) and grows.
// When it has grown by kWaitPages since the writer last waited, the writer waits for one
// round that starts after its commit: it adds nothing meanwhile, so that round copies
// everything and the next transaction restarts the WAL. The WAL file therefore stays under
// about 16 MB (a reader on an old snapshot holds it longer, as it would anyway), and a
// writer waits for a round once per 16 MB instead of once per 4 MB.
//
// Thread-safety: the hook runs on the writer's thread (the one using the writer connection);
// the checkpointer's connection is used only by its own thread. The thread and the second
// connection start at the first commit that needs a round, so a command that writes little
// pays for neither. When the second connection cannot be opened, the writer checkpoints on
// its own thread as SQLite would.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace mdfetch {

class WalCheckpointer {
 public:
  static constexpr int kRoundPages = 1000;  // SQLite's default autocheckpoint
  static constexpr int kWaitPages = 4096;   // 16 MB of 4 KB pages

  // Takes over `writer`'s WAL hook (which turns SQLite's autocheckpoint off); `path` names the
  // same database for the second connection. `writer` must outlive this object.
  WalCheckpointer(sqlite3* writer, std::string path);
  // Gives the writer SQLite's autocheckpoint back after the round under way has ended.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  struct Stats {
    int64_t rounds = 0;        // checkpoints run by the thread
    int64_t writer_waits = 0;  // commits after which the writer waited for a round
    int64_t own_rounds = 0;    // checkpoints the writer ran itself (no second connection)
  };
  // Waits until no round is due or under way, then says what was done (tests).
  Stats Drain();

 private:
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  int Committed(int pages);
  bool StartLocked();  // opens the second connection and the thread; false if it cannot
  void Loop();

  sqlite3* writer_;
  std::string path_;
  sqlite3* db_ = nullptr;  // the checkpointer's connection, once started
  std::thread thread_;
  bool start_failed_ = false;
  int last_pages_ = 0;  // the WAL's size at the writer's previous commit
  int wait_at_ = kWaitPages;

  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  int64_t started_ = 0;  // rounds begun
  Stats stats_;          // rounds = rounds ended
};

}  // namespace mdfetch
