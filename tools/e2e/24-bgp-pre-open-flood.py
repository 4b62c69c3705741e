#!/usr/bin/env python3
"""Connections that never send an OPEN (DESIGN section 8): pathflow with
bgp_daemon_max_peers 10 and the defaults of 4 such connections per address,
64 in all (at least max_peers) and 10 s to send an OPEN (RFC 4271 section
8.2.2 hold timer).  Silent TCP connections from 127.0.0.x:

1. per address: six from 127.0.0.20; the two oldest get Cease 6/5 at once,
   pathflow_bgp_pre_open_evictions_total{bound="address"} rises by 2;
2. in total: 64 more from 127.0.0.30-93 (68 waiting); the four left from
   127.0.0.20, the busiest sender, get 6/5 and no other;
   {bound="total"} rises by 4;
3. flood: twelve kept open from 127.0.0.21-26 (reopened when closed, more
   than max_peers) while gobgpd (127.0.0.2) is enabled: its session must be
   Established within 3 s of its TCP connection, with the flood still
   waiting beside it; every silent connection of the first round gets
   NOTIFICATION 4/0 9-12.5 s after it opened, and
   pathflow_bgp_open_timeouts_total rises by at least twelve; no connection
   is refused for max_peers, and pathflow's RIB equals gobgpd's view.
Skipped while pathflow has no BGP daemon."""
import socket
import threading
import time

import lib
import lib_bgp
from lib_bgp import metric

OPEN_HOLD = 10              # pathflow's SessionConfig.openHoldTime
PER_ADDRESS = 4             # SpeakerConfig.preOpenPerAddress
TOTAL = 64                  # SpeakerConfig.preOpenTotal (max(64, bgp_daemon_max_peers))
MAX_PEERS = 10              # lib_bgp's bgp_daemon_max_peers
M_TIMEOUTS = "pathflow_bgp_open_timeouts_total"
M_EVICTIONS = "pathflow_bgp_pre_open_evictions_total"     # label bound="address"|"total"
M_REJECTED = "pathflow_bgp_connections_rejected_total"    # label reason


class Silent:
    """A TCP connection from `source` to pathflow's BGP port that never sends
    a byte; what comes back and when it closed are recorded by poll()."""

    def __init__(self, source, port):
        self.source = source
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(5)
        self.sock.connect((lib_bgp.COLLECTOR_ADDRESS, port))
        self.sock.setblocking(False)
        self.opened = time.monotonic()
        self.closed = None
        self.data = b""

    def poll(self):
        """Reads what arrived; False once pathflow closed the connection."""
        while self.closed is None:
            try:
                chunk = self.sock.recv(4096)
            except BlockingIOError:
                break
            except OSError:         # reset
                chunk = b""
            if not chunk:
                self.closed = time.monotonic()
                self.sock.close()
                break
            self.data += chunk
        return self.closed is None

    def notification(self):
        """(code, subcode) of the NOTIFICATION received, or None."""
        d = self.data
        if len(d) >= 21 and d[:16] == b"\xff" * 16 and d[18] == 3:
            return (d[19], d[20])
        return None

    def close(self):
        if self.closed is None:
            self.closed = time.monotonic()
            self.sock.close()


class Flood:
    """`slots` silent connections from `sources`, each reopened as soon as
    pathflow closes it, until stopped (the attack of the issue, repeated)."""

    def __init__(self, c, port, sources, per_source):
        self.c = c
        self.port = port
        self.slots = [s for s in sources for _ in range(per_source)]
        self.lock = threading.Lock()
        self.conns = [Silent(s, port) for s in self.slots]
        self.first = list(self.conns)
        self.all = list(self.conns)
        self.stop_event = threading.Event()
        c.stop_events.append(self.stop_event)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_event.wait(0.05):
            with self.lock:
                for i, conn in enumerate(self.conns):
                    if not conn.poll():
                        try:
                            self.conns[i] = Silent(self.slots[i], self.port)
                            self.all.append(self.conns[i])
                        except OSError as e:
                            lib.log("flood: reconnect from %s failed: %s" % (self.slots[i], e))

    def waiting(self):
        with self.lock:
            return sum(1 for conn in self.conns if conn.closed is None)

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)
        with self.lock:
            for conn in self.all:
                conn.close()


def pending(pf, besides=None):
    """pathflow's connections still waiting for an OPEN, from /rib/peers, but
    those from `besides`."""
    return [p for p in pf.peers() if str(p.get(lib_bgp.PEER_STATE, "")).lower() in ("active", "opensent")
            and p.get(lib_bgp.PEER_ADDRESS) != besides]


def poll_all(conns):
    for conn in conns:
        conn.poll()
    return conns


