#!/usr/bin/env python3
"""The two route sets of end-to-end case 31 (tools/e2e/31-clickhouse-cluster-bgp.py):
router A (gobgpd, 127.0.0.2) and router B (bird2, 127.0.0.3), each reflecting its
paths with ADD-PATH to its own collector and to the reference collector.

Rows have the layout of tools/bgp/routes.py (prefix, path number, next hop,
AS_PATH with a nested list for an AS_SET, origin, LOCAL_PREF, MED or None,
communities, large communities, route targets).  The two routers share no
next hop, no AS and no community; both carry 192.0.2.0/24 with paths of their
own, and each carries a prefix the other's flows go to without a route there,
so a flow mapped to the other router's table cannot pass unseen.  Every best
path is decided by LOCAL_PREF, AS_PATH length or ORIGIN.  Router B's paths
have no AS_SET (BIRD's filters cannot build one) and path numbers 1-3 (one
static protocol each, routes.bird_config).

Each route set also names its flowgen stream: destinations from
`flow_prefixes` (--dst-prefixes), next hops from `first_next_hop` up
(--next-hop-base, --next-hops); sources are flowgen's 10.0.x.x, inside each
router's 10.0.0.0/16.  flowgen gives key k the (7919 k mod P)-th prefix and
the (k mod N)-th next hop: with P and N coprime every pair occurs.

Usage: cluster_routes.py summary | gobgp-initial | bird-conf
Standard library only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import routes  # noqa: E402

ASN = routes.ASN


class RouteSet:
    """One router's paths, with the functions lib_bgp's speakers read from a route-set module."""

    STEPS = {}      # no changes after the initial table

    def __init__(self, name, address, paths, flow_prefixes=(), first_next_hop=None, next_hops=0):
        self.name = name
        self.address = address
        self.paths = list(paths)
        self.flow_prefixes = list(flow_prefixes)
        self.first_next_hop = first_next_hop
        self.next_hops = next_hops

    def table(self, stage=0):
        if stage:
            raise ValueError("%s has no changes (stage %d)" % (self.name, stage))
        return list(self.paths)

    def counts(self, stage=0):
        rows = self.table(stage)
        v6 = sum(1 for r in rows if routes.is6(r[0]))
        return len(rows) - v6, v6

    def gobgp_add(self, r):
        return routes.gobgp_add(r)

    def gobgp_step(self, n):
        raise KeyError("%s has no change %d" % (self.name, n))

    def gobgp_config(self, local, neighbors, **timers):
        return routes.gobgp_config(local, neighbors, **timers)

    def bird_config(self, stage, local, neighbors, **options):
        return routes.bird_config(stage, local, neighbors, rows=self.table(stage), **options)


# gobgpd: next hops 10.1.0.1-4 in the flows, ASNs 651xx; 203.0.113.0/24 (router B's) has no route here
ROUTER_A = RouteSet("router A", "127.0.0.2", [
    # every next hop of the flows has a path: exact matches only; path 3 ends in an AS_SET
    ("192.0.2.0/24", 1, "10.1.0.1", [65101, 65102], "igp", 200, 10,
     ["65000:101", "65000:102"], ["65000:1:1"], ["65000:100"]),
    ("192.0.2.0/24", 2, "10.1.0.2", [65103], "igp", 100, 20,
     ["65000:103"], [], []),
    ("192.0.2.0/24", 3, "10.1.0.3", [65104, [65106, 65105]], "egp", 100, None,
     [], [], []),
    ("192.0.2.0/24", 4, "10.1.0.4", [], "incomplete", 90, None,
     ["65535:65281"], [], []),
    # two of the four next hops: flows to the others are mismatches (empty BGP fields)
    ("198.51.100.0/24", 1, "10.1.0.1", [65110], "igp", 100, 0,
     ["65000:110"], [], []),
    ("198.51.100.0/24", 2, "10.1.0.2", [65111, 4200000111], "igp", 150, 5,
     ["65000:111"], ["4200000111:1:1"], []),
    # nested: flows to 198.18.7.0/24 with next hop 10.1.0.3 match the /16 (covering), 10.1.0.4 nothing;
    # flows to 198.18.9.0/24 find only the /16
    ("198.18.0.0/16", 1, "10.1.0.3", [65120, 65121], "igp", 100, 30,
     ["65000:120"], [], ["65000:120"]),
    ("198.18.7.0/24", 1, "10.1.0.1", [65122], "igp", 120, None,
     ["65000:122"], [], []),
    ("198.18.7.0/24", 2, "10.1.0.2", [65123, 65124, 65124], "igp", 110, 1,
     [], [], []),
    # the flows' sources
    ("10.0.0.0/16", 1, "10.1.0.9", [65190, 65191], "igp", 100, None,
     [], [], []),
    # IPv6 (no flows): the session carries both families
    ("2001:db8:a::/48", 1, "2001:db8:ffff::a1", [65130], "igp", 100, None,
     ["65000:130"], [], []),
], flow_prefixes=["192.0.2.0/24", "198.51.100.0/24", "198.18.7.0/24", "198.18.9.0/24", "203.0.113.0/24"],
    first_next_hop="10.1.0.1", next_hops=4)

# bird2: next hops 10.2.0.1-4 in the flows (10.2.0.4 on no path), ASNs 652xx and one 4-octet ASN;
# 198.51.100.0/24 (router A's) has no route here
ROUTER_B = RouteSet("router B", "127.0.0.3", [
    # three next hops, three paths; best = 2 (LOCAL_PREF 130), no-export on it
    ("203.0.113.0/24", 1, "10.2.0.1", [65201, 65202], "igp", 100, 40,
     ["65000:201"], ["65000:2:1"], []),
    ("203.0.113.0/24", 2, "10.2.0.2", [65203], "egp", 130, None,
     ["65000:203", "65535:65281"], [], ["65000:200"]),
    ("203.0.113.0/24", 3, "10.2.0.3", [4200000204, 65205], "igp", 100, 2,
     [], [], []),
    # router A's prefix with other paths; none with 10.2.0.2 (mismatch)
    ("192.0.2.0/24", 1, "10.2.0.1", [65210], "igp", 100, None,
     ["65000:210"], [], []),
    ("192.0.2.0/24", 2, "10.2.0.3", [65211, 65212], "igp", 100, 7,
     [], ["65000:2:11"], []),
    ("10.0.0.0/16", 1, "10.2.0.9", [65290], "igp", 100, None,
     [], [], []),
    ("2001:db8:b::/48", 1, "2001:db8:ffff::b1", [65230], "igp", 100, None,
     [], [], []),
], flow_prefixes=["203.0.113.0/24", "192.0.2.0/24", "198.51.100.0/24"],
    first_next_hop="10.2.0.1", next_hops=4)

ROUTERS = (ROUTER_A, ROUTER_B)


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "summary"
    if kind == "summary":
        print("router\tprefix\tpath\tnext_hop\tas_path\torigin\tlocal_pref\tmed\tcommunities\tlarge\text_rt")
        for rs in ROUTERS:
            for r in rs.paths:
                print("\t".join([rs.address, r[0], str(r[1]), r[2], routes.exa_aspath(r[3]), r[4], str(r[5]),
                                 "" if r[6] is None else str(r[6]), " ".join(r[7]), " ".join(r[8]), " ".join(r[9])]))
    elif kind == "gobgp-initial":
        print("\n".join(ROUTER_A.gobgp_add(r) for r in ROUTER_A.paths))
    elif kind == "bird-conf":
        print(ROUTER_B.bird_config(0, ROUTER_B.address, [("collector", "127.0.0.1", 17179)]), end="")
    else:
        sys.exit("usage: cluster_routes.py summary | gobgp-initial | bird-conf")


if __name__ == "__main__":
    main()
