#!/usr/bin/env python3
"""A speaker's own view of what it advertised to one neighbour, as
ribcheck.Path tuples (the same canonical form a pmacct dump is read into).

  gobgp_paths(peer, adj_out_json, adj_out_text)
      `gobgp -j neighbor N adj-out -a ipv4|ipv6` (a JSON object: prefix ->
      list of paths) and, optionally, the same command without -j, whose ID
      column gives the ADD-PATH id GoBGP sends (the JSON form has none).
  bird_paths(peer, text)
      `birdc show route all export PROTOCOL`: BIRD prints the routes it
      exports with their attributes; path ids are BIRD's and not shown.
  route_set_paths(peer, rows, flatten_sets)
      tools/bgp/routes.py rows as the speaker was asked to send them (BIRD
      cannot build an AS_SET: flatten_sets=True).

`peer` is the speaker's session address: the peer_ip_src a collector
records.  Standard library only.
"""

import ipaddress
import json
import re

import ribcheck

ORIGIN_CODES = {0: "i", 1: "e", 2: "u"}
BIRD_ORIGINS = {"IGP": "i", "EGP": "e", "Incomplete": "u"}
GOBGP_SEGMENTS = {1: "set", 2: "seq", 3: "confed_seq", 4: "confed_set"}
# extended community subtypes pmacct names (RFC 4360 section 4): route target, route origin
EXT_SUBTYPES = {2: "RT", 3: "SoO"}
BIRD_EXT = {"rt": "RT", "ro": "SoO"}


def afi_of(prefix):
    return 2 if ":" in prefix else 1


def _path(peer, prefix, path_id, next_hop, segments, comms, ecomms, lcomms, origin, local_pref, med):
    return ribcheck.Path(
        peer=peer, afi=afi_of(prefix), safi=1, prefix=ribcheck.canon_prefix(prefix), path_id=path_id,
        next_hop=ribcheck.canon_address(next_hop), as_path=ribcheck.as_path_text(segments),
        comms=ribcheck.canon_comms(comms), ecomms=ribcheck.canon_ecomms(ecomms),
        lcomms=ribcheck.canon_lcomms(lcomms), origin=origin, local_pref=local_pref, med=med)


