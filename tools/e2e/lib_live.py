"""Live capture for 19-probe-live.py: a network namespace of the case joined to
the root namespace by a veth pair, traffic of known counts and sizes across it,
and a reference capture of the root-side end by an AF_PACKET socket of the case
(independent of libpcap).

Standard library only.  Run inside the namespace as

    python3 lib_live.py send PLAN.json RESULT.json

it sends the plan's UDP datagrams, ICMP/ICMPv6 echo requests (waiting for each
reply) and TCP exchanges, and writes what it did to RESULT.json.
"""

import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time

NS_PREFIX = "pathflow-e2e-live-"
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
ETH_P_ALL = 0x0003

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def ip(*args, check=True, timeout=20):
    """Run `ip ARGS`; (status, output)."""
    r = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    out = (r.stdout + r.stderr).decode(errors="replace").strip()
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: status %d: %s" % (" ".join(args), r.returncode, out))
    return r.returncode, out


def netns_usable():
    """None if this process can create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "not root (network namespaces and veth pairs need CAP_NET_ADMIN)"
    try:
        rc, out = ip("netns", "list", check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "`ip netns` unavailable: %s" % e
    if rc != 0:
        return "`ip netns list` failed: %s" % out
    return None


def remove_stale_namespaces():
    """Namespaces left by an earlier run of this case whose process is gone
    (the name carries its pid); deleting one also deletes its veth pair."""
    rc, out = ip("netns", "list", check=False)
    for line in out.splitlines():
        m = re.match(r"^(%s(\d+)-\S+)" % re.escape(NS_PREFIX), line)
        if m and not os.path.exists("/proc/%s" % m.group(2)):
            log("removing stale namespace", m.group(1))
            ip("netns", "del", m.group(1), check=False)


class Veth:
    """Namespace NS with end `ns_if` (n4, n6) and root-namespace end `root_if`
    (r4, r6): a /24 of 198.18.0.0/15 and a /64 of fd00::/8, chosen at random
    among those not routed here yet."""

    def __init__(self):
        tag = "%04x%02x" % (os.getpid() & 0xFFFF, random.randrange(256))
        self.ns = "%s%d-%s" % (NS_PREFIX, os.getpid(), tag)
        self.root_if = "pfl%sr" % tag          # at most 15 characters
        self.ns_if = "pfl%sn" % tag
        _, routes = ip("-4", "route", "show", "table", "all", check=False)
        for _ in range(50):
            sub = random.randrange(256)
            if ("198.18.%d." % sub) not in routes:
                break
        self.r4, self.n4 = "198.18.%d.1" % sub, "198.18.%d.2" % sub
        h = random.randrange(1, 0xFFFF)
        self.r6, self.n6 = "fd00:e2e:%x::1" % h, "fd00:e2e:%x::2" % h
        self.created = False

    def setup(self):
        self.created = True     # from here on remove() has something to do
        ip("netns", "add", self.ns)
        ip("link", "add", self.root_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.ns)
        ip("addr", "add", self.r4 + "/24", "dev", self.root_if)
        ip("-6", "addr", "add", self.r6 + "/64", "dev", self.root_if, "nodad")
        ip("link", "set", self.root_if, "up")
        ip("-n", self.ns, "link", "set", "lo", "up")
        ip("-n", self.ns, "addr", "add", self.n4 + "/24", "dev", self.ns_if)
        ip("-n", self.ns, "-6", "addr", "add", self.n6 + "/64", "dev", self.ns_if, "nodad")
        ip("-n", self.ns, "link", "set", self.ns_if, "up")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, a = ip("-o", "link", "show", self.root_if, check=False)
            _, b = ip("-n", self.ns, "-o", "link", "show", self.ns_if, check=False)
            if "LOWER_UP" in a and "LOWER_UP" in b:
                return
            time.sleep(0.1)
        raise RuntimeError("veth %s/%s not up after 10 s" % (self.root_if, self.ns_if))

    def remove(self):
        if not self.created:
            return
        ip("link", "del", self.root_if, check=False)
        ip("netns", "del", self.ns, check=False)
        _, links = ip("-o", "link", "show", check=False)
        _, spaces = ip("netns", "list", check=False)
        left = [n for n in (self.root_if,) if re.search(r"\b%s\b" % n, links)]
        left += [self.ns] if self.ns in spaces else []
        if left:
            raise RuntimeError("still present after removal: %s" % left)
        log("removed namespace", self.ns, "and veth", self.root_if)

    def netns_exec(self, argv):
        return ["ip", "netns", "exec", self.ns] + list(argv)


# --------------------------------------------------------------------------
# packets

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def parse_frame(frame):
    """Ethernet frame -> (5-tuple with pmacct protocol name, IP length, L4 payload length) or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack_from("!H", frame, 12)[0]
    p = 14
    if etype == 0x0800 and len(frame) >= p + 20:
        ihl = (frame[p] & 0x0F) * 4
        tot_len, frag, proto = struct.unpack_from("!H2xH1xB", frame, p + 2)
        src, dst = socket.inet_ntop(socket.AF_INET, frame[p + 12:p + 16]), socket.inet_ntop(socket.AF_INET, frame[p + 16:p + 20])
        l4, iplen, first = p + ihl, tot_len, (frag & 0x1FFF) == 0
        l3hdr = ihl
    elif etype == 0x86DD and len(frame) >= p + 40:
        plen, proto = struct.unpack_from("!HB", frame, p + 4)
        src, dst = socket.inet_ntop(socket.AF_INET6, frame[p + 8:p + 24]), socket.inet_ntop(socket.AF_INET6, frame[p + 24:p + 40])
        l4, iplen, first = p + 40, 40 + plen, True
        l3hdr = 40
    else:
        return None
    sport = dport = 0
    payload = 0
    if first and proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        if proto == 6 and len(frame) >= l4 + 13:
            payload = iplen - l3hdr - (frame[l4 + 12] >> 4) * 4
        elif proto == 17:
            payload = iplen - l3hdr - 8
    elif first and proto in (1, 58) and len(frame) >= l4 + 2:
        dport = frame[l4] * 256 + frame[l4 + 1]
    return (src, dst, sport, dport, PROTO_NAMES.get(proto, str(proto))), iplen, payload


