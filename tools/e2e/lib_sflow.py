"""sFlow v5 for the end-to-end cases 32 and 33 and tools/bench/sflow: traffic, a decoder and an encoder
of their own (standard library only; nothing shared with pathflow).

* `traffic(seed)`: Ethernet frames, deterministic for a seed: TCP, UDP, ICMP and ICMPv6 over
  IPv4 and IPv6, some behind an 802.1Q tag or MPLS labels, some IPv4 headers with options, some
  IPv4 UDP datagrams in fragments.  `write_pcap` writes them.
* `frame_key(frame)`: the 5-tuple a collector reads from a frame's first bytes.
* `pmacct_mpls_walk(frame, start)`: what pmacct 1.7.7 reads of an MPLS label stack, and
  `mpls_misread_frames()`: frames behind two labels it reads at the wrong offset.
* `decode(datagram)`: an sFlow v5 datagram (sflow.org, "sFlow Version 5", July 2004) as a
  `Datagram` of `FlowSample`s (compact and expanded; the raw packet header, extended router and
  extended gateway records) and counter samples.
* `encode_flow_sample(...)`, `encode_datagram(...)`: the other way, compact flow samples with a
  raw packet header only.

  python3 tools/e2e/lib_sflow.py FILE.pcap    # writes the traffic pcap and prints its totals
"""

import collections
import random
import socket
import struct
import sys

from lib_live import checksum as _csum

# ----------------------------------------------------------------------------------- frames

MAC_A = bytes.fromhex("020000000a01")
MAC_B = bytes.fromhex("020000000b02")
ETH_IP4, ETH_IP6, ETH_VLAN, ETH_MPLS = 0x0800, 0x86DD, 0x8100, 0x8847
TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
VLANS = (10, 20, 100, 200, 4000)


def ethernet_frame(payload, ethertype, vlan, labels=()):
    """An Ethernet frame (802.1Q tag when vlan is (id, pcp); an MPLS label stack when labels are
    given), padded to 60 bytes as a NIC sends it."""
    head = MAC_B + MAC_A
    if vlan is not None:
        head += struct.pack("!HH", ETH_VLAN, vlan[1] << 13 | vlan[0])
    if labels:
        stack = b"".join(struct.pack("!I", label << 12 | (i == len(labels) - 1) << 8 | 64)
                         for i, label in enumerate(labels))
        payload, ethertype = stack + payload, ETH_MPLS
    frame = head + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def ipv4_packet(src, dst, proto, payload, tos=0, ident=0, frag=0, more=False, options=b""):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 4 * ihl + len(payload), ident,
                      (0x2000 if more else 0) | frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6_packet(src, dst, nh, payload, tc=0, label=0):
    return struct.pack("!IHBB16s16s", 6 << 28 | tc << 20 | label, len(payload), nh, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload


_PAYLOAD = bytes((i * 7) & 0xFF for i in range(4096))


def transport(proto, sport, dport, size, flags=0x18, icmp=(8, 0)):
    """A transport header plus `size` bytes of payload (checksums left 0: no collector reads them)."""
    body = _PAYLOAD[:size] if size <= len(_PAYLOAD) else bytes((i * 7) & 0xFF for i in range(size))
    if proto == TCP:
        return struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0) + body
    if proto == UDP:
        return struct.pack("!HHHH", sport, dport, 8 + size, 0) + body
    return struct.pack("!BBHHH", icmp[0], icmp[1], 0, 0x4242, 1) + body


Flow = collections.namedtuple("Flow", "v6 src dst proto sport dport vlan labels tos options packets sizes icmp")


