#!/usr/bin/env python3
"""`pathflow report` on a table the collector is still writing: flowgen sends
60,000 IPFIX records over 2,000 5-tuples into pathflow (tutorial config, 2 s refresh);
once every datagram is in and flushed, and with the collector still running,
`report top --by ip_src` (JSON), `report matrix --rows ip_proto --columns
dst_port` (CSV) and `report top` with a --where filter must equal the sums
computed here from flowgen's own per-5-tuple truth."""
import collections
import csv
import io
import json

import lib

RECORDS, KEYS, RATE = 60_000, 2_000, 30_000


def report(c, db, *args):
    r = lib.run([lib.PATHFLOW, "report"] + list(args) + ["--db", db, "--table", "acct"],
                timeout=30, what="pathflow report " + " ".join(args))
    return r.stdout.decode()


def case(c):
    db, truth_path, conf = c.path("pathflow.db"), c.path("truth.tsv"), c.path("tutorial-2s.conf")
    # The tutorial's configuration with a 2-second refresh, so rows land while it runs.
    with open(lib.TUTORIAL_CONF) as f:
        text = f.read()
    assert "sql_refresh_time: 60\n" in text
    with open(conf, "w") as f:
        f.write(text.replace("sql_refresh_time: 60\n", "sql_refresh_time: 2\n"))
    pf, port, mport = c.start_pathflow(db, conf=conf)
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS),
                 "--records", str(RECORDS), "--rate", str(RATE), "--seconds", "30",
                 "--start-time", "1700000000", "--truth", truth_path], timeout=60, what="flowgen")
    totals = json.loads(r.stdout.decode().strip().splitlines()[-1])
    truth = lib.load_truth(truth_path)
    want_bytes = sum(b for _, b in truth.values())
    # Every record flushed to SQLite while the collector keeps running.
    c.wait_for("all %d bytes in SQLite" % want_bytes,
               lambda: lib.table_totals(db)[2] == want_bytes, 30, proc=pf)

    by_src = collections.Counter()
    cells = collections.Counter()
    for (src, dst, sport, dport, proto), (packets, nbytes) in truth.items():
        by_src[src] += nbytes
        cells[(proto, str(dport))] += nbytes

    top = json.loads(report(c, db, "top", "--by", "ip_src", "-n", "5", "--format", "json"))
    want = sorted(by_src.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    got = [(row["ip_src"], row["bytes"]) for row in top]
    c.check(got == want, "report top --by ip_src: %s, want %s" % (got, want))
    cumulative = sum(b for _, b in want) * 100 / want_bytes
    c.check(abs(top[-1]["cumulative"] - cumulative) < 0.01,
            "cumulative share %s, want %.2f" % (top[-1]["cumulative"], cumulative))

    rows = list(csv.DictReader(io.StringIO(report(c, db, "matrix", "--rows", "ip_proto", "--columns", "dst_port",
                                                  "--max-columns", "50", "--format", "csv"))))
    corner = "ip_proto \\ dst_port"
    got_cells = {(row[corner], col): int(v) for row in rows for col, v in row.items()
                 if col not in (corner, "total") and int(v) > 0}
    c.check(got_cells == dict(cells), "report matrix: %d cells, want %d; first differences %s" % (
        len(got_cells), len(cells), sorted(set(got_cells.items()) ^ set(cells.items()))[:3]))
    c.check(sum(int(row["total"]) for row in rows) == want_bytes, "report matrix: totals do not add up")

    src = want[0][0]
    one = json.loads(report(c, db, "top", "--by", "dst_port", "--where", "ip_src=%s" % src, "--format", "json"))
    c.check(sum(row["bytes"] for row in one) == by_src[src],
            "report top --where ip_src=%s: %d bytes, want %d" % (src, sum(row["bytes"] for row in one), by_src[src]))
    lib.log("reports agree with flowgen's truth (%d records, %d bytes)" % (totals.get("records"), want_bytes))
    c.stop_pathflow(pf)


lib.main(case)
