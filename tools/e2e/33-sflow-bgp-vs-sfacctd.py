#!/usr/bin/env python3
"""sFlow flows mapped to BGP paths, pmacct's sfacctd against pathflow, and `report prefixes` on
the sFlow view.

gobgpd (session address 127.0.0.2, BGP identifier 192.0.2.20) reflects the route set of
tools/bgp/sflow_routes.py with ADD-PATH to sfacctd (BGP on 127.0.0.11) and to pathflow
(127.0.0.1): IPv4 and IPv6, nested prefixes, several paths per prefix with their own next hops,
AS paths (an AS_SET, 4-octet ASNs, an empty one), communities, large and extended communities,
LOCAL_PREF and MED; some of the traffic's destinations have no route.  pmacctd (1.7.7) reads
lib_sflow.traffic() (3,845 frames) and exports it with three sfprobe plugins, whose datagrams a
tee forwards in order to both collectors:
  * 192.0.2.10, rate 1: not a BGP speaker; `bgp_agent_map` (`bgp_ip=127.0.0.2 ip=192.0.2.10`)
    gives it gobgpd's RIB.  A networks file (sflow_routes.NETWORKS) makes sfprobe put a BGP next
    hop per destination in each sample's extended gateway record: exact matches on best and
    other paths, covering matches, mismatches and no route all occur.
  * 192.0.2.20, rate 2: gobgpd's BGP identifier, not in the map: the router is found by it.  No
    networks file: its samples carry no extended gateway, so no BGP next hop.
  * 192.0.2.30, rate 8: no session and not in the map (networks file as for 192.0.2.10).
Both collectors have `sfacctd_as: bgp`, `sfacctd_net: bgp` and the aggregate peer_src_ip,
dst_host, peer_dst_ip, peer_dst_as, dst_as, as_path, std_comm, ext_comm, lrg_comm, local_pref,
med, dst_net, dst_mask (pathflow's view also path_match); rows are compared summed over the
time bins (both bin by arrival time).

The datagrams are decoded here (lib_sflow): every sample must be its frame (as in case 32) and
carry the next hop and mask the networks file gives its destination (the extended router and
gateway records' masks and AS 64999 are not the route set's: under `sfacctd_as/net: bgp` no
collector may use them).  Two models of the rows, from the decoded samples and the route set
alone (lib_flows, as in case 14): the oracle (DESIGN §3; an sFlow sample is a flow whose
exporter is the agent address and whose BGP next hop is the gateway's, 0.0.0.0 or no gateway
being none: the most specific prefix with a path carrying the next hop, else a mismatch; without
one the best path of the longest match) and what sfacctd 1.7.7 does (the same lookup, but on an
ADD-PATH session a sample without a next hop matches no path: every BGP column empty,
bgp_lookup.c).  That is the one deliberate difference (docs/PMACCT.md, "flow without a BGP
next-hop, router with ADD-PATH"): it must be exercised, by the 192.0.2.20 samples with a route
and by nothing else.

Checks: sfacctd's table equals the sfacctd model; pathflow's equals the oracle, value types
included; the two tables are equal for 192.0.2.10 and 192.0.2.30; in IPv4 and in IPv6 every
path_match occurs where expected (exact, covering, mismatch, no_route for 192.0.2.10, exact and
covering each on best and other paths; best and no_route for 192.0.2.20; no_peer for
192.0.2.30) and no other, and `pathflow_flow_path_match_total{match}` counts the oracle's samples
per match; pathflow's /metrics count every datagram and sample with no decode error or socket
drop; sfacctd's socket dropped nothing and it logged no error before SIGINT (1.7.7 may abort
while tearing down its BGP thread: logged, as in cases 13 and 14).  `pathflow report prefixes` (JSON: how
many destination prefixes, largest first, carry 50/90/95/99 % of the bytes; `--list --top N`:
the first N as NET/MASK) with `--where peer_ip_src=192.0.2.10` must give what the test computes
from sfacctd's table for that agent, and without it what the oracle's rows give.  The comparison
rejects a changed row.

About 95 s: sfprobe sends its last datagram up to 60 s after reading the file."""
import collections
import ipaddress
import json
import sqlite3
import time

