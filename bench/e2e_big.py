"""The read side on a large store (issue 11), on both backends; bench/e2e.py runs it.

`mdfetch_bench_tool store` fills a new SQLite store through Store::StoreAnswer with S daily
series of B bars each (every weekday back from 2026-11-20, a random walk); `mdfetch copy`
moves it into an empty PostgreSQL database (timed: the copy is a figure too), then `mdfetch
vacuum` analyses it as a DBA would. On each backend, as whole processes: `query SYM7 --last
100`, the cross-section of one date across all S series (`export --all --from D --to D`: the
command that answers it), and `export --all` of every bar; the sqlite3 and psql shells doing the
same query and cross-section for reference. Short commands go through hyperfine (median), the
full export runs ARGS.big_reps times per backend, alternated (median).
"""
import datetime
import json
import os
import statistics

LAST_SESSION = datetime.date(2026, 11, 20)  # bench_corpus.h's kBenchLastSession
QUERY_SQL = ("SELECT b.* FROM {s}bars b JOIN {s}series s ON s.id = b.series_id "
             "WHERE s.symbol = 'SYM7' ORDER BY b.ts DESC LIMIT 100")
CROSS_SQL = ("SELECT s.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume "
             "FROM {s}series s JOIN {s}bars b ON b.series_id = s.id "
             "WHERE b.ts = '{date}' ORDER BY s.symbol")


def cross_date(per_series):
    """The weekday in the middle of every generated history (they all end at LAST_SESSION)."""
    day, left = LAST_SESSION, per_series // 2
    while True:
        if day.weekday() < 5:
            left -= 1
            if left <= 0:
                return day.isoformat()
        day -= datetime.timedelta(days=1)


def measure(b, pg, series, per_series, reps):
    """b: e2e's helpers (run, tool, mdfetch, whole_process, fresh_db, log, work, exe)."""
    date = cross_date(per_series)
    R = {"series": series, "per_series": per_series, "cross_date": date}
    db = b.fresh_db("big.db")
    b.log(f"large store: {series} series x {per_series} bars into SQLite (Store::StoreAnswer)")
    gen = b.tool("store", db, series, per_series)
    R["generate"] = {**gen, **json.loads(gen["out"])}
    R["rows"] = R["generate"]["rows"]
    R["sqlite_bytes"] = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
    uri = pg.fresh_database("big")
    b.log("large store: mdfetch copy into PostgreSQL, then mdfetch vacuum (ANALYZE)")
    server_cpu = pg.cpu_seconds()
    R["copy"] = b.mdfetch("copy", "--from", db, "--to", uri)
    R["copy"]["server_cpu"] = pg.cpu_seconds() - server_cpu
    R["vacuum"] = b.mdfetch("vacuum", "--db", uri)
    R["pg_rows"] = pg.count_bars("big")
    R["pg_bytes"] = pg.database_bytes("big")
    psql = [os.path.join(pg.bin, "psql"), "-h", pg.dir, "-U", "mdfetch", "-d", "big", "-X", "-At"]
    for name, where in (("sqlite", db), ("postgresql", uri)):
        b.log(f"large store, {name}: query --last 100, cross-section of {date}")
        r = R[name] = {}
        r["query"] = b.whole_process(f"big-query-{name}",
                                     [b.exe, "query", "SYM7", "--db", where, "--last", "100"], 30)
        cross = [b.exe, "export", "--all", "--db", where, "--from", date, "--to", date,
                 "--output", "-"]
        r["cross"] = b.whole_process(f"big-cross-{name}", cross, 20)
        r["cross_rows"] = b.run(cross)["out"].count("\n") - 1
        if name == "sqlite":
            shell = [["sqlite3", db, QUERY_SQL.format(s="")],
                     ["sqlite3", db, CROSS_SQL.format(s="", date=date)]]
        else:
            shell = [[*psql, "-c", QUERY_SQL.format(s="mdfetch.")],
                     [*psql, "-c", CROSS_SQL.format(s="mdfetch.", date=date)]]
        r["shell_query"] = b.whole_process(f"big-shell-query-{name}", shell[0], 30)
        r["shell_cross"] = b.whole_process(f"big-shell-cross-{name}", shell[1], 20)
        r["export"] = []
    b.log(f"large store: export --all of {R['rows']:,} bars, {reps} times per backend, alternated")
    for _ in range(reps):
        for name, where in (("sqlite", db), ("postgresql", uri)):
            R[name]["export"].append(
                b.mdfetch("export", "--all", "--db", where, "--output", "-", stdout=os.devnull))
    for name in ("sqlite", "postgresql"):
        runs = R[name]["export"]
        R[name]["export_walls"] = [r["wall"] for r in runs]
        R[name]["export_median"] = statistics.median(R[name]["export_walls"])
        R[name]["export_cpu"] = statistics.median(r["user"] + r["sys"] for r in runs)
        R[name]["export_rss_mb"] = max(r["rss_mb"] for r in runs)
        del R[name]["export"]
    b.fresh_db("big.db")
    pg.drop_database("big")
    return R
