#!/usr/bin/env python3
"""mdfetch's end-to-end benchmark (issue 5); scripts/bench runs it after building.

N full daily histories (simulator-rendered, 5,600-6,800 bars each) are served by nginx on
loopback. In the same run it times `mdfetch refresh --full --force --rate unlimited` and the
Python baseline (bench/baseline.py, the seeds' way), each into a fresh database, and reports
wall time, bars/s, MB/s of JSON, peak RSS and the ratio; the SQLite ceiling on the same rows
and mdfetch's fraction of it; where the time goes (fetch alone, decode, store); one evening
call's cost; peak RSS for N vs M histories; `export --all` vs `sqlite3 -csv`; and `query
--last 100` as a whole process. The same ingest runs into PostgreSQL too (a throw-away server,
bench/e2e_pg.py), alternated with the other two; then the query and export benchmark on a
large generated store on both backends (bench/e2e_big.py). Prints a table, and writes every
figure as JSON.
"""
import argparse
import json
import os
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import types
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import e2e_big  # noqa: E402
import e2e_pg  # noqa: E402
from e2e_report import print_table  # noqa: E402

from bench_util import add_common_args

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT_SQL = ("SELECT s.symbol, b.ts AS timestamp, b.open, b.high, b.low, b.close, b.volume "
              "FROM series AS s JOIN bars AS b ON b.series_id = s.id "
              "WHERE s.function = 'daily' ORDER BY s.symbol, b.ts")
CORPUS_VERSION = 1


def log(text):
    print(text, file=sys.stderr, flush=True)


def run(cmd, stdout=None, check=True):
    """Runs cmd; returns wall, user and sys seconds, peak RSS (MB) and the captured output."""
    out_path = stdout or os.path.join(ARGS.work, "last.out")
    with open(out_path, "wb") as out, open(os.path.join(ARGS.work, "last.err"), "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        with open(os.path.join(ARGS.work, "last.err")) as f:
            sys.exit(f"e2e: {' '.join(cmd)} exited {proc.returncode}:\n{f.read()}")
    text = ""
    if not stdout:
        with open(out_path, errors="replace") as f:
            text = f.read()
    return {"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "out": text, "rc": proc.returncode}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"e2e: nothing answers at {url}")
            time.sleep(0.05)


def tool(*args):
    return run([os.path.join(ARGS.build, "bench", "mdfetch_bench_tool"), *map(str, args)])


def mdfetch(*args, **kw):
    return run([os.path.join(ARGS.build, "mdfetch"), *map(str, args)], **kw)


def make_corpus(n, m):
    """Renders n histories once (kept between runs); symbols n..m-1 reuse them via symlinks."""
    corpus = os.path.join(ARGS.work, f"corpus-{n}-v{CORPUS_VERSION}")
    stamp = os.path.join(corpus, "complete")
    if not os.path.exists(stamp):
        log(f"rendering {n} full and {n} compact answers with the simulator into {corpus}")
        shutil.rmtree(corpus, ignore_errors=True)
        tool("corpus", corpus, n)
        open(stamp, "w").close()
    for kind in ("full", "compact"):
        for i in range(n, m):
            link = os.path.join(corpus, kind, f"SYM{i}.json")
            if not os.path.lexists(link):
                os.symlink(f"SYM{i % n}.json", link)
    size = sum(os.path.getsize(os.path.join(corpus, "full", f"SYM{i}.json")) for i in range(n))
    return corpus, size


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  default_type application/json;
  client_body_temp_path {work}/nginx-tmp/body;
  proxy_temp_path {work}/nginx-tmp/proxy;
  fastcgi_temp_path {work}/nginx-tmp/fastcgi;
  uwsgi_temp_path {work}/nginx-tmp/uwsgi;
  scgi_temp_path {work}/nginx-tmp/scgi;
  # /query?function=TIME_SERIES_DAILY&symbol=SYMn&outputsize=full&apikey=... -> full/SYMn.json
  server {{
    listen 127.0.0.1:{port};
    root {corpus};
    location = /query {{ try_files /$arg_outputsize/$arg_symbol.json =404; }}
  }}
  # Evening answers only, whatever outputsize is asked: compact/SYMn.json
  server {{
    listen 127.0.0.1:{compact_port};
    root {corpus};
    location = /query {{ try_files /compact/$arg_symbol.json =404; }}
  }}
}}
"""


def start_nginx(corpus):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("e2e: nginx not found (scripts/install-deps --bench installs nginx-light)")
    port, compact_port = free_port(), free_port()
    os.makedirs(os.path.join(ARGS.work, "nginx-tmp"), exist_ok=True)
    conf = os.path.join(ARGS.work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=ARGS.work, port=port, compact_port=compact_port,
                                  corpus=corpus))
    proc = subprocess.Popen([nginx, "-p", ARGS.work, "-e", os.path.join(ARGS.work, "nginx-error.log"),
                             "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, compact_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{compact_port}"
    probe = "/query?function=TIME_SERIES_DAILY&symbol=SYM0&outputsize=full&apikey=x"
    if wait_for(url + probe) != 200 or wait_for(compact_url + probe) != 200:
        sys.exit("e2e: nginx does not serve the corpus")
    return proc, url, compact_url


def simulator_fetch_rate(n):
    """GETs n full answers from `mdfetch sim` (rendered per call) on 8 connections."""
    port = free_port()
    proc = subprocess.Popen([os.path.join(ARGS.build, "mdfetch"), "sim", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/query?function=TIME_SERIES_DAILY&symbol=X&apikey=x")
        return json.loads(tool("fetch", f"http://127.0.0.1:{port}", n, 8)["out"])
    finally:
        proc.terminate()
        proc.wait()


def load():
    """uptime's line, or /proc/loadavg where procps is not installed."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        with open("/proc/loadavg") as f:
            return "load average: " + ", ".join(f.read().split()[:3])


