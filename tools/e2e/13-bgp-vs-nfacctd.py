#!/usr/bin/env python3
"""pathflow against pmacct's nfacctd, fed by one gobgpd at once (two
neighbours: pathflow on 127.0.0.1, nfacctd on 127.0.0.11).  After the
initial table and changes 1-4, nfacctd's bgp_table_dump_file (its 60 s
refresh) must equal gobgpd's view, and pathflow's /rib/dump must equal
nfacctd's dump line by line as JSON, key order included, except timestamp,
seq and peer_tcp_port (each is checked on its own: the format, and the
speaker's source port of each session).  pathflow's own
bgp_table_dump_file for the same minute has nfacctd's file name and the
same lines.  Takes up to about 90 s (nfacctd dumps on the minute).
Skipped while pathflow has no BGP daemon."""
import os
import time

import lib
import lib_bgp
import ribcheck
from lib_bgp import first_line_diff


def case(c):
    pf_dumps = c.path("pathflow-dumps")
    os.makedirs(pf_dumps)
    pf = lib_bgp.Pathflow(c, dump_dir=pf_dumps).start()
    nf = lib_bgp.Nfacctd(c, address=lib_bgp.NFACCTD_ADDRESS).start()
    g = lib_bgp.GoBGPd(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port),
                           ("nfacctd", lib_bgp.NFACCTD_ADDRESS, nf.port)]).start()
    for n in ("collector", "nfacctd"):
        g.wait_established(n)
    pf.wait_established(g.address)
    g.apply_through(max(lib_bgp.routes.STEPS))
    view = g.wait_view("collector")
    view_nf = g.wait_view("nfacctd")
    c.check(not ribcheck.compare_paths(view, view_nf), "gobgpd advertises different paths to its two neighbours")
    pf.wait_rib({g.address: view}, what="after changes 1-4")

    stamp, files, nd = nf.wait_dump(time.time() + 2, [g.address])
    pd = pf.dump()
    lib_bgp.check_dump_against_views(c, nd, {g.address: view_nf}, "nfacctd's dump")
    d = ribcheck.compare_dumps(nd, pd)
    c.check(not d, "pathflow's %s against nfacctd's dump: %s" % (lib_bgp.RIB_DUMP_PATH, first_line_diff(d)))
    lib.log("pathflow %s: %d lines, nfacctd's dump: %d lines, %d differences" % (
        lib_bgp.RIB_DUMP_PATH, len(pd.lines), len(nd.lines), len(d)))
    for who, dump, port in (("nfacctd", nd, nf.port), ("pathflow", pd, pf.port)):
        want = lib_bgp.session_source_port(g.address, lib_bgp.NFACCTD_ADDRESS if who == "nfacctd" else
                                           lib_bgp.COLLECTOR_ADDRESS, port)
        got = set(o.get("peer_tcp_port") for _, o, _ in dump.lines)
        c.check(got == {want}, "%s's peer_tcp_port %s, gobgpd's source port of that session %s" % (who, got, want))

    # pathflow's own dump file of the same minute: same name, same lines
    name = os.path.basename(files[g.address])
    path = os.path.join(pf_dumps, name)

    def written():
        with open(path) as f:
            return any(r["close"] for r in ribcheck.parse_dump(f.read()).routers.values())
    try:
        c.wait_for("pathflow's dump file %s" % name, written, max(15, stamp + 15 - time.time()), proc=pf.proc, step=0.5)
    except lib.CaseFailure as e:
        c.check(False, "%s (files there: %s)" % (e, sorted(os.listdir(pf_dumps))))
    else:
        fd = ribcheck.read_dump(path)
        d = ribcheck.compare_dumps(nd, fd) + ribcheck.format_problems(fd)
        c.check(not d, "pathflow's dump file %s against nfacctd's: %s" % (name, first_line_diff(d)))
    nf.stop()
    pf.stop()


lib.main(case)
