#include "pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

namespace mdfetch {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// Bumped whenever what the template holds changes (initdb options, the database), so that a
// build folder never reuses a template of another layout.
constexpr const char* kTemplateLayout = "v1";
constexpr const char* kDirPrefix = "mdfetch-pg-";

// What every test server runs with, appended to its postgresql.conf. Nothing here has to
// survive a crash of the machine: no fsync, no full-page writes. synchronous_commit is left
// unset, as on a user's server, so that the store's lazy commits (PgCommit) are what runs.
constexpr const char* kServerSettings =
    "listen_addresses = ''\n"
    "fsync = off\n"
    "full_page_writes = off\n"
    "shared_buffers = 16MB\n"
    "max_wal_size = 256MB\n"
    "log_min_messages = warning\n"
    "client_min_messages = warning\n";

// The user a server may run as: PostgreSQL refuses root.
struct RunUser {
  std::string name;  // "" = this process's user
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<RunUser> ChooseRunUser() {
  if (::geteuid() != 0) return RunUser{"", ::geteuid(), ::getegid()};
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) {
    return Fail(
        "the tests run as root and PostgreSQL refuses root, but there is no user "
        "'nobody' to run it as");
  }
  return RunUser{"nobody", pw->pw_uid, pw->pw_gid};
}

// The newest /usr/lib/postgresql/N/bin holding initdb, or $MDFETCH_PG_BINDIR.
Result<std::string> FindBinDir() {
  if (const char* env = std::getenv("MDFETCH_PG_BINDIR"); env != nullptr && *env != '\0') {
    if (!fs::exists(fs::path(env) / "initdb")) {
      return Fail(std::string("MDFETCH_PG_BINDIR=") + env + " holds no initdb");
    }
    return std::string(env);
  }
  int best = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (!fs::exists(entry.path() / "bin" / "initdb")) continue;
    best = std::max(best, std::stoi(name));
  }
  if (best < 0) {
    return Fail(
        "no initdb under /usr/lib/postgresql/N/bin (install Debian's postgresql "
        "package: scripts/install-deps)");
  }
  return "/usr/lib/postgresql/" + std::to_string(best) + "/bin";
}

std::string Tail(const fs::path& log, size_t max_chars = 600) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > max_chars) s = "..." + s.substr(s.size() - max_chars);
  return s;
}

// Runs argv[0] (a full path) with its output appended to `log`, as `user` when one is named,
// in `cwd` (a folder that user can enter), and waits for it.
Status Run(const std::vector<std::string>& argv, const RunUser& user, const fs::path& cwd,
           const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Fail(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // The child of a (possibly threaded) process: only async-signal-safe calls until exec.
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) ::_exit(126);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (!user.name.empty()) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) {
        ::_exit(126);
      }
    }
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Fail(std::string("waitpid failed: ") + std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  const std::string name = fs::path(argv[0]).filename().string();
  const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WTERMSIG(status));
  return Fail(name + " failed (" + how + (user.name.empty() ? "" : ", as " + user.name) +
              "): " + Tail(log));
}

Status ChownTree(const fs::path& root, const RunUser& user) {
  if (user.name.empty()) return {};
  if (::lchown(root.c_str(), user.uid, user.gid) != 0) {
    return Fail("cannot chown " + root.string() + ": " + std::strerror(errno));
  }
  if (!fs::is_directory(root)) return {};
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (::lchown(entry.path().c_str(), user.uid, user.gid) != 0) {
      return Fail("cannot chown " + entry.path().string() + ": " + std::strerror(errno));
    }
  }
  return {};
}

