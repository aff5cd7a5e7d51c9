"""Prints the end-to-end benchmark's table from the figures bench/e2e.py collected."""


def print_table(R):
    mb = R["json_bytes"] / 1e6
    md, py, br = R["mdfetch"], R["python"], R["breakdown"]
    bars = md["bars"]
    ceiling = br["ceiling_rows_per_s"]
    p = print
    p(f"\nmdfetch end-to-end benchmark: {R['histories']} full daily histories, {bars:,} bars, "
      f"{mb:.1f} MB of JSON, from nginx on loopback")
    p(f"load at start: {R['uptime_start']}")
    p(f"{'':34}{'wall s':>8}{'bars/s':>12}{'MB/s':>8}{'CPU s':>8}{'peak RSS MB':>13}")
    pg = R["postgresql"]
    for name, r in ((f"mdfetch refresh (concurrency {R['concurrency']})", md),
                    (f"python aiohttp (semaphore {R['semaphore']})", py),
                    ("mdfetch refresh into PostgreSQL", pg)):
        p(f"{name:34}{r['wall']:8.2f}{r['bars'] / r['wall']:12,.0f}{mb / r['wall']:8.1f}"
          f"{r['user'] + r['sys']:8.2f}{r['rss_mb']:13.1f}")
    inner = py["inner"]["seconds"]
    p(f"{'  (python without start-up)':34}{inner:8.2f}{py['bars'] / inner:12,.0f}{mb / inner:8.1f}")
    p(f"speed-up over python: {py['wall'] / md['wall']:.2f}x whole process, "
      f"{inner / md['wall']:.2f}x without python's start-up   (target >= 4x)")
    p(f"CPU time (user+sys), robust to other load: python/mdfetch = "
      f"{(py['user'] + py['sys']) / (md['user'] + md['sys']):.2f}x")
    p(f"PostgreSQL ingest over python into SQLite: {py['wall'] / pg['wall']:.2f}x whole process   "
      f"(goal >= 2x); {pg['bars'] / md['bars']:.0%} of SQLite's bars")
    pg_cpu = pg["user"] + pg["sys"] + pg["server_cpu"]
    p(f"  CPU: mdfetch {pg['user'] + pg['sys']:.2f} s + server {pg['server_cpu']:.2f} s = "
      f"{pg_cpu:.2f} s; python/(mdfetch+server) = {(py['user'] + py['sys']) / pg_cpu:.2f}x")
    s = R["pg"]
    p(f"  PostgreSQL {s['version'].split()[0]} on a unix socket, Debian's defaults "
      f"({', '.join(f'{k} {v}' for k, v in sorted(s['settings'].items()))}); started in "
      f"{s['start_s']:.1f} s")
    p(f"all walls (s): mdfetch {fmt_list(R['mdfetch_walls'])}, python {fmt_list(R['python_walls'])}"
      f", postgresql {fmt_list(R['postgresql_walls'])}")
    p(f"SQLite ceiling (same rows, plain INSERT, 1 tx/history): {ceiling:,.0f} rows/s; "
      f"mdfetch end to end = {bars / md['wall'] / ceiling:.0%} of it   (target >= 80%); "
      f"Store::StoreAnswer alone = {br['rows'] / br['store_s'] / ceiling:.0%}")
    p("where the time goes (one thread each, same histories):")
    fetch = R["fetch_nginx"]
    p(f"  fetch only, nginx, {R['concurrency']} connections: {fetch['seconds']:.2f} s "
      f"({fetch['bytes'] / 1e6 / fetch['seconds']:.0f} MB/s)")
    sim = R["fetch_sim"]
    p(f"  fetch only, mdfetch sim, 8 connections: {sim['bytes'] / 1e6 / sim['seconds']:.0f} MB/s "
      f"({sim['histories'] / sim['seconds']:.0f} histories/s)")
    p(f"  decode: {br['decode_s']:.2f} s ({br['bytes'] / 1e6 / br['decode_s']:.0f} MB/s)   "
      f"store (Store::StoreAnswer): {br['store_s']:.2f} s ({br['rows'] / br['store_s']:,.0f} rows/s)"
      f"   ceiling: {br['ceiling_s']:.2f} s")
    ph = py["inner"]["phases"]
    p(f"  python, same run: json.loads {ph['json']:.2f} s, building rows {ph['rows']:.2f} s, "
      f"sqlite3 executemany+commit {ph['sqlite']:.2f} s ({py['bars'] / ph['sqlite']:,.0f} rows/s)"
      f" of {inner:.2f} s")
    ev, noop = R["evening"], R["noop"]
    n = R["histories"]
    p(f"evening refresh, {n} compact calls (1 new bar each): {ev['wall']:.2f} s wall, "
      f"{(ev['user'] + ev['sys']) / n * 1e3:.2f} ms CPU per call; "
      f"nothing due: {noop['wall'] * 1e3:.0f} ms")
    if "big" in R:
        big = R["big"]
        p(f"memory: {n} histories {md['rss_mb']:.1f} MB, {R['memory_histories']} histories "
          f"{big['rss_mb']:.1f} MB peak RSS (+{big['rss_mb'] - md['rss_mb']:.1f} MB; "
          f"{big['bars']:,} bars in {big['wall']:.1f} s, {big['bars'] / big['wall']:,.0f} bars/s); "
          f"nothing due: {R['big_noop']['wall']:.2f} s")
    rd = R["reads"]
    p(f"export --all, {rd['export_rows']:,} rows: mdfetch {rd['export']['min']:.2f} s, "
      f"sqlite3 -csv {rd['sqlite_csv']['min']:.2f} s ({rd['sqlite_rows']:,} rows)   "
      f"(target: mdfetch <= sqlite3)")
    if rd.get("starts"):
        p("read commands, whole process, median of 30 (hyperfine), beside the sqlite3 shell "
          "answering the same on the same store   (target: <= 1.5x)")
        for s in rd["starts"]:
            ours, shell = s["mdfetch"]["median"], s["sqlite3"]["median"]
            p(f"  {s['name']:24} mdfetch {ours * 1e3:6.1f} ms   sqlite3 {shell * 1e3:6.1f} ms   "
              f"{ours / shell:4.2f}x")
    if "check" in rd:
        p(f"check of every stored series (the histories above): {rd['check']['median'] * 1e3:.0f} ms "
          f"median ({rd['check']['how']}, {rd['check']['runs']} runs)   (target: well under 1 s)")
    q, sq = rd["query"], rd["sqlite_query"]
    p(f"query SYM7 --last 100 in a {rd['query_db_bars']:,}-bar store: {q['mean'] * 1e3:.1f} ms mean "
      f"({q['how']}, {q['runs']} runs); sqlite3 CLI, same rows: {sq['mean'] * 1e3:.1f} ms   "
      f"(target < 20 ms)")
    if "big_store" in R:
        print_big(R["big_store"])
        p(f"load after the large store: {R['uptime_big']}")
    p(f"load at end: {R['uptime_end']}   (benchmark took {R['seconds']:.0f} s)")


