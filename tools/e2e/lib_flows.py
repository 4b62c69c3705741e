"""Flows with BGP next hops, and the rows a collector should make of them
(end-to-end case 14, tools/e2e/14-bgp-matrix.py).

* An IPFIX encoder of our own (struct only) and a sender that binds the
  exporter's loopback address, so the UDP source is the BGP router
  (127.0.0.2), its BGP identifier (127.0.0.4) or an address without a
  session (127.0.0.3).
* The flow set FLOWS: each flow is there for one rule of DESIGN §3.
* The oracle: `design_outcome()` maps one flow to the row values DESIGN §3
  gives, from the route set (tools/bgp/matrix_routes.py) and the flow alone;
  `pmacct_outcomes()` does the same the way nfacctd 1.7.7 does it (as read in
  pmacct's source; see its docstring), with the alternatives where nfacctd's
  choice depends on the order the paths arrived in.  `difference_reason()`
  says why the two differ for a flow, `rows()` sums flows into table rows.

Column names are pmacct's (sql_common.c); empty BGP fields are what pmacct's
sqlite3 plugin writes for them: 0, '' and '0.0.0.0' (also for IPv6 flows),
net_dst the address masked with /0.  Standard library only.
"""

import collections
import ipaddress
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bgp"))
import matrix_routes  # noqa: E402
import ribcheck       # noqa: E402

# ------------------------------------------------------------------ addresses
ROUTER_SESSION = matrix_routes.SESSION_ADDRESS    # gobgpd's session address: an exporter
ROUTER_ID = matrix_routes.ROUTER_ID              # gobgpd's BGP identifier: another exporter
NO_SESSION = "127.0.0.3"                         # an exporter without BGP session
EXPORTERS = (ROUTER_SESSION, ROUTER_ID, NO_SESSION)
# the router as DESIGN §3.1 and pmacct find it: session address or BGP identifier
ROUTERS = {ROUTER_SESSION: ROUTER_SESSION, ROUTER_ID: ROUTER_SESSION}

# ------------------------------------------------------------------ columns
# the traffic-matrix aggregate (nfacctd's first view), and pmacct's column names
MATRIX_PRIMITIVES = ("peer_src_ip", "in_iface", "peer_dst_ip", "peer_dst_as", "dst_as", "as_path",
                     "local_pref", "med", "std_comm")
# the other BGP primitives both collectors are asked for (nfacctd in a second table)
EXTRA_PRIMITIVES = ("ext_comm", "lrg_comm", "peer_src_as", "src_as", "dst_net", "dst_mask")
COLUMN_OF = {
    "peer_src_ip": "peer_ip_src", "in_iface": "iface_in", "peer_dst_ip": "peer_ip_dst",
    "peer_dst_as": "peer_as_dst", "dst_as": "as_dst", "as_path": "as_path", "local_pref": "local_pref",
    "med": "med", "std_comm": "comms", "ext_comm": "ecomms", "lrg_comm": "lcomms",
    "peer_src_as": "peer_as_src", "src_as": "as_src", "dst_net": "net_dst", "dst_mask": "mask_dst",
    "path_match": "path_match", "dst_host": "ip_dst",
}
MATRIX_COLUMNS = tuple(COLUMN_OF[p] for p in MATRIX_PRIMITIVES)
FULL_COLUMNS = MATRIX_COLUMNS + tuple(COLUMN_OF[p] for p in EXTRA_PRIMITIVES)
PATHFLOW_COLUMNS = FULL_COLUMNS + ("path_match",)
TEXT_COLUMNS = {"peer_ip_src", "peer_ip_dst", "as_path", "comms", "ecomms", "lcomms", "net_dst", "path_match", "ip_dst"}

# the values DESIGN §3.6 names
EXACT, COVERING, BEST, MISMATCH, NO_ROUTE, NO_PEER = "exact", "covering", "best", "mismatch", "no_route", "no_peer"

