#!/usr/bin/env python3
"""Flows mapped to the BGP paths they used, against an independent oracle and
against pmacct's nfacctd.

gobgpd (session address 127.0.0.2, BGP identifier 127.0.0.4) reflects the
route set of tools/bgp/matrix_routes.py with ADD-PATH to nfacctd (BGP on
127.0.0.11) and to pathflow (127.0.0.1): IPv4 and IPv6, several paths per
prefix with different next hops, 4-octet ASNs, AS_SETs, LOCAL_PREF, MED,
communities, large communities, route targets, nested prefixes.  Then the
flow set of lib_flows.py (IPFIX of our own encoding, sent twice) goes to
both collectors from 127.0.0.2, 127.0.0.4 and 127.0.0.3 (no session).

The oracle (lib_flows.design_outcome) computes each flow's row from the
route set and the flow alone, per DESIGN §3.  A second model
(lib_flows.pmacct_outcomes) does what nfacctd 1.7.7 does; the models differ
on purpose for three kinds of flows (deliberate differences, tools/e2e/README.md):
no BGP next hop in the record (DESIGN: best path; nfacctd: nothing), several
paths carrying the flow's next hop (DESIGN: the best one, else the lowest
path id; nfacctd: the one that arrived first) and an exporter named by IE 130
(DESIGN: it picks the router; nfacctd: only the peer_ip_src column).  The
case requires each of them to be exercised and no other difference.

Checks: nfacctd's two tables (the 9-primitive matrix aggregate, and one
with ext/large communities, source ASNs, dst_net, dst_mask) equal the
nfacctd model (where nfacctd's pick depends on arrival order, any of the
candidate paths); pathflow's table (the same primitives plus path_match)
equals the oracle, value types included, and equals nfacctd's rows for the
interfaces whose flows pmacct maps the DESIGN way; `report quality` gives
every router's shares by path_match and, from the examples the collector
writes at its stop, each mismatched next hop with its prefix and the next
hops that prefix's paths have, as the route set says.

pathflow's part is skipped (the case ends with SKIP after the nfacctd part
passed) while `pathflow check-config --strict` rejects its configuration or
the build has no BGP daemon.  About 30 s."""
import json
import re
import sqlite3
import time

import lib
import lib_bgp
import lib_flows as lf
import matrix_routes

NFACCTD_CONF = """\
! end-to-end case 14: nfacctd maps flows to BGP paths; two views of the same flows
daemonize: false
pidfile: {pidfile}
nfacctd_ip: 127.0.0.1
nfacctd_port: {flow_port}
nfacctd_time_new: true
bgp_daemon: true
bgp_daemon_ip: {bgp_address}
bgp_daemon_port: {bgp_port}
bgp_daemon_max_peers: 10
nfacctd_as: bgp
nfacctd_net: bgp
bgp_peer_src_as_type: bgp
plugins: sqlite3[matrix], sqlite3[full]
aggregate[matrix]: {matrix}
aggregate[full]: {full}
sql_db[matrix]: {matrix_db}
sql_db[full]: {full_db}
sql_table: matrix
sql_optimize_clauses: true
sql_refresh_time: 2
sql_history: 1h
sql_history_roundoff: h
"""

PATHFLOW_CONF = """\
! end-to-end case 14 (tools/e2e/14-bgp-matrix.py): flows mapped to the BGP paths they used
daemonize: false
pidfile: {pidfile}
nfacctd_ip: 127.0.0.1
nfacctd_port: {flow_port}
nfacctd_time_new: true
metrics_listen: 127.0.0.1:{mport}
! gobgpd (session 127.0.0.2, BGP identifier 127.0.0.4) connects with ADD-PATH
bgp_daemon: true
bgp_daemon_ip: {bgp_address}
bgp_daemon_port: {bgp_port}
bgp_daemon_max_peers: 10
! every BGP primitive from the path the flow used (DESIGN §3)
nfacctd_as: bgp
nfacctd_net: bgp
bgp_peer_src_as_type: bgp
plugins: sqlite3[matrix]
aggregate[matrix]: {aggregate}
sql_db[matrix]: {db}
sql_table[matrix]: matrix
sql_optimize_clauses[matrix]: true
sql_refresh_time[matrix]: 2
sql_history[matrix]: 1h
sql_history_roundoff[matrix]: h
"""

TABLE = "matrix"
EXPECTED_DIFFERENCES = (lf.DIFF_NO_NEXTHOP, lf.DIFF_SHARED_NEXTHOP, lf.DIFF_IE130)