def case(c):
    pf = lib_bgp.Pathflow(c).start()
    sp = lib_bgp.GoBGPd(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)]).start(enable=False)
    opened = []
    c.cleanups.append(lambda: [conn.close() for conn in opened])
    m0 = pf.metrics()

    # 1. per address: the oldest two of six go
    a = [Silent("127.0.0.20", pf.port) for _ in range(PER_ADDRESS + 2)]
    opened += a
    c.wait_for("pathflow to close two of six connections from 127.0.0.20",
               lambda: sum(1 for x in poll_all(a) if x.closed) >= 2, 5, proc=pf.proc)
    time.sleep(0.5)
    poll_all(a)
    c.check([x.closed is not None for x in a] == [True, True] + [False] * PER_ADDRESS,
            "127.0.0.20: want the two oldest of six closed, got closed=%s" % [x.closed is not None for x in a])
    c.check([x.notification() for x in a[:2]] == [(6, 5)] * 2,
            "the connections closed past the per-address bound got %s, want Cease 6/5" % [x.notification() for x in a[:2]])

    # 2. in total: 4 + 64 waiting, the busiest sender (127.0.0.20) loses its four
    b = [Silent("127.0.0.%d" % (30 + i), pf.port) for i in range(TOTAL)]
    opened += b
    c.wait_for("pathflow to close the other four from 127.0.0.20",
               lambda: all(x.closed for x in poll_all(a)), 5, proc=pf.proc)
    time.sleep(0.5)
    poll_all(b)
    c.check([x.notification() for x in a[2:]] == [(6, 5)] * PER_ADDRESS,
            "127.0.0.20 past the total bound got %s, want Cease 6/5" % [x.notification() for x in a[2:]])
    c.check(not any(x.closed for x in b), "connections closed past the total bound that were not the busiest "
            "sender's: %s" % [x.source for x in b if x.closed])
    m1 = pf.metrics()
    for bound, want in (("address", 2), ("total", PER_ADDRESS)):
        got = metric(m1, M_EVICTIONS, bound=bound) - metric(m0, M_EVICTIONS, bound=bound)
        c.check(got == want, '%s{bound="%s"} rose by %s, want %d' % (M_EVICTIONS, bound, got, want))
    for x in b:
        x.close()
    c.wait_for("pathflow to forget the connections the case closed", lambda: not pending(pf), 5, proc=pf.proc)

    # 3. a flood above max_peers, kept up, while gobgpd connects
    flood = Flood(c, pf.port, ["127.0.0.%d" % i for i in range(21, 27)], 2)
    c.cleanups.append(flood.stop)
    c.wait_for("pathflow to list the flood", lambda: len(pending(pf)) >= MAX_PEERS + 2, 5, proc=pf.proc)
    sp.enable("collector")
    gobgp_port = pf.port

    def gobgpd_connected():
        return any(st == "01" and la[0] == sp.address and ra == (lib_bgp.COLLECTOR_ADDRESS, gobgp_port)
                   for la, ra, st in lib_bgp.tcp_sockets())
    c.wait_for("gobgpd's TCP connection to pathflow", gobgpd_connected, 30, proc=sp.proc, step=0.05)
    t_conn = time.monotonic()
    # the most silent connections pathflow listed beside gobgpd's while it came up
    # (a round the OPEN hold time closes is reopened within a moment)
    seen = [0]

    def up():
        seen[0] = max(seen[0], len(pending(pf, besides=sp.address)))
        return pf.established(sp.address)
    c.wait_for("pathflow to show gobgpd established", up, 10, proc=pf.proc, step=0.05)
    took = time.monotonic() - t_conn
    waiting = max(seen[0], len(pending(pf, besides=sp.address)))
    lib.log("gobgpd established %.2f s after its TCP connection; %d silent connections waiting" % (took, waiting))
    c.check(took <= 3, "gobgpd's session took %.1f s after its connection, want at most 3" % took)
    c.check(waiting > MAX_PEERS, "only %d silent connections waited beside gobgpd's session, want more than %d" % (
        waiting, MAX_PEERS))
    sp.wait_established("collector")

    # every silent connection of the first round: 4/0 after the OPEN hold time
    first = flood.first
    c.wait_for("the flood's first connections to be closed",
               lambda: all(x.closed for x in first), OPEN_HOLD + 5, proc=pf.proc, step=0.2)
    with flood.lock:
        lives = [x.closed - x.opened for x in first]
        notes = [x.notification() for x in first]
    lib.log("first round closed after %.1f-%.1f s" % (min(lives), max(lives)))
    c.check(all(OPEN_HOLD - 1 <= t <= OPEN_HOLD + 2.5 for t in lives),
            "silent connections closed after %s s, want %d-%.1f" % (["%.1f" % t for t in lives], OPEN_HOLD - 1,
                                                                    OPEN_HOLD + 2.5))
    c.check(all(n == (4, 0) for n in notes), "silent connections got %s, want NOTIFICATION 4/0" % sorted(set(notes)))
    flood.stop()

    m2 = pf.metrics()
    got = metric(m2, M_TIMEOUTS) - metric(m0, M_TIMEOUTS)
    c.check(got >= len(first), "%s rose by %s, want at least %d" % (M_TIMEOUTS, got, len(first)))
    rejected = metric(m2, M_REJECTED, reason="max_peers") - metric(m0, M_REJECTED, reason="max_peers")
    c.check(rejected == 0, '%s{reason="max_peers"} rose by %s, want 0' % (M_REJECTED, rejected))
    c.check(metric(m2, lib_bgp.M_SESSIONS) == 1, "%s = %s, want 1" % (lib_bgp.M_SESSIONS, metric(m2, lib_bgp.M_SESSIONS)))
    view = sp.wait_view("collector")
    pf.wait_rib({sp.address: view}, what="after the flood")
    pf.stop()


lib.main(case)
