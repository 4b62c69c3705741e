#!/usr/bin/env python3
"""Every capture of a real exporter in the shared capture directory (default
../shared/realdata-pcaps beside the repository, or $REALDATA_PCAPS) is replayed
to a fresh `pathflow collect` on 127.0.0.1: each transport session of the
capture (source address and port) from its own socket, its address mapped to
127.1.C.N and its source port kept, datagrams in capture order.  The table's
per-key sums of packets, bytes and flows (key: every primitive a flow record
carries, lib_realdata.ORACLE_COLUMNS) must equal tshark's decoding of the same
capture under the rules in lib_realdata.py, and /metrics must count every
datagram and exactly tshark's flow records.

Run alone with capture names to look at some:
  tools/e2e/23-real-exporters.py pm400a-cisco-xr7101-srv6 akv-icmp
Captures with several transport sessions or exporters are replayed again to
collectors with one and with three receive sockets (`--sockets`): the tables
must be the same (each exporter is decoded by one thread, whichever socket the
kernel picks).  REALDATA_SOCKETS=N runs every capture with N sockets.
"""
import json
import os
import socket
import sqlite3
import sys
import time

import lib
import lib_realdata as rd

CAPTURES = os.environ.get("REALDATA_PCAPS") or os.path.join(lib.ROOT, "..", "shared", "realdata-pcaps")
# Captures pathflow does not decode yet: their datagrams must be counted as
# rejected and store nothing.
NOT_DECODED = {}
# sFlow captures: the oracle is tshark's reading kept in fixtures/sflow (see its README).
SFLOW_ORACLES = {"akv-sflow-1140": os.path.join(lib.ROOT, "fixtures", "sflow", "akv-sflow-1140.tshark.json")}


def sflow_flows(oracle):
    """One flow per flow sample whose raw header holds an IP packet, keyed as the table is:
    addresses, ports and flags from the header, interfaces of format 0, masks from the extended
    router record, ASNs and the BGP next hop from the extended gateway; packets 1, bytes the
    frame length."""
    with open(oracle) as f:
        datagrams = json.load(f)["datagram_list"]
    flows = []
    for d in datagrams:
        for s in d["samples"]:
            if s["type"] != "flow":
                continue
            records = {r["format"]: r for r in s["records"] if r["enterprise"] == 0}
            header = records.get(1, {}).get("decoded")
            if not header or not header.get("src"):
                continue
            router, gateway = records.get(1002, {}), records.get(1003)
            path = [a for seg in (gateway or {}).get("dst_as_path", []) for a in seg["asns"]]
            dst_port = header.get("dst_port", 0)
            if header.get("icmp_type") is not None:
                dst_port = header["icmp_type"] * 256 + header.get("icmp_code", 0)
            key = (header["src"], header["dst"], header.get("src_port", 0), dst_port,
                   header.get("ipv6_frag_next_header", header["ip_proto"]), header["tos"], header.get("tcp_flags", 0),
                   s["input_value"] if s["input_format"] == 0 else 0, s["output_value"] if s["output_format"] == 0 else 0,
                   router.get("src_mask", 0), router.get("dst_mask", 0),
                   (gateway or {}).get("src_as", 0), path[-1] if path else 0, (gateway or {}).get("src_peer_as", 0),
                   path[0] if path else 0, gateway["next_hop"] if gateway else "0.0.0.0")
            flows.append((key, records[1]["frame_length"]))
    return flows


def captures():
    names = sorted(f[:-5] for f in os.listdir(CAPTURES) if f.endswith(".pcap"))
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
    return [n for n in names if not wanted or n in wanted]


def send(datagrams, index, port):
    """Replays the datagrams to 127.0.0.1:port, one socket per (address, port) of the
    capture; returns the number sent."""
    sockets, addresses = {}, {}
    try:
        for _, src, sport, _, payload in datagrams:
            if src not in addresses:
                n = len(addresses) + 1
                addresses[src] = "127.1.%d.%d" % (index, n)
            key = (src, sport)
            if key not in sockets:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addresses[src], sport))
                sockets[key] = s
            sockets[key].sendto(payload, ("127.0.0.1", port))
            time.sleep(0.0005)
    finally:
        for s in sockets.values():
            s.close()
    return len(datagrams)


def table_sums(db):
    cols = ", ".join(rd.ORACLE_COLUMNS)
    conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        rows = conn.execute("SELECT %s, SUM(packets), SUM(bytes), SUM(flows) FROM flows GROUP BY %s" % (cols, cols)).fetchall()
    finally:
        conn.close()
    return {tuple(r[:-3]): [r[-3], r[-2], r[-1]] for r in rows}


def normalized(sums):
    """Keys as text, so that the table's and the oracle's types compare."""
    return {tuple("" if v is None else str(v) for v in k): s for k, s in sums.items()}


