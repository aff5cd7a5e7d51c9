// pg_test_server start|stop FILE: the PostgreSQL server of a whole ctest run (the fixture
// PgServer in CMakeLists.txt; see tests/pg_cluster.h). `start` always exits 0 when it could
// write FILE's folder: a server that cannot start is reported by the tests that need one
// (they skip, or fail under MDFETCH_REQUIRE_PG=1), not by every test of the run.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string_view>

#include "pg_cluster.h"

int main(int argc, char** argv) {
  if (argc != 3 || (std::string_view(argv[1]) != "start" && std::string_view(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: pg_test_server start|stop FILE\n");
    return 2;
  }
  const std::string file = argv[2];
  if (std::string_view(argv[1]) == "stop") {
    if (!std::filesystem::exists(file)) return 0;  // nothing was started
    auto stopped = mdfetch::PgCluster::StopDetached(file);
    if (!stopped) std::fprintf(stderr, "pg_test_server: %s\n", stopped.error().message.c_str());
    return stopped ? 0 : 1;
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  auto cluster = mdfetch::PgCluster::Start();
  if (!cluster) {
    std::printf("pg_test_server: no PostgreSQL server for this run: %s\n",
                cluster.error().message.c_str());
    return 0;
  }
  // ctest started this process: the server belongs to the ctest run, which the next Start()
  // reaps it after if the run is killed.
  auto detached = (*cluster)->Detach(::getppid(), file);
  if (!detached) {
    std::fprintf(stderr, "pg_test_server: %s\n", detached.error().message.c_str());
    return 1;
  }
  std::printf("pg_test_server: started (%s)\n", file.c_str());
  return 0;
}