# why nfacctd's row for a flow is not the oracle's (docs in 14-bgp-matrix.py and the README)
DIFF_NO_NEXTHOP = "no BGP next hop in the flow"
DIFF_SHARED_NEXTHOP = "several paths with the flow's next hop"
DIFF_IE130 = "exporter address from IE 130"

# ------------------------------------------------------------------ the flow set
# exporter, template, source, destination, BGP next hop (None: the template
# has no next-hop IE; "0.0.0.0"/"::" sent as a zero next hop), ingress
# interface, packets, bytes, protocol, ports, exporterIPv4Address (IE 130)
Flow = collections.namedtuple("Flow", "name exporter template src dst nexthop iface packets bytes proto sport dport ie130")
# bgpSourceAsNumber / bgpDestinationAsNumber sent in every record; with
# nfacctd_as: bgp they must never show up in a table
FLOW_SRC_AS, FLOW_DST_AS = 64901, 64902
ROUNDS = 2          # the whole flow set is sent this many times (sequence numbers go on)


def _f(name, exporter, template, src, dst, nexthop, iface, n, proto=6, sport=40000, dport=443, ie130=None):
    # distinct counters per flow so that sums show which flows a row holds
    return Flow(name, exporter, template, src, dst, nexthop, iface, 3 + 7 * n, 1000 + 137 * n, proto,
                sport + n, dport, ie130)


S, RID, NS = ROUTER_SESSION, ROUTER_ID, NO_SESSION
FLOWS = [
    # ---- IPv4, next hop in the record (template v4), exporter = session address
    _f("exact-p2", S, "v4", "100.64.1.1", "192.0.2.10", "10.0.0.2", 10, 1),
    _f("exact-p2-same-row", S, "v4", "100.64.1.2", "192.0.2.20", "10.0.0.2", 10, 2, proto=17),
    _f("exact-p1-src-no-route", S, "v4", "172.16.0.1", "192.0.2.30", "10.0.0.1", 10, 3),
    _f("exact-p3-empty-aspath", S, "v4", "100.64.2.2", "192.0.2.40", "10.0.0.3", 10, 4),
    _f("exact-/24", S, "v4", "100.64.3.3", "198.18.5.9", "10.0.0.2", 10, 5),
    _f("covering-/16-nh4", S, "v4", "100.64.3.4", "198.18.5.10", "10.0.0.4", 10, 6),
    _f("covering-/16-nh1", S, "v4", "100.64.3.5", "198.18.5.11", "10.0.0.1", 10, 7),
    _f("exact-/16-nh1", S, "v4", "100.64.3.6", "198.18.9.1", "10.0.0.1", 10, 8),
    _f("mismatch-nested", S, "v4", "100.64.3.7", "198.18.5.12", "10.0.0.9", 10, 9),
    _f("mismatch", S, "v4", "100.64.3.8", "203.0.113.7", "10.0.0.1", 10, 10),
    _f("no-route", S, "v4", "100.64.3.9", "100.100.100.1", "10.0.0.1", 10, 11),
    _f("exact-long-aspath", S, "v4", "100.64.4.1", "198.19.1.5", "10.0.0.1", 10, 12),
    # ---- IPv6, next hop in the record (template v6)
    _f("v6-exact-p1", S, "v6", "2001:db8:5::1", "2001:db8:1::10", "2001:db8:ffff::1", 20, 20),
    _f("v6-exact-p2-src-no-route", S, "v6", "2001:db8:99::1", "2001:db8:1::11", "2001:db8:ffff::2", 20, 21),
    _f("v6-exact-/64", S, "v6", "2001:db8:5::2", "2001:db8:100:5::9", "2001:db8:ffff::2", 20, 22),
    _f("v6-covering-/40", S, "v6", "2001:db8:5::3", "2001:db8:100:5::a", "2001:db8:ffff::4", 20, 23),
    _f("v6-mismatch", S, "v6", "2001:db8:5::4", "2001:db8:100:5::b", "2001:db8:ffff::9", 20, 24),
    _f("v6-exact-/40", S, "v6", "2001:db8:5::5", "2001:db8:100:7::1", "2001:db8:ffff::1", 20, 25),
    _f("v6-no-route", S, "v6", "2001:db8:5::6", "2001:db8:dead::1", "2001:db8:ffff::1", 20, 26),
    _f("v6-exact-empty-aspath", S, "v6", "2001:db8:5::7", "2001:db8:100:5::c", "2001:db8:ffff::3", 20, 27),
    # ---- no BGP next hop: template without IE 18/63, or IE 18 = 0.0.0.0
    _f("best-/24-3paths", S, "v4-nonh", "100.64.5.1", "192.0.2.50", None, 30, 30),
    _f("best-nested-/24", S, "v4-nonh", "100.64.5.2", "198.18.5.20", None, 30, 31),
    _f("best-/16", S, "v4-nonh", "100.64.5.3", "198.18.9.9", None, 30, 32),
    _f("best-by-aspath-length-zero-nh", S, "v4", "100.64.5.4", "198.19.1.9", "0.0.0.0", 30, 33),
    _f("v6-best-/64", S, "v6-nonh", "2001:db8:5::8", "2001:db8:100:5::d", None, 30, 34),
    _f("v6-best-/40", S, "v6-nonh", "2001:db8:5::9", "2001:db8:100:9::1", None, 30, 35),
    _f("no-nh-no-route", S, "v4-nonh", "100.64.5.5", "100.100.100.2", None, 31, 36),
    # ---- several paths carry the flow's next hop (one flow per interface:
    # nfacctd's pick depends on the order the paths arrived in)
    _f("shared-nh-best-among", S, "v4", "100.64.6.1", "198.51.100.5", "10.0.0.1", 40, 40),
    _f("shared-nh-lowest-id", S, "v4", "100.64.6.2", "198.19.0.5", "10.0.0.1", 41, 41),
    # ---- exporter = the router's BGP identifier, not its session address
    _f("router-id-exact", RID, "v4", "100.64.7.1", "192.0.2.60", "10.0.0.1", 50, 50),
    _f("router-id-v6-exact", RID, "v6", "2001:db8:5::a", "2001:db8:1::20", "2001:db8:ffff::2", 50, 51),
    # ---- exporter without BGP session
    _f("no-peer", NS, "v4", "100.64.8.1", "192.0.2.70", "10.0.0.1", 60, 60),
    _f("no-peer-v6", NS, "v6", "2001:db8:5::b", "2001:db8:1::30", "2001:db8:ffff::1", 60, 61),
    # ---- exporter without session, the record names the router in IE 130
    _f("ie130-router", NS, "v4-ie130", "100.64.9.1", "192.0.2.80", "10.0.0.2", 70, 70, ie130=S),
]

