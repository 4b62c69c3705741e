#!/usr/bin/env python3
"""Two collectors with BGP, two ClickHouse shards, reports over the cluster.

Two clickhouse-server instances form the cluster `pf` (one shard each, as in case 30). Router A
(gobgpd, 127.0.0.2) reflects the paths of tools/bgp/cluster_routes.py's ROUTER_A over iBGP with
ADD-PATH to collector A only; router B (bird2, 127.0.0.3) reflects ROUTER_B's to collector B only.
The two route sets share no next hop, AS or community; both carry 192.0.2.0/24 with paths of
their own. Each collector maps the flowgen stream exported from its router's address to that
router's paths (nfacctd_as: bgp, nfacctd_net: bgp): destinations in the route set's prefixes and
in one it has no route for, next hops its paths carry and one that none carries (router A also:
destinations under a covering prefix only, a next hop only the covering prefix has). It writes
the BGP primitives to its shard's `matrix_local`, with a Distributed `matrix` on its node. The
reference collector R (BGP on 127.0.0.11) peers with both routers and receives both streams
again (the same deterministic records) into one sqlite3 view with the same aggregate. Flows are
sent once every collector's RIB equals what its routers advertise to it, in two bins two minutes
apart.

Checks: each shard holds only its collector's exporter, and its rows summed over the bins equal
the oracle (lib_flows.design_outcome for each flowgen key, on its router's route set); R's rows
equal both oracles together; the cluster's bytes per exporter and path_match equal the oracles',
which must have exact, covering (router A), mismatch and no-route flows and filled BGP fields for
both routers. Every report (top by BGP primitives with and without --where, matrix with each cell
kind, series, capacity on next hops and peer ASes, prefixes) run on A's and on B's clickhouse view
prints exactly the JSON it prints on R's sqlite3 view. About 35 s.
"""
import collections
import ipaddress
import json
import os

import lib
import lib_bgp
import lib_clickhouse
import lib_flows as lf
from lib_clickhouse import ClickHouse, cluster_xml
import cluster_routes   # tools/bgp, on the path through lib_bgp

REFERENCE_ADDRESS = "127.0.0.11"    # R's BGP address: gobgpd keys its neighbours by address
BGP_PRIMITIVES = ("peer_src_ip", "peer_dst_ip", "peer_src_as", "peer_dst_as", "src_as", "dst_as", "as_path",
                  "std_comm", "ext_comm", "lrg_comm", "local_pref", "med", "dst_net", "dst_mask", "path_match")
AGGREGATE = ", ".join(BGP_PRIMITIVES + ("proto",))
COLUMNS = tuple(lf.COLUMN_OF[p] for p in BGP_PRIMITIVES)
KEYS, RECORDS = 2000, 10000
STARTS = (1700000000, 1700000120)   # flow start times: two 1-minute bins with an empty one between


