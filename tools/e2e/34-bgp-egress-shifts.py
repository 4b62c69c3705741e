#!/usr/bin/env python3
"""Best-path changes and the traffic they move (`rib_best_changes`, `report shifts`,
`pathflow_bgp_best_path_changes_total`, `pathflow_egress_shift_bytes_total`).

bird2 (127.0.0.3, session address and BGP identifier) reflects four prefixes with ADD-PATH to
pathflow: P1 and P2 with a path via A (LOCAL_PREF 200, best) and one via B (100), P3 with one
path via C, P4 with one path via A.  The router also exports IPFIX (IE 18 carries each flow's
BGP next hop) whose next hops follow the routing: every flow takes the next hop of its prefix's
best path at the time it is sent, as this case's own best-path model (LOCAL_PREF, AS_PATH
length, ORIGIN) computes it from the route set.  pathflow's view is per router, prefix and
exit (peer_src_ip, dst_net, dst_mask, peer_dst_ip, peer_dst_as) in 10 s bins.

Seven whole bins, 0-6, after the session and its End-of-RIB: bins 0-1 the baseline; in bin 2
P1's path via A gets LOCAL_PREF 50 (`birdc configure`), its best path moves to B; bin 3; in
bin 4 P2's path via A is withdrawn, its best moves to B; bins 5-6 the last phase, where P1's
traffic is lower, P3's higher and P4 has none.  In each change bin some traffic is sent before
the change (and seen written to the table before the change is made) and the rest after the
change has reached pathflow's RIB.  Every number below is computed here from the route set and
the bytes sent:

1. the view's table holds exactly the bytes sent per bin, prefix and exit (the premise);
2. `rib_best_changes` holds exactly two rows: P1 `local_pref` A -> B (200 -> 100), P2
   `withdraw` A -> B, with BIRD's path ids, next hops, ASNs, AS_PATHs, LOCAL_PREFs and MEDs,
   the time inside the window in which the change was made; nothing from the initial table,
   nothing for P3 or P4;
3. `report shifts --format json`: the same two changes, before_bps = the prefix's traffic on
   the old next hop in the last whole bin before the change's bin, after_bps = on the new one
   in the first whole bin after it;
4. `report shifts --baseline-from/--baseline-to` (bins 0-1) against bins 5-6, by exit (next
   hop, next-hop AS, router and next hop): routing_bps, demand_bps and change_bps equal this
   case's decomposition, and routing + demand = change;
5. /metrics: one change per reason, and pathflow_egress_shift_bytes_total{view} = the bytes of
   P1 from its change on and of P2 from its change on (written after the change; the rows of
   the change bins written before it cannot have been counted: their flush came first).

A change must reach pathflow within its bin and every send must end 0.3 s before a bin
boundary; on a host too slow for that the case fails saying so.  About 90 s."""
import collections
import ipaddress
import json
import os
import socket
import sqlite3
import sys
import time

import lib
import lib_bgp
import lib_flows as lf
from lib_bgp import metric

sys.path.insert(0, os.path.join(lib.ROOT, "tools", "bgp"))
import cluster_routes  # noqa: E402
import ribcheck        # noqa: E402

# ------------------------------------------------------------------ pathflow's interface
CHANGES_TABLE = "rib_best_changes"
M_CHANGES = "pathflow_bgp_best_path_changes_total"      # labels peer, reason
M_SHIFT_BYTES = "pathflow_egress_shift_bytes_total"     # label view
VIEW = "shifts"
AGGREGATE = ("peer_src_ip", "dst_net", "dst_mask", "peer_dst_ip", "peer_dst_as")
BIN = 10            # sql_history, seconds
REFRESH = 1         # sql_refresh_time

# ------------------------------------------------------------------ the route set
ROUTER = lib_bgp.BIRD_ADDRESS           # session address, BGP identifier and flow exporter
A, B, C = "10.3.0.1", "10.3.0.2", "10.3.0.3"
P1, P2, P3, P4 = "203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "198.18.4.0/24"
PREFIXES = (P1, P2, P3, P4)
LOWERED_LOCAL_PREF = 50

