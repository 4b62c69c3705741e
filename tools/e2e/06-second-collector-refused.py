#!/usr/bin/env python3
"""A second pathflow on the same --sql-db must refuse to start (non-zero exit,
a message saying the database is in use) while the first keeps collecting."""
import re

import lib


def case(c):
    db, truth_path = c.path("pathflow.db"), c.path("truth.tsv")
    first, port, mport = c.start_pathflow(db, name="pathflow-first")

    second, _, _ = c.start_pathflow(db, name="pathflow-second", wait=False)
    rc = second.wait(20)
    err = second.stderr() + second.stdout()
    if rc is None:
        second.stop()
        c.fail("the second pathflow on the same database was still running after 20 s")
    c.check(rc != 0, "the second pathflow exited with status 0")
    # "in use" in substance: in use / already being written / locked by another collector.
    c.check(re.search(r"in use|already (being )?(written|used|open)|locked by|another .*collector", err, re.I)
            is not None, "the second pathflow's message does not say the database is in use: %r" % lib.tail(err))
    c.check(db in err or "pathflow.db" in err, "the second pathflow's message does not name the database: %r" % lib.tail(err))
    lib.log("second pathflow: status %s: %s" % (rc, lib.tail(err)))

    # The first one still takes flows and writes them.
    c.check(first.alive(), "the first pathflow died when the second one started: " + lib.tail(first.stderr()))
    lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", "500", "--records", "5000",
             "--rate", "20000", "--start-time", "1700000000", "--truth", truth_path],
            timeout=60, what="flowgen")
    c.wait_for("the first pathflow to count 5000 records",
               lambda: c.metrics(mport).get("pathflow_flow_records_total", 0) >= 5000, 20, proc=first)
    c.stop_pathflow(first)
    d = lib.diff_sums("pathflow", lib.db_sums(db), "truth", lib.load_truth(truth_path))
    c.check(not d, "first pathflow's table: %s" % d)


lib.main(case)
