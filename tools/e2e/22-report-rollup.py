#!/usr/bin/env python3
"""Reports over whole days from the daily rollup, against nfacctd.

flowgen sends the same six bursts (500 5-tuples, 4,000 records each) to nfacctd (the tutorial
configuration: pmacct's v1 table, 1-minute bins) and to pathflow (the same configuration
without sql_table_version, so pathflow creates its table and keeps `acct_daily` beside it),
with flow start times spread over three days of local time: day 0 at 10:00, 10:01 and 23:59,
day 1 at 00:00 and 12:30, day 2 at 08:00 (30 s into each minute: nfacctd places a flow that
starts exactly on a bin's first second one bin early, docs/PMACCT.md).  Then, with pathflow stopped:
- `pathflow_rollups` says the rollup is complete for days 0 and 1 (its newest stamp is in day 2),
  and `acct_daily` holds one row per 5-tuple and day with traffic;
- `report top --by ip_src` over days 0 and 1 (read from the rollup) and over day 0 10:00 to
  day 2 09:00 (rollup plus the table) equal nfacctd's table summed by SQL over the same range:
  bytes, packets, and peak bit/s (the busiest minute, from nfacctd's rows);
- `report series`, `report matrix --cell p95` and `report top` print the same with --no-rollup;
- after `pathflow rollup` rebuilds the rollup from the table, the same reports again."""
import json
import sqlite3
import time

import lib

KEYS, RECORDS, RATE = 500, 4_000, 20_000


def local(day, hh, mm, ss=0):
    """Unix seconds of `hh:mm:ss` local time, `day` days after 2026-11-02."""
    return int(time.mktime((2026, 11, 2 + day, hh, mm, ss, 0, 0, -1)))


BURSTS = [(0, 10, 0), (0, 10, 1), (0, 23, 59), (1, 0, 0), (1, 12, 30), (2, 8, 0)]


def report(db, *args):
    r = lib.run([lib.PATHFLOW, "report"] + list(args) + ["--db", db, "--table", "acct"],
                timeout=60, what="pathflow report " + " ".join(args))
    return r.stdout.decode()


def oracle(db, frm, to):
    """nfacctd's table: per ip_src, bytes, packets and the busiest minute's bit/s."""
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        totals = {src: (b, p) for src, b, p in c.execute(
            "SELECT ip_src, SUM(bytes), SUM(packets) FROM acct WHERE stamp_inserted >= ? AND stamp_inserted < ? "
            "GROUP BY ip_src", (frm, to))}
        peaks = {src: m for src, m in c.execute(
            "SELECT ip_src, MAX(b) FROM (SELECT ip_src, stamp_inserted, SUM(bytes) AS b FROM acct "
            "WHERE stamp_inserted >= ? AND stamp_inserted < ? GROUP BY ip_src, stamp_inserted) GROUP BY ip_src",
            (frm, to))}
    return {src: (b, p, round(peaks[src] * 8 / 60)) for src, (b, p) in totals.items()}