# routes.py's layout: prefix, path number (one BIRD static protocol each), next hop, AS_PATH,
# origin, LOCAL_PREF, MED, communities, large communities, route targets
PATHS = [
    (P1, 1, A, [65301, 65401], "igp", 200, 10, [], [], []),
    (P1, 2, B, [65302, 65402], "igp", 100, 20, [], [], []),
    (P2, 1, A, [65301, 65411], "igp", 200, 30, [], [], []),
    (P2, 2, B, [65302, 65412], "igp", 100, 40, [], [], []),
    (P3, 1, C, [65303, 65421], "igp", 100, 50, [], [], []),
    (P4, 1, A, [65301, 65431], "igp", 100, 60, [], [], []),
]


class ShiftRoutes(cluster_routes.RouteSet):
    """The paths above; stage 1 lowers P1's path via A to LOCAL_PREF 50, stage 2 withdraws P2's
    path via A."""

    STEPS = {1: ("local_pref", "%s via %s: LOCAL_PREF 200 -> %d" % (P1, A, LOWERED_LOCAL_PREF)),
             2: ("withdraw", "%s via %s withdrawn" % (P2, A))}

    def table(self, stage=0):
        rows = list(self.paths)
        if stage >= 1:
            rows = [r[:5] + (LOWERED_LOCAL_PREF,) + r[6:] if (r[0], r[1]) == (P1, 1) else r for r in rows]
        if stage >= 2:
            rows = [r for r in rows if (r[0], r[1]) != (P2, 1)]
        return rows


ROUTESET = ShiftRoutes("bird2", ROUTER, PATHS)

# ------------------------------------------------------------------ the traffic
# bytes per bin and prefix; a change bin has the bytes sent before the change ("pre") and after
# it ("post").  P4 stops after bin 3: in the last phase it has no traffic.
CHANGE_BINS = {2: 1, 4: 2}              # bin: stage it brings
NBINS = 7
PLAN = {
    0: {P1: 100000, P2: 80000, P3: 50000, P4: 40000},
    1: {P1: 125000, P2: 80000, P3: 50000, P4: 40000},
    2: {"pre": {P1: 30000, P2: 40000, P3: 25000, P4: 20000}, "post": {P1: 35000, P2: 40000, P3: 25000}},
    3: {P1: 110000, P2: 90000, P3: 60000, P4: 10000},
    4: {"pre": {P1: 55000, P2: 45000, P3: 30000}, "post": {P1: 50000, P2: 47000, P3: 30000}},
    5: {P1: 70000, P2: 85000, P3: 150000},
    6: {P1: 75000, P2: 86000, P3: 160000},
}
BASELINE_BINS = (0, 1)
RANGE_BINS = (5, 6)
SLICES = (1.0, 4.0, 7.0)        # seconds into a plain bin at which a third of its bytes is sent
PRE_AT = 1.0                    # a change bin: the traffic before the change
CHANGE_AT = 2.5                 # ... the change, not before this (and after the pre traffic is written)
BOUNDARY_MARGIN = 0.3           # no send may end closer than this to the next bin boundary
RECORDS_PER_SEND = 2            # records per prefix and send (distinct 5-tuples)


class ShiftsPathflow(lib_bgp.Pathflow):
    """pathflow with the BGP daemon and one per-prefix view in 10 s bins."""

    def __init__(self, c):
        super().__init__(c)
        self.flow_port = c.free_port()
        self.db = c.path("pathflow.db")

    def config(self):
        conf = self.c.path(self.name + ".conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "! end-to-end case 34 (tools/e2e/34-bgp-egress-shifts.py): best-path changes and traffic",
                "daemonize: false", "pidfile: %s" % self.c.path(self.name + ".pid"),
                "nfacctd_ip: 127.0.0.1", "nfacctd_port: %d" % self.flow_port, "nfacctd_time_new: true",
                "metrics_listen: 127.0.0.1:%d" % self.mport,
                "bgp_daemon: true", "bgp_daemon_ip: %s" % self.address, "bgp_daemon_port: %d" % self.port,
                "bgp_daemon_max_peers: 10", "nfacctd_as: bgp", "nfacctd_net: bgp",
                "bgp_best_path_history: 1000",
                "plugins: sqlite3[%s]" % VIEW, "aggregate[%s]: %s" % (VIEW, ", ".join(AGGREGATE)),
                "sql_db[%s]: %s" % (VIEW, self.db), "sql_table[%s]: %s" % (VIEW, VIEW),
                "sql_refresh_time[%s]: %d" % (VIEW, REFRESH), "sql_history[%s]: %ds" % (VIEW, BIN),
                "sql_history_roundoff[%s]: m" % VIEW,
            ]) + "\n")
        return conf