# ------------------------------------------------------------------ IPFIX
IE_OCTETS, IE_PACKETS, IE_PROTO, IE_SPORT, IE_SRC4, IE_IN_IF, IE_DPORT, IE_DST4 = 1, 2, 4, 7, 8, 10, 11, 12
IE_SRC_AS, IE_DST_AS, IE_NH4, IE_SRC6, IE_DST6, IE_NH6, IE_EXPORTER4 = 16, 17, 18, 27, 28, 63, 130
IE_START_S, IE_END_S, IE_START_MS, IE_END_MS = 150, 151, 152, 153

_COMMON_TAIL = [(IE_IN_IF, 4), (IE_PACKETS, 8), (IE_OCTETS, 8), (IE_PROTO, 1), (IE_SPORT, 2), (IE_DPORT, 2),
                (IE_SRC_AS, 4), (IE_DST_AS, 4)]
TEMPLATES = {
    # name: (template id, [(IE, length)])
    "v4": (256, [(IE_SRC4, 4), (IE_DST4, 4), (IE_NH4, 4)] + _COMMON_TAIL + [(IE_START_MS, 8), (IE_END_MS, 8)]),
    "v6": (257, [(IE_SRC6, 16), (IE_DST6, 16), (IE_NH6, 16)] + _COMMON_TAIL + [(IE_START_S, 4), (IE_END_S, 4)]),
    "v4-nonh": (258, [(IE_SRC4, 4), (IE_DST4, 4)] + _COMMON_TAIL + [(IE_START_MS, 8), (IE_END_MS, 8)]),
    "v6-nonh": (259, [(IE_SRC6, 16), (IE_DST6, 16)] + _COMMON_TAIL + [(IE_START_S, 4), (IE_END_S, 4)]),
    "v4-ie130": (260, [(IE_SRC4, 4), (IE_DST4, 4), (IE_NH4, 4), (IE_EXPORTER4, 4)] + _COMMON_TAIL +
                 [(IE_START_MS, 8), (IE_END_MS, 8)]),
}
OBSERVATION_DOMAIN = 1


