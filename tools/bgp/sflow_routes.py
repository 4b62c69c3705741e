#!/usr/bin/env python3
"""The route set of end-to-end case 33 (tools/e2e/33-sflow-bgp-vs-sfacctd.py): the paths
gobgpd reflects with ADD-PATH to pathflow and to sfacctd, whose sFlow flows (pmacctd's sfprobe
reading tools/e2e/lib_sflow.traffic()) are then mapped to them, and the networks file that
gives sfprobe the BGP next hop it puts in each sample's extended gateway record.

Rows have the layout of tools/bgp/routes.py (prefix, path number, next hop, AS_PATH with a
nested list for an AS_SET, origin, LOCAL_PREF, MED or None, communities, large communities,
route targets).  The prefixes cover the traffic's destinations (203.0.113-115.x, 198.51.100-102.x,
2001:db8:0-3:: and 2001:db8:8-f::) with nested prefixes and several paths each; 203.0.116.0/24,
198.51.103.0/24 and 2001:db8:4::/46 have no route.  Every best path is decided by LOCAL_PREF,
AS_PATH length or ORIGIN, and no prefix has two paths with one next hop (sfacctd's pick among
those depends on the order they arrived in).

gobgpd's BGP identifier is ROUTER_ID, not its session address: an sFlow agent with that address
finds the router without bgp_agent_map.

NETWORKS (pmacct's networks_file, `next hop,AS,prefix`, longest match) chooses the next hop per
destination so that, on this route set, every way of mapping a flow with a next hop occurs:
exact on the best path and on another, covering (only a less specific prefix has a path with
it), mismatch (no path has it), and no route.  Its prefixes and the origin AS 64999 are not the
route set's: sfprobe writes them into the extended router and gateway records, and with
`sfacctd_as: bgp`, `sfacctd_net: bgp` no collector may use them.  There is one IPv6 entry:
with several IPv6 entries within 2001:db8::/32, pmacct 1.7.7's networks file lookup gave every
address the same one, whatever its longest match.

Usage: sflow_routes.py summary | networks | gobgp-initial | gobgp-conf
Standard library only.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_routes  # noqa: E402
import matrix_routes   # noqa: E402
import routes          # noqa: E402

SESSION_ADDRESS = "127.0.0.2"
ROUTER_ID = "192.0.2.20"
NETWORKS_ASN = 64999


class SFlowRouteSet(cluster_routes.RouteSet):
    """The route set, with gobgpd's BGP identifier set apart from its session address."""

    def __init__(self, paths, router_id):
        super().__init__("gobgpd", SESSION_ADDRESS, paths)
        self.router_id = router_id

    def gobgp_config(self, local, neighbors, **timers):
        return matrix_routes.gobgp_config(local, neighbors, router_id=self.router_id, **timers)