# ------------------------------------------------------------------ the model
def best_paths(stage):
    """{prefix: RoutePath} of the route set at `stage` (lib_flows' selection: LOCAL_PREF,
    AS_PATH length, ORIGIN; a tie there is a route-set error)."""
    table = lf.rib(ROUTESET.table(stage))
    return {str(net): lf.best_path(paths) for afi in table.values() for net, paths in afi}


def paths_of(stage):
    table = lf.rib(ROUTESET.table(stage))
    return {str(net): paths for afi in table.values() for net, paths in afi}


def deciding_step(new, old_now):
    """The first step at which the new best path beats the old one as it is now."""
    if new.local_pref != old_now.local_pref:
        return "local_pref"
    if lf.aspath_length(new.segments) != lf.aspath_length(old_now.segments):
        return "as_path_length"
    if new.origin != old_now.origin:
        return "origin"
    raise ValueError("route set error: %s's change is not decided by LOCAL_PREF, AS_PATH length or ORIGIN"
                     % new.prefix)


def expected_changes(stage):
    """[(prefix, reason, old RoutePath as it was, new RoutePath)] from stage-1 to stage."""
    before, after, now = best_paths(stage - 1), best_paths(stage), paths_of(stage)
    out = []
    for p in PREFIXES:
        old, new = before.get(p), after.get(p)
        if old == new or (old is not None and new is not None and (old.pid, old.nexthop) == (new.pid, new.nexthop)):
            continue
        if old is None:
            reason = "new_prefix"
        else:
            old_now = [q for q in now.get(p, []) if q.pid == old.pid]
            if not old_now:
                reason = "withdraw"
            elif new is not None and new.pid == old.pid:
                reason = "update"
            else:
                reason = deciding_step(new, old_now[0])
        out.append((p, reason, old, new))
    return out