class ClusterPathflow(lib_bgp.Pathflow):
    """pathflow collect with the BGP daemon and one view, `matrix`: on a ClickHouse shard, or in SQLite."""

    def __init__(self, c, name, address, shard=None):
        super().__init__(c, name=name, address=address)
        self.flow_port = c.free_port()
        self.shard = shard
        self.db = c.path(name + ".db")
        self.conf = None
        self.sent = 0       # datagrams

    def config(self):
        lines = [
            "daemonize: false", "pidfile: %s" % self.c.path(self.name + ".pid"),
            "nfacctd_ip: 127.0.0.1", "nfacctd_port: %d" % self.flow_port,
            "metrics_listen: 127.0.0.1:%d" % self.mport,
            "bgp_daemon: true", "bgp_daemon_ip: %s" % self.address, "bgp_daemon_port: %d" % self.port,
            "bgp_daemon_max_peers: 10", "nfacctd_as: bgp", "nfacctd_net: bgp", "bgp_peer_src_as_type: bgp",
            "aggregate: %s" % AGGREGATE, "sql_table: matrix", "sql_refresh_time: 1",
            "sql_history: 1m", "sql_history_roundoff: m"]
        if self.shard is not None:
            lines += ["plugins: clickhouse[c]", "clickhouse_url: %s" % self.shard.url, "clickhouse_database: flows",
                      "clickhouse_cluster: pf", "clickhouse_spool_dir: %s" % self.c.path(self.name + "-spool")]
        else:
            lines += ["plugins: sqlite3[s]", "sql_db: %s" % self.db]
        self.conf = self.c.path(self.name + ".conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = lib.run([lib.PATHFLOW, "check-config", "--strict", "-f", self.conf], timeout=30,
                    what="pathflow check-config", check=False)
        if r.returncode != 0:
            self.c.fail("`pathflow check-config --strict` rejects %s: %s" % (
                os.path.basename(self.conf), lib.tail((r.stdout + r.stderr).decode(errors="replace"), 4)))
        return self.conf

    def datagrams(self):
        return lib.parse_prometheus(lib_bgp.http_get(self.mport, lib_bgp.METRICS_PATH)).get(
            "pathflow_flow_datagrams_total", 0)


def send(c, pf, rs, start):
    """flowgen from the router's address to `pf`: its prefixes and next hops. Returns
    (datagrams, truth file)."""
    prefixes = c.path("%s-prefixes.txt" % rs.address)
    with open(prefixes, "w") as f:
        f.write("\n".join(rs.flow_prefixes) + "\n")
    truth = c.path("%s-%s-%d.truth.tsv" % (pf.name, rs.address, start))
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % pf.flow_port, "--source", rs.address,
                 "--next-hop-base", rs.first_next_hop, "--next-hops", str(rs.next_hops), "--dst-prefixes", prefixes,
                 "--keys", str(KEYS), "--records", str(RECORDS), "--rate", "20000", "--seconds", "30",
                 "--start-time", str(start), "--truth", truth], timeout=60, what="flowgen")
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    if out["records"] != RECORDS:
        c.fail("flowgen sent %d records of %d to %s" % (out["records"], RECORDS, pf.name))
    return int(out["datagrams"]), truth


def oracle(c, rs, truths):
    """{COLUMNS values: [packets, bytes]} of the router's flows, summed over the sends: DESIGN §3
    on the router's route set, per flowgen key (key k is line k of the truth, next hop
    first_next_hop + k mod next_hops)."""
    table = lf.rib(rs.table())
    first = ipaddress.ip_address(rs.first_next_hop)
    outcomes = []
    for truth in truths:
        with open(truth) as f:
            lines = f.read().splitlines()[1:]
        if len(lines) != KEYS:
            c.fail("test error: %s has %d keys, want %d" % (truth, len(lines), KEYS))
        for k, line in enumerate(lines):
            src, dst, sport, dport, proto, packets, nbytes = line.split("\t")
            if int(ipaddress.ip_address(src)) - int(ipaddress.ip_address("10.0.0.0")) != k:
                c.fail("test error: line %d of %s is not key %d (source %s)" % (k + 1, truth, k, src))
            flow = lf.Flow("key%d" % k, rs.address, "v4", src, dst, str(first + k % rs.next_hops), 0,
                           int(packets), int(nbytes), int(proto), int(sport), int(dport), None)
            outcomes.append((flow, lf.design_outcome(flow, table, routers={rs.address: rs.address})))
    return lf.rows(outcomes, COLUMNS, rounds=1)


def shard_rows(shard, table, columns=COLUMNS):
    """Like lf.table_rows, from ClickHouse: numbers as ints, text as text."""
    cols = ", ".join(columns)
    text = shard.query("SELECT %s, sum(packets), sum(bytes) FROM flows.%s GROUP BY %s FORMAT TabSeparated" % (
        cols, table, cols))
    out = {}
    for line in text.splitlines():
        f = line.split("\t")
        k = tuple(v if col in lf.TEXT_COLUMNS else int(v) for col, v in zip(columns, f))
        out[k] = [int(f[-2]), int(f[-1])]
    return out


