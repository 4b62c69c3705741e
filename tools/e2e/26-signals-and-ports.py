#!/usr/bin/env python3
"""An operator's signals, ports and endpoints, on 127.0.0.1.

1. While flowgen sends 60,000 records, SIGHUP (after the log file was moved away, as logrotate
   does), SIGUSR1 and SIGUSR2 reach pathflow: it keeps running, SIGHUP makes it write to a new
   log file at the configured path, SIGUSR1 writes statistics to the log, SIGUSR2 reloads the
   maps; after SIGTERM the table equals flowgen's truth (nothing lost to the signals).
2. A second collector on the same UDP port is refused with a message naming address and port,
   and the first keeps collecting; `--listen 999.1.1.1` and `--metrics-listen nonsense` stop
   with a clear error.
3. The metrics endpoint under 300 connections that send nothing: /metrics still answers at
   once, the oldest idle connections are closed (pathflow_http_connections_evicted_total) and
   the open connections stay within the limit.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.request

import lib

RECORDS, KEYS = 60_000, 2_000


def case(c):
    db, truth_path, logfile = c.path("pathflow.db"), c.path("truth.tsv"), c.path("pathflow.log")
    pf, port, mport = c.start_pathflow(db, extra=["--logfile", logfile])
    flowgen = c.start("flowgen", [lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS),
                                  "--records", str(RECORDS), "--rate", "15000", "--seconds", "30",
                                  "--start-time", "1700000000", "--truth", truth_path])
    time.sleep(1.0)
    os.rename(logfile, logfile + ".1")
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        os.kill(pf.pid, sig)
        time.sleep(0.3)
        c.check(pf.alive(), "pathflow exited after %s" % sig.name)
    c.wait_for("a new log file after SIGHUP", lambda: os.path.exists(logfile), 10, proc=pf)
    c.wait_for("statistics and the reload in the new log",
               lambda: "statistics" in open(logfile).read() and "maps reloaded" in open(logfile).read(), 10, proc=pf)
    c.check("SIGHUP" in open(logfile).read(), "the reopened log does not say why")

    # A second collector on the same port, and bad addresses.
    second = subprocess.run([lib.PATHFLOW, "collect", "-f", lib.TUTORIAL_CONF, "--sql-db", c.path("second.db"),
                             "--port", str(port), "--listen", "127.0.0.1", "--metrics-listen", "false",
                             "--pidfile", c.path("second.pid")], capture_output=True, timeout=30)
    err = second.stderr.decode(errors="replace")
    c.check(second.returncode != 0 and "127.0.0.1:%d" % port in err and "in use" in err,
            "a second collector on UDP %d: exit %d, %s" % (port, second.returncode, lib.tail(err)))
    for flag, value, expect in (("--listen", "999.1.1.1", "not an IP address"),
                                ("--metrics-listen", "nonsense", "HOST:PORT")):
        r = subprocess.run([lib.PATHFLOW, "collect", "-f", lib.TUTORIAL_CONF, "--sql-db", c.path("bad.db"), flag, value,
                            "--pidfile", c.path("bad.pid")], capture_output=True, timeout=30)
        text = r.stderr.decode(errors="replace")
        c.check(r.returncode != 0 and value in text and expect in text, "%s %s: exit %d, %s" % (flag, value, r.returncode, lib.tail(text)))

    # Idle connections on the metrics endpoint.
    idle = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", mport), timeout=5)
            idle.append(s)
        started = time.monotonic()
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
            text = r.read().decode()
        c.check("pathflow_flow_datagrams_total" in text, "/metrics under 300 idle connections has no counters")
        lib.log("/metrics answered in %.3f s with 300 idle connections open" % (time.monotonic() - started))
        m = lib.parse_prometheus(text)
        c.check(m.get("pathflow_http_connections_evicted_total", 0) > 0, "no idle connection was closed to make room")
        c.check(m.get("pathflow_http_connections", 0) <= 64, "%s HTTP connections open" % m.get("pathflow_http_connections"))
    finally:
        for s in idle:
            s.close()

    c.check(flowgen.wait(60) == 0, "flowgen failed: %s" % lib.tail(flowgen.stderr()))
    import json
    totals = json.loads(flowgen.stdout().strip().splitlines()[-1])
    c.wait_datagrams("pathflow", mport, totals["datagrams"], pf)
    c.stop_pathflow(pf)
    d = lib.diff_sums("pathflow", lib.db_sums(db), "truth", lib.load_truth(truth_path))
    c.check(not d, "per-5-tuple sums after the signals: %s" % d)


lib.main(case)