class MatrixNfacctd(lib_bgp.Nfacctd):
    """nfacctd with the BGP daemon and two sqlite3 views of the flows (tables
    made beforehand: nfacctd does not create them)."""

    def __init__(self, c):
        super().__init__(c, address=lib_bgp.NFACCTD_ADDRESS)
        self.flow_port = c.free_port()
        self.dbs = {"matrix": c.path("nfacctd-matrix.db"), "full": c.path("nfacctd-full.db")}
        self.columns = {"matrix": lf.MATRIX_COLUMNS, "full": lf.FULL_COLUMNS}
        self.tables = {view: (db, TABLE) for view, db in self.dbs.items()}

    def start(self):
        for view, db in self.dbs.items():
            with sqlite3.connect(db) as conn:
                conn.executescript(lf.create_table_sql(TABLE, self.columns[view]))
        self.conf = self.c.path(self.name + ".conf")
        with open(self.conf, "w") as f:
            f.write(NFACCTD_CONF.format(
                pidfile=self.c.path(self.name + ".pid"), flow_port=self.flow_port, bgp_address=self.address,
                bgp_port=self.port, matrix=", ".join(lf.MATRIX_PRIMITIVES),
                full=", ".join(lf.MATRIX_PRIMITIVES + lf.EXTRA_PRIMITIVES),
                matrix_db=self.dbs["matrix"], full_db=self.dbs["full"]))
        return self.launch("nfacctd", self.flow_port, plugins=2)


class MatrixPathflow(lib_bgp.Pathflow):
    """pathflow collect with the BGP daemon and the matrix view."""

    def __init__(self, c):
        super().__init__(c)
        self.flow_port = c.free_port()
        self.db = c.path("pathflow.db")

    def config(self):
        conf = self.c.path(self.name + ".conf")
        with open(conf, "w") as f:
            f.write(PATHFLOW_CONF.format(
                pidfile=self.c.path(self.name + ".pid"), flow_port=self.flow_port, mport=self.mport,
                bgp_address=self.address, bgp_port=self.port,
                aggregate=", ".join(lf.MATRIX_PRIMITIVES + lf.EXTRA_PRIMITIVES + ("path_match",)), db=self.db))
        return conf


def check_against_pmacct_model(c, conn, columns, name):
    """nfacctd's table against the nfacctd model: flows with one possible
    outcome exactly; a flow whose outcome depends on path arrival order has
    an interface of its own, and its row must be one of its candidates."""
    rib = lf.rib()
    fixed, ambiguous = [], []
    for f in lf.FLOWS:
        alts = lf.pmacct_outcomes(f, rib)
        (fixed if len(alts) == 1 else ambiguous).append((f, alts))
    amb_ifaces = {f.iface for f, _ in ambiguous}
    shared = [f.name for f, _ in fixed if f.iface in amb_ifaces]
    if shared or len(amb_ifaces) != len(ambiguous):
        c.fail("test error: flows with several possible nfacctd rows need an interface each (%s)" % shared)
    want = lf.rows([(f, alts[0]) for f, alts in fixed], columns)
    got = lf.table_rows(conn, TABLE, columns)
    ii = columns.index("iface_in")
    got_fixed = {k: v for k, v in got.items() if k[ii] not in amb_ifaces}
    d = lf.diff_tables(name, got_fixed, "the nfacctd model", want, columns)
    c.check(not d, "%s against the nfacctd model: %s" % (name, "; ".join(d)))
    for f, alts in ambiguous:
        mine = {k: v for k, v in got.items() if k[ii] == f.iface}
        choices = [lf.rows([(f, a)], columns) for a in alts]
        picked = [i for i, ch in enumerate(choices) if ch == mine]
        c.check(bool(picked), "%s, flow %s (interface %d): rows %s, want one of the rows of paths %s" % (
            name, f.name, f.iface, mine, [a["as_path"] for a in alts]))
        if picked:
            lib.log("%s: flow %s took the path with AS_PATH %r (candidates %s)" % (
                name, f.name, alts[picked[0]]["as_path"], [a["as_path"] for a in alts]))
    types = lf.table_types(conn, TABLE, columns)
    bad = {col: t for col, t in types.items() if t != {"text" if col in lf.TEXT_COLUMNS else "integer"}}
    c.check(not bad, "%s: value types %s" % (name, bad))


def model_differences(c):
    """The oracle against the nfacctd model, per flow: every difference has a
    known reason, and every reason is exercised."""
    rib = lf.rib()
    reasons = {}
    for f in lf.FLOWS:
        r = lf.difference_reason(f, rib)
        if r:
            reasons.setdefault(r, []).append(f.name)
    for r, names in sorted(reasons.items()):
        lib.log("deliberate difference '%s': flows %s" % (r, ", ".join(names)))
    c.check("(unexplained)" not in reasons, "the oracle and the nfacctd model differ without a known reason for %s" %
            reasons.get("(unexplained)"))
    missing = [r for r in EXPECTED_DIFFERENCES if r not in reasons]
    c.check(not missing, "the flow set no longer exercises the deliberate differences %s" % missing)
    # interfaces whose every flow nfacctd maps the DESIGN way
    bad_ifaces = {f.iface for f in lf.FLOWS if lf.difference_reason(f, rib)}
    return sorted({f.iface for f in lf.FLOWS} - bad_ifaces), reasons


