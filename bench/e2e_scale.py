#!/usr/bin/env python3
"""100,000 series on one machine (issue 13): a refresh with nothing due, `list`, peak memory.

For each size S (default 10,000 and 100,000), `mdfetch_bench_tool store` fills a new SQLite
store through Store::StoreAnswer with S daily series SYM0.. of a few bars each (every weekday
back to 2026-11-20, a random walk), each stored with last_success_at = now: the planner takes
each for up to date until the next session closes (planner.cc IsUpToDate). A symbol list names
the same S series. Then, as whole processes:

  refresh --rate unlimited with nothing due (the base URL is a closed port: a call would fail,
      and the run is checked to say "S up to date" and "0 calls" before it is timed)
  plan (the same list, nothing due)
  list --format csv and --format json (every series), and list as a table into a pipe
      (whole; on a terminal it prints a page, which the tests pin)

Then, for each size of --called (default 3,000 and 12,000: under one slice of 4,096 series and
three slices), a refresh that calls every series: new monthly series from `mdfetch sim`
(--rate unlimited, concurrency 4), its peak RSS against the number of series.

hyperfine -N (median of ARGS.runs, 2 warm-ups) gives the wall times; each command is also run
ARGS.rss_runs times under wait4 for its CPU time (user+sys) and peak RSS (median run). Each
figure is printed beside its goal. Needs python3 (stdlib) and hyperfine.
"""
import argparse
import json
import os
import re
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

from bench_util import add_common_args, log, uptime

GOALS = {"refresh": 0.5, "list_csv": 1.0, "list_json": 1.0, "list_table": 1.0, "plan": None}


def run(cmd, stdout=subprocess.DEVNULL, check=True):
    """Wall, user+sys CPU seconds and peak RSS (MB) of one run of cmd.

    The peak RSS is GNU time's (%M), not wait4's: a child forked from this Python process
    starts with Python's resident pages counted in its ru_maxrss (~15-17 MB here), which hid
    any smaller figure of mdfetch's own. /usr/bin/time is a small process, and what it reports
    is the RSS of the program it ran."""
    err_path = os.path.join(ARGS.work, "scale.err")
    rss_path = os.path.join(ARGS.work, "scale.rss")
    with open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_path] + cmd,
                                stdout=stdout, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    if check and rc != 0:
        with open(err_path, errors="replace") as f:
            sys.exit(f"e2e_scale: {shlex.join(cmd)} exited {rc}:\n{f.read()}")
    with open(rss_path) as f:
        rss_kb = int(f.read().split()[-1])
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
            "sys": usage.ru_stime, "rss_mb": rss_kb / 1024, "rc": rc}


def hyperfine(name, cmd):
    out = os.path.join(ARGS.work, f"hyperfine-scale-{name}.json")
    subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", str(ARGS.runs),
                    "--export-json", out, shlex.join(cmd)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        r = json.load(f)["results"][0]
    return {"median": r["median"], "mean": r["mean"], "min": r["min"], "max": r["max"],
            "user": r["user"], "system": r["system"], "runs": ARGS.runs}


