"""Real exporters' captures, replayed to pathflow and decoded by tshark.

Three parts, each usable alone:

* `read_pcap(path)`: the UDP datagrams of a classic pcap file (Ethernet, Linux
  cooked v1/v2, raw IP; VLAN tags), with their source address and port.
* `tshark_flows(path)`: every flow data record tshark decodes in the file, as
  a dictionary of the fields the comparison needs (see `ORACLE_COLUMNS`).
  tshark is the independent decoder: it keeps templates per transport session
  (addresses, ports, observation domain), as RFC 7011 section 8 scopes them.
* `oracle_row(record)`: what a collector should store for one record, by rules
  an operator expects and docs/PMACCT.md states:
  - a field that appears twice is a tunnel's outer and inner header: the last
    (inner) one counts; except in an RFC 5103 biflow, whose reverse counters
    tshark names like the forward ones: there the first (forward) one counts;
  - the address family is ipVersion (IE 60) when the record has it, else the
    family whose source (then destination) address is non-zero, the inner
    header's (last in the template) when both are, else the one the record
    carries; addresses and masks come from that family's fields (IE 8/12 and
    9/13 for IPv4, 27/28 and 29/30 for IPv6);
  - the BGP next-hop is that family's IE 18/63 when non-zero, else the other
    family's (an IPv6 flow over an IPv4 core, 6PE), else whichever field the
    record has, else 0.0.0.0 (pathflow's empty address);
  - interfaces are IE 10/14, else ingress/egressPhysicalInterface (252/253);
  - flows is IE 3, and 1 when the record has none or says 0;
  - an ICMP record without a destination-port field carries its type and code
    (IE 32/139, or 176/177 and 178/179) as type*256+code in dst_port;
  - counters are packetDeltaCount/octetDeltaCount, else the total counts;
  - TCP flags are the low 8 bits (the 2-byte field IPFIX also allows);
  - records with neither counters nor addresses (options data, events) are not
    flows.

Each row is keyed by ORACLE_COLUMNS, in the names of pathflow's (pmacct's)
table columns, and carries packets, bytes and flows.
"""

import json
import socket
import struct
import subprocess

# Table columns compared per key (the view in REALDATA_CONF aggregates exactly these).
ORACLE_COLUMNS = ["ip_src", "ip_dst", "src_port", "dst_port", "ip_proto", "tos", "tcp_flags",
                  "iface_in", "iface_out", "mask_src", "mask_dst", "as_src", "as_dst",
                  "peer_as_src", "peer_as_dst", "peer_ip_dst"]

REALDATA_CONF = """\
! pathflow collecting real exporters' captures: every primitive the capture decodes to
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: {port}
nfacctd_as: netflow
nfacctd_net: netflow
nfacctd_time_new: true
plugins: sqlite3[real]
aggregate[real]: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags, in_iface, out_iface, src_mask, dst_mask, src_as, dst_as, peer_src_as, peer_dst_as, peer_dst_ip
sql_db[real]: {db}
sql_table[real]: flows
sql_history[real]: 1d
sql_refresh_time[real]: 600
sql_num_protos[real]: true
"""

# ---------------------------------------------------------------------------
# pcap