def check_oracle(c, rs, rows, want_kinds):
    """The flows exercise what the case is about: the kinds of match, and filled BGP fields."""
    kinds = set(k[COLUMNS.index("path_match")] for k in rows)
    c.check(kinds == set(want_kinds), "test error: %s's flows give path_match %s, want %s" % (
        rs.name, sorted(kinds), sorted(want_kinds)))
    filled = [k for k in rows if k[COLUMNS.index("as_path")] and k[COLUMNS.index("peer_as_dst")]
              and k[COLUMNS.index("comms")] and k[COLUMNS.index("peer_ip_dst")] != "0.0.0.0"
              and k[COLUMNS.index("as_src")]]
    c.check(len(filled) >= 3, "test error: %s's flows fill every BGP field in %d rows only" % (rs.name, len(filled)))
    lib.log("oracle, %s: %d rows, path_match %s, %d with every BGP field" % (
        rs.name, len(rows), dict(collections.Counter(k[COLUMNS.index("path_match")] for k in rows)), len(filled)))


def case(c):
    lib_bgp.need_tools(c, "gobgpd", "gobgp", "bird", "birdc")
    ports = [(c.free_port(), c.free_port()), (c.free_port(), c.free_port())]
    xml = cluster_xml("pf", [p[1] for p in ports])
    shards = [ClickHouse(c, "shard%d" % (i + 1), ports=ports[i], extra=xml) for i in range(2)]

    a = ClusterPathflow(c, "a", lib_bgp.COLLECTOR_ADDRESS, shards[0]).start()
    b = ClusterPathflow(c, "b", lib_bgp.COLLECTOR_ADDRESS, shards[1]).start()
    ref = ClusterPathflow(c, "reference", REFERENCE_ADDRESS).start()
    ra, rb = cluster_routes.ROUTER_A, cluster_routes.ROUTER_B
    speakers = [
        (lib_bgp.GoBGPd(c, [("collector", a.address, a.port), ("reference", ref.address, ref.port)],
                        address=ra.address, routeset=ra).start(), a, ra),
        (lib_bgp.Bird2(c, [("collector", b.address, b.port), ("reference", ref.address, ref.port)],
                       address=rb.address, routeset=rb).start(), b, rb),
    ]
    for sp, _, _ in speakers:
        for n in ("collector", "reference"):
            sp.wait_established(n)
    ref_views, ok = {}, True
    for sp, pf, rs in speakers:
        ok &= pf.wait_rib({sp.address: sp.wait_view("collector")}, what="collector %s" % pf.name)
        ref_views[sp.address] = sp.wait_view("reference")
    ok &= ref.wait_rib(ref_views, what="reference")
    if not ok:
        return      # the flows would map to tables not yet in

    truths = collections.defaultdict(list)
    for start in STARTS:
        for _, pf, rs in speakers:
            for target in (pf, ref):
                n, truth = send(c, target, rs, start)
                target.sent += n
                if target is pf:
                    truths[rs.address].append(truth)
    for pf in (a, b, ref):
        try:
            c.wait_for("%s: pathflow_flow_datagrams_total = %d" % (pf.name, pf.sent),
                       lambda: pf.datagrams() >= pf.sent, 20, proc=pf.proc)
        except lib.CaseFailure as e:
            c.check(False, str(e))
    for pf in (a, b, ref):
        pf.stop()

    # ---- the rows: each shard its router's oracle, R both, the cluster per exporter and match
    want = {}
    for (_, pf, rs), kinds in zip(speakers, (("exact", "covering", "mismatch", "no_route"),
                                             ("exact", "mismatch", "no_route"))):
        want[rs.address] = oracle(c, rs, truths[rs.address])
        check_oracle(c, rs, want[rs.address], kinds)
    for i, (shard, rs) in enumerate(zip(shards, (ra, rb))):
        sources = shard.query("SELECT DISTINCT peer_ip_src FROM flows.matrix_local FORMAT TabSeparated").split()
        c.check(sources == [rs.address], "shard %d holds exporters %s, want %s" % (i + 1, sources, rs.address))
        d = lf.diff_tables("shard %d" % (i + 1), shard_rows(shard, "matrix_local"), "oracle", want[rs.address], COLUMNS)
        c.check(not d, "shard %d's rows against %s's oracle: %s" % (i + 1, rs.name, "; ".join(d)))
    both = {**want[ra.address], **want[rb.address]}
    with lib.connect_ro(ref.db) as conn:
        d = lf.diff_tables("reference", lf.table_rows(conn, "matrix", COLUMNS), "oracle", both, COLUMNS)
    c.check(not d, "the reference's rows against both oracles: %s" % "; ".join(d))
    per_match = ("peer_ip_src", "path_match")
    for shard in shards:
        d = lf.diff_tables("cluster", shard_rows(shard, "matrix", per_match), "oracle",
                           lf.project(both, COLUMNS, per_match), per_match)
        c.check(not d, "%s's Distributed table, bytes per exporter and path_match: %s" % (shard.name, "; ".join(d)))
    lib.log("shards: %s rows, %s rows; cluster %s rows" % (
        shards[0].query("SELECT count() FROM flows.matrix_local").strip(),
        shards[1].query("SELECT count() FROM flows.matrix_local").strip(),
        shards[0].query("SELECT count() FROM flows.matrix").strip()))

    # ---- every report over the cluster equals the reference's
    links = c.path("links.txt")
    with open(links, "w") as f:
        f.write("a-exit-1 peer_ip_dst=10.1.0.1 2M\n"
                "a-transit-65101 peer_as_dst=65101 1M\n"
                "b-exit-2 peer_ip_src=127.0.0.3,peer_ip_dst=10.2.0.2 1M\n"
                "b-4-octet peer_as_dst=4200000204 500k\n"
                "b-unmapped peer_ip_src=127.0.0.3,path_match=mismatch 1M\n")
    reports = [
        ["top", "--by", "peer_src_ip,peer_dst_ip", "-n", "30"],
        ["top", "--by", "as_path", "-n", "30"],
        ["top", "--by", "peer_dst_as,dst_as", "--where", "peer_src_ip=127.0.0.3"],
        ["top", "--by", "std_comm,lrg_comm,ext_comm", "-n", "30"],
        ["top", "--by", "local_pref,med,src_as,peer_src_as", "--where", "dst_net=192.0.2.0"],
        ["top", "--by", "proto,path_match", "--where", "as_path=65104 {65105,65106}"],
        ["top", "--by", "dst_net,dst_mask,path_match", "--where", "peer_dst_as=65120"],
        ["matrix", "--rows", "peer_src_ip", "--columns", "peer_dst_as", "--cell", "bytes"],
        ["matrix", "--rows", "peer_src_ip", "--columns", "peer_dst_ip", "--cell", "avg", "--where", "local_pref=100"],
        ["matrix", "--rows", "peer_dst_ip", "--columns", "dst_as", "--cell", "peak"],
        ["matrix", "--rows", "as_path", "--columns", "path_match", "--cell", "p95"],
        ["series", "--by", "peer_dst_ip", "-n", "10"],
        ["series", "--by", "peer_src_ip,path_match"],
        ["capacity", "--capacities", links, "--threshold", "80"],
        ["prefixes"],
        ["prefixes", "--list", "--top", "20"],
    ]
    outputs = lib_clickhouse.same_reports(c, reports, ref.conf, [a.conf, b.conf])
    # the reports see BGP: router A's AS_SET path, router B's 4-octet peer AS
    c.check('65104 {65105,65106}' in outputs[1] and '4200000204' in outputs[2],
            "the reports show no BGP values: %s / %s" % (outputs[1][:200], outputs[2][:200]))


lib.main(case)