def fresh(path):
    for suffix in ("", "-wal", "-shm", ".lock"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def check_nothing_due(exe, db, symbols, n):
    """The nothing-due refresh must really have nothing due: a session close since the store
    was made would turn every series due (and the closed port would fail them all)."""
    out = os.path.join(ARGS.work, "scale-check.out")
    with open(out, "wb") as f:
        r = run([exe, "refresh", "--symbols", symbols, "--db", db,
                 "--base-url", "http://127.0.0.1:9", "--rate", "unlimited"], stdout=f, check=False)
    with open(out) as f:
        text = f.read()
    if r["rc"] != 0 or f"{n} series: 0 stored, {n} up to date" not in text or "; 0 calls" not in text:
        sys.exit(f"e2e_scale: the refresh of the {n:,}-series store has something due "
                 f"(a session closed since it was made? run again):\n{text[:2000]}")
    return text.splitlines()[0]


def measure(exe, tool, n):
    R = {"series": n, "bars_per_series": ARGS.bars}
    db = fresh(os.path.join(ARGS.work, f"scale-{n}.db"))
    symbols = os.path.join(ARGS.work, f"scale-symbols-{n}.txt")
    with open(symbols, "w") as f:
        f.writelines(f"SYM{i}\n" for i in range(n))
    log(f"scale: a store of {n:,} series x {ARGS.bars} bars (mdfetch_bench_tool store)")
    gen = os.path.join(ARGS.work, "scale-gen.out")
    with open(gen, "wb") as f:
        R["generate"] = run([tool, "store", db, str(n), str(ARGS.bars)], stdout=f)
    with open(gen) as f:
        R["generate"].update(json.load(f))
    # As a refresh would have recorded (the bench tool writes through Store, not the CLI): the
    # bars are the service's, so a refresh without --sim may use the store.
    con = sqlite3.connect(db)
    with con:
        con.execute("INSERT OR REPLACE INTO facts(key, value) VALUES ('origin', 'alphavantage')")
    con.close()
    R["db_mb"] = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / 1e6
    R["summary"] = check_nothing_due(exe, db, symbols, n)
    commands = {
        "refresh": [exe, "refresh", "--symbols", symbols, "--db", db,
                    "--base-url", "http://127.0.0.1:9", "--rate", "unlimited"],
        "plan": [exe, "plan", "--symbols", symbols, "--db", db],
        "list_csv": [exe, "list", "--db", db, "--format", "csv"],
        "list_json": [exe, "list", "--db", db, "--format", "json"],
        "list_table": [exe, "list", "--db", db],
    }
    for name, cmd in commands.items():
        log(f"scale: {n:,} series: {name}")
        R[name] = hyperfine(f"{name}-{n}", cmd)
        runs = [run(cmd) for _ in range(ARGS.rss_runs)]
        R[name]["cpu"] = statistics.median(r["cpu"] for r in runs)
        R[name]["rss_mb"] = statistics.median(r["rss_mb"] for r in runs)
    with open(os.path.join(ARGS.work, "scale-list.out"), "wb") as f:
        run(commands["list_csv"], stdout=f)
    with open(os.path.join(ARGS.work, "scale-list.out"), "rb") as f:
        R["list_rows"] = sum(1 for _ in f) - 1
    check_nothing_due(exe, db, symbols, n)  # still nothing due after the timings
    fresh(db)
    return R


def measure_called(exe, n):
    """Peak RSS of a refresh that calls every one of n new monthly series (one full answer of
    ~320 bars each) from `mdfetch sim` at --rate unlimited: memory with calls in flight and
    answers stored, against the number of series."""
    db = fresh(os.path.join(ARGS.work, f"scale-called-{n}.db"))
    symbols = os.path.join(ARGS.work, f"scale-called-{n}.txt")
    with open(symbols, "w") as f:
        f.writelines(f"CALL{i}\n" for i in range(n))
    sim = subprocess.Popen([exe, "sim", "--port", "0", "--daily-limit", "0", "--window-limit", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"http://[0-9.:]+", sim.stdout.readline()).group(0)
        cmd = [exe, "refresh", "--sim", "--base-url", url, "--symbols", symbols, "--db", db,
               "--rate", "unlimited", "--concurrency", "4", "--function", "monthly"]
        log(f"scale: {n:,} series, every one called (mdfetch sim)")
        r = run(cmd)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait()
    con = sqlite3.connect(db)
    stored = con.execute("SELECT COUNT(*) FROM series WHERE bar_count > 0").fetchone()[0]
    bars = con.execute("SELECT COUNT(*) FROM bars").fetchone()[0]
    con.close()
    if stored != n:
        sys.exit(f"e2e_scale: {stored:,} of {n:,} called series were stored")
    fresh(db)
    return {"series": n, "wall": r["wall"], "cpu": r["cpu"], "rss_mb": r["rss_mb"], "bars": bars}


def print_table(R):
    print(f"mdfetch at scale (issue 13): S daily series of {ARGS.bars} bars each, nothing due")
    print(f"load at start: {R['uptime_start']}")
    print(f"load at end:   {R['uptime_end']}")
    print(f"{'':34}{'series':>9} {'wall s':>8} {'CPU s':>7} {'peak RSS MB':>12}   goal")
    for r in R["sizes"]:
        n = r["series"]
        for name in GOALS:
            x = r[name]
            goal = GOALS[name]
            verdict = "" if goal is None else (
                f"< {goal} s  {'met' if x['median'] < goal else 'NOT MET'}")
            label = {"refresh": "refresh, nothing due", "plan": "plan",
                     "list_csv": "list --format csv", "list_json": "list --format json",
                     "list_table": "list (table, into a pipe)"}[name]
            print(f"  {label:32}{n:>9,} {x['median']:8.3f} {x['cpu']:7.3f} {x['rss_mb']:12.1f}"
                  f"   {verdict}")
        print(f"  (the store: {r['generate']['rows']:,} bars, {r['db_mb']:.0f} MB, made in "
              f"{r['generate']['wall']:.1f} s; list printed {r['list_rows']:,} rows)")
    if len(R["sizes"]) >= 2:
        a, b = R["sizes"][0], R["sizes"][-1]
        per = (b["refresh"]["median"] - a["refresh"]["median"]) / (b["series"] - a["series"])
        grow = b["refresh"]["rss_mb"] - a["refresh"]["rss_mb"]
        print(f"  refresh, nothing due: {per * 1e6:.2f} us per series; peak RSS grows "
              f"{grow:.1f} MB from {a['series']:,} to {b['series']:,} series "
              f"({grow * 1e6 / (b['series'] - a['series']):.0f} bytes per series)")
    if R.get("called"):
        print("  refresh calling every series (new monthly series, mdfetch sim, --rate unlimited,"
              " concurrency 4; a slice is 4,096 series):")
        for c in R["called"]:
            print(f"  {'refresh, every series called':32}{c['series']:>9,} {c['wall']:8.3f} "
                  f"{c['cpu']:7.3f} {c['rss_mb']:12.1f}   ({c['bars']:,} bars stored)")


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.environ["ALPHAVANTAGE_API_KEY"] = "bench"  # not --api-key: no warning on every run
    exe = os.path.join(ARGS.build, "mdfetch")
    tool = os.path.join(ARGS.build, "bench", "mdfetch_bench_tool")
    R = {"uptime_start": uptime(), "sizes": []}
    for n in ARGS.series:
        R["sizes"].append(measure(exe, tool, n))
    R["called"] = [measure_called(exe, n) for n in ARGS.called]
    R["uptime_end"] = uptime()
    with open(ARGS.json, "w") as f:
        json.dump(R, f, indent=1)
    print_table(R)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--series", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10000, 100000], help="store sizes, e.g. 10000,100000")
    parser.add_argument("--called", type=lambda s: [int(x) for x in s.split(",") if x],
                        default=[3000, 12000],
                        help="sizes of the refresh that calls every series ('' to skip)")
    parser.add_argument("--bars", type=int, default=5, help="bars per series")
    parser.add_argument("--runs", type=int, default=10, help="hyperfine runs per command")
    parser.add_argument("--rss-runs", type=int, default=3, help="runs for CPU time and RSS")
    parser.add_argument("--json", default=None, help="where to write the figures")
    ARGS = parser.parse_args()
    ARGS.work = os.path.abspath(ARGS.work)
    ARGS.build = os.path.abspath(ARGS.build)
    ARGS.json = ARGS.json or os.path.join(ARGS.work, "e2e_scale.json")
    main()