def _addr(text, length):
    raw = ipaddress.ip_address(text).packed
    if len(raw) != length:
        raise ValueError("%s is not %d bytes" % (text, length))
    return raw


def encode_record(flow, fields, now):
    out = b""
    for ie, ln in fields:
        if ie in (IE_SRC4, IE_SRC6):
            v = _addr(flow.src, ln)
        elif ie in (IE_DST4, IE_DST6):
            v = _addr(flow.dst, ln)
        elif ie in (IE_NH4, IE_NH6):
            v = _addr(flow.nexthop, ln)
        elif ie == IE_EXPORTER4:
            v = _addr(flow.ie130, ln)
        elif ie == IE_IN_IF:
            v = struct.pack("!I", flow.iface)
        elif ie == IE_PACKETS:
            v = struct.pack("!Q", flow.packets)
        elif ie == IE_OCTETS:
            v = struct.pack("!Q", flow.bytes)
        elif ie == IE_PROTO:
            v = struct.pack("!B", flow.proto)
        elif ie == IE_SPORT:
            v = struct.pack("!H", flow.sport)
        elif ie == IE_DPORT:
            v = struct.pack("!H", flow.dport)
        elif ie == IE_SRC_AS:
            v = struct.pack("!I", FLOW_SRC_AS)
        elif ie == IE_DST_AS:
            v = struct.pack("!I", FLOW_DST_AS)
        elif ie == IE_START_MS:
            v = struct.pack("!Q", int((now - 10) * 1000))
        elif ie == IE_END_MS:
            v = struct.pack("!Q", int((now - 1) * 1000))
        elif ie == IE_START_S:
            v = struct.pack("!I", int(now) - 10)
        elif ie == IE_END_S:
            v = struct.pack("!I", int(now) - 1)
        else:
            raise ValueError("no encoder for IE %d" % ie)
        if len(v) != ln:
            raise ValueError("IE %d: %d bytes, template says %d" % (ie, len(v), ln))
        out += v
    return out


def ipfix_message(template_name, flows, sequence, now):
    """One IPFIX message: the template set, then one data set with `flows`."""
    tid, fields = TEMPLATES[template_name]
    trec = struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", ie, ln) for ie, ln in fields)
    tset = struct.pack("!HH", 2, 4 + len(trec)) + trec
    records = b"".join(encode_record(f, fields, now) for f in flows)
    dset = struct.pack("!HH", tid, 4 + len(records)) + records
    body = tset + dset
    header = struct.pack("!HHIII", 10, 16 + len(body), int(now), sequence, OBSERVATION_DOMAIN)
    return header + body


def datagrams(flows=FLOWS, rounds=ROUNDS, now=None):
    """[(exporter address, datagram)]: per round, per exporter, one message per
    template (in a fixed order); sequence numbers count the data records sent
    before, per exporter (one observation domain each)."""
    now = time.time() if now is None else now
    seq = collections.Counter()
    out = []
    for _ in range(rounds):
        for exporter in EXPORTERS:
            for tname in TEMPLATES:
                fs = [f for f in flows if f.exporter == exporter and f.template == tname]
                if not fs:
                    continue
                out.append((exporter, ipfix_message(tname, fs, seq[exporter], now)))
                seq[exporter] += len(fs)
    return out