ROUTESET = SFlowRouteSet([
    # three paths, best = 1 (LOCAL_PREF 200); nested in the /22
    ("203.0.113.0/24", 1, "10.0.1.1", [64510, 64511], "igp", 200, 10,
     ["65000:113", "65000:1"], ["65000:113:1"], []),
    ("203.0.113.0/24", 2, "10.0.1.2", [64520, 64521, 64522], "igp", 100, 20,
     ["65000:2"], [], ["65000:200"]),
    ("203.0.113.0/24", 3, "10.0.1.3", [64530], "egp", 100, None,
     [], [], []),
    # covers 203.0.112-115; best = 1 (LOCAL_PREF 150), no-export on it
    ("203.0.112.0/22", 1, "10.0.1.4", [64540], "igp", 150, 0,
     ["65000:40", "65535:65281"], [], []),
    ("203.0.112.0/22", 2, "10.0.1.5", [64550, 4200000055], "igp", 100, 5,
     ["65000:50"], [], ["65000:500"]),
    # one path in the /22's upper half of 203.0.114.0/24
    ("203.0.114.128/25", 1, "10.0.1.5", [64555], "igp", 100, None,
     ["65000:55"], [], []),
    # best = 2 by AS_PATH length
    ("203.0.115.0/24", 1, "10.0.1.2", [64560, 64561], "igp", 100, None,
     ["65000:60"], [], []),
    ("203.0.115.0/24", 2, "10.0.1.6", [64570], "igp", 100, 7,
     ["65000:70"], ["65000:7:1"], []),
    # best = 1 (LOCAL_PREF 120)
    ("198.51.100.0/23", 1, "10.0.1.1", [64580, 64581], "igp", 120, None,
     ["65000:80"], [], []),
    ("198.51.100.0/23", 2, "10.0.1.7", [64590], "igp", 100, 9,
     [], [], []),
    # one path, nested in the /23
    ("198.51.101.0/24", 1, "10.0.1.1", [64585], "igp", 100, None,
     ["65000:85"], [], []),
    # one path, ending in an AS_SET (sent unsorted)
    ("198.51.102.0/24", 1, "10.0.1.3", [64600, [64602, 64601]], "igp", 100, None,
     ["65000:100"], [], []),
    # IPv6: covers 2001:db8:8-f::; best = 3 (LOCAL_PREF 300), then 1 over 2 by ORIGIN
    ("2001:db8:8::/45", 1, "2001:db8:ffff::1", [64610], "igp", 100, 1,
     ["65000:610"], [], []),
    ("2001:db8:8::/45", 2, "2001:db8:ffff::2", [64620], "egp", 100, 2,
     [], [], []),
    ("2001:db8:8::/45", 3, "2001:db8:ffff::3", [64630, 64631], "igp", 300, None,
     ["65000:630"], ["65000:63:1"], []),
    # nested /48, best = 2 (LOCAL_PREF 110)
    ("2001:db8:a::/48", 1, "2001:db8:ffff::4", [64640, 4200000064], "igp", 100, None,
     [], ["4200000064:1:1"], []),
    ("2001:db8:a::/48", 2, "2001:db8:ffff::1", [64650], "igp", 110, 3,
     ["65000:650"], [], []),
    # nested /64, best = 1 (LOCAL_PREF 100 over 90), empty AS_PATH
    ("2001:db8:c:1::/64", 1, "2001:db8:ffff::5", [], "incomplete", 100, None,
     [], [], []),
    ("2001:db8:c:1::/64", 2, "2001:db8:ffff::2", [64660], "igp", 90, None,
     ["65000:660"], [], []),
    # one path, nested in the /45
    ("2001:db8:e::/48", 1, "2001:db8:ffff::3", [64635], "igp", 100, None,
     [], [], []),
    # the server side's destinations 2001:db8:1-3::
    ("2001:db8::/46", 1, "2001:db8:ffff::6", [64670], "igp", 100, None,
     ["65000:670"], [], []),
], router_id=ROUTER_ID)

# (prefix, next hop) of the networks file; the comment says what the next hop meets there
NETWORKS = [
    ("203.0.113.0/25", "10.0.1.1"),             # exact, best path
    ("203.0.113.128/26", "10.0.1.2"),           # exact, another path
    ("203.0.113.192/26", "10.0.1.4"),           # covering: only the /22 has it
    ("203.0.113.224/27", "10.0.1.9"),           # mismatch (nested in the /26 above)
    ("203.0.114.0/24", "10.0.1.5"),             # exact on the /22 (not its best path) and on the /25
    ("203.0.115.0/25", "10.0.1.6"),             # exact, best path
    ("203.0.115.128/25", "10.0.1.5"),           # covering, the /22's other path
    ("203.0.116.0/24", "10.0.1.1"),             # no route
    ("198.51.100.0/24", "10.0.1.7"),            # exact, another path
    ("198.51.101.0/24", "10.0.1.1"),            # exact, the /24's only path
    ("198.51.102.0/24", "10.0.1.3"),            # exact, the only path (AS_SET)
    ("198.51.103.0/25", "10.0.1.3"),            # no route (198.51.103.128/25: no entry, no route)
    # one IPv6 entry: 2001:db8:8-f:: exact on the /45 or 2001:db8:e::/48, covering under
    # 2001:db8:a::/48 and 2001:db8:c:1::/64; mismatch in 2001:db8::/46; no route in 2001:db8:4::/46
    ("2001:db8::/32", "2001:db8:ffff::3"),
]


def networks_file():
    """NETWORKS in pmacct's networks_file syntax."""
    return "".join("%s,%d,%s\n" % (nh, NETWORKS_ASN, prefix) for prefix, nh in NETWORKS)


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "summary"
    if kind == "summary":
        print("prefix\tpath\tnext_hop\tas_path\torigin\tlocal_pref\tmed\tcommunities\tlarge\text_rt")
        for r in ROUTESET.paths:
            print("\t".join([r[0], str(r[1]), r[2], routes.exa_aspath(r[3]), r[4], str(r[5]),
                             "" if r[6] is None else str(r[6]), " ".join(r[7]), " ".join(r[8]), " ".join(r[9])]))
    elif kind == "networks":
        print(networks_file(), end="")
    elif kind == "gobgp-initial":
        print("\n".join(ROUTESET.gobgp_add(r) for r in ROUTESET.paths))
    elif kind == "gobgp-conf":
        print(ROUTESET.gobgp_config(SESSION_ADDRESS, [("127.0.0.1", 17179)]), end="")
    else:
        sys.exit("usage: sflow_routes.py summary | networks | gobgp-initial | gobgp-conf")


if __name__ == "__main__":
    main()
