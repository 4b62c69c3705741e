#!/usr/bin/env python3
"""While pathflow writes every second (derived config: sql_refresh_time: 1)
and flowgen sends for about 5 s, the sqlite3 command-line shell runs the
tutorial's queries every 0.2 s: none may fail with "database is locked" (or
any other error), and the final table equals flowgen's truth."""
import threading
import time

import lib

RECORDS, KEYS, RATE = 50_000, 2_000, 10_000


def case(c):
    db, truth_path = c.path("pathflow.db"), c.path("truth.tsv")
    conf = c.derive_config("refresh1.conf", {"sql_refresh_time": "1"})

    # The same stream flowgen will send, written to a file first: its truth gives
    # an address for the tutorial's per-source query.
    lib.run([lib.FLOWGEN, "--keys", str(KEYS), "--records", str(RECORDS), "--start-time", "1700000000",
             "--hex-out", c.path("dry.hex"), "--truth", c.path("dry-truth.tsv")], timeout=60, what="flowgen --hex-out")
    addr = lib.busiest_src(lib.load_truth(c.path("dry-truth.tsv")))
    queries = [q.format(addr=addr) for q in lib.TUTORIAL_QUERIES]

    pf, port, mport = c.start_pathflow(db, conf=conf)
    c.wait_for("the acct table", lambda: lib.sqlite_cli(db, "SELECT 1 FROM acct LIMIT 1;")[0] == 0, 15, proc=pf)

    results = []        # (time, status, stdout, stderr)
    stop = threading.Event()

    def reader():
        for _ in range(200):                      # at most 200 rounds (~40 s)
            if stop.is_set():
                return
            t0 = time.monotonic()
            for q in queries:
                rc, out, err = lib.sqlite_cli(db, q, timeout=10)
                results.append((t0, rc, out, err))
            time.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    fg = c.start("flowgen", [lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS),
                             "--records", str(RECORDS), "--rate", str(RATE), "--seconds", "20",
                             "--start-time", "1700000000", "--truth", truth_path])
    rc = fg.wait(40)
    c.check(rc == 0, "flowgen exited with %s: %s" % (rc, lib.tail(fg.stderr())))
    time.sleep(2.5)                                # two more flushes under readers
    stop.set()
    t.join(15)
    c.stop_pathflow(pf)

    failed = [(rc, err.strip()) for _, rc, _, err in results if rc != 0 or err.strip()]
    locked = [f for f in failed if "locked" in f[1] or "busy" in f[1].lower()]
    # The per-protocol totals (third query) seen by the readers: they must have
    # watched the table grow, i.e. read while pathflow was writing.
    seen = [out.strip() for _, rc, out, _ in results[2::4] if rc == 0]
    distinct = len(set(seen))
    lib.log("%d queries run, %d failed, %d distinct per-protocol results seen" % (len(results), len(failed), distinct))
    c.check(len(results) >= 4 * 20, "only %d queries ran" % len(results))
    c.check(not locked, "%d of %d queries failed with locked/busy, e.g. %s" % (len(locked), len(results), locked[:2]))
    c.check(not failed, "%d of %d queries failed, e.g. %s" % (len(failed), len(results), failed[:2]))
    c.check(distinct >= 3, "the readers saw only %d states of the table while pathflow wrote" % distinct)
    d = lib.diff_sums("pathflow", lib.db_sums(db), "truth", lib.load_truth(truth_path))
    c.check(not d, "final table vs flowgen's truth: %s" % d)


lib.main(case)
