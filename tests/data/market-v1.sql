-- A database written by mdfetch with schema version 1 (before the intraday switches and
-- backfill months): StoreTest.MigratesAVersion1Database opens it and checks the upgrade.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE series(
  id INTEGER PRIMARY KEY,
  symbol TEXT NOT NULL,
  function TEXT NOT NULL,
  interval TEXT NOT NULL DEFAULT '',
  time_zone TEXT NOT NULL DEFAULT '',
  last_refreshed TEXT NOT NULL DEFAULT '',
  history_limited INTEGER NOT NULL DEFAULT 0,
  needs_full INTEGER NOT NULL DEFAULT 0,
  deferred INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_success_at INTEGER,
  last_outcome TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  bar_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE(symbol, function, interval));
INSERT INTO series VALUES(1,'IBM','daily','','US/Eastern','2024-01-03',1,0,0,1704330000000,1704330000000,'stored','',3);
INSERT INTO series VALUES(2,'AAPL','intraday','5min','US/Eastern','2024-01-03 19:55:00',0,0,1,1704330000000,1704330000000,'deferred','daily quota of 25 calls spent',2);
CREATE TABLE bars(
  series_id INTEGER NOT NULL REFERENCES series(id),
  ts TEXT NOT NULL,
  open REAL NOT NULL,
  high REAL NOT NULL,
  low REAL NOT NULL,
  close REAL NOT NULL,
  volume NUMERIC,
  adjusted_close REAL,
  dividend REAL,
  split_coefficient REAL,
  PRIMARY KEY(series_id, ts)) WITHOUT ROWID;
INSERT INTO bars VALUES(1,'2024-01-02',100.0,101.0,99.0,100.49999999999999999,1000,NULL,NULL,NULL);
INSERT INTO bars VALUES(1,'2024-01-03',100.49999999999999999,102.0,100.0,101.25,1200,NULL,NULL,NULL);
INSERT INTO bars VALUES(1,'2024-01-04',101.25,103.0,101.0,102.0,900,NULL,NULL,NULL);
INSERT INTO bars VALUES(2,'2024-01-03 19:50:00',185.09999999999999431,185.30000000000001136,185.0,185.19999999999998863,3000,NULL,NULL,NULL);
INSERT INTO bars VALUES(2,'2024-01-03 19:55:00',185.19999999999998863,185.40000000000000568,185.09999999999999431,185.34999999999999431,2500,NULL,NULL,NULL);
CREATE TABLE fetches(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  series_id INTEGER REFERENCES series(id),
  outputsize TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  bars_new INTEGER NOT NULL DEFAULT 0,
  bars_changed INTEGER NOT NULL DEFAULT 0,
  bars_unchanged INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '');
INSERT INTO fetches VALUES(1,1704330000000,1,'full','stored',200,5000,3,0,0,'');
INSERT INTO fetches VALUES(2,1704330000000,2,'full','stored',200,4000,2,0,0,'');
CREATE TABLE facts(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO facts VALUES('origin','alphavantage');
CREATE TRIGGER bars_deleted AFTER DELETE ON bars BEGIN
  UPDATE series SET bar_count = bar_count - 1 WHERE id = old.series_id;
END;
CREATE INDEX fetches_at ON fetches(at);
COMMIT;
PRAGMA user_version = 1;