class RefCapture:
    """Every frame seen on `ifname` (both directions), parsed, from an AF_PACKET socket."""

    def __init__(self, ifname):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.1)
        self.packets = []           # (monotonic time, 5-tuple, IP length, L4 payload length)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                frame = self.sock.recv(262144)
            except socket.timeout:
                continue
            except OSError:
                return
            r = parse_frame(frame)
            if r is not None:
                self.packets.append((time.monotonic(),) + r)

    def finish(self):
        """Stop; returns the kernel's (packets, drops) for the socket."""
        self.stop.set()
        self.thread.join(5)
        st = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        self.sock.close()
        return struct.unpack("II", st)

    def sums(self, since=0.0):
        """{5-tuple: [packets, bytes]} of the packets seen at or after `since` (monotonic)."""
        out = {}
        for t, k, iplen, _ in self.packets:
            if t >= since:
                s = out.setdefault(k, [0, 0])
                s[0] += 1
                s[1] += iplen
        return out

    def payload(self, key):
        return sum(p for _, k, _, p in self.packets if k == key)


# --------------------------------------------------------------------------
# traffic

def ping(family, dst, count, size, ident, timeout=2.0):
    """ICMP/ICMPv6 echo requests of `size` data bytes, each after the previous
    reply; returns the number of replies."""
    if family == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req, rep = 8, 0
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        req, rep = 128, 129
    got = 0
    try:
        for seq in range(1, count + 1):
            data = bytes((seq + i) & 0xFF for i in range(size))
            hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq)
            if family == 4:
                hdr = struct.pack("!BBHHH", req, 0, checksum(hdr + data), ident, seq)
            s.sendto(hdr + data, (dst, 0))      # the kernel fills in the ICMPv6 checksum
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    pkt = s.recv(65535)
                except socket.timeout:
                    break
                if family == 4:
                    pkt = pkt[(pkt[0] & 0x0F) * 4:]
                if len(pkt) >= 8:
                    t, _, _, i, q = struct.unpack_from("!BBHHH", pkt)
                    if t == rep and i == ident and q == seq:
                        got += 1
                        break
    finally:
        s.close()
    return got


def send_plan(plan):
    result = {"udp": [], "ping": [], "tcp": []}
    for u in plan.get("udp", []):
        fam = socket.AF_INET if u["family"] == 4 else socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((u["src"], u["sport"]))
        sent = 0
        for i in range(u["count"]):
            sent += s.sendto(bytes((i + j) & 0xFF for j in range(u["size"])), (u["dst"], u["dport"])) == u["size"]
            time.sleep(0.002)
        s.close()
        result["udp"].append(sent)
    for p in plan.get("ping", []):
        result["ping"].append(ping(p["family"], p["dst"], p["count"], p["size"], p["ident"]))
    for t in plan.get("tcp", []):
        fam = socket.AF_INET if t["family"] == 4 else socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((t["src"], t["sport"]))
        s.settimeout(10)
        s.connect((t["dst"], t["dport"]))
        for i in range(t["messages"]):
            s.sendall(bytes((i + j) & 0xFF for j in range(t["size"])))
            time.sleep(0.02)
        s.shutdown(socket.SHUT_WR)
        got = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
        s.close()
        result["tcp"].append(got)
    return result


class Receivers:
    """Sockets of the root-namespace end: UDP sinks (so that no port-unreachable
    comes back) and TCP servers that read to EOF, answer `reply` bytes and close."""

    def __init__(self, udp, tcp):
        self.stop = threading.Event()
        self.socks, self.threads = [], []
        self.tcp_received = {}          # (addr, port) -> bytes read
        for family, addr, port in udp:
            s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind((addr, port))
            s.settimeout(0.1)
            self._thread(self._drain, s)
        for family, addr, port, reply in tcp:
            s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(4)
            s.settimeout(0.1)
            self._thread(self._serve, s, reply, (addr, port))

    def _thread(self, fn, s, *args):
        self.socks.append(s)
        t = threading.Thread(target=fn, args=(s,) + args, daemon=True)
        t.start()
        self.threads.append(t)

    def _drain(self, s):
        while not self.stop.is_set():
            try:
                s.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return

    def _serve(self, s, reply, where):
        while not self.stop.is_set():
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                n = 0
                try:
                    while True:
                        b = conn.recv(65536)
                        if not b:
                            break
                        n += len(b)
                    conn.sendall(b"\x5a" * reply)
                except OSError:
                    pass
                self.tcp_received[where] = self.tcp_received.get(where, 0) + n

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(2)
        for s in self.socks:
            s.close()


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "send":
        sys.exit("usage: lib_live.py send PLAN.json RESULT.json")
    with open(sys.argv[2]) as f:
        plan = json.load(f)
    result = send_plan(plan)
    with open(sys.argv[3] + ".tmp", "w") as f:
        json.dump(result, f)
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])
    log("sent:", result)


if __name__ == "__main__":
    main()