import lib
import lib_bgp
import lib_flows as lf
import lib_sflow
import lib_sfprobe
import sflow_routes

AGENT_MAPPED = "192.0.2.10"                  # bgp_agent_map -> gobgpd's session address
AGENT_ROUTER_ID = sflow_routes.ROUTER_ID     # gobgpd's BGP identifier
AGENT_NO_SESSION = "192.0.2.30"
ROUTERS = {AGENT_MAPPED: sflow_routes.SESSION_ADDRESS, AGENT_ROUTER_ID: sflow_routes.SESSION_ADDRESS}
# sampling rate, input ifIndex (direction in: output "internal"); with a networks file or not
AGENTS = {AGENT_MAPPED: (1, 5, True), AGENT_ROUTER_ID: (2, 6, False), AGENT_NO_SESSION: (8, 7, True)}

PRIMITIVES = ("peer_src_ip", "dst_host", "peer_dst_ip", "peer_dst_as", "dst_as", "as_path", "std_comm", "ext_comm",
              "lrg_comm", "local_pref", "med", "dst_net", "dst_mask")
COLUMNS = tuple(lf.COLUMN_OF[p] for p in PRIMITIVES)
PF_COLUMNS = COLUMNS + ("path_match",)
TABLE = "sflow"

PMACCTD_CONF = lib_sfprobe.PMACCTD_HEAD + """\
plugins: sfprobe[mapped], sfprobe[routerid], sfprobe[nosession]
sfprobe_receiver: 127.0.0.1:{port}
! the BGP next hop, origin AS and masks of each destination from the networks file
! (pmacctd_as is daemon-wide; an agent without networks_file sends no extended records)
pmacctd_as: file
pmacctd_net[mapped]: file
pmacctd_net[nosession]: file
networks_file[mapped]: {networks}
networks_file[nosession]: {networks}
{agents}"""

COLLECTOR_CONF = """\
! end-to-end case 33 (tools/e2e/33-sflow-bgp-vs-sfacctd.py): sFlow flows mapped to BGP paths
daemonize: false
pidfile: {pidfile}
sfacctd_ip: 127.0.0.1
sfacctd_port: {flow_port}
sfacctd_renormalize: false
sfacctd_pipe_size: 4194304
! gobgpd (session 127.0.0.2, BGP identifier 192.0.2.20) connects with ADD-PATH
bgp_daemon: true
bgp_daemon_ip: {bgp_address}
bgp_daemon_port: {bgp_port}
bgp_daemon_max_peers: 10
! the agent 192.0.2.10 uses gobgpd's RIB
bgp_agent_map: {agent_map}
sfacctd_as: bgp
sfacctd_net: bgp
plugins: sqlite3[sflow]
aggregate[sflow]: {aggregate}
sql_db[sflow]: {db}
sql_table[sflow]: sflow
sql_optimize_clauses[sflow]: true
sql_refresh_time[sflow]: 2
sql_history[sflow]: 1m
sql_history_roundoff[sflow]: m
{extra}"""


def write_collector_conf(p, agent_map, aggregate, extra=""):
    """COLLECTOR_CONF for the collector `p` (Sfacctd or SFlowPathflow) into p.conf."""
    p.conf = p.c.path(p.name + ".conf")
    with open(p.conf, "w") as f:
        f.write(COLLECTOR_CONF.format(pidfile=p.c.path(p.name + ".pid"), flow_port=p.flow_port,
                                      bgp_address=p.address, bgp_port=p.port, agent_map=agent_map,
                                      aggregate=", ".join(aggregate), db=p.db, extra=extra))
    return p.conf


class Sfacctd(lib_bgp.Nfacctd):
    """sfacctd with the BGP daemon and one sqlite3 view (its table made beforehand)."""

    def __init__(self, c, agent_map):
        super().__init__(c, name="sfacctd", address=lib_bgp.NFACCTD_ADDRESS)
        self.flow_port = c.free_port()
        self.db = c.path("sfacctd.db")
        self.tables = {TABLE: (self.db, TABLE)}
        self.agent_map = agent_map

    def start(self):
        with sqlite3.connect(self.db) as conn:
            conn.executescript(lf.create_table_sql(TABLE, COLUMNS))
        write_collector_conf(self, self.agent_map, PRIMITIVES)
        return self.launch("sfacctd", self.flow_port)