def case(c):
    pf_db, nf_db = c.path("pathflow.db"), c.path("nfacctd.db")
    with open(lib.TUTORIAL_CONF) as f:
        text = f.read()
    for line in ("sql_table_version: 1\n", "sql_refresh_time: 60\n"):
        c.check(line in text, "tutorial configuration without %r" % line)
    conf = c.path("rollup.conf")
    with open(conf, "w") as f:
        f.write(text.replace("sql_table_version: 1\n", "").replace("sql_refresh_time: 60\n", "sql_refresh_time: 2\n"))
    pf, pf_port, _ = c.start_pathflow(pf_db, conf=conf)
    nf, nf_port = c.start_nfacctd(nf_db)
    want_bytes = 0
    for i, (day, hh, mm) in enumerate(BURSTS):
        for port in (pf_port, nf_port):
            truth = c.path("truth-%d-%d.tsv" % (i, port))
            lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS), "--records", str(RECORDS),
                     "--rate", str(RATE), "--seconds", "30", "--start-time", str(local(day, hh, mm, 30)),
                     "--truth", truth], timeout=60, what="flowgen burst %d" % i)
        want_bytes += sum(b for _, b in lib.load_truth(truth).values())
    c.wait_for("all %d bytes in pathflow's table" % want_bytes, lambda: lib.table_totals(pf_db)[2] == want_bytes, 30, proc=pf)
    c.stop_pathflow(pf)
    c.stop_nfacctd(nf)
    c.check(lib.table_totals(nf_db)[2] == want_bytes, "nfacctd's table: %s bytes, want %d" % (lib.table_totals(nf_db)[2], want_bytes))

    day0, day1, day2 = (time.strftime("%Y-%m-%d", time.localtime(local(d, 12, 0))) for d in range(3))
    with sqlite3.connect("file:%s?mode=ro" % pf_db, uri=True) as db:
        reg = db.execute("SELECT rollup, complete_from, written_until FROM pathflow_rollups WHERE base = 'acct'").fetchone()
        days = dict(db.execute("SELECT substr(stamp_inserted, 1, 10), COUNT(*) FROM acct_daily GROUP BY 1").fetchall())
        want_days = dict(db.execute("SELECT substr(stamp_inserted, 1, 10), COUNT(*) FROM (SELECT DISTINCT ip_src, ip_dst, "
                                    "src_port, dst_port, ip_proto, substr(stamp_inserted, 1, 10) AS stamp_inserted FROM acct) "
                                    "GROUP BY 1").fetchall())
    c.check(reg is not None and reg[0] == "acct_daily" and reg[1] == "0000-00-00 00:00:00" and reg[2].startswith(day2),
            "pathflow_rollups row %s: want acct_daily complete from the start, written until day 2 (%s)" % (reg, day2))
    c.check(days == want_days and set(days) == {day0, day1, day2},
            "acct_daily rows per day %s, want one per 5-tuple and day %s" % (days, want_days))

    ranges = [("%s 00:00" % day0, "%s 00:00" % day2), ("%s 10:00" % day0, "%s 09:00" % day2)]

    def check_reports(when):
        for frm, to in ranges:
            top = json.loads(report(pf_db, "top", "--by", "ip_src", "-n", "1000", "--from", frm, "--to", to, "--format", "json"))
            got = {row["ip_src"]: (row["bytes"], row["packets"], row["peak_bps"]) for row in top}
            want = oracle(nf_db, frm + ":00", to + ":00")
            diff = sorted(set(got.items()) ^ set(want.items()))[:3]
            c.check(got == want, "%s: report top --by ip_src %s..%s: %d keys, nfacctd %d; first differences %s"
                    % (when, frm, to, len(got), len(want), diff))
            for args in (["top", "--by", "ip_src", "-n", "50"], ["series", "--by", "ip_dst", "-n", "4", "--format", "csv"],
                         ["matrix", "--rows", "ip_proto", "--columns", "dst_port", "--cell", "p95", "--format", "csv"],
                         ["matrix", "--rows", "ip_src", "--columns", "dst_port", "--cell", "peak", "--format", "csv"]):
                a = report(pf_db, *args, "--from", frm, "--to", to)
                b = report(pf_db, *args, "--from", frm, "--to", to, "--no-rollup")
                c.check(a == b and len(a.splitlines()) > 2,
                        "%s: report %s %s..%s differs with --no-rollup" % (when, " ".join(args), frm, to))

    check_reports("kept by the collector")
    r = lib.run([lib.PATHFLOW, "rollup", "--db", pf_db, "--table", "acct"], timeout=60, what="pathflow rollup")
    c.check("acct_daily: %d rows for 3 days" % sum(want_days.values()) in r.stdout.decode(),
            "pathflow rollup said: %s" % r.stdout.decode().strip())
    check_reports("rebuilt by pathflow rollup")
    lib.log("reports over whole days equal nfacctd's table (%d bytes, %d rollup rows)" % (want_bytes, sum(days.values())))


lib.main(case)
