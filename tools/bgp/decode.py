#!/usr/bin/env python3
"""Decode a BGP fixture (one hex-encoded message per line) into JSON or TSV.

This is an independent, deliberately plain decoder meant as the oracle for
codec tests.  It reads FILE (as written by tools/bgp/listener.py: every
message the speaker sent, full 19-byte header included) and, to know what was
negotiated, the OPEN the listener sent (FILE with ".hex" replaced by
".open-sent.hex", or --open-sent).  ADD-PATH is taken as in use for a family
when the speaker's OPEN says send (2 or 3) and the listener's says receive
(1 or 3); 4-octet AS numbers when both OPENs carry capability 65.

Output (JSON, default): negotiated capabilities, message counts, every
message decoded (attributes in wire order, with their flag byte and length
form), a flat list of route events ("routes": announce / withdraw per
prefix and path id, with the attributes that apply) and the resulting
table ("final_rib": what a receiver holds after the last message).
--tsv prints the route events as a TSV table instead.
Standard library only.
"""

import argparse
import ipaddress
import json
import os
import struct
import sys

TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE_REFRESH"}
ATTRS = {1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MULTI_EXIT_DISC", 5: "LOCAL_PREF",
         6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES", 9: "ORIGINATOR_ID",
         10: "CLUSTER_LIST", 14: "MP_REACH_NLRI", 15: "MP_UNREACH_NLRI",
         16: "EXTENDED_COMMUNITIES", 17: "AS4_PATH", 18: "AS4_AGGREGATOR",
         32: "LARGE_COMMUNITY"}
CAPS = {1: "multiprotocol", 2: "route-refresh", 6: "extended-message", 64: "graceful-restart",
        65: "4-octet-as", 69: "add-path", 70: "enhanced-route-refresh",
        71: "long-lived-graceful-restart", 73: "fqdn", 5: "extended-next-hop",
        128: "route-refresh-old-cisco"}
ORIGINS = {0: "igp", 1: "egp", 2: "incomplete"}
SEGMENTS = {1: "AS_SET", 2: "AS_SEQUENCE", 3: "AS_CONFED_SEQUENCE", 4: "AS_CONFED_SET"}
FAMILIES = {(1, 1): "ipv4", (2, 1): "ipv6"}


def fam_name(afi, safi):
    return FAMILIES.get((afi, safi), "afi%d/safi%d" % (afi, safi))


# ------------------------------------------------------------------ OPEN
def decode_open(body):
    version, as2, hold, bid, optlen = struct.unpack("!BHH4sB", body[:10])
    out = {"version": version, "my_as": as2, "hold_time": hold,
           "bgp_id": str(ipaddress.IPv4Address(bid)), "capabilities": []}
    opt = body[10:10 + optlen]
    i = 0
    while i + 2 <= len(opt):
        ptype, plen = opt[i], opt[i + 1]
        pval = opt[i + 2:i + 2 + plen]
        i += 2 + plen
        if ptype != 2:
            out["capabilities"].append({"param_type": ptype, "raw": pval.hex()})
            continue
        j = 0
        while j + 2 <= len(pval):
            code, clen = pval[j], pval[j + 1]
            val = pval[j + 2:j + 2 + clen]
            j += 2 + clen
            out["capabilities"].append(decode_cap(code, val))
    return out


def decode_cap(code, val):
    c = {"code": code, "name": CAPS.get(code, "unknown"), "raw": val.hex()}
    if code == 1 and len(val) == 4:
        afi, _, safi = struct.unpack("!HBB", val)
        c["family"] = fam_name(afi, safi)
    elif code == 65 and len(val) == 4:
        c["asn"] = struct.unpack("!I", val)[0]
    elif code == 69:
        c["families"] = {}
        for k in range(0, len(val) - 3, 4):
            afi, safi, sr = struct.unpack("!HBB", val[k:k + 4])
            c["families"][fam_name(afi, safi)] = {1: "receive", 2: "send", 3: "send/receive"}.get(sr, sr)
    elif code == 64 and len(val) >= 2:
        flags_time = struct.unpack("!H", val[:2])[0]
        c["restart_flags"] = flags_time >> 12
        c["restart_time"] = flags_time & 0x0FFF
        c["families"] = {}
        for k in range(2, len(val) - 3, 4):
            afi, safi, fl = struct.unpack("!HBB", val[k:k + 4])
            c["families"][fam_name(afi, safi)] = fl
    elif code == 73 and len(val) >= 1:
        hl = val[0]
        c["hostname"] = val[1:1 + hl].decode("ascii", "replace")
        if len(val) > 1 + hl:
            dl = val[1 + hl]
            c["domainname"] = val[2 + hl:2 + hl + dl].decode("ascii", "replace")
    return c