def send(dgrams, ports, gap=0.01):
    """Send each datagram from its exporter address (bound, ephemeral port) to
    127.0.0.1 at every port; one socket per exporter for the whole run."""
    socks = {}
    try:
        for exporter, d in dgrams:
            s = socks.get(exporter)
            if s is None:
                s = socks[exporter] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((exporter, 0))
            for port in ports:
                s.sendto(d, ("127.0.0.1", port))
            time.sleep(gap)
    finally:
        for s in socks.values():
            s.close()
    return len(dgrams)


# ------------------------------------------------------------------ the route set as the oracle reads it
class RoutePath(collections.namedtuple("RoutePath", "prefix pid nexthop segments origin local_pref med comms lcomms ecomms")):
    pass


ORIGIN_RANK = {"igp": 0, "egp": 1, "incomplete": 2}


def segments_of(path):
    """routes.py AS_PATH (list, nested list = AS_SET) as pmacct keeps it: AS_SET
    members sorted and unique, adjacent sequences merged (bgp_aspath.c
    assegment_normalise)."""
    segs = []
    for s in path:
        if isinstance(s, list):
            segs.append(("set", sorted(set(s))))
        elif segs and segs[-1][0] == "seq":
            segs[-1][1].append(s)
        else:
            segs.append(("seq", [s]))
    return segs


def aspath_text(segs):
    return " ".join(" ".join(str(a) for a in asns) if kind == "seq" else "{" + ",".join(str(a) for a in asns) + "}"
                    for kind, asns in segs)


def first_asn(segs):
    """peer_dst_as: the first ASN of the path (0 for an empty path; a path that
    starts with an AS_SET would give 0 in pmacct, none in this route set)."""
    if not segs:
        return 0
    if segs[0][0] != "seq":
        raise ValueError("route set error: AS_PATH starting with a set is not modelled")
    return segs[0][1][0]


def last_asn(segs):
    """dst_as / src_as: the last ASN of the last segment (a set's largest member)."""
    return segs[-1][1][-1] if segs else 0


def aspath_length(segs):
    """RFC 4271 9.1.2.2 a): a set counts as one."""
    return sum(len(a) if k == "seq" else 1 for k, a in segs)


def comms_text(tokens):
    return " ".join(ribcheck.canon_comms([ribcheck.community_value(t) for t in tokens]))


def lcomms_text(tokens):
    triples = sorted(set(tuple(int(x) for x in t.split(":")) for t in tokens))
    return " ".join("%d:%d:%d" % t for t in triples)


def ecomms_text(route_targets):
    """Route targets ASN:value as pmacct prints them: RT:ASN:value, sorted by
    their wire bytes (2-octet AS type first, then ASN, then value)."""
    out = []
    for rt in route_targets:
        asn, val = (int(x) for x in rt.split(":"))
        kind = 0 if asn < 65536 else 2      # gobgp encodes 4-octet ASNs with type 0x02
        out.append((kind, asn, val))
    return " ".join("RT:%d:%d" % (a, v) for _, a, v in sorted(set(out)))


def rib(rows=None):
    """{afi: [(network, [RoutePath])]} of the route set."""
    rows = matrix_routes.table(0) if rows is None else rows
    by_prefix = collections.OrderedDict()
    for prefix, pid, nh, path, origin, lp, med, comm, large, ext in rows:
        net = ipaddress.ip_network(prefix)
        by_prefix.setdefault(net, []).append(RoutePath(net, pid, ipaddress.ip_address(nh), segments_of(path),
                                                       origin, lp, med, comm, large, ext))
    out = {4: [], 6: []}
    for net, paths in by_prefix.items():
        out[net.version].append((net, paths))
    return out