std::optional<pid_t> ReadPid(const fs::path& file) {
  std::ifstream in(file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// A live postgres process (not a zombie: where PID 1 reaps no orphans, as in some
// containers, a stopped postmaster can stay a zombie).
bool IsPostgres(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) {
    return false;
  }
  const std::string name = line.substr(open + 1, close - open - 1);
  return (name == "postgres" || name == "postmaster") && line[close + 2] != 'Z';
}

// Stops a postmaster by signal (SIGQUIT: immediate shutdown), without pg_ctl, which refuses
// to run as root: for orphans, whose user we need not know.
void KillPostmaster(const fs::path& data) {
  const auto pid = ReadPid(data / "postmaster.pid");
  if (!pid || !IsPostgres(*pid)) return;
  ::kill(*pid, SIGQUIT);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (IsPostgres(*pid) && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (IsPostgres(*pid)) ::kill(*pid, SIGKILL);
}

fs::path TemplateDir(const RunUser& user, const std::string& bin_dir) {
  const std::string major = fs::path(bin_dir).parent_path().filename().string();
  return fs::path(MDFETCH_PG_TEMPLATE_ROOT) / ("pg-template-" + std::string(kTemplateLayout) + "-" +
                                               major + "-uid" + std::to_string(user.uid));
}

// postgresql.auto.conf is read last and holds nothing else in a fresh cluster; written whole
// on every start, so a template copied elsewhere carries no other cluster's socket folder.
Status WriteSettings(const fs::path& data, const fs::path& socket_dir) {
  const fs::path file = data / "postgresql.auto.conf";
  std::ofstream conf(file, std::ios::trunc);
  conf << "# the mdfetch test server (tests/pg_cluster.cc)\n"
       << kServerSettings << "unix_socket_directories = '" << socket_dir.string() << "'\n";
  if (!conf.flush()) return Fail("cannot write " + file.string());
  return {};
}

}  // namespace

int ReapOrphans() {
  int reaped = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kDirPrefix) || !entry.is_directory()) continue;
    const auto owner = ReadPid(entry.path() / "owner");
    if (!owner) continue;                                    // being set up, or not ours
    if (::kill(*owner, 0) == 0 || errno != ESRCH) continue;  // its test process still runs
    KillPostmaster(entry.path() / "data");
    fs::remove_all(entry.path(), ec);
    ++reaped;
  }
  return reaped;
}

