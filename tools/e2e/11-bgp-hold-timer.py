#!/usr/bin/env python3
"""Hold timer (RFC 4271 section 6.5): pathflow with bgp_daemon_holdtime 6,
gobgpd with hold time 6 and keepalives every 2 s.  Once pathflow holds
gobgpd's table, gobgpd is frozen (SIGSTOP).  Within the hold time (between
4 s -- the last keepalive may be 2 s old -- and 9.5 s) /rib/peers no longer
shows the session established, gobgpd's paths are gone from /rib/dump,
pathflow_bgp_notifications_sent_total{code="4",subcode="0"} and
pathflow_bgp_session_down_total rose by one, and pathflow_bgp_paths for the
peer is 0.  After SIGCONT gobgpd reconnects and pathflow's RIB equals its
view again.  Skipped while pathflow has no BGP daemon."""
import time

import lib
import lib_bgp
from lib_bgp import metric

HOLD = 6
KEEPALIVE = 2


def case(c):
    pf = lib_bgp.Pathflow(c, holdtime=HOLD).start()
    sp = lib_bgp.GoBGPd(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)], hold=HOLD, keepalive=KEEPALIVE).start()
    sp.wait_established("collector")
    pf.wait_established(sp.address)
    view = sp.wait_view("collector")
    pf.wait_rib({sp.address: view}, what="before the freeze")
    m0 = pf.metrics()
    sent0 = metric(m0, lib_bgp.M_NOTIFICATIONS_SENT, code=4, subcode=0)
    down0 = metric(m0, lib_bgp.M_SESSION_DOWN)

    with sp.frozen():
        t0 = time.monotonic()
        c.wait_for("pathflow to drop the frozen session", lambda: not pf.established(sp.address),
                   HOLD + 6, proc=pf.proc, step=0.1)
        elapsed = time.monotonic() - t0
        lib.log("session down %.1f s after SIGSTOP (hold time %d s, keepalive %d s)" % (elapsed, HOLD, KEEPALIVE))
        c.check(HOLD - KEEPALIVE <= elapsed <= HOLD + 3.5,
                "session dropped %.1f s after SIGSTOP; the hold timer (%d s, keepalive %d s) expires %d-%d s "
                "after it" % (elapsed, HOLD, KEEPALIVE, HOLD - KEEPALIVE, HOLD))
        pf.wait_rib({}, timeout=3, what="after the hold timer expired")
        m1 = pf.metrics()
        sent1 = metric(m1, lib_bgp.M_NOTIFICATIONS_SENT, code=4, subcode=0)
        down1 = metric(m1, lib_bgp.M_SESSION_DOWN)
        c.check(sent1 == sent0 + 1, '%s{code="4",subcode="0"} went from %s to %s, want one more' % (
            lib_bgp.M_NOTIFICATIONS_SENT, sent0, sent1))
        c.check(down1 == down0 + 1, "%s went from %s to %s, want one more" % (lib_bgp.M_SESSION_DOWN, down0, down1))
        c.check(metric(m1, lib_bgp.M_SESSIONS) == 0, "%s = %s while the only peer is down" % (
            lib_bgp.M_SESSIONS, metric(m1, lib_bgp.M_SESSIONS)))
        c.check(metric(m1, lib_bgp.M_PATHS, peer=sp.address) == 0, "%s{peer=%r} = %s after the session went down" % (
            lib_bgp.M_PATHS, sp.address, metric(m1, lib_bgp.M_PATHS, peer=sp.address)))

    sp.wait_established("collector", timeout=30)
    pf.wait_established(sp.address, timeout=15)
    view = sp.wait_view("collector")
    pf.wait_rib({sp.address: view}, what="after SIGCONT")
    pf.check_peer_summary(sp.address, view)
    pf.stop()


lib.main(case)