def best_path(paths):
    """DESIGN §3.9 best path, as far as this route set needs it: LOCAL_PREF,
    AS_PATH length, ORIGIN.  The route set must not need the later steps."""
    def key(p):
        return (-p.local_pref, aspath_length(p.segments), ORIGIN_RANK[p.origin])
    ranked = sorted(paths, key=key)
    if len(ranked) > 1 and key(ranked[0]) == key(ranked[1]):
        raise ValueError("route set error: best path of %s needs more than LOCAL_PREF, AS_PATH length "
                         "and ORIGIN (paths %s)" % (ranked[0].prefix, [p.pid for p in ranked]))
    return ranked[0]


def covering(table, address):
    """Prefixes of `table` covering `address`, most specific first."""
    addr = ipaddress.ip_address(address)
    found = [(net, paths) for net, paths in table[addr.version] if addr in net]
    return sorted(found, key=lambda np: -np[0].prefixlen)


# DESIGN §3.2/§3.4 say "no next-hop in the flow" without saying what a zero
# IE 18/63 is.  The oracle reads 0.0.0.0 / :: as no next hop (routers export
# it for destinations without a BGP next hop), so such a flow gets the best
# path (path_match best), not an empty mismatch.  nfacctd matches nothing
# either way.
ZERO_NEXTHOP_IS_NONE = True


def flow_nexthop(flow):
    """The flow's BGP next hop as DESIGN §3.2 reads it (None: no next hop)."""
    if flow.nexthop is None:
        return None
    a = ipaddress.ip_address(flow.nexthop)
    return None if ZERO_NEXTHOP_IS_NONE and int(a) == 0 else a


# ------------------------------------------------------------------ one flow -> row values
def _empty_dst(flow):
    zero = "0.0.0.0" if ipaddress.ip_address(flow.dst).version == 4 else "::"
    return {"peer_ip_dst": "0.0.0.0", "peer_as_dst": 0, "as_dst": 0, "as_path": "", "local_pref": 0, "med": 0,
            "comms": "", "ecomms": "", "lcomms": "", "net_dst": zero, "mask_dst": 0}


def _dst_values(flow, net, p):
    return {"peer_ip_dst": str(p.nexthop), "peer_as_dst": first_asn(p.segments), "as_dst": last_asn(p.segments),
            "as_path": aspath_text(p.segments), "local_pref": p.local_pref, "med": p.med or 0,
            "comms": comms_text(p.comms), "ecomms": ecomms_text(p.ecomms), "lcomms": lcomms_text(p.lcomms),
            "net_dst": str(ipaddress.ip_network("%s/%d" % (flow.dst, net.prefixlen), strict=False).network_address),
            "mask_dst": net.prefixlen}


def _src_values(p):
    if p is None:
        return {"peer_as_src": 0, "as_src": 0}
    return {"peer_as_src": first_asn(p.segments), "as_src": last_asn(p.segments)}


def design_outcome(flow, table, routers=None):
    """DESIGN §3: {column: value} for the pathflow table (with path_match).
    `routers`: {exporter address: router} (ROUTERS by default); `table` is that
    router's route set."""
    # §3.1: the exporter address is IE 130 when present (also the peer_ip_src
    # column: the exporter, as pmacct writes it since 1.7.9)
    exporter = flow.ie130 or flow.exporter
    row = {"peer_ip_src": exporter, "iface_in": flow.iface}
    router = (ROUTERS if routers is None else routers).get(exporter)
    if router is None:
        row.update(_empty_dst(flow), **_src_values(None), path_match=NO_PEER)
        return row
    src = covering(table, flow.src)                              # §3.7: best path of the source LPM
    row.update(_src_values(best_path(src[0][1]) if src else None))
    dst = covering(table, flow.dst)
    nh = flow_nexthop(flow)
    if not dst:
        row.update(_empty_dst(flow), path_match=NO_ROUTE)
        return row
    if nh is None:                                               # §3.4
        net, paths = dst[0]
        row.update(_dst_values(flow, net, best_path(paths)), path_match=BEST)
        return row
    for i, (net, paths) in enumerate(dst):                       # §3.3, most specific first
        cands = [p for p in paths if p.nexthop == nh]
        if cands:
            best = best_path(paths)
            p = best if best in cands else min(cands, key=lambda c: c.pid)
            row.update(_dst_values(flow, net, p), path_match=EXACT if i == 0 else COVERING)
            return row
    row.update(_empty_dst(flow), path_match=MISMATCH)           # §3.5, default: fields empty
    return row


