#!/usr/bin/env python3
"""Session flaps with changes in between: gobgpd (127.0.0.2) and bird2
(127.0.0.3) both feed pathflow.  Four flaps (neighbour disabled and enabled
on the speaker), alternating speakers: a change made while the session is
down, a change made just before and one just after a flap, a quick flap
with changes right after it.  While one router is down pathflow's
/rib/dump holds exactly the other one's paths; after each flap it equals
both views again (no stale path, no stale router); at the end
pathflow_bgp_session_down_total = 4 and both sessions are established once.
Skipped while pathflow has no BGP daemon."""
import lib
import lib_bgp
from lib_bgp import metric


def case(c):
    pf = lib_bgp.Pathflow(c).start()
    g = lib_bgp.GoBGPd(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)]).start()
    b = lib_bgp.Bird2(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)]).start()
    views = {}
    for sp in (g, b):
        sp.wait_established("collector")
        pf.wait_established(sp.address)
        views[sp.address] = sp.wait_view("collector")
    pf.wait_rib(views, what="initial tables")

    def down(sp, what):
        sp.disable("collector")
        c.wait_for("pathflow to see %s down" % sp.name, lambda: not pf.established(sp.address), 10,
                   proc=pf.proc, step=0.1)
        others = {a: v for a, v in views.items() if a != sp.address}
        pf.wait_rib(others, timeout=5, what="%s: %s down" % (what, sp.name))

    def up(sp, what, changes_after=()):
        sp.enable("collector")
        for n in changes_after:
            sp.apply_step(n)
        sp.wait_established("collector")
        views[sp.address] = sp.wait_view("collector")
        pf.wait_established(sp.address)
        pf.wait_rib(views, what="%s: %s back" % (what, sp.name))

    # 1: gobgpd down, change 1 (implicit replace) while down
    down(g, "flap 1")
    g.apply_step(1)
    up(g, "flap 1")
    # 2: bird2: change 2 while up, then down, change 3 while down
    b.apply_step(2)
    views[b.address] = b.wait_view("collector")
    pf.wait_rib(views, what="bird2 change 2")
    down(b, "flap 2")
    b.apply_step(3)
    up(b, "flap 2")
    # 3: gobgpd quick flap, changes 2 and 3 right after enabling (racing the table transfer)
    g.disable("collector")
    c.wait_for("pathflow to see gobgpd down", lambda: not pf.established(g.address), 10, proc=pf.proc, step=0.05)
    up(g, "flap 3", changes_after=(2, 3))
    # 4: bird2 quick flap with change 4 right after; gobgpd change 4 while bird2 reconnects
    b.disable("collector")
    c.wait_for("pathflow to see bird2 down", lambda: not pf.established(b.address), 10, proc=pf.proc, step=0.05)
    b.enable("collector")
    b.apply_step(4)
    g.apply_step(4)
    b.wait_established("collector")
    views[b.address] = b.wait_view("collector")
    views[g.address] = g.wait_view("collector")
    pf.wait_established(b.address)
    pf.wait_rib(views, what="flap 4")

    m = pf.metrics()
    c.check(metric(m, lib_bgp.M_SESSION_DOWN) == 4, "%s = %s after 4 flaps" % (
        lib_bgp.M_SESSION_DOWN, metric(m, lib_bgp.M_SESSION_DOWN)))
    c.check(metric(m, lib_bgp.M_SESSIONS) == 2, "%s = %s, want 2" % (lib_bgp.M_SESSIONS, metric(m, lib_bgp.M_SESSIONS)))
    for sp in (g, b):
        pf.check_peer_summary(sp.address, views[sp.address])
    pf.stop()


lib.main(case)