def diff(got, want, show=4):
    problems = []
    for k in sorted(set(got) | set(want)):
        g, w = got.get(k), want.get(k)
        if g != w:
            problems.append("%s: pathflow %s, tshark %s" % (dict(zip(rd.ORACLE_COLUMNS, k)), g, w))
    if not problems:
        return ""
    return "%d keys differ, e.g. %s" % (len(problems), "; ".join(problems[:show]))


# Captures with several transport sessions (pm100, pm102, pm112) or exporter addresses
# (akv-datalink), and the largest one, replayed again with other socket counts.
SOCKET_CHECKS = ["akv-datalink", "pm100-cisco-asr9k-xr752-ipfix", "pm102-cisco-asr9k-nfv9-2domains",
                 "pm112-cisco-ipfix-options-reassign", "pm401b-cisco-xr7101-mpls-ipv6"]


_decoded = {}


def decoded(name):
    """The capture's datagrams, tshark's flow records and the expected per-key sums."""
    if name not in _decoded and name in SFLOW_ORACLES:
        datagrams = rd.read_pcap(os.path.join(CAPTURES, name + ".pcap"))
        flows = sflow_flows(SFLOW_ORACLES[name])
        sums = {}
        for key, length in flows:
            total = sums.setdefault(key, [0, 0, 0])
            total[0] += 1
            total[1] += length
            total[2] += 1
        _decoded[name] = (datagrams, flows, normalized(sums))
    if name not in _decoded:
        path = os.path.join(CAPTURES, name + ".pcap")
        datagrams = rd.read_pcap(path)
        records = rd.tshark_flows(path, {d[3] for d in datagrams})
        flows = [r for r in records if rd.is_flow_record(r)]
        _decoded[name] = (datagrams, flows, normalized(rd.oracle_sums(flows)))
    return _decoded[name]


def one(c, index, name, sockets=None):
    """Replays one capture to a new collector; returns its table's per-key sums."""
    datagrams, flows, want = decoded(name)

    tag = name if sockets is None else "%s-sockets%d" % (name, sockets)
    db = c.path(tag + ".db")
    port, mport = c.free_port(), c.free_port()
    conf = c.path(tag + ".conf")
    with open(conf, "w") as f:
        f.write(rd.REALDATA_CONF.format(port=port, db=db))
    extra = []
    if sockets is not None:
        extra = ["--sockets", str(sockets)]
    elif os.environ.get("REALDATA_SOCKETS"):
        extra = ["--sockets", os.environ["REALDATA_SOCKETS"]]
    argv = [lib.PATHFLOW, "collect", "-f", conf, "--metrics-listen", "127.0.0.1:%d" % mport,
            "--pidfile", c.path(tag + ".pid")] + extra
    pf = c.start("pathflow-" + tag, argv)
    c.wait_for("pathflow to listen on UDP %d" % port, lambda: lib.udp_port_bound(port), 30, proc=pf)
    sent = send(datagrams, index, port)
    m = c.wait_datagrams(tag, mport, sent, pf)
    c.stop_pathflow(pf)

    if name in NOT_DECODED:
        c.check(m.get("pathflow_flow_records_total", 0) == 0,
                "%s (%s): %s flow records decoded" % (name, NOT_DECODED[name], m.get("pathflow_flow_records_total")))
        c.check(m.get("pathflow_flow_decode_errors_total", 0) == sent,
                "%s (%s): %s of %d datagrams counted as rejected" % (
                    name, NOT_DECODED[name], m.get("pathflow_flow_decode_errors_total"), sent))
        lib.log("%s: %d datagrams of %s, each counted as rejected" % (name, sent, NOT_DECODED[name]))
        return None
    got = normalized(table_sums(db))
    d = diff(got, want)
    c.check(not d, "%s: %s" % (name, d))
    c.check(m.get("pathflow_flow_records_total", 0) == len(flows),
            "%s: pathflow_flow_records_total = %s, tshark decodes %d flow records" % (
                name, m.get("pathflow_flow_records_total"), len(flows)))
    c.check(m.get("pathflow_flow_decode_errors_total", 0) == 0,
            "%s: pathflow_flow_decode_errors_total = %s" % (name, m.get("pathflow_flow_decode_errors_total")))
    lib.log("%s: %d datagrams, %d flow records, %d keys%s; %d datagrams steered between sockets" % (
        tag, sent, len(flows), len(want), "" if d else ", exact", m.get("pathflow_flow_datagrams_steered_total", 0)))
    return got


def case(c):
    if not os.path.isdir(CAPTURES):
        raise lib.CaseSkipped("no capture directory at %s (set REALDATA_PCAPS)" % CAPTURES)
    if lib.shutil.which("tshark") is None:
        c.fail("missing tool: tshark")
    names = captures()
    c.check(names, "no captures in %s" % CAPTURES)
    tables = {}
    for index, name in enumerate(names, 1):
        tables[name] = one(c, index, name)
    for index, name in enumerate(names, 1):
        if name not in SOCKET_CHECKS:
            continue
        for sockets in (1, 3):
            got = one(c, index, name, sockets)
            c.check(got == tables[name], "%s: the table with %d receive socket(s) differs from the default's" % (name, sockets))


lib.main(case)