def pmacct_outcomes(flow, table, routers=None):
    """What nfacctd 1.7.7 writes (nfacctd_as: bgp, nfacctd_net: bgp,
    bgp_peer_src_as_type: bgp), as a list of alternatives ({column: value}
    without path_match); more than one where nfacctd takes whichever of
    several paths arrived first (bgp_table.c bgp_node_match keeps the last
    match in a list that bgp_info_add prepends to).
    Router: the UDP source address only (bgp_lookup.c: f_agent), matched to a
    session address or BGP identifier.  peer_ip_src: the socket address too
    (1.7.7's NF_peer_src_ip_handler takes an exporter address from options
    data, else the socket address, and IE 130 in a data record only when
    neither is known, i.e. never over UDP/IP; pmacct 1.7.9 prefers IE 130).
    Destination: most specific covering prefix with a path whose next hop is
    the flow's; a flow without next hop (or 0.0.0.0) matches nothing on an
    ADD-PATH session (bgp_lookup_node_match_cmp_bgp).  Source: any path of
    the most specific covering prefix (no next-hop test).  `routers` as for
    design_outcome."""
    row = {"peer_ip_src": flow.exporter, "iface_in": flow.iface}
    router = (ROUTERS if routers is None else routers).get(flow.exporter)
    if router is None:
        row.update(_empty_dst(flow), **_src_values(None))
        return [row]
    src = covering(table, flow.src)
    src_alts = [_src_values(p) for p in src[0][1]] if src else [_src_values(None)]
    dst_alts = [_empty_dst(flow)]
    if flow.nexthop is not None:
        nh = ipaddress.ip_address(flow.nexthop)
        for net, paths in covering(table, flow.dst):
            cands = [p for p in paths if p.nexthop == nh]
            if cands:
                dst_alts = [_dst_values(flow, net, p) for p in cands]
                break
    out = []
    for s in src_alts:
        for d in dst_alts:
            r = dict(row)
            r.update(s)
            r.update(d)
            if r not in out:
                out.append(r)
    return out


def difference_reason(flow, table):
    """Why the oracle's row for `flow` differs from nfacctd's (None: they agree)."""
    want = design_outcome(flow, table)
    want = {k: v for k, v in want.items() if k != "path_match"}
    alts = pmacct_outcomes(flow, table)
    if alts == [want]:
        return None
    if flow.ie130 and flow.ie130 != flow.exporter:
        return DIFF_IE130
    if flow_nexthop(flow) is None:
        return DIFF_NO_NEXTHOP
    if len(alts) > 1:
        return DIFF_SHARED_NEXTHOP
    return "(unexplained)"


# ------------------------------------------------------------------ rows
def rows(outcomes, columns, rounds=ROUNDS):
    """[(flow, {column: value})] -> {tuple of `columns` values: [packets, bytes]}."""
    out = collections.defaultdict(lambda: [0, 0])
    for flow, values in outcomes:
        k = tuple(values[c] for c in columns)
        out[k][0] += flow.packets * rounds
        out[k][1] += flow.bytes * rounds
    return dict(out)


def design_rows(columns=PATHFLOW_COLUMNS, flows=FLOWS, table=None):
    table = rib() if table is None else table
    return rows([(f, design_outcome(f, table)) for f in flows], columns)


def totals(flows=FLOWS, rounds=ROUNDS):
    return sum(f.packets for f in flows) * rounds, sum(f.bytes for f in flows) * rounds