def addpath_families(open_dec, want):
    """Families where this OPEN's ADD-PATH value includes `want` (1 rx, 2 tx)."""
    fams = set()
    for c in open_dec["capabilities"]:
        if c.get("code") == 69:
            for f, v in c["families"].items():
                num = {"receive": 1, "send": 2, "send/receive": 3}.get(v, v)
                if isinstance(num, int) and num & want:
                    fams.add(f)
    return fams


def has_cap(open_dec, code):
    return any(c.get("code") == code for c in open_dec["capabilities"])


# ------------------------------------------------------------------ UPDATE
def prefixes(data, v6, addpath):
    """Decode an NLRI / withdrawn-routes block into [(path_id|None, prefix)]."""
    out = []
    i = 0
    width = 16 if v6 else 4
    while i < len(data):
        pid = None
        if addpath:
            pid = struct.unpack("!I", data[i:i + 4])[0]
            i += 4
        plen = data[i]
        i += 1
        nbytes = (plen + 7) // 8
        raw = data[i:i + nbytes] + b"\x00" * (width - nbytes)
        i += nbytes
        addr = ipaddress.IPv6Address(raw) if v6 else ipaddress.IPv4Address(raw)
        out.append((pid, "%s/%d" % (addr, plen)))
    if i != len(data):
        raise ValueError("NLRI overrun")
    return out


def as_path_segments(val, asn4):
    segs = []
    i = 0
    w = 4 if asn4 else 2
    while i < len(val):
        st, cnt = val[i], val[i + 1]
        i += 2
        asns = [int.from_bytes(val[i + k * w:i + (k + 1) * w], "big") for k in range(cnt)]
        i += cnt * w
        segs.append({"type": SEGMENTS.get(st, st), "asns": asns})
    return segs


def as_path_text(segs):
    parts = []
    for s in segs:
        if s["type"] == "AS_SEQUENCE":
            parts.extend(str(a) for a in s["asns"])
        elif s["type"] == "AS_SET":
            parts.append("{" + ",".join(str(a) for a in s["asns"]) + "}")
        else:
            parts.append("%s(%s)" % (s["type"], ",".join(str(a) for a in s["asns"])))
    return " ".join(parts)


def ext_community(b):
    t, st = b[0], b[1]
    transitive = "" if not (t & 0x40) else "non-transitive:"
    base = t & 0x3F
    names = {2: "rt", 3: "soo"}
    if base == 0x00 and st in names:
        return "%s%s:%d:%d" % (transitive, names[st], int.from_bytes(b[2:4], "big"), int.from_bytes(b[4:8], "big"))
    if base == 0x02 and st in names:
        return "%s%s:%d:%d" % (transitive, names[st], int.from_bytes(b[2:6], "big"), int.from_bytes(b[6:8], "big"))
    if base == 0x01 and st in names:
        return "%s%s:%s:%d" % (transitive, names[st], ipaddress.IPv4Address(b[2:6]), int.from_bytes(b[6:8], "big"))
    return "raw:" + b.hex()


def decode_next_hops(nh):
    if len(nh) == 4:
        return [str(ipaddress.IPv4Address(nh))]
    if len(nh) == 16:
        return [str(ipaddress.IPv6Address(nh))]
    if len(nh) == 32:
        return [str(ipaddress.IPv6Address(nh[:16])), str(ipaddress.IPv6Address(nh[16:]))]
    return ["raw:" + nh.hex()]


