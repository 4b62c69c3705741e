#!/usr/bin/env bash
# Regenerate fixtures/packets/: frames the Linux kernel sent across a veth pair in two network
# namespaces (IPv4 and IPv6, fragments; TCP, UDP, ICMP, ICMPv6), captured by tcpdump on the veth
# end (Ethernet) and on "any" (Linux cooked v2); and 802.1Q / QinQ frames built by scapy (the
# kernel here has no VLAN devices). Each comes with tshark's decoding of every frame, which the
# packet parser's tests compare against.
#
# Needs root, iproute2, tcpdump, tshark, ping and python3 with scapy (PYTHON, default /usr/bin/python3). Traffic stays inside the
# two namespaces it creates (removed on exit).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/fixtures/packets"
A=pfcapA$$ B=pfcapB$$
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
mkdir -p "$OUT"
ip netns add "$A"; ip netns add "$B"
ip link add veth0 netns "$A" type veth peer name veth1 netns "$B"
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" addr add 192.0.2.1/24 dev veth0; ip -n "$B" addr add 192.0.2.2/24 dev veth1
ip -n "$A" addr add 2001:db8::1/64 dev veth0 nodad; ip -n "$B" addr add 2001:db8::2/64 dev veth1 nodad
ip -n "$A" link set veth0 up; ip -n "$B" link set veth1 up
sleep 1

ip netns exec "$B" tcpdump -i veth1 -U -s 0 -w "$OUT/veth-ethernet.pcap" 'ip or ip6' 2>/dev/null &
T1=$!
ip netns exec "$B" tcpdump -i any -U -s 0 -w "$OUT/any-cooked.pcap" 'ip or ip6' 2>/dev/null &
T2=$!
sleep 1.5

ip netns exec "$B" python3 - <<'PY' &
import socket, threading
def tcp(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 5001)); s.listen(4); s.settimeout(8)
    for _ in range(1):
        try:
            c, _ = s.accept()
        except OSError:
            return
        c.recv(65536); c.sendall(b"r" * 3000); c.close()
def udp(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM); s.settimeout(8)
    if family == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 5002))
    for _ in range(3):
        try:
            data, peer = s.recvfrom(65536); s.sendto(data[:100], peer)
        except OSError:
            return
threads = [threading.Thread(target=f, args=a) for f, a in [
    (tcp, (socket.AF_INET, "0.0.0.0")), (tcp, (socket.AF_INET6, "::")),
    (udp, (socket.AF_INET, "0.0.0.0")), (udp, (socket.AF_INET6, "::"))]]
for t in threads: t.start()
for t in threads: t.join()
PY
SERVER=$!
sleep 1
ip netns exec "$A" python3 - <<'PY'
import socket, time
for family, addr in [(socket.AF_INET, "192.0.2.2"), (socket.AF_INET6, "2001:db8::2")]:
    c = socket.socket(family, socket.SOCK_STREAM); c.settimeout(5); c.connect((addr, 5001))
    c.sendall(b"q" * 1500); c.shutdown(socket.SHUT_WR); c.recv(65536); time.sleep(0.05); c.close()
    u = socket.socket(family, socket.SOCK_DGRAM); u.settimeout(5)
    if family == socket.AF_INET:
        u.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xb8)
    for n in (200, 1200, 4000):
        u.sendto(b"u" * n, (addr, 5002)); u.recvfrom(65536)
PY
# Echo requests through raw sockets (the kernel in B answers), small and fragmented.
ip netns exec "$A" python3 - <<'PY'
import socket, struct, time
def checksum(data):
    if len(data) % 2: data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
def echo(family, addr, size, tos=0):
    v6 = family == socket.AF_INET6
    s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    s.settimeout(3)
    if tos: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    for seq in (1, 2):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        head = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0x4242, seq)
        packet = head + payload
        if not v6:  # the kernel fills the ICMPv6 checksum itself
            packet = head[:2] + struct.pack("!H", checksum(packet)) + head[4:] + payload
        s.sendto(packet, (addr, 0))
        try:
            s.recv(65536)
        except OSError:
            pass
        time.sleep(0.1)
echo(socket.AF_INET, "192.0.2.2", 56, tos=0x28)
echo(socket.AF_INET, "192.0.2.2", 3000)
echo(socket.AF_INET6, "2001:db8::2", 56)
echo(socket.AF_INET6, "2001:db8::2", 3000)
PY
wait "$SERVER" || true
sleep 1
kill "$T1" "$T2"; wait "$T1" "$T2" 2>/dev/null || true

# Tagged frames: one 802.1Q tag, and QinQ (802.1ad outer, 802.1Q inner).
"${PYTHON:-/usr/bin/python3}" - "$OUT/scapy-vlan.pcap" <<'PY'
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, ICMP, Raw, wrpcap
frames = [
    Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=100) /
        IP(src="198.51.100.1", dst="198.51.100.2", tos=0x28) / TCP(sport=40000, dport=443, flags="S"),
    Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / Dot1Q(vlan=100) /
        IP(src="198.51.100.2", dst="198.51.100.1") / TCP(sport=443, dport=40000, flags="SA"),
    Ether() / Dot1Q(vlan=4000) / IPv6(src="2001:db8:100::1", dst="2001:db8:100::2") / UDP(sport=5353, dport=53) / Raw(b"x" * 64),
    Ether(type=0x88a8) / Dot1AD(vlan=300, type=0x8100) / Dot1Q(vlan=42) /
        IP(src="203.0.113.9", dst="192.0.2.77") / ICMP(type=3, code=3) / Raw(b"y" * 28),
    Ether(type=0x88a8) / Dot1AD(vlan=301, type=0x8100) / Dot1Q(vlan=43) /
        IPv6(src="2001:db8::9", dst="2001:db8::77") / TCP(sport=1234, dport=80, flags="FA"),
]
for i, f in enumerate(frames):
    f.time = 1700000000 + i
wrpcap(sys.argv[1], frames)
PY

# tshark's reading of each frame: the fields the parser must agree with.
for f in veth-ethernet any-cooked scapy-vlan; do
    tshark -r "$OUT/$f.pcap" -T fields -E header=y -E separator=/t -E occurrence=f \
        -e frame.number -e vlan.id -e ieee8021ad.id -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e ip.proto -e ipv6.nxt \
        -e ip.len -e ipv6.plen -e ip.dsfield -e ipv6.tclass -e ip.frag_offset -e ip.flags.mf -e ip.id -e ipv6.fraghdr.offset -e ipv6.fraghdr.nxt -e ipv6.fraghdr.more -e ipv6.fraghdr.ident \
        -e tcp.srcport -e tcp.dstport -e tcp.flags -e udp.srcport -e udp.dstport \
        -e icmp.type -e icmp.code -e icmpv6.type -e icmpv6.code > "$OUT/$f.tshark.tsv"
    echo "$f: $(($(wc -l < "$OUT/$f.tshark.tsv") - 1)) frames"
done
{
    echo "Captured $(date -u +%Y-%m-%d) on $(uname -sr) by tools/capture-packets.sh"
    echo "tcpdump: $(tcpdump --version 2>&1 | head -1)"
    echo "tshark: $(tshark --version | head -1)"
} > "$OUT/captured-at.txt"
