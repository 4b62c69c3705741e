#!/usr/bin/env python3
"""Senders that try to take the collector's memory or lock others out, on 127.0.0.1.

1. Template flood: 200 spoofed exporter addresses (127.77.x.y) each announce a hundred
   templates of 1,024 fields (about 40 KiB each as the collector holds them, 800 MiB asked
   for in all). pathflow's decoder state must stay within nfacctd_state_bytes (set to 32 MiB
   here), its peak RSS under 256 MiB, templates be evicted (oldest first, from the exporter
   holding the most) and counted; then a real exporter (127.0.0.60) that starts after the flood
   must have every one of its records decoded and stored.
2. Counters near 2^64 in one record: stored as INTEGER Int64.max (never REAL or negative),
   counted in pathflow_flow_counters_saturated_total, and `pathflow report` reads the table.
3. nfacctd_allow_file: datagrams from an exporter not in the file are counted in
   pathflow_flow_datagrams_denied_total and nothing of them is stored; after the file is
   rewritten and SIGUSR2 reloads it, the same exporter's datagrams are decoded.
"""
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import time

import lib

CONF = """\
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: {port}
nfacctd_time_new: true
nfacctd_state_bytes: {state_bytes}
{extra}
plugins: sqlite3[flows]
aggregate[flows]: src_host, dst_host, src_port, dst_port, proto
sql_db[flows]: {db}
sql_table[flows]: flows
sql_history[flows]: 1m
sql_refresh_time[flows]: 600
"""

STATE_BYTES = 32 << 20
FLOOD_SENDERS = 200
TEMPLATES_PER_SENDER = 120
FIELDS = 1024
# The real exporter's template: addresses, ports, protocol, packets, bytes.
TEMPLATE = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8)]


def ipfix(sets, domain=1, seq=0):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()), seq, domain) + body


def template_set(templates):
    records = b""
    for tid, fields in templates:
        records += struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", ie, ln) for ie, ln in fields)
    return struct.pack("!HH", 2, 4 + len(records)) + records


def data_set(tid, records):
    return struct.pack("!HH", tid, 4 + len(records)) + records


def record(src, dst, sport, dport, proto, packets, octets):
    return (socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HHBQQ", sport, dport, proto, packets, octets))


def sender(address):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 0))
    return s


