#!/usr/bin/env python3
"""The Python baseline of the end-to-end benchmark: the seeds' way of storing daily histories.

asyncio + aiohttp with a semaphore of 40 requests in flight and asyncio.gather, json.loads,
and sqlite3 executemany in one transaction per symbol, into the same schema and with the same
upsert as mdfetch's bars table. The database must already hold mdfetch's schema (bench/e2e.py
creates it with mdfetch itself); the connection uses mdfetch's settings (WAL,
synchronous=NORMAL, foreign keys on) so that only the pipelines differ.

Usage: baseline.py BASE_URL DB SYMBOL_FILE [--semaphore N]
Prints one JSON line: {"histories", "bars", "bytes", "seconds", "phases"}: seconds from the
first request to the last commit (without interpreter start-up), and the seconds spent in
json.loads, in building the rows and in sqlite3 (executemany and commit) summed over symbols.
"""
import argparse
import asyncio
import json
import sqlite3
import sys
import time

import aiohttp

UPSERT = (
    "INSERT INTO bars(series_id, ts, open, high, low, close, volume) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(series_id, ts) DO UPDATE SET open = excluded.open, high = excluded.high, "
    "low = excluded.low, close = excluded.close, volume = excluded.volume"
)
SERIES = (
    "INSERT INTO series(symbol, function, interval) VALUES (?, 'daily', '') "
    "ON CONFLICT(symbol, function, interval, options) DO NOTHING"
)
SERIES_ID = ("SELECT id FROM series "
             "WHERE symbol = ? AND function = 'daily' AND interval = '' AND options = ''")
PHASES = {"json": 0.0, "rows": 0.0, "sqlite": 0.0}  # timing only: the work is the seeds'


def store(con, symbol, text):
    t0 = time.perf_counter()
    data = json.loads(text)
    series = data["Time Series (Daily)"]
    t1 = time.perf_counter()
    with con:  # one transaction per symbol
        con.execute(SERIES, (symbol,))
        series_id = con.execute(SERIES_ID, (symbol,)).fetchone()[0]
        rows = [
            (series_id, ts, float(bar["1. open"]), float(bar["2. high"]), float(bar["3. low"]),
             float(bar["4. close"]), int(bar["5. volume"]))
            for ts, bar in series.items()
        ]
        t2 = time.perf_counter()
        con.executemany(UPSERT, rows)
    t3 = time.perf_counter()
    PHASES["json"] += t1 - t0
    PHASES["rows"] += t2 - t1
    PHASES["sqlite"] += t3 - t2
    return len(rows), len(text)


async def fetch_and_store(session, semaphore, con, base_url, symbol):
    params = {"function": "TIME_SERIES_DAILY", "symbol": symbol, "outputsize": "full",
              "apikey": "bench"}
    async with semaphore:
        async with session.get(base_url + "/query", params=params) as response:
            response.raise_for_status()
            text = await response.text()
    return store(con, symbol, text)


async def run(base_url, db, symbols, limit):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")
    semaphore = asyncio.Semaphore(limit)
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(
            *(fetch_and_store(session, semaphore, con, base_url, s) for s in symbols))
    con.close()
    seconds = time.perf_counter() - start
    return {"histories": len(results), "bars": sum(r[0] for r in results),
            "bytes": sum(r[1] for r in results), "seconds": round(seconds, 4),
            "phases": {k: round(v, 4) for k, v in PHASES.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("db")
    parser.add_argument("symbol_file")
    parser.add_argument("--semaphore", type=int, default=40)
    args = parser.parse_args()
    with open(args.symbol_file) as f:
        symbols = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    result = asyncio.run(run(args.base_url, args.db, symbols, args.semaphore))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
