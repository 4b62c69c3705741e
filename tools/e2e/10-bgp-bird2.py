#!/usr/bin/env python3
"""bird2 as a route reflector (127.0.0.3, routes from one static protocol
per path number, `add paths tx`) feeding pathflow: as 09-bgp-gobgpd, with
BIRD's own view (`birdc show route all export collector`) as the truth and
BIRD's path ids (compared per prefix as a multiset of attribute tuples).
Skipped while pathflow has no BGP daemon."""
import lib
import lib_bgp

lib.main(lambda c: lib_bgp.rib_case(c, "bird2"))
