#!/usr/bin/env python3
"""The hand-written route set behind fixtures/bgp/, in each speaker's language.

One table (PATHS) holds every path: prefix, path number (1..3, the
"path-information" exabgp sends and the "identifier" given to gobgp; other
speakers choose their own ADD-PATH ids), next hop, AS_PATH (a list; a nested
list is an AS_SET), origin, LOCAL_PREF, MED, communities, large communities,
extended communities (route targets).  STEPS are the changes made after the
initial table has been sent: one implicit replace (same prefix and path,
new attributes), two withdrawals and one added path.  capture.sh makes
changes 1-3; the end-to-end cases (tools/e2e/lib_bgp.py) all four.

Usage: routes.py KIND [options]; KIND is one of
  gobgp-conf     gobgpd TOML (neighbor admin-down until routes are in)
  gobgp-initial  gobgp CLI arguments, one "global rib add" per line
  gobgp-step N   gobgp CLI arguments for change N (1..4)
  bird-conf      bird2 configuration; --stage N applies changes 1..N
  exabgp-conf    exabgp configuration (static routes; API process for changes)
  exabgp-step N  exabgp API commands for change N
  frr-conf       bgpd configuration (routes come from an exabgp feeder)
  summary        the route set as TSV
Standard library only.
"""

import argparse
import sys

ASN = 65000

# prefix, path number, next hop, as_path, origin, local_pref, med, communities,
# large communities, extended communities (route target ASN:value)
PATHS = [
    ("192.0.2.0/24", 1, "10.0.0.1", [4200000001, 65010], "igp", 200, 10,
     ["65000:1", "65000:2"], ["4200000001:1:2"], ["65000:100"]),
    ("192.0.2.0/24", 2, "10.0.0.2", [65020, [65021, 65022]], "egp", 100, 20,
     ["65000:3"], [], []),
    ("192.0.2.0/24", 3, "10.0.0.3", [], "incomplete", 100, None,
     [], ["65000:0:1"], []),
    ("198.51.100.0/24", 1, "10.0.0.1", [65010, 65011], "igp", 100, 0,
     ["65000:10", "65535:65281"], [], []),
    ("198.51.100.0/24", 2, "10.0.0.2", [4200000001], "igp", 300, 5,
     [], ["4200000001:100:200", "4200000001:100:201"], ["65000:200"]),
    ("203.0.113.0/25", 1, "10.0.0.1", [65040], "igp", 100, 50,
     ["65000:40"], [], []),
    ("203.0.113.0/25", 2, "10.0.0.3", [65040, 65040, 65040], "igp", 90, None,
     ["65000:41"], ["65000:4:1"], []),
    ("2001:db8:1::/48", 1, "2001:db8:ffff::1", [4200000001], "igp", 100, 1,
     ["65000:60"], ["4200000001:6:1"], []),
    ("2001:db8:1::/48", 2, "2001:db8:ffff::2", [65060, 65061], "igp", 120, 2,
     ["65000:61"], [], ["65000:600"]),
    ("2001:db8:2::/48", 1, "2001:db8:ffff::1", [65070], "egp", 100, None,
     ["65000:70"], [], []),
    ("2001:db8:2::/48", 2, "2001:db8:ffff::2", [65070, [65071, 4200000002]], "igp", 100, 7,
     [], ["65000:7:2"], []),
    ("2001:db8:2::/48", 3, "2001:db8:ffff::3", [], "incomplete", 80, None,
     [], [], []),
]

# change 1: implicit replace of 192.0.2.0/24 path 2; 2 and 3: withdrawals;
# 4: a third path for 198.51.100.0/24 (AS_SET with a 4-octet ASN, no MED)
REPLACE = ("192.0.2.0/24", 2, "10.0.0.2", [65020, 65023], "igp", 110, 21,
           ["65000:3", "65000:4"], [], [])
ADD = ("198.51.100.0/24", 3, "10.0.0.3", [65030, [4200000003, 65031]], "egp", 150, None,
       ["65000:30"], ["65000:3:3"], ["65000:300"])
STEPS = {
    1: ("replace", REPLACE),
    2: ("withdraw", ("203.0.113.0/25", 2)),
    3: ("withdraw", ("2001:db8:2::/48", 3)),
    4: ("add", ADD),
}


def is6(prefix):
    return ":" in prefix