def flood(port):
    """Every spoofed address announces its templates, 15 to a message (64 KiB)."""
    wide = [(210, 4)] * FIELDS           # paddingOctets: any element will do
    sent = 0
    for n in range(FLOOD_SENDERS):
        s = sender("127.77.%d.%d" % (n // 250, n % 250 + 1))
        try:
            ids = list(range(256, 256 + TEMPLATES_PER_SENDER))
            for i in range(0, len(ids), 15):
                s.sendto(ipfix([template_set([(tid, wide) for tid in ids[i:i + 15]])]), ("127.0.0.1", port))
                sent += 1
                time.sleep(0.0005)
        finally:
            s.close()
    return sent


def real_exporter(address, port, flows, seq=0):
    """Template and data (100 records per message) from one exporter; returns datagrams sent."""
    s = sender(address)
    try:
        s.sendto(ipfix([template_set([(300, TEMPLATE)])], seq=seq), ("127.0.0.1", port))
        n = 1
        for i in range(0, len(flows), 100):
            chunk = flows[i:i + 100]
            s.sendto(ipfix([data_set(300, b"".join(record(*f) for f in chunk))], seq=seq + i), ("127.0.0.1", port))
            n += 1
            time.sleep(0.001)
        return n
    finally:
        s.close()


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def start(c, name, extra=""):
    port, mport = c.free_port(), c.free_port()
    db = c.path(name + ".db")
    conf = c.path(name + ".conf")
    with open(conf, "w") as f:
        f.write(CONF.format(port=port, db=db, state_bytes=STATE_BYTES, extra=extra))
    p = c.start(name, [lib.PATHFLOW, "collect", "-f", conf, "--metrics-listen", "127.0.0.1:%d" % mport,
                       "--pidfile", c.path(name + ".pid"), "--logfile", c.path(name + ".log")])
    c.wait_for("%s to listen on UDP %d" % (name, port), lambda: lib.udp_port_bound(port), 30, proc=p)
    return p, port, mport, db


def labelled(mport, c, name, label):
    """The value of `name{...label...}` in /metrics."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{") and label in line:
                return float(line.rsplit(" ", 1)[1])
    return 0


def part_flood(c):
    pf, port, mport, db = start(c, "flood")
    flood_datagrams = flood(port)
    # The flood is read to its end before the real exporter starts (the socket buffer holds a
    # few hundred of these 64 KiB datagrams; what the kernel dropped is reported).
    last = [-1.0]

    def settled():
        now = c.metrics(mport).get("pathflow_flow_datagrams_total", 0)
        done = now >= flood_datagrams or now == last[0]
        last[0] = now
        return done
    c.wait_for("the flood to be read", settled, 60, proc=pf, step=1.0)
    m = c.metrics(mport)
    drops = m.get("pathflow_udp_socket_drops_total", 0)
    c.check(m.get("pathflow_flow_datagrams_total", 0) + drops >= flood_datagrams,
            "flood: %s datagrams read, %s dropped by the kernel, %d sent" % (
                m.get("pathflow_flow_datagrams_total"), drops, flood_datagrams))
    real = [("10.0.%d.%d" % (i // 200, i % 200 + 1), "192.0.2.%d" % (i % 250 + 1), 1024 + i, 443, 6, 3, 1500)
            for i in range(1000)]
    sent = real_exporter("127.0.0.60", port, real)
    # One record with counters near 2^64, from a second real exporter.
    big = sender("127.0.0.62")
    big.sendto(ipfix([template_set([(300, TEMPLATE)]), data_set(300, record("10.9.9.9", "192.0.2.9", 1, 2, 17,
                                                                           2 ** 63, 2 ** 64 - 1))]), ("127.0.0.1", port))
    big.close()
    total = m.get("pathflow_flow_datagrams_total", 0) + sent + 1
    m = c.wait_datagrams("flood", mport, total, pf, timeout=30)
    peak = vm(pf.pid, "VmHWM")
    lib.log("flood: %d datagrams (%s dropped by the kernel), peak RSS %.0f MiB, decoder state %s bytes, refused %s, evicted %s" % (
        flood_datagrams, drops, peak / 2 ** 20, m.get("pathflow_flow_decoder_state_bytes"),
        m.get("pathflow_flow_templates_refused_total"), m.get("pathflow_flow_templates_evicted_total")))
    c.check(m.get("pathflow_flow_decoder_state_bytes", 0) <= STATE_BYTES,
            "decoder state %s bytes, nfacctd_state_bytes %d" % (m.get("pathflow_flow_decoder_state_bytes"), STATE_BYTES))
    c.check(peak < 256 * 2 ** 20, "peak RSS %.0f MiB under the template flood" % (peak / 2 ** 20))
    # Each sender is the largest holder while it sends, so the total's evictions reach it before
    # its own limit does (the unit tests refuse past an exporter's share).
    c.check(m.get("pathflow_flow_templates_evicted_total", 0) + m.get("pathflow_flow_templates_refused_total", 0) > 0,
            "no template evicted or refused under the flood")
    decoded = labelled(mport, c, "pathflow_flow_records_total", 'exporter="127.0.0.60"')
    c.check(decoded == len(real), "the real exporter after the flood: %s of %d records decoded" % (decoded, len(real)))
    c.check(labelled(mport, c, "pathflow_flow_counters_saturated_total", 'exporter="127.0.0.62"') == 1,
            "the record with counters near 2^64 is not counted as saturated")
    c.stop_pathflow(pf)

    conn = sqlite3.connect(db)
    try:
        got = conn.execute("SELECT COUNT(*), SUM(packets), SUM(bytes) FROM flows WHERE ip_src LIKE '10.0.%'").fetchone()
        c.check(got == (len(real), 3 * len(real), 1500 * len(real)),
                "the real exporter's rows: %s, want %s" % (got, (len(real), 3 * len(real), 1500 * len(real))))
        row = conn.execute("SELECT packets, bytes, typeof(packets), typeof(bytes) FROM flows WHERE ip_src = '10.9.9.9'").fetchone()
        c.check(row == (2 ** 63 - 1, 2 ** 63 - 1, "integer", "integer"), "counters near 2^64 stored as %s" % (row,))
    finally:
        conn.close()
    for kind in (["top", "--by", "ip_src"], ["series", "--by", "ip_src"], ["matrix", "--rows", "ip_src", "--columns", "dst_port"]):
        r = subprocess.run([lib.PATHFLOW, "report"] + kind + ["--db", db, "--table", "flows", "--format", "csv"],
                           capture_output=True, timeout=60)
        c.check(r.returncode == 0, "pathflow report %s on a table with Int64.max counters: exit %d: %s" % (
            kind[0], r.returncode, lib.tail(r.stderr.decode(errors="replace"))))


def part_allow_file(c):
    allow = c.path("allow.lst")
    with open(allow, "w") as f:
        f.write("! exporters whose flows are accepted\n127.0.0.60\n")
    pf, port, mport, db = start(c, "allow", extra="nfacctd_allow_file: %s" % allow)
    flows = [("10.1.0.%d" % (i + 1), "192.0.2.1", 2000 + i, 80, 6, 1, 100) for i in range(200)]
    a = real_exporter("127.0.0.60", port, flows)
    b = real_exporter("127.0.0.61", port, flows)
    c.wait_for("datagrams from 127.0.0.61 denied", lambda: c.metrics(mport).get("pathflow_flow_datagrams_denied_total", 0) >= b,
               15, proc=pf)
    c.wait_datagrams("allow", mport, a, pf)
    m = c.metrics(mport)
    c.check(m.get("pathflow_flow_datagrams_denied_total") == b,
            "pathflow_flow_datagrams_denied_total = %s, want %d" % (m.get("pathflow_flow_datagrams_denied_total"), b))
    c.check(labelled(mport, c, "pathflow_flow_datagrams_total", 'exporter="127.0.0.61"') == 0,
            "a denied exporter has decoder statistics")

    with open(allow, "w") as f:
        f.write("127.0.0.60\n127.0.0.61/32\n")
    os.kill(pf.pid, signal.SIGUSR2)
    c.wait_for("maps reloaded in the log", lambda: "maps reloaded" in open(c.path("allow.log")).read(), 10, proc=pf)
    real_exporter("127.0.0.61", port, flows, seq=len(flows))
    c.wait_for("127.0.0.61 decoded after the reload",
               lambda: labelled(mport, c, "pathflow_flow_records_total", 'exporter="127.0.0.61"') == len(flows), 15, proc=pf)
    c.stop_pathflow(pf)
    conn = sqlite3.connect(db)
    try:
        got = conn.execute("SELECT SUM(packets) FROM flows").fetchone()[0]
    finally:
        conn.close()
    c.check(got == 2 * len(flows), "packets stored %s, want %d (60 once, 61 after the reload only)" % (got, 2 * len(flows)))


def case(c):
    part_flood(c)
    part_allow_file(c)


lib.main(case)