class SFlowPathflow(lib_bgp.Pathflow):
    """pathflow collect with the BGP daemon and the sFlow view (path_match as well)."""

    def __init__(self, c, agent_map):
        super().__init__(c)
        self.flow_port = c.free_port()
        self.db = c.path("pathflow.db")
        self.agent_map = agent_map
        self.conf = None

    def config(self):
        return write_collector_conf(self, self.agent_map, PRIMITIVES + ("path_match",),
                                    extra="metrics_listen: 127.0.0.1:%d\n" % self.mport)


# ---------------------------------------------------------------------------------- the exporter
def networks_lookup(address):
    """(next hop, prefix length) of the networks file's longest match for `address`, or None."""
    a = ipaddress.ip_address(address)
    found = [(ipaddress.ip_network(p), nh) for p, nh in sflow_routes.NETWORKS
             if ipaddress.ip_network(p).version == a.version and a in ipaddress.ip_network(p)]
    if not found:
        return None
    net, nh = max(found, key=lambda x: x[0].prefixlen)
    return nh, net.prefixlen


def check_records(c, by_agent):
    """The extended records of every sample: what the networks file gives its destination (next
    hop, AS 64999, mask; 0.0.0.0, AS 0 and mask 0 where it has no entry) for the agents with the
    file, none for the other."""
    bad = []
    for (agent, _), samples in by_agent.items():
        with_file = AGENTS[agent][2]
        for s in samples:
            if not with_file:
                ok = s.gateway is None and s.router is None
            else:
                entry = networks_lookup(s.key.dst)
                nh, mask, asn = (entry[0], entry[1], sflow_routes.NETWORKS_ASN) if entry else ("0.0.0.0", 0, 0)
                ok = (s.gateway is not None and s.router is not None and s.gateway.nexthop == nh
                      and s.gateway.path == [(1, [asn])] and s.router.dst_mask == mask)
            if not ok:
                bad.append((agent, s.seq, s.key.dst, s.gateway, s.router))
    c.check(not bad, "%d samples whose extended records are not what the networks file gives, e.g. %s" % (
        len(bad), bad[:2]))


# ---------------------------------------------------------------------------------- the models
def flows_of(decoded):
    """Each flow sample as lib_flows reads a flow: exporter = agent, BGP next hop = the gateway's."""
    out = []
    for g in decoded:
        for s in g.flows:
            k = s.key
            nh = (s.gateway.nexthop or None) if s.gateway else None
            out.append(lf.Flow("%s#%d" % (g.agent, s.seq), g.agent, "sflow", k.src, k.dst, nh, s.input, 1,
                               s.frame_length, k.proto, k.sport, k.dport, None))
    return out


class Models:
    """The oracle's and the sfacctd model's value per flow, keyed by COLUMNS (+ path_match)."""

    def __init__(self, c, flows):
        table = lf.rib(sflow_routes.ROUTESET.table())
        self.oracle, self.sfacctd, self.differ = [], [], []
        for f in flows:
            o = lf.design_outcome(f, table, routers=ROUTERS)
            o["ip_dst"] = f.dst
            alts = {tuple(dict(a, ip_dst=f.dst)[col] for col in COLUMNS)
                    for a in lf.pmacct_outcomes(f, table, routers=ROUTERS)}
            if len(alts) != 1:
                c.fail("test error: sfacctd's row for %s depends on the order paths arrived in: %s" % (f.name, alts))
            s = dict(zip(COLUMNS, alts.pop()))
            self.oracle.append((f, o))
            self.sfacctd.append((f, s))
            if tuple(o[col] for col in COLUMNS) != tuple(s[col] for col in COLUMNS):
                self.differ.append((f, lf.DIFF_NO_NEXTHOP if lf.flow_nexthop(f) is None else "(unexplained)"))

    def rows(self, which, columns):
        return lf.rows(getattr(self, which), columns, rounds=1)


