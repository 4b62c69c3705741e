#!/usr/bin/env python3
"""Minimal passive BGP listener that records what a real speaker sends.

Accepts ONE TCP connection on HOST:PORT, reads the peer's OPEN and answers
with an OPEN that mirrors the peer's AS (iBGP): hold time 90, BGP identifier
127.0.0.1, capabilities multiprotocol IPv4 unicast (1/1) and IPv6 unicast
(2/1), 4-octet AS (65), route refresh (2) and ADD-PATH (69) "receive" for
1/1 and 2/1; with --graceful-restart also Graceful Restart (64) with
restart time 0 and no families (FRR sends End-of-RIB only then).  Then it sends a KEEPALIVE, and a KEEPALIVE every 30 s after.

Every message RECEIVED (full message including the 16-byte marker) is
written as one lower-case hex line to --out, in arrival order, flushed per
message.  The OPEN it sent goes to --open-sent as one hex line.

It stops when it has seen End-of-RIB for IPv4 unicast (UPDATE with empty
withdrawn routes and empty attributes) and IPv6 unicast (UPDATE whose only
attribute is MP_UNREACH_NLRI 2/1 without NLRI) and then, if
--after-eor-updates N is given, N further UPDATE messages (bounded by
--after-eor-timeout seconds), or when --timeout seconds have passed in total.
With --release FILE it then waits (bounded by --release-timeout) until FILE
exists before it closes, so that the speaker's own view of the session can
still be queried.  Finally it sends NOTIFICATION Cease / Administrative
Shutdown (6/2) and closes.

--state FILE is rewritten (atomically) on every change with one line of
key=value pairs: phase, peer, eor_ipv4, eor_ipv6, updates, after_eor.
A capture script polls it to know when to change the speaker's routes.

Standard library only.  Exit status 0 when both End-of-RIB markers (and the
requested follow-up UPDATEs) were seen, 2 on timeout, 1 on protocol error.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5
AS_TRANS = 23456


def message(mtype, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), mtype) + body


def capability(code, value=b""):
    return struct.pack("!BB", code, len(value)) + value


def build_open(asn, hold, bgp_id, graceful_restart=False):
    caps = [
        capability(1, struct.pack("!HBB", 1, 0, 1)),       # MP IPv4 unicast
        capability(1, struct.pack("!HBB", 2, 0, 1)),       # MP IPv6 unicast
        capability(65, struct.pack("!I", asn)),            # 4-octet AS
        capability(2),                                     # route refresh
        # ADD-PATH: AFI, SAFI, send/receive (1 = receive)
        capability(69, struct.pack("!HBB", 1, 1, 1) + struct.pack("!HBB", 2, 1, 1)),
    ]
    if graceful_restart:
        # Graceful Restart with restart time 0 and no families: only says
        # "I understand End-of-RIB" (RFC 4724 section 3); some speakers send
        # End-of-RIB only to peers that advertise this capability
        caps.append(capability(64, struct.pack("!H", 0)))
    caps = b"".join(caps)
    # every capability in its own optional parameter would also be legal;
    # one parameter of type 2 holding all of them is what most speakers send
    opt = struct.pack("!BB", 2, len(caps)) + caps
    my_as2 = asn if asn < 65536 else AS_TRANS
    body = struct.pack("!BHH4sB", 4, my_as2, hold, socket.inet_aton(bgp_id), len(opt)) + opt
    return message(OPEN, body)


def parse_open(body):
    """Return (version, as2, hold, bgp_id, caps list of (code, value))."""
    version, as2, hold, bid, optlen = struct.unpack("!BHH4sB", body[:10])
    opt = body[10:10 + optlen]
    caps = []
    i = 0
    while i + 2 <= len(opt):
        ptype, plen = opt[i], opt[i + 1]
        pval = opt[i + 2:i + 2 + plen]
        i += 2 + plen
        if ptype != 2:
            continue
        j = 0
        while j + 2 <= len(pval):
            code, clen = pval[j], pval[j + 1]
            caps.append((code, pval[j + 2:j + 2 + clen]))
            j += 2 + clen
    return version, as2, hold, socket.inet_ntoa(bid), caps


def eor_family(body):
    """'ipv4' / 'ipv6' if this UPDATE body is an End-of-RIB marker, else None."""
    if len(body) < 4:
        return None
    wlen = struct.unpack("!H", body[:2])[0]
    if wlen != 0:
        return None
    alen = struct.unpack("!H", body[2:4])[0]
    if alen == 0 and len(body) == 4:
        return "ipv4"
    if len(body) != 4 + alen:
        return None                         # has NLRI
    attrs = body[4:]
    i = 0
    found = None
    while i < len(attrs):
        flags, atype = attrs[i], attrs[i + 1]
        if flags & 0x10:
            vlen = struct.unpack("!H", attrs[i + 2:i + 4])[0]
            val = attrs[i + 4:i + 4 + vlen]
            i += 4 + vlen
        else:
            vlen = attrs[i + 2]
            val = attrs[i + 3:i + 3 + vlen]
            i += 3 + vlen
        if atype != 15 or found is not None:
            return None
        if len(val) != 3:
            return None
        afi, safi = struct.unpack("!HB", val)
        found = {(1, 1): "ipv4", (2, 1): "ipv6"}.get((afi, safi), "other")
    return found


class Listener:
    def __init__(self, args):
        self.a = args
        self.state = {"phase": "listening", "peer": "-", "eor_ipv4": 0, "eor_ipv6": 0,
                      "updates": 0, "after_eor": 0}
        self.out = open(args.out, "w")
        self.buf = b""

    def write_state(self):
        if not self.a.state:
            return
        tmp = self.a.state + ".tmp"
        with open(tmp, "w") as f:
            f.write(" ".join("%s=%s" % (k, v) for k, v in self.state.items()) + "\n")
        os.replace(tmp, self.a.state)

    def log(self, text):
        if not self.a.quiet:
            print("listener: " + text, file=sys.stderr, flush=True)

    def recv_message(self, conn, deadline):
        """Next complete message as (type, full bytes), or None at deadline / EOF."""
        while True:
            if len(self.buf) >= 19:
                if self.buf[:16] != MARKER:
                    raise ValueError("bad marker")
                length = struct.unpack("!H", self.buf[16:18])[0]
                if length < 19 or length > 65535:
                    raise ValueError("bad length %d" % length)
                if len(self.buf) >= length:
                    msg, self.buf = self.buf[:length], self.buf[length:]
                    return msg[18], msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([conn], [], [], min(left, 1.0))
            if r:
                data = conn.recv(65536)
                if not data:
                    raise EOFError("peer closed the connection")
                self.buf += data
            self.maybe_keepalive(conn)

    def maybe_keepalive(self, conn):
        if self.established and time.monotonic() >= self.next_keepalive:
            conn.sendall(message(KEEPALIVE))
            self.next_keepalive = time.monotonic() + self.a.keepalive

    def run(self):
        a = self.a
        start = time.monotonic()
        deadline = start + a.timeout
        self.established = False
        self.next_keepalive = 0.0
        self.write_state()
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((a.host, a.port))
        srv.listen(1)
        srv.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            conn, peer = srv.accept()
        except socket.timeout:
            self.log("no connection within %d s" % a.timeout)
            return 2
        finally:
            srv.close()
        self.state["peer"] = peer[0]
        self.state["phase"] = "connected"
        self.write_state()
        self.log("connection from %s:%d" % peer)
        rc = 2
        try:
            rc = self.session(conn, deadline)
        except (EOFError, ValueError, OSError) as e:
            self.log("session ended: %s" % e)
            rc = 1
        finally:
            try:
                # Cease (6) / Administrative Shutdown (2)
                conn.sendall(message(NOTIFICATION, bytes([6, 2])))
            except OSError:
                pass
            conn.close()
            self.out.close()
            self.state["phase"] = "closed"
            self.write_state()
        return rc

    def session(self, conn, deadline):
        a = self.a
        mtype, msg = self.recv_message(conn, deadline) or (None, None)
        if mtype != OPEN:
            self.log("expected OPEN, got %r" % mtype)
            return 1
        self.record(msg)
        version, as2, hold, bid, caps = parse_open(msg[19:])
        asn = as2
        for code, val in caps:
            if code == 65 and len(val) == 4:
                asn = struct.unpack("!I", val)[0]
        self.log("peer OPEN: version %d AS %d hold %d id %s caps %s" % (
            version, asn, hold, bid, ",".join(str(c) for c, _ in caps)))
        my_open = build_open(asn, a.hold, a.bgp_id, a.graceful_restart)
        with open(a.open_sent, "w") as f:
            f.write(my_open.hex() + "\n")
        conn.sendall(my_open + message(KEEPALIVE))
        self.established = True
        self.next_keepalive = time.monotonic() + a.keepalive
        self.state["phase"] = "open-confirm"
        self.write_state()

        eor_deadline = None
        while True:
            now = time.monotonic()
            limit = deadline if eor_deadline is None else min(deadline, eor_deadline)
            got = self.recv_message(conn, limit)
            if got is None:
                if eor_deadline is not None and time.monotonic() >= eor_deadline:
                    self.log("after-EoR timeout: %d of %d follow-up UPDATEs" % (
                        self.state["after_eor"], a.after_eor_updates))
                else:
                    self.log("timeout")
                return 2
            mtype, msg = got
            self.record(msg)
            if mtype == KEEPALIVE and self.state["phase"] == "open-confirm":
                self.state["phase"] = "established"
                self.write_state()
            elif mtype == NOTIFICATION:
                self.log("peer sent NOTIFICATION %d/%d" % (msg[19], msg[20]))
                return 1
            elif mtype == UPDATE:
                self.state["updates"] += 1
                fam = eor_family(msg[19:])
                both_before = self.state["eor_ipv4"] and self.state["eor_ipv6"]
                if fam in ("ipv4", "ipv6"):
                    self.state["eor_" + fam] = 1
                elif both_before:
                    self.state["after_eor"] += 1
                self.write_state()
                both = self.state["eor_ipv4"] and self.state["eor_ipv6"]
                if both and not both_before:
                    self.log("End-of-RIB seen for IPv4 and IPv6 after %d UPDATEs" %
                             self.state["updates"])
                    self.state["phase"] = "eor"
                    self.write_state()
                    if a.after_eor_updates <= 0:
                        return self.release(conn, deadline)
                    eor_deadline = time.monotonic() + a.after_eor_timeout
                if both and a.after_eor_updates > 0 and self.state["after_eor"] >= a.after_eor_updates:
                    return self.release(conn, deadline)

    def release(self, conn, deadline):
        """All wanted messages are in; optionally wait for the release file."""
        self.state["phase"] = "done"
        self.write_state()
        if not self.a.release:
            return 0
        end = time.monotonic() + self.a.release_timeout
        while time.monotonic() < end and not os.path.exists(self.a.release):
            got = self.recv_message(conn, time.monotonic() + 0.2)
            if got is not None:
                self.record(got[1])
                if got[0] == UPDATE:
                    self.log("unexpected UPDATE while waiting for release")
        return 0

    def record(self, msg):
        self.out.write(msg.hex() + "\n")
        self.out.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True, help="hex file, one received message per line")
    p.add_argument("--open-sent", required=True, help="hex file for the OPEN this listener sent")
    p.add_argument("--state", help="state file rewritten on every change")
    p.add_argument("--timeout", type=float, default=120, help="overall limit, seconds")
    p.add_argument("--after-eor-updates", type=int, default=0)
    p.add_argument("--after-eor-timeout", type=float, default=30)
    p.add_argument("--release", help="wait for this file to exist before closing")
    p.add_argument("--release-timeout", type=float, default=30)
    p.add_argument("--hold", type=int, default=90)
    p.add_argument("--keepalive", type=float, default=30)
    p.add_argument("--bgp-id", default="127.0.0.1")
    p.add_argument("--graceful-restart", action="store_true",
                   help="also advertise Graceful Restart (64), restart time 0, no families")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    sys.exit(Listener(args).run())


if __name__ == "__main__":
    main()
