#!/usr/bin/env python3
"""The shared generated pcap through pmacctd + nfprobe and through `pathflow
probe` (the same aggregate, timeouts and IPFIX), each export replayed into its
own `pathflow collect` (the tutorial's nfacctd.conf, sqlite3, 5-tuple
aggregate): per 5-tuple, SUM(packets) and SUM(bytes) of the two tables are
equal, and equal to gen-pcap's truth; ICMP rows have the same src_port 0 and
dst_port type*256+code on both sides.

`20-probe-vs-pmacctd.py --exporter softflowd` runs the same comparison with
softflowd in place of pathflow probe (a check of the case itself that needs no
probe)."""
import sys

import lib

EXPORTER = "pathflow-probe"
if len(sys.argv) == 3 and sys.argv[1] == "--exporter" and sys.argv[2] in ("pathflow-probe", "softflowd", "pmacctd"):
    EXPORTER = sys.argv[2]
elif len(sys.argv) != 1:
    sys.exit("usage: 20-probe-vs-pmacctd.py [--exporter pathflow-probe|softflowd|pmacctd]")


def export(c, exporter, pcap):
    if exporter == "pathflow-probe":
        return c.pathflow_probe(pcap, 10)
    if exporter == "softflowd":
        return c.softflowd(pcap, 10)
    return c.pmacctd_nfprobe(pcap, 10)


def collect(c, name, datagrams):
    """Replay the datagrams into a fresh pathflow collect; returns its database."""
    db = c.path(name + ".db")
    pf, port, mport = c.start_pathflow(db, name=name)
    lib.replay(datagrams, [port], gap=0.0005)
    m = c.wait_datagrams(name, mport, len(datagrams), pf, timeout=15)
    c.check(m.get("pathflow_flow_decode_errors_total", 0) == 0,
            "%s: pathflow_flow_decode_errors_total = %s" % (name, m.get("pathflow_flow_decode_errors_total")))
    c.stop_pathflow(pf)
    return db


def case(c):
    if EXPORTER == "pathflow-probe":
        c.require_probe()
    pcap, truth_path = c.input_pcap()
    truth = lib.load_truth(truth_path)

    ref = c.pmacctd_nfprobe(pcap, 10)
    other = export(c, EXPORTER, pcap)
    for name, dgrams in (("pmacctd", ref), (EXPORTER, other)):
        records, notes = lib.decode_export(dgrams)
        lib.log("%s: %d datagrams, %d flow records%s" % (
            name, len(dgrams), len(records), "; skipped: %s" % dict(notes) if notes else ""))

    ref_db = collect(c, "collect-pmacctd", ref)
    other_db = collect(c, "collect-" + EXPORTER, other)
    ref_sums, other_sums = lib.db_sums(ref_db), lib.db_sums(other_db)
    lib.log("pmacctd: %s rows/packets/bytes; %s: %s" % (
        lib.table_totals(ref_db), EXPORTER, lib.table_totals(other_db)))

    d = lib.diff_sums(EXPORTER, other_sums, "pmacctd", ref_sums)
    c.check(not d, "per-5-tuple sums, %s vs pmacctd+nfprobe (both through pathflow collect): %s" % (EXPORTER, d))
    for name, sums in (("pmacctd", ref_sums), (EXPORTER, other_sums)):
        d = lib.diff_sums(name, sums, "truth", truth)
        c.check(not d, "per-5-tuple sums, %s vs truth: %s" % (name, d))
    # ICMP the same way on both sides (and as the truth writes it): src_port 0, type*256+code.
    icmp = {k for k in truth if k[4] in ("icmp", "ipv6-icmp")}
    c.check(icmp, "the input has no ICMP 5-tuples (test error)")
    for name, sums in (("pmacctd", ref_sums), (EXPORTER, other_sums)):
        got = {k for k in sums if k[4] in ("icmp", "ipv6-icmp")}
        c.check(got == icmp, "%s: ICMP 5-tuples differ from the truth's (src_port 0, dst_port type*256+code): "
                "%d only in the table e.g. %s, %d only in the truth e.g. %s" % (
                    name, len(got - icmp), sorted(got - icmp)[:2], len(icmp - got), sorted(icmp - got)[:2]))


lib.main(case)