def check_differences(c, models):
    """The oracle and the sfacctd model differ only for samples without a BGP next hop, and those
    are exactly 192.0.2.20's samples that have a route."""
    reasons = collections.Counter((f.exporter, r) for f, r in models.differ)
    lib.log("the models differ for %d of %d samples: %s" % (len(models.differ), len(models.oracle), dict(reasons)))
    want = sum(1 for f, o in models.oracle if f.exporter == AGENT_ROUTER_ID and o["path_match"] != lf.NO_ROUTE)
    c.check(set(reasons) == {(AGENT_ROUTER_ID, lf.DIFF_NO_NEXTHOP)} and sum(reasons.values()) == want > 0,
            "the oracle and the sfacctd model should differ for the %d samples of %s with a route (no BGP next hop) "
            "and nothing else: %s" % (want, AGENT_ROUTER_ID, dict(reasons)))


def check_path_matches(c, models):
    """Every way of mapping a sample occurs for the agents meant to show it."""
    seen = collections.Counter((f.exporter, ":" in f.dst, o["path_match"]) for f, o in models.oracle)
    lib.log("path_match per agent and family (v6 True): %s" % dict(sorted(seen.items())))
    want = [(AGENT_MAPPED, v6, m) for v6 in (False, True) for m in (lf.EXACT, lf.COVERING, lf.MISMATCH, lf.NO_ROUTE)]
    want += [(AGENT_ROUTER_ID, v6, m) for v6 in (False, True) for m in (lf.BEST, lf.NO_ROUTE)]
    want += [(AGENT_NO_SESSION, v6, lf.NO_PEER) for v6 in (False, True)]
    missing = [w for w in want if not seen[w]]
    c.check(not missing, "the input no longer exercises (agent, IPv6, path_match) %s" % missing)
    other = sorted(set(seen) - set(want))
    c.check(not other, "unexpected (agent, IPv6, path_match) %s" % other)
    # exact matches on a path that is not the prefix's best, and covering ones on the best
    table = lf.rib(sflow_routes.ROUTESET.table())
    kinds = set()
    for f, o in models.oracle:
        if o["path_match"] in (lf.EXACT, lf.COVERING):
            net = ipaddress.ip_network("%s/%d" % (o["net_dst"], o["mask_dst"]))
            best = lf.best_path(dict(table[net.version])[net])
            kinds.add((o["path_match"], str(best.nexthop) == o["peer_ip_dst"]))
    c.check(kinds == {(lf.EXACT, True), (lf.EXACT, False), (lf.COVERING, True), (lf.COVERING, False)},
            "exact and covering matches should each take best and other paths: %s" % sorted(kinds))


# ---------------------------------------------------------------------------------- report prefixes
def coverage(prefix_bytes, shares=(50, 90, 95, 99)):
    """What `report prefixes` computes from {(net_dst, mask_dst): bytes}: prefixes largest first
    (ties by net, then mask, as text), those of mask 0 left out; per share the prefixes it takes
    to reach it, as rows of the JSON output (percentages with two decimals); and that order."""
    entries = sorted(((str(n), str(m)), b) for (n, m), b in prefix_bytes.items() if str(m) != "0")
    entries.sort(key=lambda e: -e[1])
    total = max(1.0, float(sum(b for _, b in entries)))
    rows = []
    for share in shares:
        s, n = 0.0, 0
        for _, b in entries:
            if s * 100 / total >= share:
                break
            s += float(b)
            n += 1
        rows.append({"traffic_share": "%.2f" % share, "prefixes": n,
                     "of_prefixes": "%.2f" % (n * 100 / max(1, len(entries))), "covered": "%.2f" % (s * 100 / total)})
    rows.append({"traffic_share": "100.00", "prefixes": len(entries), "of_prefixes": "100.00", "covered": "100.00"})
    return rows, ["%s/%s" % k for k, _ in entries]


def prefix_bytes(rows, columns, agent=None):
    out = collections.Counter()
    ni, mi, pi = columns.index("net_dst"), columns.index("mask_dst"), columns.index("peer_ip_src")
    for k, v in rows.items():
        if agent is None or k[pi] == agent:
            out[(k[ni], k[mi])] += v[1]
    return out