def python_with_aiohttp():
    """Debian's python3 (python3-aiohttp), or this interpreter if it has aiohttp."""
    for exe in ("/usr/bin/python3", sys.executable):
        if os.path.exists(exe) and subprocess.run([exe, "-c", "import aiohttp"],
                                                  capture_output=True).returncode == 0:
            return exe
    sys.exit("e2e: no python3 with aiohttp (scripts/install-deps --bench installs python3-aiohttp)")


def symbols_file(n):
    path = os.path.join(ARGS.work, f"symbols-{n}.txt")
    with open(path, "w") as f:
        f.writelines(f"SYM{i}\n" for i in range(n))
    return path


def fresh_db(name):
    path = os.path.join(ARGS.work, name)
    for suffix in ("", "-wal", "-shm", ".lock"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def count_bars(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM bars").fetchone()[0]
    finally:
        con.close()


def refresh(url, db, symbols, *extra):
    return mdfetch("refresh", "--symbols", symbols, "--db", db, "--api-key", "bench",
                   "--base-url", url, "--rate", "unlimited", "--concurrency", ARGS.concurrency,
                   *extra)


def ingest(url, n, pg):
    """Alternates mdfetch into SQLite, the Python baseline and mdfetch into PostgreSQL (a fresh
    database each time) ARGS.reps times each on the same work."""
    symbols = symbols_file(n)
    runs = {"mdfetch": [], "python": [], "postgresql": []}
    for rep in range(ARGS.reps):
        db = fresh_db("mdfetch.db")
        r = refresh(url, db, symbols, "--full", "--force")
        r["bars"] = count_bars(db)
        runs["mdfetch"].append(r)
        log(f"  mdfetch rep {rep + 1}: {r['wall']:.2f} s, {r['bars']} bars, {r['rss_mb']:.1f} MB")
        pydb = fresh_db("python.db")
        tool("schema", pydb)  # created by mdfetch's own Store
        r = run([PYTHON, os.path.join(HERE, "baseline.py"), url, pydb, symbols,
                 "--semaphore", str(ARGS.semaphore)])
        r["inner"] = json.loads(r["out"])
        r["bars"] = count_bars(pydb)
        runs["python"].append(r)
        log(f"  python  rep {rep + 1}: {r['wall']:.2f} s, {r['bars']} bars, {r['rss_mb']:.1f} MB")
        uri = pg.fresh_database("ingest")
        server_cpu = pg.cpu_seconds()
        r = refresh(url, uri, symbols, "--full", "--force")
        r["server_cpu"] = pg.cpu_seconds() - server_cpu
        r["bars"] = pg.count_bars("ingest")
        runs["postgresql"].append(r)
        log(f"  pg      rep {rep + 1}: {r['wall']:.2f} s, {r['bars']} bars, {r['rss_mb']:.1f} MB, "
            f"server CPU {r['server_cpu']:.2f} s")
    fresh_db("python.db")
    pg.drop_database("ingest")
    return runs


def median_run(runs):
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def timed_loop(cmd, runs, check=True):
    walls = [run(cmd, stdout=os.devnull, check=check)["wall"] for _ in range(runs)]
    return {"mean": statistics.mean(walls), "median": statistics.median(walls), "min": min(walls),
            "runs": runs}


def whole_process(name, cmd, runs, findings_exit=False):
    """Mean wall time of a short command: hyperfine if installed, else a loop. findings_exit:
    the command exits 1 by design when it finds something (check), which is not a failure."""
    if shutil.which("hyperfine"):
        out = os.path.join(ARGS.work, f"hyperfine-{name}.json")
        ignore = ["--ignore-failure"] if findings_exit else []
        subprocess.run(["hyperfine", "-N", *ignore, "--warmup", "5", "--runs", str(runs),
                        "--export-json", out, shlex.join(cmd)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = json.load(open(out))["results"][0]
        return {"mean": r["mean"], "median": r["median"], "min": r["min"], "runs": runs,
                "how": "hyperfine"}
    run(cmd, stdout=os.devnull, check=not findings_exit)
    return {**timed_loop(cmd, runs, check=not findings_exit), "how": "python loop (includes ~1 ms fork/exec)"}


def line_count(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def reads(db, big_db):
    res = {}
    mine, theirs = os.path.join(ARGS.work, "export.csv"), os.path.join(ARGS.work, "sqlite.csv")
    exe = os.path.join(ARGS.build, "mdfetch")
    # Alternated, so that a burst of other load does not favour one side.
    res["export"], res["sqlite_csv"] = {"walls": []}, {"walls": []}
    for _ in range(3):
        res["export"]["walls"].append(
            run([exe, "export", "--all", "--db", db, "--output", "-"], stdout=mine)["wall"])
        res["sqlite_csv"]["walls"].append(
            run(["sqlite3", "-csv", "-header", db, EXPORT_SQL], stdout=theirs)["wall"])
    for r in (res["export"], res["sqlite_csv"]):
        r["min"] = min(r["walls"])
    res["export_rows"], res["sqlite_rows"] = line_count(mine) - 1, line_count(theirs) - 1
    os.remove(mine)
    os.remove(theirs)
    # check reads and judges every bar of the 200 histories (issue 10: well under a second).
    # The simulator's daily histories hold splits a daily series does not record: check finds
    # them and exits 1, as it should.
    res["check"] = whole_process("check", [exe, "check", "--db", db], 5, findings_exit=True)
    target = big_db or db
    res["query_db_bars"] = count_bars(target)
    res["query"] = whole_process("query", [exe, "query", "SYM7", "--db", target, "--last", "100"], 50)
    res["sqlite_query"] = whole_process("sqlite", [
        "sqlite3", target, "SELECT b.* FROM bars b JOIN series s ON s.id = b.series_id "
        "WHERE s.symbol = 'SYM7' ORDER BY b.ts DESC LIMIT 100"], 50)
    # Issue 13: each read command, as a whole process, beside the sqlite3 shell answering the
    # same question on the same store (hyperfine, alternated by command).
    res["starts"] = []
    for name, ours, shell in (
            ("query SYM7 --last 100", [exe, "query", "SYM7", "--db", target, "--last", "100"],
             ["sqlite3", target, "SELECT * FROM (SELECT b.ts, b.open, b.high, b.low, b.close, "
              "b.volume FROM bars b JOIN series s ON s.id = b.series_id WHERE s.symbol = 'SYM7' "
              "AND s.function = 'daily' ORDER BY b.ts DESC LIMIT 100) ORDER BY ts"]),
            ("export SYM7", [exe, "export", "SYM7", "--db", target, "--output", "-"],
             ["sqlite3", "-csv", "-header", target,
              "SELECT s.symbol, b.ts AS timestamp, b.open, b.high, b.low, b.close, b.volume "
              "FROM series AS s JOIN bars AS b ON b.series_id = s.id WHERE s.symbol = 'SYM7' "
              "AND s.function = 'daily' ORDER BY b.ts"]),
            ("list", [exe, "list", "--db", target],
             ["sqlite3", target, "SELECT symbol, function, interval, options, bar_count, "
              "(SELECT min(ts) FROM bars WHERE series_id = s.id), "
              "(SELECT max(ts) FROM bars WHERE series_id = s.id), last_outcome, "
              "last_success_at FROM series s ORDER BY symbol, function, interval, options"]),
            ("quota", [exe, "quota", "--db", target],
             ["sqlite3", target, "SELECT count(*), min(at) FROM fetches WHERE at >= "
              "(strftime('%s', 'now') - 86400) * 1000"]),
            ("check SYM7", [exe, "check", "SYM7", "--db", target],
             ["sqlite3", target, "SELECT b.* FROM bars b JOIN series s ON s.id = b.series_id "
              "WHERE s.symbol = 'SYM7' AND s.function = 'daily' ORDER BY b.ts"])):
        mine = whole_process("start-" + name.split()[0], ours, 30,
                             findings_exit=name.startswith("check"))
        theirs = whole_process("shell-" + name.split()[0], shell, 30)
        res["starts"].append({"name": name, "mdfetch": mine, "sqlite3": theirs})
    return res


def main():
    start = time.perf_counter()
    os.makedirs(ARGS.work, exist_ok=True)
    n, m = ARGS.histories, max(ARGS.histories, ARGS.memory_histories)
    R = {"uptime_start": load(),
         "histories": n, "memory_histories": m, "concurrency": ARGS.concurrency,
         "semaphore": ARGS.semaphore}
    corpus, R["json_bytes"] = make_corpus(n, m)
    nginx, url, compact_url = start_nginx(corpus)
    pg = e2e_pg.PgServer(ARGS.work)
    try:
        log("a throw-away PostgreSQL server")
        pg.start()
        R["pg"] = {"version": pg.version, "start_s": pg.start_seconds, "settings": pg.settings()}
        log("fetch only (no decoding): nginx, then the simulator")
        R["fetch_nginx"] = json.loads(tool("fetch", url, n, ARGS.concurrency)["out"])
        R["fetch_sim"] = simulator_fetch_rate(min(n, 50))
        log(f"ingest of {n} full histories, {ARGS.reps} reps each")
        runs = ingest(url, n, pg)
        R["mdfetch"], R["python"] = median_run(runs["mdfetch"]), median_run(runs["python"])
        R["postgresql"] = median_run(runs["postgresql"])
        for name in ("mdfetch", "python", "postgresql"):
            R[f"{name}_walls"] = [r["wall"] for r in runs[name]]
        log("breakdown: decode, store and the SQLite ceiling, one thread each")
        R["breakdown"] = json.loads(tool("breakdown", corpus, n, fresh_db("breakdown.db"))["out"])
        db = os.path.join(ARGS.work, "mdfetch.db")
        syms = symbols_file(n)
        log("evening pass: compact answers with one new bar each, then a pass with nothing due")
        R["evening"] = refresh(compact_url, db, syms, "--force")
        R["evening"]["bars"] = count_bars(db)
        R["noop"] = refresh(compact_url, db, syms)
        big = None
        if m > n:
            log(f"memory: {m} full histories")
            big = fresh_db("mdfetch-big.db")
            R["big"] = refresh(url, big, symbols_file(m), "--full", "--force")
            R["big"]["bars"] = count_bars(big)
            R["big_noop"] = refresh(url, big, symbols_file(m))
        log("reads: export --all vs sqlite3 -csv, query --last 100")
        R["reads"] = reads(db, big)
        if ARGS.big_bars > 0:
            helpers = types.SimpleNamespace(run=run, tool=tool, mdfetch=mdfetch, log=log,
                                            whole_process=whole_process, fresh_db=fresh_db,
                                            exe=os.path.join(ARGS.build, "mdfetch"))
            R["big_store"] = e2e_big.measure(helpers, pg, ARGS.big_series,
                                             -(-ARGS.big_bars // ARGS.big_series), ARGS.big_reps)
            R["uptime_big"] = load()
    finally:
        nginx.terminate()
        nginx.wait()
        pg.stop()
    for name in ("mdfetch.db", "mdfetch-big.db", "breakdown.db"):
        fresh_db(name)
    R["uptime_end"] = load()
    R["seconds"] = time.perf_counter() - start
    with open(ARGS.json, "w") as f:
        json.dump(R, f, indent=1, default=str)
    print_table(R)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--histories", type=int, default=200)
    # Off by default: symbols past --histories reuse the first answers through symlinks, and
    # the codec now refuses an answer for another symbol (SYM1980 answered by SYM180's file).
    parser.add_argument("--memory-histories", type=int, default=0,
                        help="the second, larger run for peak RSS (0: skip; broken, see above)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--semaphore", type=int, default=40)
    # Off by default: 20,000,000 bars take ~20 min on 2 busy cores, most of it mdfetch copy.
    parser.add_argument("--big-bars", type=int, default=0,
                        help="bars of the large store of the query and export benchmark on "
                             "both backends, e.g. 20000000 (0: skip it)")
    parser.add_argument("--big-series", type=int, default=1000,
                        help="series of the large store (the cross-section spans them all)")
    parser.add_argument("--big-reps", type=int, default=3,
                        help="full exports of the large store per backend")
    parser.add_argument("--json", default=None, help="where to write the figures")
    ARGS = parser.parse_args()
    ARGS.work = os.path.abspath(ARGS.work)
    ARGS.build = os.path.abspath(ARGS.build)
    ARGS.json = ARGS.json or os.path.join(ARGS.work, "e2e.json")
    PYTHON = python_with_aiohttp()
    main()