def table(stage):
    """PATHS with changes 1..stage applied (order kept)."""
    rows = list(PATHS)
    for n in range(1, stage + 1):
        kind, what = STEPS[n]
        key = tuple(what[:2])
        if kind == "replace":
            rows = [what if tuple(r[:2]) == key else r for r in rows]
        elif kind == "add":
            rows = rows + [what]
        else:
            rows = [r for r in rows if tuple(r[:2]) != key]
    return rows


def counts(stage):
    """(IPv4 paths, IPv6 paths) after changes 1..stage."""
    rows = table(stage)
    v6 = sum(1 for r in rows if is6(r[0]))
    return len(rows) - v6, v6


# ---------------------------------------------------------------- gobgp
def gobgp_aspath(path):
    parts = []
    for seg in path:
        if isinstance(seg, list):
            parts.append("{" + ",".join(str(x) for x in seg) + "}")
        else:
            parts.append(str(seg))
    return ",".join(parts)


def gobgp_add(r):
    prefix, pid, nh, path, origin, lp, med, comm, large, ext = r
    args = ["global", "rib", "add", "-a", "ipv6" if is6(prefix) else "ipv4", prefix,
            "identifier", str(pid), "nexthop", nh]
    if path:
        args += ["aspath", gobgp_aspath(path)]
    args += ["origin", origin, "local-pref", str(lp)]
    if med is not None:
        args += ["med", str(med)]
    if comm:
        args += ["community", ",".join(comm)]
    if large:
        args += ["large-community", ",".join(large)]
    for e in ext:
        args += ["rt", e]
    return " ".join(args)


def gobgp_config(local, neighbors, hold=90, keepalive=30, connect_retry=None):
    """gobgpd TOML; neighbors: [(address, port)], every one admin-down."""
    out = ["""# gobgpd: iBGP (AS {asn}) toward the collector, which is a route-reflector client
# receiving every path (ADD-PATH send-max 255).  Routes are added with the gobgp
# CLI while the neighbor is admin-down, then "gobgp neighbor {first} enable".
[global.config]
  as = {asn}
  router-id = "{local}"
  port = -1
  local-address-list = ["{local}"]
""".format(asn=ASN, local=local, first=" / ".join(n[0] for n in neighbors))]
    for peer, port in neighbors:
        timers = ""
        if hold != 90 or keepalive != 30 or connect_retry is not None:
            timers = "  [neighbors.timers.config]\n    hold-time = %d\n    keepalive-interval = %d\n" % (
                hold, keepalive)
            if connect_retry is not None:
                # also the pause after a reset (GoBGP waits 30 s by default)
                timers += "    connect-retry = %d\n    idle-hold-time-after-reset = %d\n" % (
                    connect_retry, connect_retry)
        out.append("""
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{peer}"
    peer-as = {asn}
    admin-down = true
  [neighbors.transport.config]
    local-address = "{local}"
    remote-port = {port}
{timers}  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "{local}"
  # GoBGP sends End-of-RIB only when graceful restart is enabled on both sides
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      send-max = 255
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
    [neighbors.afi-safis.add-paths.config]
      send-max = 255
""".format(asn=ASN, local=local, peer=peer, port=port, timers=timers))
    return "".join(out)


def gobgp_conf(o):
    return gobgp_config(o.local, [(o.peer, o.port)])


def gobgp_step(n):
    """gobgp CLI arguments for change n."""
    kind, what = STEPS[n]
    if kind in ("replace", "add"):
        return gobgp_add(what)
    r = [x for x in PATHS if tuple(x[:2]) == tuple(what)][0]
    return "global rib del -a %s %s identifier %d" % ("ipv6" if is6(r[0]) else "ipv4", r[0], r[1])


# ---------------------------------------------------------------- bird2
def bird_route(r):
    prefix, pid, nh, path, origin, lp, med, comm, large, ext = r
    cmds = ["bgp_origin = ORIGIN_%s;" % origin.upper(),
            "bgp_next_hop = %s;" % nh,
            "bgp_path = +empty+;"]
    flat = []
    for seg in path:
        if isinstance(seg, list):
            # BIRD's filter language cannot build an AS_SET: flatten it into
            # the sequence (documented in fixtures/bgp/README.md)
            flat.extend(seg)
        else:
            flat.append(seg)
    for a in reversed(flat):
        cmds.append("bgp_path.prepend(%d);" % a)
    cmds.append("bgp_local_pref = %d;" % lp)
    if med is not None:
        cmds.append("bgp_med = %d;" % med)
    for c in comm:
        cmds.append("bgp_community.add((%s));" % c.replace(":", ","))
    for c in large:
        cmds.append("bgp_large_community.add((%s));" % c.replace(":", ","))
    for e in ext:
        cmds.append("bgp_ext_community.add((rt, %s));" % e.replace(":", ", "))
    body = "\n".join("      " + c for c in cmds)
    return "    route %s blackhole {\n%s\n    };" % (prefix, body)