# ------------------------------------------------------------------ gobgp
def gobgp_ids(text):
    """{(prefix, next hop): [ids]} from the text table of `gobgp neighbor N adj-out`."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+([0-9a-fA-F:.]+/\d+)\s+([0-9a-fA-F:.]+)\s", line)
        if m:
            key = (ribcheck.canon_prefix(m.group(2)), ribcheck.canon_address(m.group(3)))
            out.setdefault(key, []).append(int(m.group(1)))
    return out


def gobgp_ext(e):
    name = EXT_SUBTYPES.get(e.get("subtype")) if e.get("type") in (0, 1, 2) else None
    return "%s:%s" % (name, e.get("value")) if name else "?"


def gobgp_paths(peer, adj_out_json, adj_out_text=""):
    data = json.loads(adj_out_json) if isinstance(adj_out_json, str) else adj_out_json
    ids = gobgp_ids(adj_out_text) if adj_out_text else {}
    out = []
    for prefix, paths in sorted(data.items()):
        for p in paths:
            nh, segs, comms, ecomms, lcomms = None, [], [], [], []
            origin, lp, med = None, None, None
            for a in p.get("attrs", []):
                t = a.get("type")
                if t == 1:
                    origin = ORIGIN_CODES.get(a.get("value"), "")
                elif t == 2:
                    segs = [(GOBGP_SEGMENTS[s["segment_type"]], list(s.get("asns", [])))
                            for s in a.get("as_paths", [])]
                elif t == 3:
                    nh = a.get("nexthop")
                elif t == 4:
                    med = a.get("metric", 0)
                elif t == 5:
                    lp = a.get("value")
                elif t == 8:
                    comms = a.get("communities", [])
                elif t == 14:
                    nh = a.get("nexthop")
                elif t == 16:
                    ecomms = [gobgp_ext(e) for e in a.get("value", [])]
                elif t == 32:
                    lcomms = [(v["ASN"], v["LocalData1"], v["LocalData2"]) for v in a.get("value", [])]
            if nh is None:
                raise ValueError("gobgp path of %s without a next hop: %r" % (prefix, p))
            candidates = ids.get((ribcheck.canon_prefix(prefix), ribcheck.canon_address(nh)), [])
            # the id is known only when the (prefix, next hop) pair is unique in the view
            pid = candidates[0] if len(candidates) == 1 else None
            out.append(_path(peer, prefix, pid, nh, segs, comms, ecomms, lcomms, origin, lp, med))
    return out


# ------------------------------------------------------------------ bird
def bird_as_path(text):
    """BIRD prints an AS_SET as {a b}; sequences as plain numbers."""
    segs = []
    for m in re.finditer(r"\{([^}]*)\}|(\d+)", text):
        if m.group(1) is not None:
            segs.append(("set", [int(x) for x in m.group(1).replace(",", " ").split()]))
        elif segs and segs[-1][0] == "seq":
            segs[-1][1].append(int(m.group(2)))
        else:
            segs.append(("seq", [int(m.group(2))]))
    return segs


def bird_paths(peer, text):
    out = []
    cur = None

    def flush():
        if cur and cur.get("next_hop"):
            out.append(_path(peer, cur["prefix"], None, cur["next_hop"], cur.get("as_path", []),
                             cur.get("comms", []), cur.get("ecomms", []), cur.get("lcomms", []),
                             cur.get("origin"), cur.get("local_pref"), cur.get("med")))
    prefix = None
    for line in text.splitlines():
        if line.startswith("Table ") or line.startswith("BIRD ") or not line.strip():
            continue
        if not line[0].isspace():
            first = line.split()[0]
            try:
                ipaddress.ip_network(first, strict=False)
            except ValueError:
                continue
            flush()
            prefix = first
            cur = {"prefix": prefix}
            continue
        if line.startswith(" ") and prefix and re.match(r"^\s+\S+.*\[", line):
            flush()     # another route for the same prefix
            cur = {"prefix": prefix}
            continue
        m = re.match(r"^\s+BGP\.(\w+):\s*(.*)$", line)
        if not m or cur is None:
            continue
        key, val = m.group(1), m.group(2).strip()
        if key == "origin":
            cur["origin"] = BIRD_ORIGINS.get(val, val)
        elif key == "as_path":
            cur["as_path"] = bird_as_path(val)
        elif key == "next_hop":
            cur["next_hop"] = val.split()[0]     # global address first, link-local after it
        elif key == "med":
            cur["med"] = int(val)
        elif key == "local_pref":
            cur["local_pref"] = int(val)
        elif key == "community":
            cur["comms"] = [(int(a) << 16) | int(b) for a, b in re.findall(r"\((\d+),\s*(\d+)\)", val)]
        elif key == "large_community":
            cur["lcomms"] = [tuple(int(x) for x in t) for t in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", val)]
        elif key == "ext_community":
            cur["ecomms"] = ["%s:%s:%s" % (BIRD_EXT[k], a, b) if k in BIRD_EXT else "?"
                             for k, a, b in re.findall(r"\((\w+),\s*([^,\s]+),\s*([^)\s]+)\)", val)]
    flush()
    return out


# ------------------------------------------------------------------ the route set itself
def route_set_paths(peer, rows, flatten_sets=False, with_ids=False):
    out = []
    for prefix, pid, nh, path, origin, lp, med, comm, large, ext in rows:
        segs = []
        for s in path:
            if isinstance(s, list) and not flatten_sets:
                segs.append(("set", list(s)))
            else:
                for a in (s if isinstance(s, list) else [s]):
                    if segs and segs[-1][0] == "seq":
                        segs[-1][1].append(a)
                    else:
                        segs.append(("seq", [a]))
        out.append(_path(peer, prefix, pid if with_ids else None, nh, segs,
                         [ribcheck.community_value(c) for c in comm], ["RT:" + e for e in ext],
                         [tuple(int(x) for x in l.split(":")) for l in large],
                         {"igp": "i", "egp": "e", "incomplete": "u"}[origin], lp, med))
    return out
