#!/usr/bin/env python3
"""A clickhouse view beside a sqlite3 view in one collector, with ClickHouse failing under it.

One pathflow collector has two views of the same 5-tuple aggregate: sqlite3[s] (pmacct's v1
table) and clickhouse[c] on a clickhouse-server started for the case. flowgen sends three runs
of 30,000 records:
1. with the server up;
2. with the server killed (SIGKILL) and twice the records: inserts fail, batches wait in the
   on-disk spool (pathflow_clickhouse_spool_batches > 0, pathflow_clickhouse_healthy 0) until it
   is full (clickhouse_spool_bytes 1 MiB), then the collector keeps the rows in memory
   (pathflow_flush_errors_total and pathflow_flush_backlog_rows for the view); the server is
   started again on the same data directory, the spool drains and the kept rows follow;
3. with the server frozen (SIGSTOP) past clickhouse_timeout (2 s), then resumed: the insert that
   timed out is either found stored or sent again, never both.
After a SIGTERM (which drains the spool), ClickHouse's per-5-tuple sums equal the sqlite3
view's and flowgen's truth exactly: nothing lost, nothing counted twice; the spool is empty. Then
`pathflow report` (top, matrix with each cell kind, series, capacity, prefixes-free kinds) on the
clickhouse view prints exactly what it prints on the sqlite3 view (JSON), ClickHouse doing the
grouping.
"""
import json
import os
import signal
import time

import lib
from lib_clickhouse import ClickHouse, view_metric

RECORDS, KEYS = 30_000, 3_000


def config(c, ch, db, spool):
    path = c.path("collector.conf")
    with open(path, "w") as f:
        f.write("""daemonize: false
nfacctd_ip: 127.0.0.1
aggregate: src_host, dst_host, src_port, dst_port, proto
plugins: sqlite3[s], clickhouse[c]
sql_db[s]: {db}
sql_table[s]: acct
sql_table[c]: acct
sql_refresh_time: 1
sql_history: 1m
sql_history_roundoff: m
clickhouse_url[c]: {url}
clickhouse_database[c]: flows
clickhouse_spool_dir[c]: {spool}
clickhouse_timeout[c]: 2
clickhouse_spool_bytes[c]: 1048576
""".format(db=db, url=ch.url, spool=spool))
    return path


def send(c, port, run, records=RECORDS):
    truth = c.path("truth-%d.tsv" % run)
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS), "--records", str(records),
                 "--rate", "20000", "--seconds", "30", "--start-time", str(1700000000 + 600 * run), "--truth", truth],
                timeout=60, what="flowgen")
    return json.loads(r.stdout.decode().strip().splitlines()[-1]), lib.load_truth(truth)


def metric(c, mport, name):
    return c.metrics(mport).get(name, 0)