def bird_config(stage, local, neighbors, log="/dev/null", hold=90, listen_port=None, connect_delay=None, rows=None):
    """bird2 configuration with changes 1..stage applied; neighbors:
    [(protocol name, address, port)].  listen_port: BIRD's own listening
    port on `local` (strict bind), instead of 179 on every address.
    connect_delay: seconds before the first connection attempt after the
    protocol starts or is enabled (BIRD's default is 5).  rows: another
    route set's paths instead of this one's (path numbers 1-3)."""
    rows = table(stage) if rows is None else rows
    if any(r[1] not in (1, 2, 3) for r in rows):
        raise ValueError("bird_config: path numbers must be 1-3 (one static protocol each)")
    out = ["""# bird2: one static protocol per path number (BIRD sends one path per
# route source), reflected by iBGP (AS {asn}) to the collector, a
# route-reflector client with ADD-PATH tx.  Stage {stage} of the changes.
log "{log}" all;
router id {local};
protocol device {{ scan time 0; }}
""".format(asn=ASN, stage=stage, local=local, log=log)]
    for pid in (1, 2, 3):
        for fam, v6 in (("ipv4", False), ("ipv6", True)):
            rs = [r for r in rows if r[1] == pid and is6(r[0]) == v6]
            out.append("protocol static path%d_%s {\n  %s { import all; };\n%s\n}\n" % (
                pid, fam[-1], fam, "\n".join(bird_route(r) for r in rs)))
    local_clause = "local %s as %d;" % (local, ASN)
    if listen_port is not None:
        local_clause = "local %s port %d as %d;\n  strict bind yes;" % (local, listen_port, ASN)
    for name, peer, port in neighbors:
        out.append("""protocol bgp {name} {{
  {local_clause}
  neighbor {peer} port {port} as {asn};
  rr client;
  rr cluster id {local};
  hold time {hold};
  connect retry time 1;{delay}
  ipv4 {{ import none; export all; add paths tx; }};
  ipv6 {{ import none; export all; add paths tx; }};
}}
""".format(name=name, local_clause=local_clause, local=local, peer=peer, port=port, asn=ASN, hold=hold,
           delay="" if connect_delay is None else "\n  connect delay time %d;" % connect_delay))
    return "\n".join(out)


def bird_conf(o):
    return bird_config(o.stage, o.local, [("collector", o.peer, o.port)], log=o.log)


# ---------------------------------------------------------------- exabgp
def exa_aspath(path):
    parts = []
    for seg in path:
        if isinstance(seg, list):
            parts.append("( " + " ".join(str(x) for x in seg) + " )")
        else:
            parts.append(str(seg))
    return "[ " + " ".join(parts) + " ]" if parts else "[ ]"


def exa_route(r):
    prefix, pid, nh, path, origin, lp, med, comm, large, ext = r
    s = "%s path-information 0.0.0.%d next-hop %s origin %s as-path %s local-preference %d" % (
        prefix, pid, nh, origin, exa_aspath(path), lp)
    if med is not None:
        s += " med %d" % med
    if comm:
        s += " community [ %s ]" % " ".join(comm)
    if large:
        s += " large-community [ %s ]" % " ".join(large)
    if ext:
        s += " extended-community [ %s ]" % " ".join("target:" + e for e in ext)
    return s


def exabgp_conf(o):
    routes = "\n".join("    route %s;" % exa_route(r) for r in PATHS)
    return """# exabgp: iBGP (AS {asn}) with ADD-PATH send; the initial table is static,
# the changes come from the API process (tools/bgp/exabgp-api.py), which
# prints the commands of each step when the capture script asks for it.
process changes {{
  run {python} {api} {stepdir} {api_timeout} {api_log};
  encoder text;
}}

neighbor {peer} {{
  router-id {local};
  local-address {local};
  local-as {asn};
  peer-as {asn};
  hold-time 90;
  connect {port};
  group-updates false;
  capability {{
    asn4 enable;
    add-path send;
    route-refresh;
  }}
  family {{
    ipv4 unicast;
    ipv6 unicast;
  }}
  add-path {{
    ipv4 unicast;
    ipv6 unicast;
  }}
  api {{
    processes [ changes ];
  }}
  static {{
{routes}
  }}
}}
""".format(asn=ASN, python=o.python, api=o.api, stepdir=o.stepdir, api_timeout=o.api_timeout, api_log=o.api_log,
           peer=o.peer, local=o.local, port=o.port, routes=routes)


