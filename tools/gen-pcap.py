#!/usr/bin/python3
"""Deterministic synthetic traffic generator for flow-exporter fixtures.

Writes an Ethernet (DLT_EN10MB) pcap containing TCP, UDP and ICMP / ICMPv6
echo traffic over IPv4 and IPv6, with exactly --flows distinct
unidirectional 5-tuples, and optionally a truth TSV listing, per 5-tuple,
the packet count and the byte count as NetFlow exporters report it
(IP total length: IP header included, Ethernet header excluded; for IPv6
the 40-byte fixed header plus payload length).

For ICMP / ICMPv6 the truth uses src_port 0 and dst_port = type*256+code,
the convention NetFlow exporters follow.

Usage: gen-pcap.py --flows N --out FILE.pcap [--truth FILE.tsv] [--seed S]

Output is byte-for-byte reproducible for a given (flows, seed, epoch).
Requires scapy (Debian package python3-scapy).
"""

import argparse
import ipaddress
import random
import struct
import sys

from scapy.all import (  # type: ignore
    Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply,
    Raw, conf,
)

conf.verb = 0

TCP_SERVER_PORTS = [22, 25, 80, 110, 143, 443, 993, 3306, 5432, 8080, 8443]
UDP_SERVER_PORTS = [53, 123, 161, 514, 1812, 4789, 5060, 11211]
TOS_VALUES = [0x00, 0x00, 0x00, 0x10, 0x28, 0xb8]  # mostly best effort

F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

MAC_CLIENT = "02:00:00:00:00:01"
MAC_SERVER = "02:00:00:00:00:02"


