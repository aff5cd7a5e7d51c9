#!/usr/bin/env python3
"""Paced at the limit at scale (issue 13): a refresh at --rate R/min against the simulator.

Goal: the calls span within 1% of the bound (N-1) x 60/R, with zero throttles.

For each case (R calls/min, the simulator's sliding window of W s, N calls), a fresh
`mdfetch sim --window-limit R*W/60 --window-seconds W --daily-limit 0 --log FILE` (no daily
limit, no faults) and a fresh SQLite store; the symbol list names N monthly series PACE0..
(`--function monthly`: a new series is asked outputsize=full, and a monthly history is the
smallest full answer, ~320 bars, ~67 KB), so the refresh makes exactly N calls, one per
series, with

  mdfetch refresh --sim --base-url URL --rate R/min --concurrency C --function monthly

--rate R/min is the only limit the refresh applies: one token bucket of R per minute,
burst 1 (calls 60/R s apart), no per-second window, no N/day quota. The simulator throttles
a call that would be the (R*W/60 + 1)-th in any W s (measured when the request arrives),
so W = 60 is the service's per-minute limit, and a shorter W lets a short run at a higher
rate be judged over several whole windows. The default cases (--cases R:W:N,...):
1200:60:1500 (the premium limit over its own minute, 75 s), 6000:10:2000 and 12000:10:4000
(20 s each); ~2.5 min in all.

The span is the time between the first and the last request the simulator logged (the time
each request arrived, ms resolution); the client's own times (the store's fetches.at, taken
when each call is logged, before it is sent) give a second span. The deviation is
span / ((N-1) x 60/R) - 1. Throttles: the simulator's own count (its `stopped:` line), beside
the refresh summary's. Each figure is printed beside its goal; the machine and the load
(uptime before and after each case) are recorded. Needs python3 (stdlib) only.

Each call comes a little late (scheduler delays, the dispatcher waiting on the store) and the
token bucket restarts its schedule at a late call, so the lateness adds up: the script prints
it per call. --prefix "chrt -f 10" runs the refresh at real-time priority, to see how much of
it is the scheduler's.
"""
import argparse
import datetime
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

DEVIATION_GOAL = 1.0  # percent


def load1(text):
    m = re.search(r"load average: ([\d.]+)", text)
    return float(m.group(1)) if m else float("nan")