def exabgp_step(n, neighbor=None):
    kind, what = STEPS[n]
    pre = "neighbor %s " % neighbor if neighbor else ""
    if kind in ("replace", "add"):
        return pre + "announce route " + exa_route(what)
    prefix, pid = what
    nh = [r[2] for r in PATHS if (r[0], r[1]) == (prefix, pid)][0]
    return pre + "withdraw route %s path-information 0.0.0.%d next-hop %s" % (prefix, pid, nh)


# ---------------------------------------------------------------- frr
def frr_conf(o):
    return """! frr bgpd (run with -Z, no zebra): learns every path from an exabgp feeder
! ({feeder}, ADD-PATH) and reflects all of them to the collector ({peer},
! addpath-tx-all-paths).  The collector neighbor stays shut until the feeder's
! routes are in; the capture script then sends "no neighbor {peer} shutdown".
frr defaults traditional
hostname pathflow-frr
log file {log}
!
router bgp {asn}
 bgp router-id {local}
 bgp cluster-id {local}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp bestpath as-path multipath-relax
 neighbor {peer} remote-as internal
 neighbor {peer} port {port}
 neighbor {peer} update-source {local}
 neighbor {peer} timers 30 90
 neighbor {peer} shutdown
 neighbor {feeder} remote-as internal
 neighbor {feeder} passive
 !
 address-family ipv4 unicast
  neighbor {peer} activate
  neighbor {peer} route-reflector-client
  neighbor {peer} addpath-tx-all-paths
  neighbor {feeder} activate
  neighbor {feeder} route-reflector-client
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor {peer} activate
  neighbor {peer} route-reflector-client
  neighbor {peer} addpath-tx-all-paths
  neighbor {feeder} activate
  neighbor {feeder} route-reflector-client
 exit-address-family
!
""".format(asn=ASN, local=o.local, peer=o.peer, port=o.port, feeder=o.feeder, log=o.log)


def summary():
    lines = ["prefix\tpath\tnext_hop\tas_path\torigin\tlocal_pref\tmed\tcommunities\tlarge\text_rt"]
    for r in PATHS:
        lines.append("\t".join([r[0], str(r[1]), r[2], exa_aspath(r[3]), r[4], str(r[5]),
                                "" if r[6] is None else str(r[6]), " ".join(r[7]),
                                " ".join(r[8]), " ".join(r[9])]))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind")
    p.add_argument("step", nargs="?", type=int)
    p.add_argument("--local", default="127.0.0.2")
    p.add_argument("--peer", default="127.0.0.1")
    p.add_argument("--port", type=int, default=17179)
    p.add_argument("--stage", type=int, default=0)
    p.add_argument("--log", default="/dev/null")
    p.add_argument("--feeder", default="127.0.0.14")
    p.add_argument("--neighbor", help="exabgp-step: prefix commands with 'neighbor ADDR'")
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--api", default="tools/bgp/exabgp-api.py")
    p.add_argument("--stepdir", default="/tmp/steps")
    p.add_argument("--api-timeout", type=int, default=300)
    p.add_argument("--api-log", default="", help="exabgp-api.py copies what exabgp writes to it here")
    o = p.parse_args()
    k = o.kind
    if k == "gobgp-conf":
        print(gobgp_conf(o), end="")
    elif k == "gobgp-initial":
        print("\n".join(gobgp_add(r) for r in PATHS))
    elif k == "gobgp-step":
        print(gobgp_step(o.step))
    elif k == "bird-conf":
        print(bird_conf(o), end="")
    elif k == "exabgp-conf":
        print(exabgp_conf(o), end="")
    elif k == "exabgp-step":
        print(exabgp_step(o.step, o.neighbor))
    elif k == "frr-conf":
        print(frr_conf(o), end="")
    elif k == "summary":
        print(summary())
    else:
        p.error("unknown kind %r" % k)


if __name__ == "__main__":
    main()