def _flows(rng, n):
    flows = []
    keys = set()
    while len(flows) < n:
        v6 = rng.random() < 0.35
        r = rng.random()
        proto = TCP if r < 0.5 else UDP if r < 0.88 else (ICMP6 if v6 else ICMP)
        if v6:
            src = "2001:db8:%x::%x" % (rng.randrange(1, 8), rng.randrange(1, 4000))
            dst = "2001:db8:%x:%x::%x" % (rng.randrange(8, 16), rng.randrange(0, 4), rng.randrange(1, 600))
        else:
            src = "198.51.%d.%d" % (rng.randrange(100, 104), rng.randrange(1, 255))
            dst = "203.0.%d.%d" % (rng.randrange(113, 116), rng.randrange(1, 255))
        if proto in (TCP, UDP):
            server = rng.choice((22, 25, 53, 80, 123, 443, 993, 3306, 4789, 5060, 8080))
            sport, dport = rng.randrange(1024, 65536), server
            if rng.random() < 0.4:      # the server's side of a conversation
                src, dst, sport, dport = dst, src, dport, sport
        else:
            sport = dport = 0
        icmp = rng.choice(((8, 0), (0, 0), (3, 3), (11, 0))) if proto == ICMP else \
            rng.choice(((128, 0), (129, 0), (1, 4))) if proto == ICMP6 else None
        key = (src, dst, sport, dport, proto, icmp)
        if key in keys:
            continue
        keys.add(key)
        vlan = (rng.choice(VLANS), rng.randrange(8)) if rng.random() < 0.2 else None
        # MPLS: one label before IPv4, one or two before IPv6.  pmacct reads a stack's second entry
        # 16 bytes on (pmacct_mpls_walk): before IPv4 what it finds there depends on the header
        # checksum and on memory past the frame (pmacctd's core drops some such frames, not always
        # the same); before a 2001:db8:: source it finds a bottom-of-stack bit at the right offset.
        labels = tuple(rng.randrange(16, 1 << 20) for _ in range(rng.randrange(1, 3) if v6 else 1)) \
            if vlan is None and rng.random() < 0.04 else ()
        tos = rng.choice((0, 0, 0, 0x10, 0x28, 0xb8))
        options = b"\x94\x04\x00\x00" if not v6 and rng.random() < 0.05 else b""  # IPv4 Router Alert
        packets = 1 + int(rng.paretovariate(1.3)) % 40
        small = rng.random() < 0.5
        sizes = [rng.randrange(0, 120) if small or rng.random() < 0.3 else rng.randrange(400, 1440)
                 for _ in range(packets)]
        flows.append(Flow(v6, src, dst, proto, sport, dport, vlan, labels, tos, options, packets, sizes, icmp))
    return flows


def _frames_of(flow, rng):
    out = []
    for size in flow.sizes:
        l4 = transport(flow.proto, flow.sport, flow.dport, size, flags=rng.choice((0x02, 0x10, 0x18, 0x11)),
                 icmp=flow.icmp or (8, 0))
        if flow.v6:
            ip = ipv6_packet(flow.src, flow.dst, flow.proto, l4, tc=flow.tos, label=rng.randrange(1 << 20))
            out.append(ethernet_frame(ip, ETH_IP6, flow.vlan, flow.labels))
        else:
            ip = ipv4_packet(flow.src, flow.dst, flow.proto, l4, tos=flow.tos, ident=rng.randrange(65536),
                       options=flow.options)
            out.append(ethernet_frame(ip, ETH_IP4, flow.vlan, flow.labels))
    return out


