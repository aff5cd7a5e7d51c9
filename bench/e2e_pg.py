"""PostgreSQL in the end-to-end benchmark (issue 11): a throw-away server, and the query and
export benchmark on a large generated store on both backends. bench/e2e.py uses it.

The server is Debian's `postgresql` (the newest /usr/lib/postgresql/N/bin, or
$MDFETCH_PG_BINDIR), made by initdb in a temporary folder under the work folder, listening on a
unix socket in that folder only (no TCP port), run as `nobody` when the benchmark runs as root
(PostgreSQL refuses root; root connects anyway). Unlike the test server (tests/pg_cluster.cc:
fsync off, 16 MB of buffers) it keeps PostgreSQL's own defaults: fsync and synchronous_commit
on, shared_buffers 128 MB, max_wal_size 1 GB; a user's server is at least that.
"""
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

USER = "mdfetch"


def bin_dir():
    env = os.environ.get("MDFETCH_PG_BINDIR")
    if env:
        return env
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not dirs:
        sys.exit("e2e: no initdb under /usr/lib/postgresql/N/bin "
                 "(scripts/install-deps --bench installs postgresql)")
    return os.path.dirname(dirs[-1])


class PgServer:
    """One throw-away cluster; stop() (or a `with` block) stops it and removes its folder."""

    def __init__(self, work):
        self.bin = bin_dir()
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=work)
        self.log = os.path.join(self.dir, "server.log")
        self.user = None
        if os.geteuid() == 0:
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(work, os.stat(work).st_mode | 0o011)  # nobody must reach its folder
        self.running = False

    def _run(self, cmd, capture=False):
        r = subprocess.run(cmd, user=self.user, cwd=self.dir, capture_output=True, text=True)
        if r.returncode != 0:
            tail = ""
            if os.path.exists(self.log):
                with open(self.log, errors="replace") as f:
                    tail = f.read()[-2000:]
            sys.exit(f"e2e: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}{tail}")
        return r.stdout if capture else None

    def start(self):
        start = time.perf_counter()
        data = os.path.join(self.dir, "data")
        self._run([os.path.join(self.bin, "initdb"), "-D", data, "-U", USER, "-A", "trust",
                   "--encoding=UTF8", "--locale=C", "--no-instructions"])
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.dir}'\n")
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", data, "-l", self.log, "-w", "-s",
                   "-t", "60", "start"])
        self.running = True
        self.start_seconds = time.perf_counter() - start
        self.version = self.sql("postgres", "SHOW server_version").strip()
        return self

    def stop(self):
        if self.running:
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", os.path.join(self.dir, "data"),
                       "-w", "-s", "-m", "fast", "stop"])
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def uri(self, database):
        return f"postgresql:///{database}?host={self.dir}&user={USER}"

    def sql(self, database, text):
        """Runs text with psql; returns its unaligned, tuples-only output."""
        return self._run([os.path.join(self.bin, "psql"), "-h", self.dir, "-U", USER, "-d",
                          database, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", text],
                         capture=True)

    def fresh_database(self, name):
        self.sql("postgres", f"DROP DATABASE IF EXISTS {name}")
        self.sql("postgres", f"CREATE DATABASE {name}")
        return self.uri(name)

    def drop_database(self, name):
        self.sql("postgres", f"DROP DATABASE IF EXISTS {name}")

    def count_bars(self, database):
        return int(self.sql(database, "SELECT count(*) FROM mdfetch.bars"))

    def database_bytes(self, database):
        return int(self.sql(database, f"SELECT pg_database_size('{database}')"))

    def cpu_seconds(self):
        """User+sys CPU seconds of the server so far: the postmaster, its live children
        (backends, checkpointer, WAL writer, ...) and the children it has reaped (backends of
        closed connections). A delta around a run is the server's share of it."""
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            postmaster = f.readline().strip()
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            # fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14-17.
            if pid == postmaster:
                total += sum(int(v) for v in fields[11:15])
            elif fields[1] == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def settings(self):
        names = ("shared_buffers", "fsync", "synchronous_commit", "max_wal_size", "work_mem")
        rows = self.sql("postgres", "SELECT name, current_setting(name) FROM pg_settings "
                        f"WHERE name IN ({', '.join(repr(n) for n in names)})")
        return dict(line.split("|", 1) for line in rows.splitlines())