class Gen:
    def __init__(self, seed, epoch, duration):
        self.rng = random.Random(seed)
        self.epoch = epoch
        self.duration = duration
        self.tuples = set()          # (src, dst, sport, dport, proto)
        self.truth = {}              # 5-tuple -> [packets, bytes]
        self.order = []              # 5-tuples in creation order
        self.packets = []            # (time_us, seq, scapy packet)
        self.seq = 0

    # ---- address helpers -------------------------------------------------
    @staticmethod
    def canon(a):
        # RFC 5952 text form, the form tshark and most decoders print
        return str(ipaddress.ip_address(a))

    def v4_client(self):
        r = self.rng
        return self.canon("10.%d.%d.%d" % (r.randint(0, 15), r.randint(0, 255), r.randint(1, 254)))

    def v4_server(self):
        r = self.rng
        net = r.choice(["192.0.2", "198.51.100", "203.0.113"])
        return self.canon("%s.%d" % (net, r.randint(1, 254)))

    def v6_client(self):
        r = self.rng
        return self.canon("2001:db8:1:%x::%x" % (r.randint(0, 0xff), r.randint(1, 0xffff)))

    def v6_server(self):
        r = self.rng
        return self.canon("2001:db8:ff::%x" % r.randint(1, 0xfff))

    # ---- bookkeeping ----------------------------------------------------
    def free(self, *keys):
        return all(k not in self.tuples for k in keys)

    def claim(self, *keys):
        for k in keys:
            self.tuples.add(k)
            self.truth[k] = [0, 0]
            self.order.append(k)

    def emit(self, t_us, key, l3):
        """Append one packet; l3 is the IP/IPv6 layer (with payload)."""
        src_mac, dst_mac = MAC_CLIENT, MAC_SERVER
        if self.rng.random() < 0.5:
            src_mac, dst_mac = dst_mac, src_mac
        pkt = Ether(src=src_mac, dst=dst_mac) / l3
        raw = bytes(pkt)
        iplen = len(raw) - 14
        self.truth[key][0] += 1
        self.truth[key][1] += iplen
        self.packets.append((t_us, self.seq, raw))
        self.seq += 1

    def l3(self, v6, src, dst, tos, l4):
        if v6:
            return IPv6(src=src, dst=dst, tc=tos, hlim=64) / l4
        return IP(src=src, dst=dst, tos=tos, ttl=64, id=self.rng.randint(0, 0xffff), flags="DF") / l4

    def start_time(self):
        # start within the first ~110 s so that each conversation ends by ~120 s
        return self.rng.randint(0, (self.duration - 10) * 1_000_000)

    def gap(self):
        return self.rng.randint(200, 400_000)  # 0.2 ms .. 400 ms

    def payload(self, lo, hi):
        n = self.rng.randint(lo, hi)
        return Raw(bytes(self.rng.getrandbits(8) for _ in range(n))) if n else None

    # ---- conversations --------------------------------------------------
    def tcp_conv(self, v6, remaining):
        r = self.rng
        for _ in range(100):
            c, s = (self.v6_client(), self.v6_server()) if v6 else (self.v4_client(), self.v4_server())
            cp, sp = r.randint(1024, 65535), r.choice(TCP_SERVER_PORTS)
            fwd, rev = (c, s, cp, sp, 6), (s, c, sp, cp, 6)
            if self.free(fwd, rev):
                break
        else:
            return 0
        both = remaining >= 2
        self.claim(*((fwd, rev) if both else (fwd,)))
        tos = r.choice(TOS_VALUES)
        t = self.start_time()
        cseq, sseq = r.getrandbits(32), r.getrandbits(32)

        def pkt(direction, flags, data=None):
            nonlocal t, cseq, sseq
            t += self.gap()
            if direction == 0:
                l4 = TCP(sport=cp, dport=sp, flags=flags, seq=cseq, ack=sseq if flags & F_ACK else 0, window=65535)
                src, dst, key = c, s, fwd
            else:
                l4 = TCP(sport=sp, dport=cp, flags=flags, seq=sseq, ack=cseq, window=65535)
                src, dst, key = s, c, rev
            if data is not None:
                l4 = l4 / data
            dlen = len(data) if data is not None else 0
            adv = dlen + (1 if flags & (F_SYN | F_FIN) else 0)
            if direction == 0:
                cseq = (cseq + adv) & 0xffffffff
            else:
                sseq = (sseq + adv) & 0xffffffff
            self.emit(t, key, self.l3(v6, src, dst, tos, l4))

        pkt(0, F_SYN)
        if both:
            pkt(1, F_SYN | F_ACK)
        pkt(0, F_ACK)
        for _ in range(r.randint(1, 4)):
            pkt(0, F_PSH | F_ACK, self.payload(1, 600))
            if both:
                pkt(1, F_PSH | F_ACK, self.payload(1, 1200))
        if r.random() < 0.1:
            pkt(0, F_RST | F_ACK)           # aborted connection
            return 2 if both else 1
        pkt(0, F_FIN | F_ACK)
        if both:
            pkt(1, F_FIN | F_ACK)
        pkt(0, F_ACK)
        return 2 if both else 1

    def udp_conv(self, v6, remaining):
        r = self.rng
        for _ in range(100):
            c, s = (self.v6_client(), self.v6_server()) if v6 else (self.v4_client(), self.v4_server())
            cp, sp = r.randint(1024, 65535), r.choice(UDP_SERVER_PORTS)
            fwd, rev = (c, s, cp, sp, 17), (s, c, sp, cp, 17)
            if self.free(fwd, rev):
                break
        else:
            return 0
        both = remaining >= 2 and r.random() < 0.7   # some one-way UDP
        self.claim(*((fwd, rev) if both else (fwd,)))
        tos = r.choice(TOS_VALUES)
        t = self.start_time()
        for _ in range(r.randint(1, 5)):
            t += self.gap()
            self.emit(t, fwd, self.l3(v6, c, s, tos, UDP(sport=cp, dport=sp) / self.payload(8, 400)))
            if both:
                t += self.gap()
                self.emit(t, rev, self.l3(v6, s, c, tos, UDP(sport=sp, dport=cp) / self.payload(8, 1200)))
        return 2 if both else 1

    def icmp_conv(self, v6, remaining):
        r = self.rng
        req_t, rep_t = (128, 129) if v6 else (8, 0)
        proto = 58 if v6 else 1
        for _ in range(100):
            c, s = (self.v6_client(), self.v6_server()) if v6 else (self.v4_client(), self.v4_server())
            fwd, rev = (c, s, 0, req_t * 256, proto), (s, c, 0, rep_t * 256, proto)
            if self.free(fwd, rev):
                break
        else:
            return 0
        both = remaining >= 2 and r.random() < 0.85  # some unanswered pings
        self.claim(*((fwd, rev) if both else (fwd,)))
        tos = r.choice(TOS_VALUES)
        t = self.start_time()
        ident = r.randint(1, 0xffff)
        for seq in range(1, r.randint(1, 5) + 1):
            data = self.payload(8, 120) or Raw(b"\x00" * 8)
            t += self.gap()
            l4 = (ICMPv6EchoRequest(id=ident, seq=seq) if v6 else ICMP(type=8, code=0, id=ident, seq=seq)) / data
            self.emit(t, fwd, self.l3(v6, c, s, tos, l4))
            if both:
                t += self.gap()
                l4 = (ICMPv6EchoReply(id=ident, seq=seq) if v6 else ICMP(type=0, code=0, id=ident, seq=seq)) / data
                self.emit(t, rev, self.l3(v6, s, c, tos, l4))
        return 2 if both else 1

    def run(self, nflows):
        guard = 0
        while len(self.order) < nflows:
            guard += 1
            if guard > nflows * 10:
                sys.exit("could not allocate %d distinct 5-tuples" % nflows)
            remaining = nflows - len(self.order)
            v6 = self.rng.random() < 0.3
            x = self.rng.random()
            if x < 0.5:
                self.tcp_conv(v6, remaining)
            elif x < 0.8:
                self.udp_conv(v6, remaining)
            else:
                self.icmp_conv(v6, remaining)

    def write_pcap(self, path):
        # classic libpcap format, microsecond timestamps, written directly so
        # that the output does not depend on scapy's writer internals
        self.packets.sort(key=lambda p: (p[0], p[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for t_us, _, raw in self.packets:
                sec, usec = divmod(t_us, 1_000_000)
                f.write(struct.pack("<IIII", self.epoch + sec, usec, len(raw), len(raw)))
                f.write(raw)

    def write_truth(self, path):
        with open(path, "w") as f:
            f.write("src_addr\tdst_addr\tsrc_port\tdst_port\tproto\tpackets\tbytes\n")
            for k in self.order:
                p, b = self.truth[k]
                f.write("%s\t%s\t%d\t%d\t%d\t%d\t%d\n" % (k + (p, b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=2000, help="number of distinct 5-tuples (default 2000)")
    ap.add_argument("--out", required=True, help="output pcap")
    ap.add_argument("--truth", help="optional truth TSV")
    ap.add_argument("--seed", type=int, default=20231114, help="PRNG seed (default 20231114)")
    ap.add_argument("--epoch", type=int, default=1700000000, help="first second of traffic (default 1700000000)")
    ap.add_argument("--duration", type=int, default=120, help="approximate span in seconds (default 120)")
    a = ap.parse_args()
    if a.flows < 1:
        sys.exit("--flows must be >= 1")
    g = Gen(a.seed, a.epoch, a.duration)
    g.run(a.flows)
    g.write_pcap(a.out)
    if a.truth:
        g.write_truth(a.truth)
    print("%d flows, %d packets -> %s" % (len(g.order), len(g.packets), a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
