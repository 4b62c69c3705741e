#!/usr/bin/env python3
"""The route set of end-to-end case 14 (tools/e2e/14-bgp-matrix.py): the
paths a route reflector (gobgpd) sends with ADD-PATH to the collectors whose
flows are then mapped to paths (DESIGN §3).

Rows have the layout of tools/bgp/routes.py (prefix, path number = the
identifier given to gobgp = the ADD-PATH id it sends, next hop, AS_PATH with
a nested list for an AS_SET, origin, LOCAL_PREF, MED or None, communities,
large communities, route targets), so routes.py's gobgp CLI encoder and
speakerview.route_set_paths() read them.  Each group is there for one rule
of the mapping; the comment says which.  Every best path is decided by
LOCAL_PREF, AS_PATH length or ORIGIN (never by MED, router id or path id), so
the expected rows do not depend on the finer tie-breaks.

gobgpd's BGP identifier is ROUTER_ID (127.0.0.4), not its session address
(127.0.0.2): flows exported from 127.0.0.4 must find the router by its
identifier.  There are no changes after the initial table (STEPS is empty).

Usage: matrix_routes.py summary | gobgp-initial | gobgp-conf
Standard library only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import routes  # noqa: E402

ASN = routes.ASN
SESSION_ADDRESS = "127.0.0.2"
ROUTER_ID = "127.0.0.4"

PATHS = [
    # exact matches, three paths: best = 1 (LOCAL_PREF 200); path 2's AS_SET is
    # sent unsorted (pmacct prints sets sorted: "65020 {65021,65022}")
    ("192.0.2.0/24", 1, "10.0.0.1", [4200000001, 65010], "igp", 200, 10,
     ["65000:1", "65000:2"], ["4200000001:1:2"], ["65000:100"]),
    ("192.0.2.0/24", 2, "10.0.0.2", [65020, [65022, 65021]], "egp", 100, 20,
     ["65000:3"], [], []),
    ("192.0.2.0/24", 3, "10.0.0.3", [], "incomplete", 100, None,
     [], ["65000:0:1"], []),
    # nested prefixes: the /16 covers the /24; next hop 10.0.0.4 and 10.0.0.1
    # are only on the /16 (a covering match for a destination in the /24)
    ("198.18.0.0/16", 1, "10.0.0.1", [65030, 65031], "igp", 100, 30,
     ["65000:30"], [], []),
    ("198.18.0.0/16", 2, "10.0.0.4", [65040], "igp", 150, 0,
     ["65000:40", "65535:65281"], [], ["65000:400"]),
    ("198.18.5.0/24", 1, "10.0.0.2", [65050, 4200000005], "igp", 120, None,
     ["65000:50"], ["65000:5:1"], []),
    ("198.18.5.0/24", 2, "10.0.0.3", [65051, 65051, 65051], "egp", 110, 5,
     ["65000:51"], [], ["65000:500"]),
    # no path with the flows' next hop (10.0.0.1): mismatch
    ("203.0.113.0/24", 1, "10.0.0.5", [65060], "igp", 100, 1,
     ["65000:60"], [], []),
    ("203.0.113.0/24", 2, "10.0.0.6", [65061, 65062], "igp", 100, 2,
     [], [], []),
    # two paths with next hop 10.0.0.1, the best path (2, LOCAL_PREF 300) among them
    ("198.51.100.0/24", 1, "10.0.0.1", [65070, 65071], "igp", 100, 0,
     ["65000:70"], [], []),
    ("198.51.100.0/24", 2, "10.0.0.1", [65072], "igp", 300, 0,
     ["65000:72"], ["65000:7:2"], []),
    ("198.51.100.0/24", 3, "10.0.0.2", [65073], "igp", 50, 0,
     [], [], []),
    # two paths with next hop 10.0.0.1, the best path (3) not among them: lowest path id (1)
    ("198.19.0.0/24", 1, "10.0.0.1", [65080], "igp", 100, 8,
     ["65000:80"], [], []),
    ("198.19.0.0/24", 2, "10.0.0.1", [65081], "igp", 100, 9,
     ["65000:81"], [], []),
    ("198.19.0.0/24", 3, "10.0.0.2", [65082], "igp", 400, None,
     ["65000:82"], [], []),
    # best path by AS_PATH length (2 over 1), then ORIGIN (2 over 3)
    ("198.19.1.0/24", 1, "10.0.0.1", [65110, 65111, 65112], "igp", 100, 11,
     ["65000:110"], [], []),
    ("198.19.1.0/24", 2, "10.0.0.2", [65113], "igp", 100, 12,
     ["65000:113"], ["65000:11:3"], ["65000:1100"]),
    ("198.19.1.0/24", 3, "10.0.0.3", [65114], "egp", 100, 13,
     [], [], []),
    # sources (one path, so even pmacct's "first path of the router" is this one)
    ("100.64.0.0/16", 1, "10.0.0.7", [65100, 65101], "igp", 100, None,
     ["65000:100"], [], []),
    # IPv6: exact, best = 2 (LOCAL_PREF 120)
    ("2001:db8:1::/48", 1, "2001:db8:ffff::1", [4200000001], "igp", 100, 1,
     ["65000:60"], ["4200000001:6:1"], []),
    ("2001:db8:1::/48", 2, "2001:db8:ffff::2", [65060, 65061], "igp", 120, 2,
     ["65000:61"], [], ["65000:600"]),
    # IPv6 nested: the /40 covers the /64; ::4 and ::1 only on the /40
    ("2001:db8:100::/40", 1, "2001:db8:ffff::1", [65070], "egp", 100, None,
     ["65000:70"], [], []),
    ("2001:db8:100::/40", 2, "2001:db8:ffff::4", [65070, [4200000002, 65071]], "igp", 130, 7,
     [], ["65000:7:2"], []),
    ("2001:db8:100:5::/64", 1, "2001:db8:ffff::2", [65090], "igp", 100, 8,
     ["65000:90"], [], []),
    ("2001:db8:100:5::/64", 2, "2001:db8:ffff::3", [], "incomplete", 90, None,
     [], [], []),
    # IPv6 sources
    ("2001:db8:5::/48", 1, "2001:db8:ffff::7", [65105], "igp", 100, None,
     [], [], []),
]

STEPS = {}


def table(stage=0):
    if stage:
        raise ValueError("matrix_routes has no changes (stage %d)" % stage)
    return list(PATHS)


def counts(stage=0):
    rows = table(stage)
    v6 = sum(1 for r in rows if routes.is6(r[0]))
    return len(rows) - v6, v6


def gobgp_add(r):
    return routes.gobgp_add(r)


def gobgp_step(n):
    raise KeyError("matrix_routes has no change %d" % n)


def gobgp_config(local, neighbors, hold=90, keepalive=30, connect_retry=None, router_id=ROUTER_ID):
    """routes.py's gobgpd configuration with the BGP identifier `router_id` (ROUTER_ID)."""
    text = routes.gobgp_config(local, neighbors, hold=hold, keepalive=keepalive, connect_retry=connect_retry)
    old = 'router-id = "%s"' % local
    if text.count(old) != 1:
        raise ValueError("routes.gobgp_config: no single %r line" % old)
    return text.replace(old, 'router-id = "%s"' % router_id)


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "summary"
    if kind == "summary":
        print("prefix\tpath\tnext_hop\tas_path\torigin\tlocal_pref\tmed\tcommunities\tlarge\text_rt")
        for r in PATHS:
            print("\t".join([r[0], str(r[1]), r[2], routes.exa_aspath(r[3]), r[4], str(r[5]),
                             "" if r[6] is None else str(r[6]), " ".join(r[7]), " ".join(r[8]), " ".join(r[9])]))
    elif kind == "gobgp-initial":
        print("\n".join(gobgp_add(r) for r in PATHS))
    elif kind == "gobgp-conf":
        print(gobgp_config(SESSION_ADDRESS, [("127.0.0.1", 17179)]), end="")
    else:
        sys.exit("usage: matrix_routes.py summary | gobgp-initial | gobgp-conf")


if __name__ == "__main__":
    main()