def log_oracle_vs_nfacctd(conn, columns):
    """The rows where nfacctd and the oracle differ (informative: the models say why)."""
    oracle = lf.project(lf.design_rows(lf.PATHFLOW_COLUMNS), lf.PATHFLOW_COLUMNS, columns)
    got = lf.table_rows(conn, TABLE, columns)
    d = lf.diff_tables("nfacctd", got, "oracle", oracle, columns, show=12)
    for line in d:
        lib.log("oracle vs nfacctd:", line)


def pathflow_checks(c, pf, nf, agree_ifaces):
    with lib.connect_ro(pf.db) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(%s)" % TABLE)]
        missing = [col for col in lf.PATHFLOW_COLUMNS + ("packets", "bytes") if col not in cols]
        if missing:
            c.fail("pathflow's table %s has no columns %s (has %s)" % (TABLE, missing, cols))
        got = lf.table_rows(conn, TABLE, lf.PATHFLOW_COLUMNS)
        types = lf.table_types(conn, TABLE, lf.PATHFLOW_COLUMNS)
    want = lf.design_rows(lf.PATHFLOW_COLUMNS)
    d = lf.diff_tables("pathflow", got, "oracle", want, lf.PATHFLOW_COLUMNS)
    c.check(not d, "pathflow's rows against the oracle: %s" % "; ".join(d))
    bad = {col: t for col, t in types.items() if t != {"text" if col in lf.TEXT_COLUMNS else "integer"}}
    c.check(not bad, "pathflow: value types %s" % bad)
    # against nfacctd, where pmacct maps the flows the DESIGN way
    for view, columns in (("matrix", lf.MATRIX_COLUMNS), ("full", lf.FULL_COLUMNS)):
        with lib.connect_ro(nf.dbs[view]) as conn:
            nrows = lf.table_rows(conn, TABLE, columns)
        prow = lf.project(got, lf.PATHFLOW_COLUMNS, columns)
        ii = columns.index("iface_in")
        keep = lambda t: {k: v for k, v in t.items() if k[ii] in agree_ifaces}   # noqa: E731
        d = lf.diff_tables("pathflow", keep(prow), "nfacctd %s" % view, keep(nrows), columns)
        c.check(not d, "pathflow against nfacctd's %s table (interfaces %s): %s" % (view, agree_ifaces, "; ".join(d)))
    lib.log("pathflow: %d rows (oracle %d); path_match %s" % (
        len(got), len(want), sorted({k[-1] for k in got})))
    # report quality: per router, the oracle's bytes by path_match
    ri, mi = lf.PATHFLOW_COLUMNS.index("peer_ip_src"), lf.PATHFLOW_COLUMNS.index("path_match")
    per = {}
    for k, (_, nbytes) in want.items():
        per.setdefault(k[ri], {}).setdefault(k[mi], 0)
        per[k[ri]][k[mi]] += nbytes
    r = lib.run([lib.PATHFLOW, "report", "quality", "--db", pf.db, "--table", TABLE, "--format", "json"],
                timeout=30, what="pathflow report quality")
    rows = {row["peer_ip_src"]: row for row in json.loads(r.stdout.decode())}
    c.check(set(rows) == set(per) | {"all"}, "quality: routers %s, want %s" % (sorted(rows), sorted(per)))
    everything = {}
    for router, kinds in list(per.items()) + [("all", None)]:
        if kinds is None:
            kinds = everything
        else:
            for k, v in kinds.items():
                everything[k] = everything.get(k, 0) + v
        total = sum(kinds.values())
        row = rows.get(router, {})
        for kind in ("exact", "covering", "best", "mismatch", "no_route", "no_peer"):
            share = 100.0 * kinds.get(kind, 0) / total
            c.check(abs(row.get(kind, -1) - share) < 0.01, "quality %s %s: %s %%, want %.4f %%" % (router, kind, row.get(kind), share))
        mapped = 100.0 * sum(kinds.get(k, 0) for k in ("exact", "covering", "best")) / total
        c.check(abs(row.get("mapped", -1) - mapped) < 0.01 and row.get("bytes") == total,
                "quality %s: mapped %s %%, bytes %s, want %.4f %%, %d" % (router, row.get("mapped"), row.get("bytes"), mapped, total))
    check_mismatch_examples(c, pf)