def read_pcap(path):
    """[(frame, src_addr, src_port, dst_port, payload)] for each UDP datagram, frame 1-based."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("%s: not a classic pcap file (magic %s)" % (path, magic.hex()))
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    out, off, frame = [], 24, 0
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        frame += 1
        udp = _udp_of(linktype, pkt)
        if udp is not None:
            out.append((frame,) + udp)
    return out


def _udp_of(linktype, pkt):
    if linktype == 1:            # Ethernet
        ethertype, p = struct.unpack("!H", pkt[12:14])[0], 14
    elif linktype == 113:        # Linux cooked v1
        ethertype, p = struct.unpack("!H", pkt[14:16])[0], 16
    elif linktype == 276:        # Linux cooked v2
        ethertype, p = struct.unpack("!H", pkt[0:2])[0], 20
    elif linktype in (101, 12, 14):  # raw IP
        ethertype, p = (0x0800 if pkt[0] >> 4 == 4 else 0x86DD), 0
    elif linktype == 0:          # BSD loopback
        family = struct.unpack("<I", pkt[0:4])[0]
        ethertype, p = (0x0800 if family == 2 else 0x86DD), 4
    else:
        raise ValueError("link type %d not handled" % linktype)
    while ethertype in (0x8100, 0x88A8):
        ethertype, p = struct.unpack("!H", pkt[p + 2:p + 4])[0], p + 4
    if ethertype == 0x0800:
        ihl = (pkt[p] & 0x0F) * 4
        if pkt[p + 9] != 17:
            return None
        src = socket.inet_ntop(socket.AF_INET, pkt[p + 12:p + 16])
        p += ihl
    elif ethertype == 0x86DD:
        if pkt[p + 6] != 17:
            return None
        src = socket.inet_ntop(socket.AF_INET6, pkt[p + 8:p + 24])
        p += 40
    else:
        return None
    sport, dport, length = struct.unpack("!HHH", pkt[p:p + 6])
    return src, sport, dport, pkt[p + 8:p + length]


# ---------------------------------------------------------------------------
# tshark


def _is_tree(v):
    return isinstance(v, list) and (not v or isinstance(v[0], tuple))


def _leaves(pairs, acc):
    """Every leaf field of a record subtree, in order, as (field, value) pairs."""
    for k, v in pairs:
        if _is_tree(v):
            _leaves(v, acc)
        elif isinstance(v, list):
            acc.extend((k, x) for x in v if not _is_tree(x))
        else:
            acc.append((k, v))


class Record:
    """One data record as tshark shows it: its fields in template order.

    A field may appear twice: a tunnel's outer and inner header (IOS XR's SRv6 templates, Huawei's
    IPv4-in-IPv6), where the inner one, last, describes the flow (pmacct reads the last too); or an
    RFC 5103 biflow's forward and reverse counters, which tshark names alike, where the forward
    one, first, is the flow's (reverse elements are enterprise-specific: a collector that does not
    know them sees the forward direction alone).
    """

    def __init__(self, frame, pairs):
        self.frame = frame
        self.pairs = pairs
        names = [k for k, _ in pairs]
        self.biflow = names.count("cflow.octets") > 1 or names.count("cflow.packets") > 1

    def __contains__(self, name):
        return any(k == name for k, _ in self.pairs)

    def get(self, *names):
        """The first of `names` the record has: its first occurrence in a biflow, else its last."""
        for n in names:
            values = [v for k, v in self.pairs if k == n]
            if values:
                return values[0] if self.biflow else values[-1]
        return None

    def position(self, *names):
        """Index of the last occurrence of any of `names`, -1 when absent."""
        return max((i for i, (k, _) in enumerate(self.pairs) if k in names), default=-1)


def _records(frame, pairs):
    for k, v in pairs:
        if not _is_tree(v):
            continue
        if k.startswith("Flow ") or k.startswith("pdu "):
            acc = []
            _leaves(v, acc)
            yield Record(frame, acc)
        else:
            yield from _records(frame, v)


def tshark_flows(path, ports):
    """[Record] for every data record tshark decodes; `ports` are the UDP destination ports
    to decode as NetFlow/IPFIX."""
    cmd = ["tshark", "-n", "-r", path, "-T", "json", "-J", "frame cflow"]
    for port in sorted(set(ports)):
        cmd += ["-d", "udp.port==%d,cflow" % port]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("tshark failed (%d): %s" % (p.returncode, p.stderr.strip()[-500:]))
    packets = json.loads(p.stdout or "[]", object_pairs_hook=lambda kv: kv)
    out = []
    for pkt in packets:
        layers = dict(dict(pkt)["_source"])["layers"]
        frame = 0
        for key, value in layers:
            if key == "frame":
                frame = int(dict(value).get("frame.number", 0))
            elif key == "cflow":
                out.extend(_records(frame, value))
    return out


def _num(s, default=0):
    if s is None or s == "":
        return default
    return int(s, 0)


def _zero(addr):
    return addr is None or addr in ("0.0.0.0", "::")


def is_flow_record(r):
    """Data records of flow templates: those with counters or addresses (options data
    records, sampler and interface tables, events without traffic fields have neither)."""
    return any(n in r for n in ("cflow.packets", "cflow.octets", "cflow.permanent_packets", "cflow.permanent_octets",
                                "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6"))


def family(r):
    version = r.get("cflow.ip_version")
    if version is not None and _num(version) in (4, 6):
        return _num(version)
    inner6 = r.position("cflow.srcaddrv6", "cflow.dstaddrv6") > r.position("cflow.srcaddr", "cflow.dstaddr")
    for v4, v6 in ((r.get("cflow.srcaddr"), r.get("cflow.srcaddrv6")), (r.get("cflow.dstaddr"), r.get("cflow.dstaddrv6"))):
        if not _zero(v4) and not _zero(v6):
            return 6 if inner6 else 4
        if not _zero(v4):
            return 4
        if not _zero(v6):
            return 6
    if "cflow.srcaddr" in r or "cflow.dstaddr" in r:
        return 4
    if "cflow.srcaddrv6" in r or "cflow.dstaddrv6" in r:
        return 6
    return 0


def _next_hop(own, other):
    if not _zero(own):
        return own
    if not _zero(other):
        return other
    if own is not None:
        return own
    if other is not None:
        return other
    return "0.0.0.0"     # no next-hop field: pathflow's (and pmacct's) empty address


def oracle_row(r):
    """(key tuple in ORACLE_COLUMNS order, packets, bytes, flows) for one record."""
    if family(r) == 6:
        src, dst = r.get("cflow.srcaddrv6"), r.get("cflow.dstaddrv6")
        smask, dmask = r.get("cflow.srcmaskv6"), r.get("cflow.dstmaskv6")
        nexthop = _next_hop(r.get("cflow.bgpnexthopv6"), r.get("cflow.bgpnexthop"))
    else:
        src, dst = r.get("cflow.srcaddr"), r.get("cflow.dstaddr")
        smask, dmask = r.get("cflow.srcmask"), r.get("cflow.dstmask")
        nexthop = _next_hop(r.get("cflow.bgpnexthop"), r.get("cflow.bgpnexthopv6"))
    proto = _num(r.get("cflow.protocol"))
    if "cflow.dstport" in r:
        dport = _num(r.get("cflow.dstport"))
    elif proto in (1, 58):
        dport = _icmp(r, proto)
    else:
        dport = 0
    iface_in = r.get("cflow.inputint")
    if iface_in is None:
        iface_in = r.get("cflow.ingress_physical_interface")
    iface_out = r.get("cflow.outputint")
    if iface_out is None:
        iface_out = r.get("cflow.egress_physical_interface")
    packets = _num(r.get("cflow.packets", "cflow.permanent_packets"))
    octets = _num(r.get("cflow.octets", "cflow.permanent_octets"))
    flows = _num(r.get("cflow.flows")) or 1
    key = (
        src if src is not None else "0.0.0.0",
        dst if dst is not None else "0.0.0.0",
        _num(r.get("cflow.srcport")), dport, proto,
        _num(r.get("cflow.tos")),
        _num(r.get("cflow.tcpflags")) & 0xFF,
        _num(iface_in), _num(iface_out),
        _num(smask), _num(dmask),
        _num(r.get("cflow.srcas")), _num(r.get("cflow.dstas")),
        _num(r.get("cflow.peer_srcas")), _num(r.get("cflow.peer_dstas")),
        nexthop,
    )
    return key, packets, octets, flows


def _icmp(r, proto):
    # tshark shows icmpTypeCodeIPv4 (32) and icmpTypeCodeIPv6 (139) as one field.
    tc = r.get("cflow.icmp_type_code_ipv4")
    if tc is not None:
        return _num(tc)
    if proto == 1:
        t, c = r.get("cflow.icmp_ipv4_type"), r.get("cflow.icmp_ipv4_code")
    else:
        t, c = r.get("cflow.icmp_ipv6_type"), r.get("cflow.icmp_ipv6_code")
    if t is None and c is None:
        return 0
    return _num(t) * 256 + _num(c)


def oracle_sums(records):
    """{key: [packets, bytes, flows]} over the flow records of a capture."""
    sums = {}
    for r in records:
        if not is_flow_record(r):
            continue
        key, packets, octets, flows = oracle_row(r)
        s = sums.setdefault(key, [0, 0, 0])
        s[0] += packets
        s[1] += octets
        s[2] += flows
    return sums