def bin_sends(k):
    """[(phase, {prefix: bytes})] of bin k in the order they are sent: three thirds of a plain
    bin, or pre and post of a change bin."""
    plan = PLAN[k]
    if k in CHANGE_BINS:
        return [("pre", plan["pre"]), ("post", plan["post"])]
    out = []
    for i in range(len(SLICES)):
        out.append(("slice%d" % i, {p: b * (i + 1) // len(SLICES) - b * i // len(SLICES) for p, b in plan.items()}))
    return out


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def hop_as(hop):
    """peer_dst_as of the paths via `hop`: the first ASN of their AS_PATH (one per next hop here)."""
    asns = {r[3][0] for r in PATHS if r[2] == hop}
    if len(asns) != 1:
        raise ValueError("route set error: next hop %s with first ASNs %s" % (hop, asns))
    return asns.pop()


class Sent:
    """What the case sent: bytes per (bin, prefix, next hop), and per (bin, prefix, next hop,
    phase); the exporter's socket and sequence number."""

    def __init__(self, c, port):
        self.c = c
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ROUTER, 0))
        c.cleanups.append(self.sock.close)
        self.seq = 0
        self.records = 0
        self.datagrams = 0
        self.bytes = collections.Counter()          # (bin, prefix, hop) -> bytes
        self.by_phase = collections.Counter()       # (bin, prefix, hop, phase) -> bytes
        self.n = 0

    def send(self, k, phase, amounts, hops, deadline):
        """Sends `amounts` ({prefix: bytes}) of bin k as IPFIX records with next hop hops[prefix];
        fails the case if the send ends after `deadline` (unix time)."""
        flows = []
        for p in PREFIXES:
            total = amounts.get(p, 0)
            if not total:
                continue
            net = ipaddress.ip_network(p)
            for i in range(RECORDS_PER_SEND):
                self.n += 1
                nbytes = total * (i + 1) // RECORDS_PER_SEND - total * i // RECORDS_PER_SEND
                flows.append(lf.Flow("bin%d-%s-%s-%d" % (k, phase, p, i), ROUTER, "v4",
                                     "100.64.%d.%d" % (self.n // 250 % 250, self.n % 250 + 1),
                                     str(net.network_address + 10 + i), hops[p], 7,
                                     max(1, nbytes // 1000), nbytes, 6, 40000 + self.n % 20000, 443, None))
                self.bytes[(k, p, hops[p])] += nbytes
                self.by_phase[(k, p, hops[p], phase)] += nbytes
        msg = lf.ipfix_message("v4", flows, self.seq, time.time())
        self.sock.sendto(msg, ("127.0.0.1", self.port))
        self.seq += len(flows)
        self.records += len(flows)
        self.datagrams += 1
        end = time.time()
        if end > deadline:
            self.c.fail("timing: bin %d's %s traffic was sent at %.2f s into the bin, later than %.1f s "
                        "(host too slow for 10 s bins)" % (k, phase, end % BIN, deadline % BIN or BIN))

    def total(self):
        return sum(self.bytes.values())


# ------------------------------------------------------------------ reading pathflow
def table_rows(db):
    """{(stamp, peer_ip_src, net_dst/mask, peer_ip_dst, peer_as_dst): bytes} of the view's table."""
    try:
        with lib.connect_ro(db) as conn:
            rows = conn.execute("SELECT stamp_inserted, peer_ip_src, net_dst, mask_dst, peer_ip_dst, peer_as_dst, "
                                "SUM(bytes) FROM %s GROUP BY 1, 2, 3, 4, 5, 6" % VIEW).fetchall()
    except sqlite3.Error:
        return {}
    return {(r[0], r[1], "%s/%s" % (r[2], r[3]), r[4], r[5]): r[6] for r in rows}


def table_bytes(db):
    return sum(table_rows(db).values())


def change_rows(db):
    try:
        with lib.connect_ro(db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM %s ORDER BY time_ms" % CHANGES_TABLE)]
    except sqlite3.Error:
        return None


def report(c, conf, *args, what=None):
    """`pathflow report shifts -f CONF ARGS`: (status, stdout, stderr)."""
    argv = [lib.PATHFLOW, "report", "shifts", "-f", conf] + list(args)
    r = lib.run(argv, timeout=60, what=what or " ".join(argv[1:]), check=False)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    if r.returncode != 0:
        c.check(False, "`pathflow report shifts %s` failed (status %d): %s" % (
            " ".join(args), r.returncode, lib.tail(err or out)))
    return r.returncode, out, err


def json_rows(c, text, what):
    try:
        data = json.loads(text)
    except ValueError as e:
        c.check(False, "%s: not JSON (%s): %r" % (what, e, text[:300]))
        return None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        c.check(False, "%s: not a JSON array of objects: %r" % (what, text[:300]))
        return None
    return data


def close(a, b, tol=0.5):
    try:
        return abs(float(a) - float(b)) <= tol
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------ the case
def case(c):
    lib_bgp.need_tools(c, "bird", "birdc", "sqlite3")
    r = lib.run([lib.PATHFLOW, "report", "shifts", "--help"], timeout=30, what="pathflow report shifts --help",
                check=False)
    help_text = (r.stdout + r.stderr).decode(errors="replace")
    has_report = r.returncode == 0 and "shifts" in help_text and "--baseline-from" in help_text
    c.check(has_report, "this pathflow has no `report shifts` (status %d): %s" % (r.returncode, lib.tail(help_text, 2)))

    # the model: the two changes, each decided by its own step
    want_changes = {stage: expected_changes(stage) for stage in sorted(ROUTESET.STEPS)}
    if [[(p, why) for p, why, _, _ in want_changes[s]] for s in (1, 2)] != [[(P1, "local_pref")], [(P2, "withdraw")]]:
        c.fail("test error: the route set's changes are %s" % want_changes)

    pf = ShiftsPathflow(c)
    why = pf.refusal()      # bgp_best_path_history and 10 s bins must be taken as they are
    c.check(why is None, str(why))
    pf.start()
    sp = lib_bgp.Bird2(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)], routeset=ROUTESET).start()
    sp.wait_established("collector")
    pf.wait_established(ROUTER)
    view = sp.wait_view("collector")
    if not pf.wait_rib({ROUTER: view}, what="initial table"):
        c.fail("pathflow's RIB never held BIRD's paths")
    # BIRD's ADD-PATH ids, as pathflow holds them (case 10 checks them against BIRD's view)
    ids = {(p.prefix, p.next_hop): p.path_id for p in pf.dump().paths}
    if len(ids) != len(PATHS) or len(set(ids.values())) < 2:
        c.fail("test error: path ids %s" % ids)
    conf = pf.config()

    sent = Sent(c, pf.flow_port)
    hops = {p: str(bp.nexthop) for p, bp in best_paths(0).items()}
    # bin 0: the next whole bin that starts at least a second from now
    now = time.time()
    b0 = (int(now) // BIN + 1) * BIN
    if b0 - now < 1.0:
        b0 += BIN
    bins = [b0 + k * BIN for k in range(NBINS)]
    windows = {}        # stage: (time the change was made, time pathflow's RIB showed it)
    lib.log("bins of %d s from %s; changes in bins %s" % (BIN, stamp(b0), sorted(CHANGE_BINS)))

    def sleep_until(t):
        while True:
            d = t - time.time()
            if d <= 0:
                return
            time.sleep(min(d, 0.5))

    for k in range(NBINS):
        start, end = bins[k], bins[k] + BIN
        if k not in CHANGE_BINS:
            for (phase, amounts), at in zip(bin_sends(k), SLICES):
                sleep_until(start + at)
                sent.send(k, phase, amounts, hops, end - BOUNDARY_MARGIN)
            continue
        stage = CHANGE_BINS[k]
        (_, pre), (_, post) = bin_sends(k)
        sleep_until(start + PRE_AT)
        sent.send(k, "pre", pre, hops, end - BOUNDARY_MARGIN)
        # the traffic before the change must be written (flushed) before the change is made
        want_total = sent.total()
        c.wait_for("the view's table to hold the %d bytes sent before change %d" % (want_total, stage),
                   lambda: table_bytes(pf.db) == want_total, 5, proc=pf.proc, step=0.1)
        sleep_until(start + CHANGE_AT)
        t_cmd = time.time()
        sp.apply_step(stage)
        want = sp.route_set()
        c.wait_for("pathflow's RIB to show change %d" % stage,
                   lambda: not ribcheck.compare_paths(pf.dump().paths, want, "pathflow", "route set"),
                   4, proc=pf.proc, step=0.05)
        t_seen = time.time()
        windows[stage] = (t_cmd, t_seen)
        lib.log("change %d made at %.2f s into bin %d, in pathflow's RIB %.2f s later" % (
            stage, t_cmd - start, k, t_seen - t_cmd))
        if t_seen > end - BOUNDARY_MARGIN - 0.5:
            c.fail("timing: change %d reached pathflow's RIB %.2f s into its bin (host too slow for 10 s bins)"
                   % (stage, t_seen - start))
        # flows follow the routing from now on
        hops = {p: str(bp.nexthop) for p, bp in best_paths(stage).items()}
        sent.send(k, "post", post, hops, end - BOUNDARY_MARGIN)
    lib.log("sent %d records in %d datagrams, %d bytes" % (sent.records, sent.datagrams, sent.total()))
    c.wait_for("pathflow_flow_records_total = %d" % sent.records,
               lambda: lib.parse_prometheus(lib_bgp.http_get(pf.mport, lib_bgp.METRICS_PATH)).get(
                   "pathflow_flow_records_total", 0) >= sent.records, 15, proc=pf.proc)
    c.wait_for("the view's table to hold every byte sent (%d)" % sent.total(),
               lambda: table_bytes(pf.db) == sent.total(), 15, proc=pf.proc, step=0.2)

    # ---- 1. the premise: the table holds what was sent, where it was sent
    want_rows = {(stamp(bins[k]), ROUTER, p, h, hop_as(h)): b for (k, p, h), b in sent.bytes.items()}
    got_rows = table_rows(pf.db)
    c.check(got_rows == want_rows, "the view's table differs from the bytes sent: only in the table %s; "
            "only sent %s" % (sorted(set(got_rows.items()) - set(want_rows.items()))[:4],
                              sorted(set(want_rows.items()) - set(got_rows.items()))[:4]))

    # ---- 2. rib_best_changes (written every 5 s)
    try:
        c.wait_for("%s to hold 2 rows" % CHANGES_TABLE, lambda: len(change_rows(pf.db) or []) >= 2, 15,
                   proc=pf.proc, step=0.5)
        time.sleep(6)       # one more write: nothing else may come
    except lib.CaseFailure as e:
        c.check(False, str(e))
    rows = change_rows(pf.db) or []
    check_changes_table(c, rows, want_changes, windows, ids)

    # ---- 3. report shifts: one row per change, with the traffic around it
    if has_report:
        check_report_rows(c, conf, want_changes, windows, bins, sent)
        check_split(c, conf, bins, sent)

    # ---- 4. /metrics
    m = pf.metrics()
    reasons = collections.Counter(why for s in want_changes.values() for _, why, _, _ in s)
    got = {n: metric(m, M_CHANGES, peer=ROUTER, reason=n) for n in
           ("new_prefix", "withdraw", "update", "local_pref", "as_path_length", "origin", "med", "router_id",
            "cluster_list_length", "path_id")}
    c.check(got == {n: float(reasons.get(n, 0)) for n in got} and metric(m, M_CHANGES) == sum(reasons.values()),
            "%s{peer=%s}: %s (all peers %s), want %s" % (M_CHANGES, ROUTER, {n: v for n, v in got.items() if v},
                                                         metric(m, M_CHANGES), dict(reasons)))
    shifted = expected_shift_bytes(sent, want_changes)
    got_shift = metric(m, M_SHIFT_BYTES, view=VIEW)
    c.check(shifted > 0 and got_shift == shifted,
            "%s{view=%s} = %s, want %d (P1 from bin 2's traffic after the change on, P2 from bin 4's)" % (
                M_SHIFT_BYTES, VIEW, got_shift, shifted))
    lib.log("metrics: changes %s, egress shift bytes %s (want %d)" % (
        {n: v for n, v in got.items() if v}, got_shift, shifted))
    pf.stop()


def check_changes_table(c, rows, want_changes, windows, ids):
    """Exactly the model's changes, each with its old and new path and a time inside the window."""
    c.check(len(rows) == sum(len(v) for v in want_changes.values()),
            "%s holds %d rows, want %d (P1 local_pref, P2 withdraw; nothing from the initial table): %s" % (
                CHANGES_TABLE, len(rows), sum(len(v) for v in want_changes.values()),
                [(r.get("net_dst"), r.get("mask_dst"), r.get("reason")) for r in rows]))
    for stage, changes in sorted(want_changes.items()):
        t_cmd, t_seen = windows[stage]
        for p, why, old, new in changes:
            net, mask = p.split("/")
            mine = [r for r in rows if r.get("net_dst") == net and r.get("mask_dst") == int(mask)]
            if not c.check(len(mine) == 1, "%s: %d rows for %s, want 1 (%s)" % (CHANGES_TABLE, len(mine), p, why)):
                continue
            r = mine[0]
            want = {"peer_ip_src": ROUTER, "bgp_id": ROUTER, "net_dst": net, "mask_dst": int(mask), "reason": why}
            for side, path in (("old", old), ("new", new)):
                if path is None:
                    want.update({"%s_%s" % (side, k): None for k in ("path_id", "peer_ip_dst", "peer_as_dst",
                                                                      "as_path", "local_pref", "med")})
                    continue
                want.update({"%s_path_id" % side: ids[(p, str(path.nexthop))],
                             "%s_peer_ip_dst" % side: str(path.nexthop),
                             "%s_peer_as_dst" % side: lf.first_asn(path.segments),
                             "%s_as_path" % side: lf.aspath_text(path.segments),
                             "%s_local_pref" % side: path.local_pref,
                             "%s_med" % side: path.med})
            diff = {k: (r.get(k, "(no column)"), v) for k, v in want.items() if r.get(k, "(no column)") != v}
            c.check(not diff, "%s row of %s: (got, want) %s" % (CHANGES_TABLE, p, diff))
            t = r.get("time_ms")
            ok = isinstance(t, int) and t_cmd * 1000 - 50 <= t <= t_seen * 1000 + 50
            c.check(ok, "%s row of %s: time_ms %r not within the change's window [%d, %d]" % (
                CHANGES_TABLE, p, t, t_cmd * 1000, t_seen * 1000))
            if isinstance(t, int):
                c.check(r.get("stamp") == stamp(t // 1000), "%s row of %s: stamp %r, time_ms %d is %s" % (
                    CHANGES_TABLE, p, r.get("stamp"), t, stamp(t // 1000)))
    lib.log("%s: %s" % (CHANGES_TABLE, [(r.get("net_dst"), r.get("reason"), r.get("old_peer_ip_dst"),
                                         r.get("new_peer_ip_dst")) for r in rows]))


def bin_of(t, bins):
    for k, b in enumerate(bins):
        if b <= t < b + BIN:
            return k
    raise ValueError("time %s outside the case's bins" % t)


def bps(nbytes, nbins=1):
    return nbytes * 8 / (nbins * BIN)


def check_report_rows(c, conf, want_changes, windows, bins, sent):
    """`report shifts --format json` over the case's bins: one row per change."""
    frm, to = stamp(bins[0]), stamp(bins[-1] + BIN)
    rc, out, _ = report(c, conf, "--from", frm, "--to", to, "--format", "json")
    if rc != 0:
        return
    got = json_rows(c, out, "report shifts --format json")
    if got is None:
        return
    want = []
    for stage, changes in sorted(want_changes.items()):
        k = bin_of(windows[stage][0], bins)
        for p, why, old, new in changes:
            old_hop = str(old.nexthop) if old else "-"
            new_hop = str(new.nexthop) if new else "-"
            want.append({
                "peer_ip_src": ROUTER, "prefix": p, "reason": why,
                "from": old_hop, "from_as": lf.first_asn(old.segments) if old else None,
                "to": new_hop, "to_as": lf.first_asn(new.segments) if new else None,
                # the last whole bin before the change's bin, the first whole bin after it
                "before_bps": bps(sent.bytes[(k - 1, p, old_hop)]),
                "after_bps": bps(sent.bytes[(k + 1, p, new_hop)]),
                "window": windows[stage],
            })
    lib.log("report shifts: %d rows; want %s" % (len(got), [(w["prefix"], w["reason"], w["before_bps"],
                                                             w["after_bps"]) for w in want]))
    c.check(len(got) == len(want), "report shifts: %d rows, want %d: %s" % (len(got), len(want), out[:600]))
    for w in want:
        mine = [g for g in got if isinstance(g, dict) and g.get("prefix") == w["prefix"]]
        if not c.check(len(mine) == 1, "report shifts: %d rows for %s, want 1: %s" % (len(mine), w["prefix"],
                                                                                       out[:600])):
            continue
        g = mine[0]
        diff = {}
        for k in ("peer_ip_src", "reason", "from", "to"):
            if g.get(k) != w[k]:
                diff[k] = (g.get(k), w[k])
        for k in ("from_as", "to_as"):
            if w[k] is not None and str(g.get(k)) != str(w[k]):
                diff[k] = (g.get(k), w[k])
        for k in ("before_bps", "after_bps"):
            if not close(g.get(k), w[k]):
                diff[k] = (g.get(k), w[k])
        t_cmd, t_seen = w["window"]
        if not (stamp(t_cmd) <= str(g.get("time")) <= stamp(t_seen)):
            diff["time"] = (g.get("time"), "%s .. %s" % (stamp(t_cmd), stamp(t_seen)))
        c.check(not diff, "report shifts, row of %s: (got, want) %s" % (w["prefix"], diff))
    # the CSV form: the JSON's fields as its header, the same rows
    rc, out, _ = report(c, conf, "--from", frm, "--to", to, "--format", "csv")
    if rc == 0:
        lines = [l for l in out.splitlines() if l and not l.startswith("#")]
        header = list(got[0].keys()) if got else []
        c.check(lines[:1] == [",".join(header)], "report shifts CSV header %r, JSON fields %r" % (lines[:1], header))
        as_text = sorted(",".join("-" if g[f] is None else str(g[f]) for f in header) for g in got)
        c.check(sorted(lines[1:]) == as_text, "report shifts CSV rows %s, JSON rows %s" % (lines[1:], as_text))


def split_model(sent, key):
    """{exit key: (routing_bps, demand_bps, change_bps, avg1, avg2)} of the baseline bins against
    the range bins, computed from the bytes sent; `key(router, hop)` names an exit."""
    def demand(bins_):
        d = collections.defaultdict(lambda: collections.Counter())      # prefix -> {hop: bytes}
        for (k, p, h), b in sent.bytes.items():
            if k in bins_:
                d[p][h] += b
        return d
    base, rng = demand(BASELINE_BINS), demand(RANGE_BINS)
    out = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
    for p in set(base) | set(rng):
        d1 = bps(sum(base[p].values()), len(BASELINE_BINS))
        d2 = bps(sum(rng[p].values()), len(RANGE_BINS))
        s1 = {h: b / sum(base[p].values()) for h, b in base[p].items()} if base[p] else {}
        s2 = {h: b / sum(rng[p].values()) for h, b in rng[p].items()} if rng[p] else dict(s1)
        for h in set(s1) | set(s2):
            x = key(ROUTER, h)
            out[x][0] += d1 * (s2.get(h, 0.0) - s1.get(h, 0.0))
            out[x][1] += (d2 - d1) * s2.get(h, 0.0)
            out[x][3] += d1 * s1.get(h, 0.0)
            out[x][4] += d2 * s2.get(h, 0.0)
    for v in out.values():
        v[2] = v[4] - v[3]
        if abs(v[0] + v[1] - v[2]) > 1e-6:
            raise ValueError("test error: routing + demand != change in the model: %s" % v)
    return dict(out)


# the split's numbers per exit, in split_model's order
SPLIT_FIELDS = ("routing_bps", "demand_bps", "change_bps", "avg_bps_baseline", "avg_bps")
SPLITS = {
    # --by: (exit key from (router, hop), the JSON fields naming the exit)
    None: (lambda r, h: (h,), ("peer_ip_dst",)),
    "peer_as_dst": (lambda r, h: (hop_as(h),), ("peer_as_dst",)),
    "peer_ip_src,peer_ip_dst": (lambda r, h: (r, h), ("peer_ip_src", "peer_ip_dst")),
}


def check_split(c, conf, bins, sent):
    """`report shifts --baseline-from/--baseline-to` (bins 0-1) against bins 5-6, per exit."""
    base = ("--baseline-from", stamp(bins[BASELINE_BINS[0]]), "--baseline-to", stamp(bins[BASELINE_BINS[-1]] + BIN),
            "--from", stamp(bins[RANGE_BINS[0]]), "--to", stamp(bins[RANGE_BINS[-1]] + BIN))
    for by, (key, fields) in SPLITS.items():
        want = split_model(sent, key)
        parts = [v for v in want.values()]
        if not (any(abs(v[0]) > 1 for v in parts) and any(abs(v[1]) > 1 for v in parts)):
            c.fail("test error: the split has no routing or no demand part: %s" % want)
        args = base + (("--by", by) if by else ()) + ("--format", "json")
        rc, out, _ = report(c, conf, *args)
        if rc != 0:
            continue
        got_rows = json_rows(c, out, "report shifts --baseline (by %s)" % (by or "default"))
        if got_rows is None:
            continue
        got = {}
        for g in got_rows:
            k = tuple(str(g.get(f)) for f in fields)
            got[k] = g
        want_s = {tuple(str(x) for x in k): v for k, v in want.items()}
        lib.log("split by %s: want %s" % (by or "default", {k: [round(x, 3) for x in v[:3]] for k, v in want_s.items()}))
        c.check(set(got) == set(want_s), "report shifts --baseline (by %s): exits %s, want %s" % (
            by or "default", sorted(got), sorted(want_s)))
        for k, w in want_s.items():
            g = got.get(k)
            if g is None:
                continue
            vals = [g.get(f) for f in SPLIT_FIELDS]
            ok = all(close(a, b) for a, b in zip(vals, w))
            c.check(ok, "report shifts --baseline (by %s), exit %s: %s %s, want %s" % (
                by or "default", k, "/".join(SPLIT_FIELDS), vals, [round(x, 3) for x in w]))
            if all(isinstance(v, (int, float)) for v in vals):
                c.check(close(vals[0] + vals[1], vals[2], 1.0),
                        "report shifts --baseline (by %s), exit %s: routing + demand = %s, change %s" % (
                            by or "default", k, vals[0] + vals[1], vals[2]))


def expected_shift_bytes(sent, want_changes):
    """The bytes of rows whose (router, prefix) had a best-path change in the row's bin or in the
    600 s before it, written after that change: the prefix's bytes from its change bin on, less
    what was sent (and written) before the change in that bin.  Every bin of the case lies
    within 600 s of both changes."""
    if NBINS * BIN >= 600:
        raise ValueError("test error: bins beyond the 600 s after a change are not modelled")
    out = 0
    change_bin = {}
    for stage, changes in want_changes.items():
        k = [b for b, s in CHANGE_BINS.items() if s == stage][0]
        for p, _, _, _ in changes:
            change_bin[p] = min(k, change_bin.get(p, k))
    for (k, p, h, phase), b in sent.by_phase.items():
        if p in change_bin and (k > change_bin[p] or (k == change_bin[p] and phase != "pre")):
            out += b
    return out


lib.main(case)