def machine():
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines()
                      if l.startswith("Model name:")), "?")
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def fresh(path):
    for suffix in ("", "-wal", "-shm", ".lock"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def parse_case(text):
    """R:W:N, e.g. 1200:60:1500 (R calls/min, the simulator's window W s, N calls)."""
    r, w, n = (int(x) for x in text.split(":"))
    if (r * w) % 60 != 0:
        raise argparse.ArgumentTypeError(f"{text}: R*W/60 must be a whole number of calls")
    return {"rate": r, "window": w, "calls": n}


def start_sim(exe, limit, window, sim_log):
    proc = subprocess.Popen([exe, "sim", "--port", "0", "--window-limit", str(limit),
                             "--window-seconds", str(window), "--daily-limit", "0",
                             "--log", sim_log],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"e2e_pace: the simulator did not start: {line}{proc.stderr.read()}")
    return proc, m.group(1)


def stop_sim(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    m = re.search(r"simulator stopped: (\d+) calls, (\d+) served, (\d+) throttled, (\d+) faults",
                  out)
    if not m:
        sys.exit(f"e2e_pace: the simulator did not say what it served:\n{out}{err}")
    return dict(zip(("calls", "served", "throttled", "faults"), (int(x) for x in m.groups())))


def sim_times(sim_log):
    """Arrival times (s since the epoch) and outcomes of the requests the simulator logged."""
    times, outcomes = [], []
    with open(sim_log) as f:
        for line in f:
            row = json.loads(line)
            t = datetime.datetime.fromisoformat(row["time"].replace("Z", "+00:00"))
            times.append(t.timestamp())
            outcomes.append(row["outcome"])
    # Lines are written as requests are handled, by several server threads: nearly in order.
    return sorted(times), outcomes


def max_in_window(times, window):
    """The most calls in any window of `window` s (half-open, as the simulator counts)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def gaps_ms(times):
    return [(b - a) * 1000 for a, b in zip(times, times[1:])]


def measure(exe, case):
    r, w, n = case["rate"], case["window"], case["calls"]
    limit = r * w // 60
    tag = f"pace-{r}-{w}-{n}"
    db = fresh(os.path.join(ARGS.work, tag + ".db"))
    sim_log = fresh(os.path.join(ARGS.work, tag + ".sim.jsonl"))
    report = os.path.join(ARGS.work, tag + ".report.json")
    symbols = os.path.join(ARGS.work, tag + ".symbols.txt")
    with open(symbols, "w") as f:
        f.writelines(f"PACE{i}\n" for i in range(n))
    R = dict(case, limit=limit, bound=(n - 1) * 60 / r, uptime_start=uptime(),
             concurrency=ARGS.concurrency)
    log(f"pace: --rate {r}/min, {n:,} calls (bound {R['bound']:.2f} s), simulator "
        f"{limit} calls per {w} s sliding window")
    sim, url = start_sim(exe, limit, w, sim_log)
    cmd = ARGS.prefix + [exe, "refresh", "--symbols", symbols, "--db", db, "--sim", "--base-url", url,
           "--rate", f"{r}/min", "--concurrency", str(ARGS.concurrency),
           "--function", "monthly", "--report", report]
    R["command"] = " ".join(cmd)
    out_path = os.path.join(ARGS.work, tag + ".out")
    with open(out_path, "wb") as out_file:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        R["wall"] = time.perf_counter() - start
    R["cpu"] = usage.ru_utime + usage.ru_stime
    R["sim"] = stop_sim(sim)
    R["uptime_end"] = uptime()
    with open(out_path, errors="replace") as f:
        out = f.read()
    R["summary"] = out.strip().splitlines()[0] if out.strip() else ""
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"e2e_pace: the refresh exited {rc}:\n{out}")
    with open(report) as f:
        R["totals"] = json.load(f)["totals"]
    times, outcomes = sim_times(sim_log)
    R["sim_calls"] = len(times)
    R["span"] = times[-1] - times[0]
    R["deviation"] = 100 * (R["span"] / R["bound"] - 1)
    R["max_in_window"] = max_in_window(times, w)
    g = sorted(gaps_ms(times))
    R["gap_ms"] = {"min": g[0], "median": statistics.median(g), "p99": g[int(0.99 * len(g))],
                   "max": g[-1]}
    R["under_interval"] = sum(1 for x in g if x < 60000 / r - 1)  # 1 ms: the log's resolution
    con = sqlite3.connect(db)
    at = [row[0] / 1000 for row in con.execute("SELECT at FROM fetches ORDER BY id")]
    con.close()
    R["client_span"] = at[-1] - at[0]
    R["client_deviation"] = 100 * (R["client_span"] / R["bound"] - 1)
    R["excess_per_call_us"] = (R["span"] - R["bound"]) / (n - 1) * 1e6
    R["outcomes"] = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    return R


def print_table(R):
    print(f"paced at the limit (issue 13): refresh --rate R/min --concurrency "
          f"{ARGS.concurrency} against mdfetch sim, N monthly series (one full call each)")
    print(f"machine: {R['machine']}; load at start: {R['uptime_start']}")
    print(f"  limits: the refresh --rate R/min only (one token bucket, burst 1: calls 60/R s "
          f"apart; no /s window, no /day quota); the simulator R*W/60 calls in any W s, no "
          f"daily limit, no faults")
    print(f"{'':17}{'calls':>6} {'bound s':>9} {'span s':>9} {'deviation':>10}   goal"
          f"{'':13}{'throttled':>9}  goal")
    for c in R["cases"]:
        dev_ok = 0 <= c["deviation"] <= DEVIATION_GOAL
        thr = c["sim"]["throttled"]
        print(f"  {c['rate']:>5}/min, {c['window']:>2} s"
              f"{c['sim_calls']:>6} {c['bound']:9.3f} {c['span']:9.3f} {c['deviation']:+9.2f}%"
              f"   <= {DEVIATION_GOAL:g}%  {'met' if dev_ok else 'NOT MET':8}"
              f"{thr:>9}  0  {'met' if thr == 0 else 'NOT MET'}")
    print("  (span: first to last request as the simulator logged them; bound: (N-1) x 60/R)")
    for c in R["cases"]:
        g = c["gap_ms"]
        print(f"  {c['rate']}/min: simulator {c['limit']} calls per {c['window']} s sliding "
              f"window, at most {c['max_in_window']} seen in one; client span "
              f"{c['client_span']:.3f} s ({c['client_deviation']:+.2f}%); {c['excess_per_call_us']:.0f} us"
              f" late per call; gaps ms min/median/p99/max {g['min']:.0f}/{g['median']:.0f}/"
              f"{g['p99']:.0f}/{g['max']:.0f}, {c['under_interval']} under 60/R; refresh "
              f"counted {c['totals']['throttled']} throttled, {c['totals']['calls']} calls; "
              f"load {load1(c['uptime_start']):.2f} -> {load1(c['uptime_end']):.2f}")


def main():
    os.makedirs(ARGS.work, exist_ok=True)
    os.environ["ALPHAVANTAGE_API_KEY"] = "bench"
    exe = os.path.join(ARGS.build, "mdfetch")
    R = {"machine": machine(), "uptime_start": uptime(), "cases": []}
    for case in ARGS.cases:
        R["cases"].append(measure(exe, case))
    R["uptime_end"] = uptime()
    with open(ARGS.json, "w") as f:
        json.dump(R, f, indent=1)
    print_table(R)
    print(f"load at end: {R['uptime_end']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, "build folder holding mdfetch")
    parser.add_argument("--cases", type=lambda s: [parse_case(x) for x in s.split(",")],
                        default=[parse_case(x) for x in ("1200:60:1500", "6000:10:2000", "12000:10:4000")],
                        help="R:W:N,... (R calls/min, the simulator's window W s, N calls)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--prefix", type=shlex.split, default=[],
                        help="run the refresh under this command (e.g. 'chrt -f 10', to see "
                        "what the scheduler's wake-up delays cost)")
    parser.add_argument("--json", default=None, help="where to write the figures")
    ARGS = parser.parse_args()
    ARGS.work = os.path.abspath(ARGS.work)
    ARGS.build = os.path.abspath(ARGS.build)
    ARGS.json = ARGS.json or os.path.join(ARGS.work, "e2e_pace.json")
    main()
