#!/usr/bin/env python3
"""gobgpd as a route reflector (127.0.0.2, iBGP AS 65000, ADD-PATH send)
feeding pathflow's BGP daemon: IPv4 and IPv6, several paths per prefix
(tools/bgp/routes.py).  After the initial table pathflow's /rib/dump equals
gobgpd's own view (`gobgp -j neighbor 127.0.0.1 adj-out`) per prefix, and
by ADD-PATH id; then after an implicit replace, two withdrawals and an
added path, each in turn.  /rib/peers, /metrics and `pathflow rib
dump|peers|lookup` agree.  Skipped while pathflow has no BGP daemon."""
import lib
import lib_bgp

lib.main(lambda c: lib_bgp.rib_case(c, "gobgpd"))