Result<std::unique_ptr<PgCluster>> PgCluster::Start() {
  const auto started = SteadyClock::now();
  ReapOrphans();
  auto bin_dir = FindBinDir();
  if (!bin_dir) return std::unexpected(bin_dir.error());
  auto user = ChooseRunUser();
  if (!user) return std::unexpected(user.error());

  std::string pattern = (fs::temp_directory_path() / (std::string(kDirPrefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Fail("cannot make a folder " + pattern + ": " + std::strerror(errno));
  }
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  cluster->dir_ = pattern;
  cluster->bin_dir_ = *bin_dir;
  cluster->run_as_ = user->name;
  const fs::path dir = cluster->dir_;
  const fs::path data = dir / "data";
  const fs::path log = dir / "server.log";
  // A unix socket path holds at most 107 bytes.
  if ((dir / ".s.PGSQL.5432").string().size() > 107) {
    return Fail("the temp folder's path is too long for a unix socket: " + dir.string());
  }
  std::ofstream(dir / "owner") << ::getpid() << "\n";
  std::ofstream(log).flush();  // created here, so that it belongs to the server's user too
  if (auto ok = ChownTree(dir, *user); !ok) return std::unexpected(ok.error());
  const fs::path bin = *bin_dir;
  const fs::path tmpl = TemplateDir(*user, *bin_dir);

  const bool from_template = fs::exists(tmpl / "ready");
  if (from_template) {
    // A copy of the template: ~0.2 s instead of initdb's ~1.8 s.
    if (auto ok = Run({"/bin/cp", "-a", (tmpl / "data").string(), data.string()}, {}, dir, log);
        !ok) {
      return std::unexpected(ok.error());
    }
  } else {
    if (auto ok = Run(
            {(bin / "initdb").string(), "-D", data.string(), "-U", kUser, "-A", "trust",
             "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1"},
            *user, dir, log);
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (auto ok = WriteSettings(data, dir); !ok) return std::unexpected(ok.error());
  const std::vector<std::string> start = {(bin / "pg_ctl").string(),
                                          "-D",
                                          data.string(),
                                          "-l",
                                          log.string(),
                                          "-w",
                                          "-s",
                                          "-t",
                                          "30",
                                          "start"};
  if (auto ok = Run(start, *user, dir, log); !ok) {
    if (from_template) {  // a broken template: the next start makes a new one
      std::error_code ec;
      fs::remove_all(tmpl, ec);
      ok.error().message += " (from the template " + tmpl.string() + ", now removed)";
    }
    return std::unexpected(ok.error());
  }
  cluster->running_ = true;
  cluster->conninfo_ = "host=" + dir.string() + " port=5432 user=" + kUser +
                       " dbname=" + kDatabase + " connect_timeout=10";

  if (!from_template) {
    if (auto ok = Run({(bin / "createdb").string(), "-h", dir.string(), "-U", kUser, kDatabase},
                      *user, dir, log);
        !ok) {
      return std::unexpected(ok.error());
    }
    // Keep a stopped copy as the template of the next clusters of this build folder; renamed
    // into place whole, so a concurrent test process sees all of it or none. Best effort.
    const std::vector<std::string> stop = {
        (bin / "pg_ctl").string(), "-D", data.string(), "-w", "-s", "-m", "fast", "stop"};
    if (auto ok = Run(stop, *user, dir, log); !ok) return std::unexpected(ok.error());
    cluster->running_ = false;
    const fs::path staging = tmpl.string() + ".tmp" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (!ec && Run({"/bin/cp", "-a", data.string(), (staging / "data").string()}, {}, dir, log)) {
      std::ofstream(staging / "ready") << "initdb " << *bin_dir << "\n";
      fs::rename(staging, tmpl, ec);  // fails when another process was first: fine
    }
    fs::remove_all(staging, ec);
    if (auto ok = Run(start, *user, dir, log); !ok) return std::unexpected(ok.error());
    cluster->running_ = true;
  }
  cluster->start_time_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  return cluster;
}

std::string PgCluster::Uri() const {
  return std::string("postgresql://") + kUser + "@/" + database_ + "?host=" + dir_ + "&port=5432";
}

Status PgCluster::Detach(pid_t owner, const std::string& file) {
  std::ofstream(fs::path(dir_) / "owner", std::ios::trunc) << owner << "\n";
  std::ofstream out(file, std::ios::trunc);
  out << dir_ << "\n" << bin_dir_ << "\n" << run_as_ << "\n";
  if (!out.flush()) return Fail("cannot write " + file);
  running_ = false;  // the destructor now only forgets it
  dir_.clear();
  return {};
}

namespace {

struct Detached {
  std::string dir;
  std::string bin_dir;
  std::string run_as;
};

Result<Detached> ReadDetached(const std::string& file) {
  std::ifstream in(file);
  Detached d;
  if (!std::getline(in, d.dir) || !std::getline(in, d.bin_dir) || !std::getline(in, d.run_as) ||
      d.dir.empty()) {
    return Fail("the PostgreSQL test server of this ctest run did not start: " + file +
                " is missing or incomplete (see the output of the test PgServerStart)");
  }
  return d;
}

RunUser UserNamed(const std::string& name) {
  RunUser user;
  if (!name.empty()) {
    if (const passwd* pw = ::getpwnam(name.c_str())) user = {name, pw->pw_uid, pw->pw_gid};
  }
  return user;
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Attach(const std::string& file) {
  auto detached = ReadDetached(file);
  if (!detached) return std::unexpected(detached.error());
  // This process's own database. The pid alone could repeat within a run; the time it
  // started with does not. FILE_COPY: 0.35 s here against 0.45 s for WAL_LOG.
  const auto ticks = SteadyClock::now().time_since_epoch().count();
  const std::string database =
      std::string(kDatabase) + "_" + std::to_string(::getpid()) + "_" + std::to_string(ticks);
  const fs::path dir = detached->dir;
  if (auto ok = Run({(fs::path(detached->bin_dir) / "createdb").string(), "-h", dir.string(), "-U",
                     kUser, "--strategy=file_copy", database},
                    UserNamed(detached->run_as), dir, dir / "server.log");
      !ok) {
    return std::unexpected(ok.error());
  }
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  cluster->dir_ = detached->dir;
  cluster->bin_dir_ = detached->bin_dir;
  cluster->run_as_ = detached->run_as;
  cluster->database_ = database;
  cluster->conninfo_ = "host=" + dir.string() + " port=5432 user=" + kUser + " dbname=" + database +
                       " connect_timeout=10";
  cluster->attached_ = true;
  return cluster;
}

Status PgCluster::StopDetached(const std::string& file) {
  auto detached = ReadDetached(file);
  if (!detached) return std::unexpected(detached.error());
  PgCluster cluster;
  cluster.dir_ = detached->dir;
  cluster.bin_dir_ = detached->bin_dir;
  cluster.run_as_ = detached->run_as;
  cluster.running_ = true;
  cluster.Stop();
  std::error_code ec;
  fs::remove(file, ec);
  return {};
}

std::string PgCluster::UriOf(const std::string& name) const {
  return std::string("postgresql://") + kUser + "@/" + name + "?host=" + dir_ + "&port=5432";
}

Result<std::string> PgCluster::NewDatabase() {
  const std::string name = "t_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  PGconn* conn = PQconnectdb(conninfo_.c_str());
  // FILE_COPY: 0.35 s here against 0.45 s for the default WAL_LOG.
  PGresult* result = PQexec(conn, ("CREATE DATABASE " + name + " STRATEGY FILE_COPY").c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string error = ok ? "" : PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!ok) return Fail("CREATE DATABASE " + name + " failed: " + error);
  return UriOf(name);
}

void PgCluster::Stop() {
  if (attached_) {
    dir_.clear();
    return;
  }
  if (dir_.empty()) return;
  const fs::path dir = dir_;
  if (running_) {
    const RunUser user = UserNamed(run_as_);
    auto ok = Run({(fs::path(bin_dir_) / "pg_ctl").string(), "-D", (dir / "data").string(), "-w",
                   "-s", "-m", "immediate", "stop"},
                  user, dir, dir / "server.log");
    if (!ok) {
      std::fprintf(stderr, "pg_cluster: %s; killing the postmaster\n", ok.error().message.c_str());
      KillPostmaster(dir / "data");
    }
    running_ = false;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec)
    std::fprintf(stderr, "pg_cluster: cannot remove %s: %s\n", dir_.c_str(), ec.message().c_str());
  dir_.clear();
}

PgCluster::~PgCluster() { Stop(); }

namespace {

struct SharedState {
  std::unique_ptr<PgCluster> cluster;
  std::optional<Error> error;
};
SharedState& SharedPg() {
  static SharedState state;  // its destructor stops a cluster the Environment did not
  return state;
}

// Stops the shared cluster when the test program ends, failed tests or not.
class PgEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PgCluster::StopShared(); }
};
[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgEnvironment);

}  // namespace

Result<PgCluster*> PgCluster::Shared() {
  auto& state = SharedPg();
  if (state.error) return std::unexpected(*state.error);
  if (!state.cluster) {
    const char* file = std::getenv("MDFETCH_PG_SERVER_FILE");
    auto started = file != nullptr && *file != '\0' ? Attach(file) : Start();
    if (!started) {
      state.error = started.error();
      return std::unexpected(*state.error);
    }
    state.cluster = std::move(*started);
  }
  return state.cluster.get();
}

void PgCluster::StopShared() { SharedPg().cluster.reset(); }

bool PgCluster::Required() {
  const char* env = std::getenv("MDFETCH_REQUIRE_PG");
  return env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

}  // namespace mdfetch
