#!/usr/bin/env python3
"""flowgen sends 200,000 IPFIX records over 10,000 5-tuples at 50,000/s into
pathflow running the tutorial config (plus command-line overrides).  The
per-5-tuple sums in SQLite must equal flowgen's truth exactly, and /metrics
must count 200,000 flow records and no decode errors."""
import json
import os

import lib

RECORDS, KEYS, RATE = 200_000, 10_000, 50_000


def rmem_max():
    """The kernel's cap on a socket's receive buffer (bytes), as text."""
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return f.read().strip()
    except OSError as e:
        return "unknown (%s)" % e.strerror


def case(c):
    db, truth_path = c.path("pathflow.db"), c.path("truth.tsv")
    pf, port, mport = c.start_pathflow(db)

    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS),
                 "--records", str(RECORDS), "--rate", str(RATE), "--seconds", "30",
                 "--start-time", "1700000000", "--truth", truth_path],
                timeout=60, what="flowgen")
    totals = json.loads(r.stdout.decode().strip().splitlines()[-1])
    lib.log("flowgen:", totals)
    c.check(totals.get("records") == RECORDS, "flowgen sent %s records, not %d" % (totals.get("records"), RECORDS))

    # Every datagram taken in before SIGTERM.
    want = totals.get("datagrams", 0)
    try:
        c.wait_for("pathflow_flow_datagrams_total = %d" % want,
                   lambda: c.metrics(mport).get("pathflow_flow_datagrams_total", 0) >= want, 20, proc=pf)
    except lib.CaseFailure as e:
        c.check(False, str(e))
    m = c.metrics(mport)
    lib.log("metrics:", {k: v for k, v in m.items() if not k.startswith("pathflow_flush_duration")})
    c.check(m.get("pathflow_flow_records_total") == RECORDS,
            "pathflow_flow_records_total = %s, want %d" % (m.get("pathflow_flow_records_total"), RECORDS))
    c.check(m.get("pathflow_flow_decode_errors_total", 0) == 0,
            "pathflow_flow_decode_errors_total = %s" % m.get("pathflow_flow_decode_errors_total"))
    c.check(m.get("pathflow_udp_socket_drops_total", 0) == 0,
            "pathflow_udp_socket_drops_total = %s (the socket's receive buffer overflowed; "
            "net.core.rmem_max %s, load average %s)" % (
                m.get("pathflow_udp_socket_drops_total"), rmem_max(),
                " ".join("%.2f" % x for x in os.getloadavg())))

    c.stop_pathflow(pf)

    truth = lib.load_truth(truth_path)
    sums = lib.db_sums(db)
    c.check(len(truth) == KEYS, "flowgen's truth has %d 5-tuples, not %d" % (len(truth), KEYS))
    d = lib.diff_sums("pathflow", sums, "truth", truth)
    c.check(not d, "per-5-tuple sums: %s" % d)
    lib.log("table totals", lib.table_totals(db))


lib.main(case)
