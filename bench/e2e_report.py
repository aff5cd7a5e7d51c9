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
    for name, r in ((f"mdfetch refresh (concurrency {R['concurrency']})", md),
                    (f"python aiohttp (semaphore {R['semaphore']})", py)):
        p(f"{name:34}{r['wall']:8.2f}{r['bars'] / r['wall']:12,.0f}{mb / r['wall']:8.1f}"
          f"{r['user'] + r['sys']:8.2f}{r['rss_mb']:13.1f}")
    inner = py["inner"]["seconds"]
    p(f"{'  (python without start-up)':34}{inner:8.2f}{py['bars'] / inner:12,.0f}{mb / inner:8.1f}")
    p(f"speed-up over python: {py['wall'] / md['wall']:.2f}x whole process, "
      f"{inner / md['wall']:.2f}x without python's start-up   (target >= 4x)")
    p(f"CPU time (user+sys), robust to other load: python/mdfetch = "
      f"{(py['user'] + py['sys']) / (md['user'] + md['sys']):.2f}x")
    p(f"all walls (s): mdfetch {fmt_list(R['mdfetch_walls'])}, python {fmt_list(R['python_walls'])}")
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
    q, sq = rd["query"], rd["sqlite_query"]
    p(f"query SYM7 --last 100 in a {rd['query_db_bars']:,}-bar store: {q['mean'] * 1e3:.1f} ms mean "
      f"({q['how']}, {q['runs']} runs); sqlite3 CLI, same rows: {sq['mean'] * 1e3:.1f} ms   "
      f"(target < 20 ms)")
    p(f"load at end: {R['uptime_end']}   (benchmark took {R['seconds']:.0f} s)")


def fmt_list(values):
    return " ".join(f"{v:.2f}" for v in values)