def _fragmented(rng, n):
    """IPv4 UDP datagrams of 2,000-4,000 bytes in 1,480-byte fragments: the first has the ports."""
    out = []
    for i in range(n):
        src, dst = "198.51.104.%d" % (i + 1), "203.0.116.%d" % (i + 1)
        l4 = transport(UDP, 7000 + i, 7001 + i, rng.randrange(2000, 4000))
        ident = 0x1000 + i
        off = 0
        while off < len(l4):
            part = l4[off:off + 1480]
            more = off + len(part) < len(l4)
            out.append(ethernet_frame(ipv4_packet(src, dst, UDP, part, ident=ident, frag=off // 8, more=more), ETH_IP4, None))
            off += len(part)
    return out


def traffic(seed=32, flows=1000, fragmented=12):
    """The frames in capture order: every flow's packets interleaved at random."""
    rng = random.Random(seed)
    streams = [_frames_of(f, rng) for f in _flows(rng, flows)] + [[fr] for fr in _fragmented(rng, fragmented)]
    frames = []
    pos = [0] * len(streams)
    live = list(range(len(streams)))
    while live:
        i = rng.randrange(len(live))
        s = live[i]
        frames.append(streams[s][pos[s]])
        pos[s] += 1
        if pos[s] == len(streams[s]):
            live[i] = live[-1]
            live.pop()
    return frames


def pmacct_mpls_walk(frame, start):
    """What pmacct 1.7.7's mpls_handler() (src/ll.c, also in sfacctd) makes of the label stack at
    `start`: (IP version or None, the bytes it takes for the stack, whether it read past the
    frame).  It counts 4 bytes per label entry but steps a u_int32_t pointer by 4, so it reads
    entry n at start + 16 n: its bottom of stack (and label value) come from the wrong bytes from
    the second entry on."""
    caplen, p, nxt, skip, past = len(frame) - start, start, start, 0, False
    if caplen < 4:
        return None, 0, False
    pad = frame + b"\0" * (16 * caplen + 16)
    while True:
        past = past or p + 4 > len(frame)
        (label,) = struct.unpack_from("!I", pad, p)
        p, skip, nxt, caplen = p + 16, skip + 4, nxt + 4, caplen - 4
        if label >> 8 & 1 or caplen < 4:
            break
    if label >> 12 in (0, 3):
        return 4, skip, past
    if label >> 12 == 2:
        return 6, skip, past
    if label >> 8 & 1:
        first = pad[nxt]
        if 0x45 <= first <= 0x4F:
            return 4, skip, past
        if 0x60 <= first <= 0x6F:
            return 6, skip, past
    return None, skip, past


def mpls_misread_frames(count=4):
    """IPv4/TCP frames behind two MPLS labels that pmacct_mpls_walk misreads without leaving the
    first 64 bytes: the second entry it reads (IP header bytes 8-11) has no bottom-of-stack bit
    (the checksum's high byte is even), the third (TCP sequence number) has one, and the byte it
    then takes for the IP version (the IP identification's high byte, 0x45) says IPv4: it reads
    an IPv4 header 4 bytes too far on."""
    out = []
    for i in range(count):
        src, dst = "198.51.105.%d" % (i + 1), "203.0.117.%d" % (i + 1)
        for low in range(256):
            tcp = struct.pack("!HHIIBBHHH", 40000 + i, 443, 0x00A00100 + i, 0, 5 << 4, 0x18, 65535, 0, 0) + bytes(200)
            ip = ipv4_packet(src, dst, TCP, tcp, ident=0x4500 | low)
            if not ip[10] & 1:
                break
        frame = ethernet_frame(ip, ETH_IP4, None, labels=(1000 + i, 2000 + i))
        assert pmacct_mpls_walk(frame[:64], 14) == (4, 12, False)
        out.append(frame)
    return out


def write_pcap(path, frames, t0=1700000000, spacing_us=2000):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            sec, usec = divmod(i * spacing_us, 1_000_000)
            f.write(struct.pack("<IIII", t0 + sec, usec, len(fr), len(fr)))
            f.write(fr)


# ------------------------------------------------------------------------ reading headers

Key = collections.namedtuple("Key", "src dst sport dport proto icmp vlan mpls")


def frame_key(frame):
    """The 5-tuple in the first bytes of an Ethernet frame (802.1Q tags and an MPLS label stack
    skipped), or None when it holds no IPv4/IPv6 packet.  `icmp` is (type, code) for ICMP and
    ICMPv6, else None; ports are those of TCP and UDP only, 0 for later IPv4 fragments; `vlan`
    the first tag's id, `mpls` the number of labels."""
    if len(frame) < 14:
        return None
    p, vlan = 12, None
    (etype,) = struct.unpack_from("!H", frame, p)
    while etype in (ETH_VLAN, 0x88A8) and len(frame) >= p + 6:
        if vlan is None:
            vlan = struct.unpack_from("!H", frame, p + 2)[0] & 0xFFF
        p += 4
        (etype,) = struct.unpack_from("!H", frame, p)
    p += 2
    mpls = 0
    if etype == ETH_MPLS:
        while len(frame) >= p + 4:
            mpls += 1
            bottom = frame[p + 2] & 1
            p += 4
            if bottom:
                break
        etype = {4: ETH_IP4, 6: ETH_IP6}.get(frame[p] >> 4 if len(frame) > p else 0, 0)
    if etype == ETH_IP4 and len(frame) >= p + 20:
        ihl = (frame[p] & 0x0F) * 4
        proto = frame[p + 9]
        frag = struct.unpack_from("!H", frame, p + 6)[0] & 0x1FFF
        src, dst = socket.inet_ntoa(frame[p + 12:p + 16]), socket.inet_ntoa(frame[p + 16:p + 20])
        l4 = p + ihl if frag == 0 else None
    elif etype == ETH_IP6 and len(frame) >= p + 40:
        proto = frame[p + 6]
        src = socket.inet_ntop(socket.AF_INET6, frame[p + 8:p + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[p + 24:p + 40])
        l4 = p + 40
    else:
        return None
    sport = dport = 0
    icmp = None
    if l4 is not None and len(frame) >= l4 + 4:
        if proto in (TCP, UDP):
            sport, dport = struct.unpack_from("!HH", frame, l4)
        elif proto in (ICMP, ICMP6):
            icmp = (frame[l4], frame[l4 + 1])
    return Key(src, dst, sport, dport, proto, icmp, vlan, mpls)


# ------------------------------------------------------------------------------ decoding

FlowSample = collections.namedtuple(
    "FlowSample", "seq source_class source_index rate pool drops input output header_proto frame_length "
                  "stripped header key router gateway")
# The extended router (1002) and gateway (1003) records of a flow sample, None when it has none.
# Addresses as text ("" for an address of type 0); `path` [(segment type, [ASN])], 1 = AS_SET.
Router = collections.namedtuple("Router", "nexthop src_mask dst_mask")
Gateway = collections.namedtuple("Gateway", "nexthop as_router src_as src_peer_as path communities local_pref")
CounterSample = collections.namedtuple("CounterSample", "seq source_class source_index records")
Datagram = collections.namedtuple("Datagram", "agent sub_agent seq uptime flows counters")


class DecodeError(Exception):
    pass


class _Reader:
    def __init__(self, data, start=0, end=None):
        self.d, self.p, self.end = data, start, len(data) if end is None else end

    def u32(self):
        if self.p + 4 > self.end:
            raise DecodeError("truncated at %d" % self.p)
        (v,) = struct.unpack_from("!I", self.d, self.p)
        self.p += 4
        return v

    def take(self, n):
        if self.p + n > self.end:
            raise DecodeError("truncated at %d" % self.p)
        self.p += n
        return self.d[self.p - n:self.p]

    def address(self):
        kind = self.u32()
        if kind == 1:
            return socket.inet_ntoa(self.take(4))
        if kind == 2:
            return socket.inet_ntop(socket.AF_INET6, self.take(16))
        if kind == 0:
            return ""
        raise DecodeError("address type %d" % kind)

    def sub(self):
        """An XDR opaque structure: its length, then a reader over it (this one moves past it)."""
        n = self.u32()
        if self.p + n > self.end:
            raise DecodeError("structure of %d bytes past the end" % n)
        r = _Reader(self.d, self.p, self.p + n)
        self.p += n
        return r


def _gateway(rec):
    nexthop, as_router, src_as, src_peer_as = rec.address(), rec.u32(), rec.u32(), rec.u32()
    path = []
    for _ in range(rec.u32()):
        kind = rec.u32()
        path.append((kind, [rec.u32() for _ in range(rec.u32())]))
    communities = [rec.u32() for _ in range(rec.u32())]
    g = Gateway(nexthop, as_router, src_as, src_peer_as, path, communities, rec.u32())
    if rec.p != rec.end:
        raise DecodeError("extended gateway longer than its fields")
    return g


def decode(data):
    """One sFlow v5 datagram; DecodeError when it is not one or does not add up."""
    r = _Reader(data)
    if r.u32() != 5:
        raise DecodeError("not sFlow v5")
    agent = r.address()
    sub_agent, seq, uptime, n = r.u32(), r.u32(), r.u32(), r.u32()
    flows, counters = [], []
    for _ in range(n):
        fmt = r.u32()
        s = r.sub()
        if fmt >> 12:
            continue                              # an enterprise's sample
        fmt &= 0xFFF
        if fmt in (1, 3):
            sseq = s.u32()
            if fmt == 1:
                word = s.u32()
                cls, idx = word >> 24, word & 0xFFFFFF
            else:
                cls, idx = s.u32(), s.u32()
            rate, pool, drops = s.u32(), s.u32(), s.u32()
            if fmt == 1:
                inp, out = s.u32(), s.u32()       # format << 30 | value
            else:
                inp = s.u32() << 30 | s.u32()
                out = s.u32() << 30 | s.u32()
            hdr = router = gateway = None
            for _ in range(s.u32()):
                rfmt = s.u32()
                rec = s.sub()
                if rfmt == 1:
                    proto, flen, stripped = rec.u32(), rec.u32(), rec.u32()
                    hlen = rec.u32()
                    hdr = (proto, flen, stripped, bytes(rec.take(hlen)))
                elif rfmt == 1002:
                    router = Router(rec.address(), rec.u32(), rec.u32())
                elif rfmt == 1003:
                    gateway = _gateway(rec)
            if s.p != s.end:
                raise DecodeError("flow sample longer than its records")
            if hdr is None:
                raise DecodeError("flow sample without a raw packet header")
            key = frame_key(hdr[3]) if hdr[0] == 1 else None
            flows.append(FlowSample(sseq, cls, idx, rate, pool, drops, inp, out, hdr[0], hdr[1], hdr[2],
                                    hdr[3], key, router, gateway))
        elif fmt in (2, 4):
            sseq = s.u32()
            if fmt == 2:
                word = s.u32()
                cls, idx = word >> 24, word & 0xFFFFFF
            else:
                cls, idx = s.u32(), s.u32()
            recs = []
            for _ in range(s.u32()):
                rfmt = s.u32()
                rec = s.sub()
                recs.append((rfmt, bytes(rec.d[rec.p:rec.end])))
            counters.append(CounterSample(sseq, cls, idx, recs))
    if r.p != r.end:
        raise DecodeError("%d bytes after the last sample" % (r.end - r.p))
    return Datagram(agent, sub_agent, seq, uptime, flows, counters)


def sample_count(data):
    """The header's sample count of an sFlow v5 datagram (IPv4 or IPv6 agent)."""
    (kind,) = struct.unpack_from("!I", data, 4)
    return struct.unpack_from("!I", data, (24 if kind == 1 else 36))[0]


# ------------------------------------------------------------------------------ encoding

def _address(addr):
    if ":" in addr:
        return struct.pack("!I", 2) + socket.inet_pton(socket.AF_INET6, addr)
    return struct.pack("!I", 1) + socket.inet_aton(addr)


def encode_flow_sample(seq, source_index, rate, pool, input_if, output_if, frame, header_bytes=128):
    """A compact flow sample (format 1) with one record: the raw packet header (format 1,
    Ethernet) of `frame`'s first `header_bytes` bytes, frame_length = len(frame) + 4 (an FCS)."""
    hdr = frame[:header_bytes]
    pad = b"\0" * (-len(hdr) % 4)
    rec = struct.pack("!IIII", 1, len(frame) + 4, 4, len(hdr)) + hdr + pad
    body = struct.pack("!IIIIIIII", seq, source_index, rate, pool, 0, input_if, output_if, 1) \
        + struct.pack("!II", 1, len(rec)) + rec
    return struct.pack("!II", 1, len(body)) + body


def encode_datagram(agent, sub_agent, seq, uptime_ms, samples):
    """An sFlow v5 datagram around encoded samples."""
    return struct.pack("!I", 5) + _address(agent) + struct.pack("!IIII", sub_agent, seq, uptime_ms, len(samples)) \
        + b"".join(samples)


if __name__ == "__main__":
    fr = traffic()
    write_pcap(sys.argv[1], fr)
    keys = collections.Counter(frame_key(f)[:5] for f in fr)
    print("%d frames, %d bytes, %d 5-tuples, %d IPv6 frames, %d tagged, %d with MPLS labels" % (
        len(fr), sum(map(len, fr)), len(keys), sum(1 for f in fr if ":" in frame_key(f).src),
        sum(1 for f in fr if frame_key(f).vlan is not None), sum(1 for f in fr if frame_key(f).mpls)))
