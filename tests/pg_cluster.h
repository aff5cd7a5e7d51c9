// PgCluster: a throw-away PostgreSQL server for the tests, from Debian's `postgresql`
// package. No mock: the tests that need PostgreSQL talk to a real one.
//
// Start() makes a fresh folder under the temp dir (mdfetch-pg-XXXXXX), puts a cluster in
// it (a copy of a template cluster kept in the build folder, made once with `initdb`),
// starts it with `pg_ctl start -w` listening on a unix socket in that folder only
// (listen_addresses = '', so no TCP port is taken), with fsync off and small buffers: a
// test server loses nothing it must keep. It runs as the current user, or as `nobody` when
// the tests run as root (PostgreSQL refuses root; CI runs as root); the folder then belongs
// to that user, and root connects anyway. The database kDatabase exists, owned by the
// superuser kUser, with trust authentication on the socket.
//
// Stop() (also the destructor) stops the server (`pg_ctl stop -m immediate`: nothing in it
// is worth a checkpoint) and removes the folder. A test binary that dies without stopping
// its server (SIGKILL, a ctest timeout) leaves an owner file naming its pid: the next
// Start() on the machine stops every such orphan and removes its folder (ReapOrphans).
//
// Shared() is the cluster of this test process, started by the first test that asks and
// stopped by a GoogleTest global Environment's TearDown (and, failing that, at exit), so a
// test binary run without PostgreSQL tests starts nothing. ctest runs each test in its own
// process: each PostgreSQL test pays one start and stop (~1 s here, see
// docs/postgresql.md). Not thread-safe: call it from the test's main thread.
//
// Environment: MDFETCH_PG_BINDIR names the folder of initdb/pg_ctl (default: the newest
// /usr/lib/postgresql/N/bin); MDFETCH_REQUIRE_PG=1 (set by .ci/run) turns "cannot start"
// into a test failure instead of a skip.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "mdfetch/result.h"

namespace mdfetch {

class PgCluster {
 public:
  static constexpr const char* kUser = "mdfetch";
  static constexpr const char* kDatabase = "mdfetch_test";

  // Starts a new cluster. The error says precisely what failed, with the tail of the
  // command's output ("initdb failed (exit status 1): ...").
  static Result<std::unique_ptr<PgCluster>> Start();

  // The cluster of this process, started on first use; the error of that start is kept and
  // returned again to every later caller (one attempt per process).
  static Result<PgCluster*> Shared();
  // Stops the shared cluster if it was started (the global Environment's TearDown).
  static void StopShared();

  // Whether MDFETCH_REQUIRE_PG is set: a cluster that cannot start is then a failure.
  static bool Required();

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Stops the server and removes the folder; idempotent. Failures are printed, not fatal.
  void Stop();

  // A libpq connection string: "host=DIR port=5432 user=mdfetch dbname=mdfetch_test".
  const std::string& ConnInfo() const { return conninfo_; }
  // The same as a URI, the form `--db` will take: "postgresql:///mdfetch_test?host=DIR&...".
  std::string Uri() const;
  const std::string& Dir() const { return dir_; }
  // The URI of database `name` on this cluster (same user and socket as Uri()).
  std::string UriOf(const std::string& name) const;
  // Creates a new, empty database ("t_<pid>_<n>", a new name each call) and returns its URI:
  // a fresh store for one test. The cluster is removed whole at the end, so nothing drops it.
  Result<std::string> NewDatabase();
  // How long Start() took (the copy or initdb, pg_ctl start).
  std::chrono::milliseconds StartTime() const { return start_time_; }

 private:
  PgCluster() = default;
  std::string dir_;      // the temp folder: data/, the socket, server.log, owner
  std::string bin_dir_;  // of initdb and pg_ctl
  std::string run_as_;   // the user the server runs as ("" = this process's user)
  std::string conninfo_;
  std::chrono::milliseconds start_time_{0};
  bool running_ = false;
  int databases_ = 0;  // made by NewDatabase
};

// Stops and removes the clusters left behind by test processes that no longer exist (their
// folder's owner file names a pid that is gone). Returns how many were reaped.
int ReapOrphans();

}  // namespace mdfetch

// In a test body or fixture SetUp: binds `var` (PgCluster*) to the shared cluster, or skips
// the test with the reason it could not start (fails instead under MDFETCH_REQUIRE_PG=1).
#define MDFETCH_PG_CLUSTER_OR_SKIP(var)                                                          \
  ::mdfetch::PgCluster* var = nullptr;                                                           \
  do {                                                                                           \
    auto shared_ = ::mdfetch::PgCluster::Shared();                                               \
    if (!shared_) {                                                                              \
      if (::mdfetch::PgCluster::Required()) {                                                    \
        FAIL() << "PostgreSQL is required (MDFETCH_REQUIRE_PG) but " << shared_.error().message; \
      }                                                                                          \
      GTEST_SKIP() << "no PostgreSQL test server: " << shared_.error().message;                  \
    }                                                                                            \
    var = *shared_;                                                                              \
  } while (false)