# ------------------------------------------------------------------ tables
def create_table_sql(table, columns, with_flows=False):
    """A table with pmacct's column names and pmacct-like types, for nfacctd
    (which never creates its tables)."""
    types = {c: ("CHAR(255) NOT NULL DEFAULT ''" if c in TEXT_COLUMNS else "INT(8) NOT NULL DEFAULT 0")
             for c in columns}
    cols = ["%s %s" % (c, types[c]) for c in columns]
    cols += ["packets INT NOT NULL", "bytes BIGINT NOT NULL"]
    if with_flows:
        cols.append("flows INT NOT NULL DEFAULT 0")
    cols += ["stamp_inserted DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00'", "stamp_updated DATETIME",
             "PRIMARY KEY (%s, stamp_inserted)" % ", ".join(columns)]
    return "CREATE TABLE %s (\n    %s\n);\n" % (table, ",\n    ".join(cols))


def table_rows(conn, table, columns):
    """{tuple of `columns` values (as SQLite returns them): [SUM(packets), SUM(bytes)]}
    summed over time bins."""
    q = "SELECT %s, SUM(packets), SUM(bytes) FROM %s GROUP BY %s" % (
        ", ".join(columns), table, ", ".join(columns))
    return {tuple(r[:-2]): [r[-2], r[-1]] for r in conn.execute(q)}


def table_types(conn, table, columns):
    """{column: set of typeof() values}."""
    out = {}
    for c in columns:
        out[c] = {r[0] for r in conn.execute("SELECT DISTINCT typeof(%s) FROM %s" % (c, table))}
    return out


def project(table_rows_, columns, keep):
    """Rows keyed by `columns` summed onto the columns in `keep` (a subset, in its order)."""
    idx = [columns.index(c) for c in keep]
    out = collections.defaultdict(lambda: [0, 0])
    for k, v in table_rows_.items():
        kk = tuple(k[i] for i in idx)
        out[kk][0] += v[0]
        out[kk][1] += v[1]
    return dict(out)


def diff_tables(name_a, a, name_b, b, columns, show=6):
    """[] if equal, else a headline and one line per differing row.  Rows of
    the two sides with the same counters (each flow has its own, so equal
    sums mean the same flows) are shown as the columns that differ."""
    if a == b:
        return []
    only_a = sorted((k for k in a if b.get(k) != a[k]), key=repr)
    only_b = sorted((k for k in b if a.get(k) != b[k]), key=repr)
    by_sums_b = collections.defaultdict(list)
    for k in only_b:
        by_sums_b[tuple(b[k])].append(k)
    lines, paired = [], set()
    for k in only_a:
        cands = [kb for kb in by_sums_b.get(tuple(a[k]), []) if kb not in paired]
        if len(cands) == 1:
            kb = cands[0]
            paired.add(kb)
            cols = dict(zip(columns, k))
            what = ", ".join("%s %s %r, %s %r" % (c, name_a, va, name_b, vb)
                             for c, va, vb in zip(columns, k, kb) if va != vb)
            lines.append("row %s=%s %s=%s with packets/bytes %s: %s" % (
                columns[0], cols.get(columns[0]), "iface_in", cols.get("iface_in"), a[k], what))
        else:
            lines.append("only %s: %s -> %s" % (name_a, dict(zip(columns, k)), a[k]))
    for kb in only_b:
        if kb not in paired:
            lines.append("only %s: %s -> %s" % (name_b, dict(zip(columns, kb)), b[kb]))
    head = "%d/%d rows differ (%s %d rows, %s %d rows)" % (len(only_a), len(only_b), name_a, len(a), name_b, len(b))
    if len(lines) > show:
        lines = lines[:show] + ["... %d more" % (len(lines) - show)]
    return [head] + lines


def main():
    """Print the oracle's rows (TSV, pathflow's columns) and, on stderr, the
    flows where nfacctd's rows differ from them and why."""
    table = rib()
    print("\t".join(PATHFLOW_COLUMNS + ("packets", "bytes")))
    for k, v in sorted(design_rows(table=table).items(), key=repr):
        print("\t".join(str(x) for x in k + tuple(v)))
    for f in FLOWS:
        r = difference_reason(f, table)
        if r:
            print("nfacctd differs for %s: %s" % (f.name, r), file=sys.stderr)


if __name__ == "__main__":
    main()
