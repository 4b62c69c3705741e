#!/usr/bin/env python3
"""Dump every NetFlow v5 / v9 / IPFIX data flow record in a capture, as
decoded by tshark, one line per record.

Usage: tshark-flows.py CAPTURE.pcap UDP_PORT OUT.tsv

Runs  tshark -r CAPTURE -d udp.port==PORT,cflow -T json -J "frame cflow"  and walks
the decoded tree.  The JSON tree is used instead of "-T fields -E
occurrence=a" because the flat field lists lose record boundaries: one
datagram can carry IPv4 and IPv6 data sets interleaved (cflow.srcaddr and
cflow.srcaddrv6 are separate lists), and some templates carry ICMP type/code
fields instead of ports, so list positions do not line up across fields.

Output columns (tab separated, header line first):
  frame       capture frame number (1-based) holding the record
  src_addr    cflow.srcaddr or cflow.srcaddrv6
  dst_addr    cflow.dstaddr or cflow.dstaddrv6
  src_port    cflow.srcport; 0 for an ICMP record that has no port fields
  dst_port    cflow.dstport; for an ICMP record without port fields:
              cflow.icmp_type_code_ipv4, or icmp_ipv6_type*256+icmp_ipv6_code
  proto       cflow.protocol
  tos         cflow.tos (decimal)
  tcp_flags   cflow.tcpflags (decimal; empty if the record has none)
  input_if    cflow.inputint
  output_if   cflow.outputint
  packets     cflow.packets
  bytes       cflow.octets
  flow_start  cflow.abstimestart as UNIX seconds (IPFIX/v9 absolute time
              fields), else cflow.timestart: seconds of exporter sysUpTime
              (v5 / v9 / IPFIX FIRST_SWITCHED), as tshark shows it
  flow_end    same for cflow.abstimeend / cflow.timeend
Records without packet, byte and address fields (e.g. option data
records carrying sampling information) are skipped.
"""

import datetime
import json
import subprocess
import sys

HEADER = ["frame", "src_addr", "dst_addr", "src_port", "dst_port", "proto", "tos",
          "tcp_flags", "input_if", "output_if", "packets", "bytes",
          "flow_start", "flow_end"]


def is_tree(v):
    return isinstance(v, list) and (not v or isinstance(v[0], tuple))


def leaves(pairs, acc):
    """Flatten a record subtree into {field: first value}."""
    for k, v in pairs:
        if is_tree(v):
            leaves(v, acc)
        elif k not in acc:
            acc[k] = v


def records(pairs):
    """Yield flattened flow records found below a cflow layer subtree."""
    for k, v in pairs:
        if not is_tree(v):
            continue
        if k.startswith("Flow ") or k.startswith("pdu "):
            acc = {}
            leaves(v, acc)
            yield acc
        else:
            yield from records(v)


def num(s):
    if s is None or s == "":
        return ""
    return str(int(s, 0))


def abstime(s):
    # e.g. "Nov 14, 2023 22:13:21.123000000 UTC"
    s = s.strip()
    if s.endswith(" UTC"):
        s = s[:-4]
    main, _, frac = s.partition(".")
    dt = datetime.datetime.strptime(main, "%b %d, %Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    ns = int((frac + "000000000")[:9]) if frac else 0
    return "%d.%03d" % (int(dt.timestamp()), ns // 1_000_000)


def reltime(s):
    sec, _, frac = s.partition(".")
    return "%s.%s" % (sec, (frac + "000")[:3])


def row(frame, r):
    src = r.get("cflow.srcaddr", r.get("cflow.srcaddrv6", ""))
    dst = r.get("cflow.dstaddr", r.get("cflow.dstaddrv6", ""))
    if "cflow.packets" not in r and "cflow.octets" not in r and not src:
        return None
    sport, dport = num(r.get("cflow.srcport")), num(r.get("cflow.dstport"))
    if sport == "" and dport == "":
        if "cflow.icmp_type_code_ipv4" in r:
            sport, dport = "0", num(r["cflow.icmp_type_code_ipv4"])
        elif "cflow.icmp_ipv6_type" in r:
            sport = "0"
            dport = str(int(r["cflow.icmp_ipv6_type"], 0) * 256 + int(r.get("cflow.icmp_ipv6_code", "0"), 0))
    if "cflow.abstimestart" in r:
        start, end = abstime(r["cflow.abstimestart"]), abstime(r.get("cflow.abstimeend", r["cflow.abstimestart"]))
    elif "cflow.timestart" in r:
        start, end = reltime(r["cflow.timestart"]), reltime(r.get("cflow.timeend", r["cflow.timestart"]))
    else:
        start = end = ""
    return [str(frame), src, dst, sport, dport, num(r.get("cflow.protocol")), num(r.get("cflow.tos")),
            num(r.get("cflow.tcpflags")), num(r.get("cflow.inputint")), num(r.get("cflow.outputint")),
            num(r.get("cflow.packets")), num(r.get("cflow.octets")), start, end]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tshark-flows.py CAPTURE.pcap UDP_PORT OUT.tsv")
    cap, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cmd = ["tshark", "-n", "-r", cap, "-d", "udp.port==%d,cflow" % port, "-T", "json", "-J", "frame cflow"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit("tshark failed (%d): %s" % (p.returncode, p.stderr.strip()))
    packets = json.loads(p.stdout or "[]", object_pairs_hook=lambda kv: kv)
    n = 0
    with open(out, "w") as f:
        f.write("\t".join(HEADER) + "\n")
        for idx, pkt in enumerate(packets, 1):
            layers = dict(dict(dict(pkt)["_source"])["layers"])
            frame = idx
            fr = dict(layers.get("frame", []))
            if "frame.number" in fr:
                frame = int(fr["frame.number"])
            cflow = layers.get("cflow")
            if cflow is None:
                continue
            for r in records(cflow):
                line = row(frame, r)
                if line is not None:
                    f.write("\t".join(line) + "\n")
                    n += 1
    print("%s: %d flow records -> %s" % (cap, n, out), file=sys.stderr)


if __name__ == "__main__":
    main()