def check_mismatch_examples(c, pf):
    """report quality's examples of mismatched next-hops (written at the stop): per exporter, flow
    next hop and longest prefix, the prefix's paths' next hops and the flows, from the route set."""
    table = lf.rib()
    want = {}
    for f in lf.FLOWS:
        if lf.design_outcome(f, table)["path_match"] != lf.MISMATCH:
            continue
        net, paths = lf.covering(table, f.dst)[0]
        hops = ", ".join(str(p.nexthop) for p in sorted(paths, key=lambda p: p.pid))
        key = (f.ie130 or f.exporter, str(lf.flow_nexthop(f)), str(net), hops)
        want[key] = want.get(key, 0) + lf.ROUNDS
    r = lib.run([lib.PATHFLOW, "report", "quality", "--db", pf.db, "--table", TABLE],
                timeout=30, what="pathflow report quality (text)")
    got = {}
    for line in r.stdout.decode().splitlines():
        m = re.match(r"# mismatch: (\S+) sent next-hop (\S+) for (\S+), whose paths have (.*): (\d+) flow\(s\), ", line)
        if m:
            got[m.groups()[:4]] = int(m.group(5))
    c.check(want and got == want, "quality's mismatch examples %s, want %s" % (got, want))


def case(c):
    lib_bgp.need_tools(c, "gobgpd", "gobgp", "nfacctd", "sqlite3")
    agree_ifaces, reasons = model_differences(c)

    pf = MatrixPathflow(c)
    refusal = pf.refusal()
    if refusal:
        c.fail(refusal)
    skip_reason = None

    nf = MatrixNfacctd(c).start()
    neighbors = [("nfacctd", lib_bgp.NFACCTD_ADDRESS, nf.port)]
    if pf is not None:
        try:
            pf.start()
        except lib.CaseSkipped as e:
            skip_reason, pf = str(e), None
            lib.log("pathflow's part skipped:", skip_reason)
        else:
            neighbors.append(("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port))
    g = lib_bgp.GoBGPd(c, neighbors, routeset=matrix_routes).start()
    for n, _, _ in neighbors:
        g.wait_established(n)
    view = g.wait_view("nfacctd")
    if pf is not None:
        c.check(not lib_bgp.ribcheck.compare_paths(view, g.wait_view("collector")),
                "gobgpd advertises different paths to its two neighbours")
        pf.wait_rib({g.address: view}, what="before the flows")
    time.sleep(3)       # nfacctd has no End-of-RIB signal here; gobgpd has sent everything

    dgrams = lf.datagrams()
    ports = [nf.flow_port] + ([pf.flow_port] if pf is not None else [])
    lf.send(dgrams, ports)
    want_totals = lf.totals()
    lib.log("sent %d datagrams (%d flows x %d rounds, %s packets/bytes) to %s" % (
        len(dgrams), len(lf.FLOWS), lf.ROUNDS, want_totals, ports))

    if pf is not None:
        try:
            c.wait_for("pathflow_flow_datagrams_total = %d" % len(dgrams),
                       lambda: lib.parse_prometheus(lib_bgp.http_get(pf.mport, lib_bgp.METRICS_PATH)).get(
                           "pathflow_flow_datagrams_total", 0) >= len(dgrams), 15, proc=pf.proc)
        except lib.CaseFailure as e:
            c.check(False, str(e))
        # every flow counted once per round under the oracle's path_match
        samples = pf.metrics()
        table = lf.rib()
        want = {}
        for f in lf.FLOWS:
            kind = lf.design_outcome(f, table)["path_match"]
            want[kind] = want.get(kind, 0) + lf.ROUNDS
        got = {k: lib_bgp.metric(samples, "pathflow_flow_path_match_total", match=k) for k in want}
        c.check(got == want and lib_bgp.metric(samples, "pathflow_flow_path_match_total") == sum(want.values()),
                "pathflow_flow_path_match_total %s, want %s" % (got, want))
        pf.stop()
    nf.wait_written(want_totals)
    nf.stop()

    # ---- nfacctd against its model, and what differs from the oracle
    for view in ("matrix", "full"):
        with lib.connect_ro(nf.dbs[view]) as conn:
            check_against_pmacct_model(c, conn, nf.columns[view], "nfacctd %s" % view)
            if view == "full":
                log_oracle_vs_nfacctd(conn, nf.columns[view])

    # ---- pathflow
    if pf is not None:
        pathflow_checks(c, pf, nf, agree_ifaces)
    elif not c.problems:
        raise lib.CaseSkipped("nfacctd's part passed; pathflow's part skipped: %s" % skip_reason)


lib.main(case)