def check_report_prefixes(c, pf, expected, where, top):
    """`pathflow report prefixes` (JSON, and --list --top `top`) against `expected` ({(net, mask):
    bytes}); `where`: extra arguments.  Returns the number of prefixes."""
    base = [lib.PATHFLOW, "report", "prefixes", "-f", pf.conf, "--view", TABLE] + where
    want_rows, order = coverage(expected)
    r = lib.run(base + ["--format", "json"], timeout=60, what="pathflow report prefixes")
    got = json.loads(r.stdout.decode(), parse_float=str)
    c.check(got == want_rows, "report prefixes %s: %s, want %s" % (" ".join(where), got, want_rows))
    r = lib.run(base + ["--list", "--top", str(top)], timeout=60, what="pathflow report prefixes --list")
    got = r.stdout.decode().splitlines()
    c.check(got == order[:top], "report prefixes --list --top %d %s: %s, want %s" % (
        top, " ".join(where), got, order[:top]))
    lib.log("report prefixes %s: %s prefixes for 50/90/95/99 %% of %d prefixes; --list --top %d: %s" % (
        " ".join(where) or "(all)", [x["prefixes"] for x in want_rows[:4]], len(order), top, got[:3]))
    return len(order)


# ---------------------------------------------------------------------------------- the case
def case(c):
    lib_bgp.need_tools(c, "pmacctd", "sfacctd", "gobgpd", "gobgp", "sqlite3")
    frames = lib_sflow.traffic()
    pcap = c.path("traffic.pcap")
    lib_sflow.write_pcap(pcap, frames)
    agent_map = c.path("bgp_agent.map")
    with open(agent_map, "w") as f:
        f.write("bgp_ip=%s ip=%s\n" % (sflow_routes.SESSION_ADDRESS, AGENT_MAPPED))
    networks = c.path("networks.lst")
    with open(networks, "w") as f:
        f.write(sflow_routes.networks_file())

    pf = SFlowPathflow(c, agent_map)
    refusal = pf.refusal()
    if refusal:
        c.fail(refusal)
    sf = Sfacctd(c, agent_map).start()
    pf.start()
    g = lib_bgp.GoBGPd(c, [("sfacctd", lib_bgp.NFACCTD_ADDRESS, sf.port),
                           ("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)], routeset=sflow_routes.ROUTESET).start()
    for n in ("sfacctd", "collector"):
        g.wait_established(n)
    view = g.wait_view("sfacctd")
    c.check(not lib_bgp.ribcheck.compare_paths(view, g.wait_view("collector")),
            "gobgpd advertises different paths to its two neighbours")
    pf.wait_rib({g.address: view}, what="before the flows")
    time.sleep(3)       # sfacctd has no End-of-RIB signal here; gobgpd has sent everything

    # ---- the agents, through the tee ------------------------------------------------------------
    tee = lib_sfprobe.Tee(c, [sf.flow_port, pf.flow_port])
    conf = c.path("pmacctd.conf")
    with open(conf, "w") as f:
        f.write(PMACCTD_CONF.format(pcap=pcap, port=tee.port, networks=networks, agents="".join(
            "sfprobe_agentip[{n}]: {a}\nsampling_rate[{n}]: {r}\nsfprobe_ifindex[{n}]: {i}\n".format(
                n=n, a=a, r=AGENTS[a][0], i=AGENTS[a][1])
            for n, a in (("mapped", AGENT_MAPPED), ("routerid", AGENT_ROUTER_ID), ("nosession", AGENT_NO_SESSION)))))
    pm = c.start("pmacctd", ["pmacctd", "-f", conf])
    export = lib_sfprobe.Export(c, tee, AGENT_MAPPED, len(frames))
    export.wait(pm)
    forwarded = export.finish(pm)
    by_agent = lib_sfprobe.check_agents(c, export.decoded, frames, {
        (a, 0): (rate, ifindex, lib_sfprobe.INTERNAL) for a, (rate, ifindex, _) in AGENTS.items()})
    check_records(c, by_agent)
    flows = flows_of(export.decoded)
    models = Models(c, flows)
    check_differences(c, models)
    check_path_matches(c, models)
    counter_samples = sum(len(g.counters) for g in export.decoded)
    lib.log("decoded: %d flow samples (%s), %d counter samples" % (
        len(flows), {a: len(s) for (a, _), s in by_agent.items()}, counter_samples))

    # ---- pathflow's counters, then stop both ------------------------------------------------------
    lib_sfprobe.check_pathflow_metrics(c, pf.name, pf.mport, pf.proc, len(forwarded), len(flows), counter_samples)
    samples = pf.metrics()
    want = collections.Counter(o["path_match"] for _, o in models.oracle)
    got = {k: lib_bgp.metric(samples, "pathflow_flow_path_match_total", match=k) for k in want}
    c.check(got == dict(want) and lib_bgp.metric(samples, "pathflow_flow_path_match_total") == len(flows),
            "pathflow_flow_path_match_total %s, want %s" % (got, dict(want)))
    pf.stop()
    drops = lib_sfprobe.udp_drops(sf.flow_port)
    c.check(drops == 0, "sfacctd's socket dropped %d datagrams" % drops)
    sf.wait_written(lf.totals(flows, rounds=1))
    sf.stop()

    # ---- the tables against the models and each other -----------------------------------------
    with lib.connect_ro(sf.db) as conn:
        sf_rows = lf.table_rows(conn, TABLE, COLUMNS)
        sf_types = lf.table_types(conn, TABLE, COLUMNS)
    with lib.connect_ro(pf.db) as conn:
        pf_rows = lf.table_rows(conn, TABLE, PF_COLUMNS)
        pf_types = lf.table_types(conn, TABLE, PF_COLUMNS)
    lib.log("sfacctd: %d rows, pathflow: %d rows (over bins); oracle %d rows" % (
        len(sf_rows), len(pf_rows), len(models.rows("oracle", PF_COLUMNS))))
    d = lf.diff_tables("sfacctd", sf_rows, "the sfacctd model", models.rows("sfacctd", COLUMNS), COLUMNS)
    c.check(not d, "sfacctd's rows against the sfacctd model: %s" % "; ".join(d))
    d = lf.diff_tables("pathflow", pf_rows, "oracle", models.rows("oracle", PF_COLUMNS), PF_COLUMNS)
    c.check(not d, "pathflow's rows against the oracle: %s" % "; ".join(d))
    for who, types in (("sfacctd", sf_types), ("pathflow", pf_types)):
        bad = {col: t for col, t in types.items() if t != {"text" if col in lf.TEXT_COLUMNS else "integer"}}
        c.check(not bad, "%s: value types %s" % (who, bad))
    agree = (AGENT_MAPPED, AGENT_NO_SESSION)
    keep = lambda t: {k: v for k, v in t.items() if k[0] in agree}     # noqa: E731
    d = lf.diff_tables("pathflow", keep(lf.project(pf_rows, PF_COLUMNS, COLUMNS)), "sfacctd", keep(sf_rows), COLUMNS)
    c.check(not d, "pathflow against sfacctd (agents %s): %s" % (", ".join(agree), "; ".join(d)))
    changed = dict(sf_rows)
    k = sorted(changed, key=repr)[-1]
    changed[k] = [changed[k][0], changed[k][1] + 1]
    c.check(lf.diff_tables("sfacctd", changed, "the sfacctd model", models.rows("sfacctd", COLUMNS), COLUMNS),
            "the comparison accepts a changed row")

    # ---- report prefixes on pathflow's view ----------------------------------------------------
    n = check_report_prefixes(c, pf, prefix_bytes(sf_rows, COLUMNS, AGENT_MAPPED),
                              ["--where", "peer_ip_src=%s" % AGENT_MAPPED], top=4)
    c.check(n > 4, "sfacctd's table has only %d prefixes for %s: the --list --top 4 cut is not exercised" % (
        n, AGENT_MAPPED))
    check_report_prefixes(c, pf, prefix_bytes(models.rows("oracle", PF_COLUMNS), PF_COLUMNS), [], top=1000)


lib.main(case)