def decode_update(body, asn4, addpath):
    wlen = struct.unpack("!H", body[:2])[0]
    withdrawn = body[2:2 + wlen]
    alen = struct.unpack("!H", body[2 + wlen:4 + wlen])[0]
    attrs = body[4 + wlen:4 + wlen + alen]
    nlri = body[4 + wlen + alen:]
    u = {"withdrawn": [], "attributes": [], "nlri": []}
    for pid, p in prefixes(withdrawn, False, "ipv4" in addpath):
        u["withdrawn"].append({"path_id": pid, "prefix": p})
    i = 0
    while i < len(attrs):
        flags, atype = attrs[i], attrs[i + 1]
        if flags & 0x10:
            vlen = struct.unpack("!H", attrs[i + 2:i + 4])[0]
            hdr = 4
        else:
            vlen = attrs[i + 2]
            hdr = 3
        val = attrs[i + hdr:i + hdr + vlen]
        i += hdr + vlen
        a = {"type": atype, "name": ATTRS.get(atype, "UNKNOWN"), "flags": "0x%02x" % flags,
             "extended_length": bool(flags & 0x10), "length": vlen}
        if atype == 1:
            a["value"] = ORIGINS.get(val[0], val[0])
        elif atype in (2, 17):
            a["segments"] = as_path_segments(val, asn4 or atype == 17)
            a["value"] = as_path_text(a["segments"])
        elif atype == 3:
            a["value"] = str(ipaddress.IPv4Address(val))
        elif atype in (4, 5):
            a["value"] = struct.unpack("!I", val)[0]
        elif atype == 6:
            a["value"] = True
        elif atype in (7, 18):
            w = 4 if (asn4 or atype == 18) else 2
            a["value"] = {"asn": int.from_bytes(val[:w], "big"),
                          "address": str(ipaddress.IPv4Address(val[w:w + 4]))}
        elif atype == 8:
            a["value"] = ["%d:%d" % struct.unpack("!HH", val[k:k + 4]) for k in range(0, len(val), 4)]
        elif atype == 9:
            a["value"] = str(ipaddress.IPv4Address(val))
        elif atype == 10:
            a["value"] = [str(ipaddress.IPv4Address(val[k:k + 4])) for k in range(0, len(val), 4)]
        elif atype == 16:
            a["value"] = [ext_community(val[k:k + 8]) for k in range(0, len(val), 8)]
        elif atype == 32:
            a["value"] = ["%d:%d:%d" % struct.unpack("!III", val[k:k + 12]) for k in range(0, len(val), 12)]
        elif atype == 14:
            afi, safi, nhlen = struct.unpack("!HBB", val[:4])
            nh = val[4:4 + nhlen]
            reserved = val[4 + nhlen]
            fam = fam_name(afi, safi)
            a["value"] = {"family": fam, "next_hop_length": nhlen, "next_hops": decode_next_hops(nh),
                          "reserved": reserved,
                          "nlri": [{"path_id": pid, "prefix": p} for pid, p in
                                   prefixes(val[5 + nhlen:], afi == 2, fam in addpath)]}
        elif atype == 15:
            afi, safi = struct.unpack("!HB", val[:3])
            fam = fam_name(afi, safi)
            a["value"] = {"family": fam,
                          "withdrawn": [{"path_id": pid, "prefix": p} for pid, p in
                                        prefixes(val[3:], afi == 2, fam in addpath)]}
        else:
            a["value"] = val.hex()
        u["attributes"].append(a)
    if i != len(attrs):
        raise ValueError("attribute overrun")
    for pid, p in prefixes(nlri, False, "ipv4" in addpath):
        u["nlri"].append({"path_id": pid, "prefix": p})
    # End-of-RIB forms (RFC 4724)
    u["end_of_rib"] = None
    if wlen == 0 and alen == 0 and not nlri:
        u["end_of_rib"] = "ipv4"
    elif (wlen == 0 and not nlri and len(u["attributes"]) == 1 and u["attributes"][0]["type"] == 15
          and not u["attributes"][0]["value"]["withdrawn"]):
        u["end_of_rib"] = u["attributes"][0]["value"]["family"]
    return u


def route_events(n, u):
    """Flatten one decoded UPDATE into announce / withdraw events."""
    by = {a["type"]: a for a in u["attributes"]}
    common = {
        "origin": by[1]["value"] if 1 in by else None,
        "as_path": by[2]["value"] if 2 in by else None,
        "local_pref": by[5]["value"] if 5 in by else None,
        "med": by[4]["value"] if 4 in by else None,
        "communities": by[8]["value"] if 8 in by else [],
        "large_communities": by[32]["value"] if 32 in by else [],
        "ext_communities": by[16]["value"] if 16 in by else [],
        "originator_id": by[9]["value"] if 9 in by else None,
        "cluster_list": by[10]["value"] if 10 in by else [],
        "atomic_aggregate": 6 in by,
    }
    ev = []
    for w in u["withdrawn"]:
        ev.append({"msg": n, "action": "withdraw", "family": "ipv4", "path_id": w["path_id"],
                   "prefix": w["prefix"]})
    if 15 in by:
        mu = by[15]["value"]
        for w in mu["withdrawn"]:
            ev.append({"msg": n, "action": "withdraw", "family": mu["family"],
                       "path_id": w["path_id"], "prefix": w["prefix"]})
    for r in u["nlri"]:
        e = {"msg": n, "action": "announce", "family": "ipv4", "path_id": r["path_id"],
             "prefix": r["prefix"], "next_hop": by[3]["value"] if 3 in by else None,
             "next_hop_link_local": None}
        e.update(common)
        ev.append(e)
    if 14 in by:
        mr = by[14]["value"]
        for r in mr["nlri"]:
            nhs = mr["next_hops"]
            e = {"msg": n, "action": "announce", "family": mr["family"], "path_id": r["path_id"],
                 "prefix": r["prefix"], "next_hop": nhs[0],
                 "next_hop_link_local": nhs[1] if len(nhs) > 1 else None}
            e.update(common)
            ev.append(e)
    return ev


