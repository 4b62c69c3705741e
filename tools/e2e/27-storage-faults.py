#!/usr/bin/env python3
"""Storage that fails under the collector, on 127.0.0.1.

1. A reader holds `BEGIN EXCLUSIVE` on the database for 15 s (longer than the 10 s busy
   timeout) while flowgen sends 40,000 records and pathflow flushes every second: flushes fail,
   their rows are kept and tried again (pathflow_flush_errors_total rises,
   pathflow_flush_backlog_rows holds them, pathflow_storage_healthy is 0, the log says so);
   once the lock is gone the table equals flowgen's truth, pathflow_rows_lost_total is 0 and
   pathflow_storage_healthy is back to 1.
2. A database file that is not SQLite, and a SQLite database whose `acct` table lacks the view's
   columns, are refused at startup and left byte for byte as they were (not switched to WAL).
3. A database the collector wrote, damaged while it was stopped (schema intact, table pages
   overwritten): every flush fails, pathflow_storage_healthy is 0 and the log names the
   database; the process stays up and keeps reading flows.
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import threading
import time

import lib

RECORDS, KEYS = 40_000, 2_000


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def part_locked(c):
    conf = c.derive_config("locked.conf", {"sql_refresh_time": "1"})
    db, truth_path, logfile = c.path("locked.db"), c.path("truth.tsv"), c.path("locked.log")
    pf, port, mport = c.start_pathflow(db, conf=conf, name="locked", extra=["--logfile", logfile])
    c.wait_for("the table to exist", lambda: os.path.exists(db), 10, proc=pf)
    released = threading.Event()

    def hold():
        conn = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            released.wait(15)
            conn.execute("COMMIT")
        finally:
            conn.close()
    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.5)
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS), "--records", str(RECORDS),
                 "--rate", "20000", "--seconds", "30", "--start-time", "1700000000", "--truth", truth_path],
                timeout=60, what="flowgen")
    totals = json.loads(r.stdout.decode().strip().splitlines()[-1])
    c.wait_for("a failed flush", lambda: c.metrics(mport).get("pathflow_flush_errors_total", 0) > 0, 30, proc=pf)
    m = c.metrics(mport)
    c.check(m.get("pathflow_storage_healthy") == 0, "pathflow_storage_healthy = %s while locked" % m.get("pathflow_storage_healthy"))
    c.check(m.get("pathflow_flush_backlog_rows", 0) > 0, "no rows kept for the next try while locked")
    released.set()
    holder.join(30)
    c.wait_for("storage healthy again", lambda: c.metrics(mport).get("pathflow_storage_healthy") == 1, 30, proc=pf)
    c.wait_datagrams("locked", mport, totals["datagrams"], pf)
    m = c.metrics(mport)
    lib.log("locked: %s failed flushes, rows lost %s" % (m.get("pathflow_flush_errors_total"), m.get("pathflow_rows_lost_total", 0)))
    c.check(m.get("pathflow_rows_lost_total", 0) == 0, "pathflow_rows_lost_total = %s" % m.get("pathflow_rows_lost_total"))
    c.stop_pathflow(pf)
    log = open(logfile).read()
    c.check("flush failed; rows kept" in log and "storage writes again" in log, "the log does not tell the failure and the recovery")
    d = lib.diff_sums("pathflow", lib.db_sums(db), "truth", lib.load_truth(truth_path))
    c.check(not d, "per-5-tuple sums after the lock: %s" % d)


def part_foreign(c):
    not_sqlite = c.path("foreign.db")
    with open(not_sqlite, "w") as f:
        f.write("this is not a database\n" * 100)
    other = c.path("other.db")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("INSERT INTO acct (note) VALUES ('keep me')")
    conn.commit()
    conn.close()
    for path in (not_sqlite, other):
        before = sha(path)
        r = subprocess.run([lib.PATHFLOW, "collect", "-f", lib.TUTORIAL_CONF, "--sql-db", path, "--port", str(c.free_port()),
                            "--listen", "127.0.0.1", "--metrics-listen", "false", "--pidfile", c.path("foreign.pid")],
                           capture_output=True, timeout=30)
        text = r.stderr.decode(errors="replace")
        c.check(r.returncode != 0 and path in text, "a foreign database %s: exit %d, %s" % (path, r.returncode, lib.tail(text)))
        c.check(sha(path) == before and not os.path.exists(path + "-wal"), "%s was changed before being refused" % path)
    mode = sqlite3.connect(other).execute("PRAGMA journal_mode").fetchone()[0]
    c.check(mode == "delete", "the refused database's journal mode is now %s" % mode)


def part_corrupt(c):
    conf = c.derive_config("corrupt.conf", {"sql_refresh_time": "1"})
    db, logfile = c.path("corrupt.db"), c.path("corrupt.log")
    # A database the collector wrote, then damaged while it was stopped: the schema (page 1)
    # intact, garbage over every table and index page.
    pf, port, mport = c.start_pathflow(db, conf=conf, name="writer")
    lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", "5000", "--records", "10000",
             "--rate", "20000", "--seconds", "10", "--start-time", "1700000000"], timeout=30, what="flowgen")
    c.wait_datagrams("writer", mport, 500, pf)
    c.stop_pathflow(pf)
    size = os.path.getsize(db)
    with open(db, "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(max(size - 4096, 4096 * 4)))
    pf, port, mport = c.start_pathflow(db, conf=conf, name="corrupt", extra=["--logfile", logfile])
    lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", "5000", "--records", "10000",
             "--rate", "20000", "--seconds", "10", "--start-time", "1700000100"], timeout=30, what="flowgen")
    c.wait_for("storage unhealthy", lambda: c.metrics(mport).get("pathflow_storage_healthy") == 0, 20, proc=pf)
    c.check(pf.alive(), "pathflow exited on a corrupt database")
    log = open(logfile).read()
    c.check("flush failed" in log and db in log, "the log does not name the failing database")
    pf.stop(lib.signal.SIGKILL)


def case(c):
    part_foreign(c)
    part_locked(c)
    part_corrupt(c)


lib.main(case)