def case(c):
    ch = ClickHouse(c)
    db, spool = c.path("flows.db"), c.path("spool")
    conf = config(c, ch, db, spool)
    pf, port, mport = c.start_pathflow(db, conf=conf, name="pathflow", extra=["--logfile", c.path("pathflow.log")])
    truth, datagrams = {}, 0

    def add(run, records=RECORDS):
        nonlocal datagrams
        totals, t = send(c, port, run, records)
        datagrams += totals["datagrams"]
        for k, v in t.items():
            s = truth.setdefault(k, [0, 0])
            s[0] += v[0]
            s[1] += v[1]
        c.wait_datagrams("run %d" % run, mport, datagrams, pf)

    # 1. Server up.
    add(1)
    c.wait_for("run 1 in ClickHouse", lambda: metric(c, mport, "pathflow_clickhouse_inserted_batches_total") > 0
               and metric(c, mport, "pathflow_clickhouse_spool_batches") == 0, 30, proc=pf)

    # 2. Server killed: batches wait in the spool; started again, they are sent.
    ch.kill()
    add(2, 2 * RECORDS)
    c.wait_for("failed inserts while the server is down",
               lambda: metric(c, mport, "pathflow_clickhouse_failed_inserts_total") > 0, 30, proc=pf)
    c.wait_for("the spool to fill and the view's flushes to fail",
               lambda: view_metric(mport, "pathflow_flush_errors_total", "c") > 0
               and view_metric(mport, "pathflow_flush_backlog_rows", "c") > 0, 30, proc=pf)
    m = c.metrics(mport)
    lib.log("server down: spool %s batches, %s bytes; %s rows kept in memory" % (
        m.get("pathflow_clickhouse_spool_batches"), m.get("pathflow_clickhouse_spool_bytes"),
        view_metric(mport, "pathflow_flush_backlog_rows", "c")))
    c.check(view_metric(mport, "pathflow_flush_backlog_rows", "s") == 0, "the sqlite3 view kept rows while ClickHouse was down")
    c.check(m.get("pathflow_clickhouse_spool_batches", 0) > 0, "no batch spooled while the server is down")
    c.check(m.get("pathflow_clickhouse_healthy") == 0, "pathflow_clickhouse_healthy = %s while down" % m.get("pathflow_clickhouse_healthy"))
    c.check(len([n for n in os.listdir(os.path.join(spool, "c")) if n.endswith(".batch")]) > 0, "no spool file on disk")
    ch.start()
    c.wait_for("the spool and the kept rows to drain after the restart",
               lambda: metric(c, mport, "pathflow_clickhouse_spool_batches") == 0
               and view_metric(mport, "pathflow_flush_backlog_rows", "c") == 0
               and metric(c, mport, "pathflow_clickhouse_healthy") == 1, 60, proc=pf)
    c.check(view_metric(mport, "pathflow_rows_lost_total", "c") == 0, "rows lost while ClickHouse was down")

    # 3. Server frozen past the timeout, then resumed.
    failed = metric(c, mport, "pathflow_clickhouse_failed_inserts_total")
    ch.signal(signal.SIGSTOP)
    add(3)
    c.wait_for("an insert to time out on the frozen server",
               lambda: metric(c, mport, "pathflow_clickhouse_failed_inserts_total") > failed, 30, proc=pf)
    time.sleep(1)
    ch.signal(signal.SIGCONT)
    c.wait_for("the spool to drain after the freeze",
               lambda: metric(c, mport, "pathflow_clickhouse_spool_batches") == 0, 60, proc=pf)

    c.stop_pathflow(pf)
    left = [n for n in os.listdir(os.path.join(spool, "c")) if n.endswith(".batch")]
    c.check(not left, "spool files left after the stop: %s" % left[:3])
    log = open(c.path("pathflow.log")).read()
    lib.log("ClickHouse log lines: %d" % log.count("clickhouse"))

    stored = ch.sums("flows.acct")
    sqlite = lib.db_sums(db)
    d = lib.diff_sums("clickhouse", stored, "sqlite3", sqlite)
    c.check(not d, "ClickHouse against the sqlite3 view: %s" % d)
    d = lib.diff_sums("clickhouse", stored, "truth", truth)
    c.check(not d, "ClickHouse against flowgen's truth: %s" % d)
    found = ch.query("SELECT count(), sum(packets), sum(bytes) FROM flows.acct FORMAT TabSeparated").split()

    # Reports: the same command on each view prints the same JSON.
    links = c.path("links.txt")
    with open(links, "w") as f:
        f.write("tcp ip_proto=tcp 10M\nudp ip_proto=udp 5M\n")
    reports = [
        ["top", "--by", "ip_src,ip_proto", "-n", "20"],
        ["top", "--by", "dst_port", "--where", "ip_proto=udp"],
        ["matrix", "--rows", "ip_src", "--columns", "ip_proto", "--cell", "bytes"],
        ["matrix", "--rows", "ip_src", "--columns", "ip_proto", "--cell", "p95"],
        ["series", "--by", "ip_proto", "-n", "3"],
        ["capacity", "--capacities", links, "--threshold", "80"],
    ]
    for argv in reports:
        outs = []
        for view in ("s", "c"):
            r = lib.run([lib.PATHFLOW, "report"] + argv[:1] + ["-f", conf, "--view", view, "--format", "json"] + argv[1:],
                        timeout=60, what="report %s on %s" % (argv[0], view), check=False)
            c.check(r.returncode == 0, "report %s on view %s: exit %d: %s" % (" ".join(argv), view, r.returncode,
                                                                             lib.tail(r.stderr.decode(errors="replace"))))
            outs.append(r.stdout.decode())
        c.check(outs[0] == outs[1] and len(outs[0]) > 10,
                "report %s: sqlite3 and clickhouse differ: %s / %s" % (" ".join(argv), outs[0][:200], outs[1][:200]))
    lib.log("ClickHouse: %s rows, %s packets, %s bytes; truth %d keys" % (found[0], found[1], found[2], len(truth)))


lib.main(case)