def decode_file(path, open_sent_path=None):
    lines = [l.strip() for l in open(path) if l.strip()]
    msgs = [bytes.fromhex(l) for l in lines]
    if open_sent_path is None:
        cand = path[:-4] + ".open-sent.hex" if path.endswith(".hex") else None
        open_sent_path = cand if cand and os.path.exists(cand) else None
    ours = None
    if open_sent_path:
        ours = decode_open(bytes.fromhex(open(open_sent_path).read().split()[0])[19:])
    theirs = None
    for m in msgs:
        if m[18] == 1:
            theirs = decode_open(m[19:])
            break
    asn4 = bool(theirs and has_cap(theirs, 65) and (ours is None or has_cap(ours, 65)))
    addpath = set()
    if theirs:
        addpath = addpath_families(theirs, 2)
        if ours is not None:
            addpath &= addpath_families(ours, 1)
    result = {
        "file": os.path.basename(path),
        "negotiated": {"four_octet_as": asn4, "add_path_receive": sorted(addpath),
                       "speaker_open": theirs, "listener_open": ours},
        "counts": {},
        "messages": [],
        "routes": [],
    }
    for n, m in enumerate(msgs, 1):
        if m[:16] != b"\xff" * 16:
            raise ValueError("line %d: bad marker" % n)
        length, mtype = struct.unpack("!HB", m[16:19])
        if length != len(m):
            raise ValueError("line %d: length %d but %d bytes" % (n, length, len(m)))
        name = TYPES.get(mtype, "TYPE%d" % mtype)
        result["counts"][name] = result["counts"].get(name, 0) + 1
        d = {"n": n, "type": name, "length": length}
        body = m[19:]
        if mtype == 1:
            d["open"] = decode_open(body)
        elif mtype == 2:
            d["update"] = decode_update(body, asn4, addpath)
            result["routes"].extend(route_events(n, d["update"]))
            if d["update"]["end_of_rib"]:
                result["counts"]["END_OF_RIB"] = result["counts"].get("END_OF_RIB", 0) + 1
        elif mtype == 3:
            d["notification"] = {"code": body[0], "subcode": body[1], "data": body[2:].hex()}
        elif mtype == 5:
            afi, _, safi = struct.unpack("!HBB", body[:4])
            d["route_refresh"] = {"family": fam_name(afi, safi), "subtype": body[2]}
        result["messages"].append(d)
    rib = {}
    for e in result["routes"]:
        key = (e["family"], e["prefix"], e["path_id"])
        if e["action"] == "announce":
            rib[key] = e
        else:
            rib.pop(key, None)

    def sort_key(k):
        fam, prefix, pid = k
        net = ipaddress.ip_network(prefix)
        return (fam, net.version, int(net.network_address), net.prefixlen, pid or 0)
    result["final_rib"] = [
        {k: v for k, v in rib[key].items() if k not in ("action",)} for key in sorted(rib, key=sort_key)]
    return result


TSV_COLS = ["msg", "action", "family", "path_id", "prefix", "next_hop", "next_hop_link_local",
            "origin", "as_path", "local_pref", "med", "communities", "large_communities",
            "ext_communities", "originator_id", "cluster_list"]


def tsv(rows):
    out = ["\t".join(TSV_COLS)]
    for e in rows:
        vals = []
        for c in TSV_COLS:
            v = e.get(c)
            if v is None:
                v = ""
            elif isinstance(v, list):
                v = " ".join(str(x) for x in v)
            vals.append(str(v))
        out.append("\t".join(vals))
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file")
    p.add_argument("--open-sent", help="the OPEN the listener sent (default: FILE's .open-sent.hex)")
    p.add_argument("--tsv", action="store_true", help="route events as TSV")
    p.add_argument("--rib", action="store_true", help="with --tsv: the final table instead")
    a = p.parse_args()
    r = decode_file(a.file, a.open_sent)
    if a.tsv:
        sys.stdout.write(tsv(r["final_rib"] if a.rib else r["routes"]))
    else:
        json.dump(r, sys.stdout, indent=1, sort_keys=False)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