def print_big(B):
    p = print
    g, c, v = B["generate"], B["copy"], B["vacuum"]
    rows = B["rows"]
    p(f"\nlarge store: {B['series']:,} daily series x {B['per_series']:,} bars = {rows:,} bars "
      f"(PostgreSQL after copy: {B['pg_rows']:,})")
    p(f"  generated into SQLite by Store::StoreAnswer in {g['seconds']:.1f} s "
      f"({rows / g['seconds']:,.0f} bars/s); SQLite file {B['sqlite_bytes'] / 1e9:.2f} GB")
    p(f"  mdfetch copy SQLite -> PostgreSQL: {c['wall']:.1f} s ({rows / c['wall']:,.0f} bars/s, "
      f"CPU {c['user'] + c['sys']:.1f} s + server {c['server_cpu']:.1f} s, peak RSS "
      f"{c['rss_mb']:.0f} MB); mdfetch vacuum: "
      f"{v['wall']:.1f} s; PostgreSQL database {B['pg_bytes'] / 1e9:.2f} GB")
    sq, pg = B["sqlite"], B["postgresql"]
    p(f"{'  whole process, median':52}{'SQLite':>12}{'PostgreSQL':>12}   goal")
    p(f"{'  mdfetch query SYM7 --last 100':52}{ms(sq['query'])}{ms(pg['query'])}   milliseconds")
    p(f"{'    sqlite3 / psql shell, same query':52}{ms(sq['shell_query'])}{ms(pg['shell_query'])}")
    cross = f"  mdfetch export --all --from/--to {B['cross_date']}"
    cross_rows = f"    rows: {sq['cross_rows']:,} / {pg['cross_rows']:,}; shell, same rows"
    p(f"{cross:52}{ms(sq['cross'])}{ms(pg['cross'])}   milliseconds")
    p(f"{cross_rows:52}{ms(sq['shell_cross'])}{ms(pg['shell_cross'])}")
    export = f"  mdfetch export --all, {rows:,} rows (s)"
    p(f"{export:52}{sq['export_median']:12.2f}"
      f"{pg['export_median']:12.2f}")
    p(f"{'    rows/s; CPU s; peak RSS MB':52}{rows / sq['export_median']:12,.0f}"
      f"{rows / pg['export_median']:12,.0f}")
    p(f"{'':52}{sq['export_cpu']:12.2f}{pg['export_cpu']:12.2f}")
    p(f"{'':52}{sq['export_rss_mb']:12.1f}{pg['export_rss_mb']:12.1f}")
    p(f"  export walls (s): SQLite {fmt_list(sq['export_walls'])}, "
      f"PostgreSQL {fmt_list(pg['export_walls'])}")


def ms(r):
    return f"{r['median'] * 1e3:9.1f} ms"


def fmt_list(values):
    return " ".join(f"{v:.2f}" for v in values)
