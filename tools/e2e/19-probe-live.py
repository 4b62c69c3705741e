#!/usr/bin/env python3
"""`pathflow probe` capturing live on one end of a veth pair.

The case makes a network namespace of its own and a veth pair between it and
the root namespace (unique names, removed at the end whatever happens), and
runs `pathflow probe` with `pcap_interface` on the root-side end, a
`pcap_filter` on the case's addresses that also leaves out one UDP flow, long
timeouts (everything is exported at SIGTERM) and IPFIX to `pathflow collect` on
127.0.0.1.  From inside the namespace it sends UDP datagrams (IPv4 and IPv6,
fixed counts and sizes), ICMP and ICMPv6 echo requests (each answered by the
root namespace) and one TCP exchange per family; then SIGTERMs the probe, which
must exit 0.

Checks, on the collector's table summed per 5-tuple:
  * UDP and ICMP: exactly the packets and bytes sent (IP total length);
  * TCP: exactly what a reference capture of the same interface saw (an
    AF_PACKET socket of the case), whose TCP payload must in turn equal what
    the client and server wrote;
  * the flow the filter leaves out is absent (the reference saw it), and no
    other 5-tuple is present, besides warm-up pings and IPv6 neighbour
    discovery between the case's addresses, which are ignored;
  * /metrics before SIGTERM: pathflow_probe_packets_total at least the packets
    of the checked 5-tuples, pathflow_probe_kernel_drops_total 0.

Skipped (exit status 4) when not root or when `ip netns` is unavailable.
`19-probe-live.py --exporter pmacctd` runs
the same traffic and checks with pmacctd + nfprobe in place of the probe
(a check of the case itself; no metrics).
"""
import json
import os
import signal
import sys
import time

import lib
import lib_live

EXPORTER = "pathflow-probe"
if len(sys.argv) == 3 and sys.argv[1] == "--exporter" and sys.argv[2] in ("pathflow-probe", "pmacctd"):
    EXPORTER = sys.argv[2]
elif len(sys.argv) != 1:
    sys.exit("usage: 19-probe-live.py [--exporter pathflow-probe|pmacctd]")

FILTERED_PORT = 5999        # the UDP flow the pcap_filter leaves out
ICMP_SIZE = 56
TCP_REPLY = 1000


def plan_for(v):
    udp = [
        # family, src, dst, sport, dport, count, size
        dict(family=4, src=v.n4, dst=v.r4, sport=40001, dport=5001, count=20, size=100),
        dict(family=4, src=v.n4, dst=v.r4, sport=40002, dport=5002, count=7, size=1200),
        dict(family=4, src=v.n4, dst=v.r4, sport=40003, dport=5003, count=33, size=1),
        dict(family=6, src=v.n6, dst=v.r6, sport=40004, dport=5004, count=15, size=300),
        dict(family=6, src=v.n6, dst=v.r6, sport=40005, dport=5005, count=4, size=1400),
        dict(family=4, src=v.n4, dst=v.r4, sport=40006, dport=FILTERED_PORT, count=10, size=64),
    ]
    ping = [dict(family=4, dst=v.r4, count=6, size=ICMP_SIZE, ident=0x1234),
            dict(family=6, dst=v.r6, count=5, size=ICMP_SIZE, ident=0x4321)]
    tcp = [dict(family=4, src=v.n4, dst=v.r4, sport=41001, dport=6001, messages=3, size=300),
           dict(family=6, src=v.n6, dst=v.r6, sport=41002, dport=6002, messages=4, size=250)]
    return dict(udp=udp, ping=ping, tcp=tcp)


def expected_exact(plan, v):
    """{5-tuple: [packets, bytes]} for the UDP flows (but the filtered one) and the echoes."""
    exp = {}
    for u in plan["udp"]:
        if u["dport"] == FILTERED_PORT:
            continue
        hdr = 28 if u["family"] == 4 else 48
        exp[(u["src"], u["dst"], u["sport"], u["dport"], "udp")] = [u["count"], u["count"] * (hdr + u["size"])]
    for p in plan["ping"]:
        if p["family"] == 4:
            a, b, req, rep, proto, hdr = v.n4, v.r4, 8, 0, "icmp", 28
        else:
            a, b, req, rep, proto, hdr = v.n6, v.r6, 128, 129, "ipv6-icmp", 48
        n = p["count"]
        exp[(a, b, 0, req * 256, proto)] = [n, n * (hdr + p["size"])]
        exp[(b, a, 0, rep * 256, proto)] = [n, n * (hdr + p["size"])]
    return exp


def ignored(k, v):
    """Warm-up pings (root namespace -> namespace) and IPv6 neighbour discovery."""
    warm = {(v.r4, v.n4, 0, 8 * 256, "icmp"), (v.n4, v.r4, 0, 0, "icmp"),
            (v.r6, v.n6, 0, 128 * 256, "ipv6-icmp"), (v.n6, v.r6, 0, 129 * 256, "ipv6-icmp")}
    return k in warm or (k[4] == "ipv6-icmp" and 133 <= k[3] // 256 <= 137)


def probe_conf(c, v, port, mport):
    path = c.path("probe.conf")
    filt = "(host %s or host %s) and not udp port %d" % (v.r4, v.r6, FILTERED_PORT)
    with open(path, "w") as f:
        if EXPORTER == "pathflow-probe":
            f.write("daemonize: false\n"
                    "pcap_interface: %s\n"
                    "pcap_filter: %s\n"
                    "pcap_promisc: false\n"
                    "plugins: nfprobe\n"
                    "nfprobe_receiver: 127.0.0.1:%d\n"
                    "nfprobe_version: 10\n"
                    "nfprobe_timeouts: tcp=300:udp=300:icmp=300:general=300:maxlife=600:expint=60\n"
                    "aggregate: src_host, dst_host, src_port, dst_port, proto, tos\n"
                    "metrics_listen: 127.0.0.1:%d\n" % (v.root_if, filt, port, mport))
        else:
            f.write("daemonize: false\n"
                    "pcap_interface: %s\n"
                    "pcap_filter: %s\n"
                    "pcap_promisc: false\n"
                    "plugins: nfprobe\n"
                    "nfprobe_receiver: 127.0.0.1:%d\n"
                    "nfprobe_version: 10\n"
                    "nfprobe_timeouts: tcp=300:udp=300:icmp=300:general=300:maxlife=600:expint=60\n"
                    "aggregate: src_host, dst_host, src_port, dst_port, proto, tos\n" % (v.root_if, filt, port))
    return path


def case(c):
    why = lib_live.netns_usable()
    if why:
        raise lib.CaseSkipped(why)
    if EXPORTER == "pathflow-probe":
        c.require_probe()
    lib_live.remove_stale_namespaces()

    v = lib_live.Veth()
    c.cleanups.append(v.remove)
    v.setup()
    lib.log("namespace %s: %s (%s, %s) <-> root %s (%s, %s)" % (
        v.ns, v.ns_if, v.n4, v.n6, v.root_if, v.r4, v.r6))

    plan = plan_for(v)
    recv = lib_live.Receivers(
        udp=[(u["family"], u["dst"], u["dport"]) for u in plan["udp"]],
        tcp=[(t["family"], t["dst"], t["dport"], TCP_REPLY) for t in plan["tcp"]])
    c.cleanups.append(recv.close)
    ref = lib_live.RefCapture(v.root_if)
    c.stop_events.append(ref.stop)

    db = c.path("pathflow.db")
    pf, port, pf_mport = c.start_pathflow(db)

    mport = c.free_port()
    conf = probe_conf(c, v, port, mport)
    if EXPORTER == "pathflow-probe":
        probe = c.start("probe", [lib.PATHFLOW, "probe", "-f", conf, "--foreground", "--strict"])
        c.wait_for("the probe's /metrics", lambda: c.metrics(mport) is not None, 20, proc=probe)
    else:
        probe = c.start("probe", ["pmacctd", "-f", conf], cwd=c.dir)
        time.sleep(2)

    # Warm-up: pings from the root namespace until the probe counts packets
    # (ARP and neighbour discovery happen here too), or 4 s; not compared.
    t_warm = time.monotonic()
    counted = None
    while True:
        lib_live.ping(4, v.n4, 1, 8, 0x7777, timeout=0.5)
        lib_live.ping(6, v.n6, 1, 8, 0x7777, timeout=0.5)
        if not probe.alive():
            c.fail("the probe exited during the warm-up (status %s): %s" % (
                probe.popen.returncode, lib.tail(probe.stderr() + probe.stdout())))
        if EXPORTER == "pathflow-probe":
            counted = c.metrics(mport).get("pathflow_probe_packets_total", 0)
            if counted >= 2:
                break
        if time.monotonic() - t_warm > 4:
            break
        time.sleep(0.2)
    if EXPORTER == "pathflow-probe":
        c.check(counted >= 2, "pathflow_probe_packets_total = %s after %.1f s of warm-up pings on the "
                "captured interface (the counters do not move during live capture?)" % (
                    counted, time.monotonic() - t_warm))
    t_traffic = time.monotonic()

    plan_path, result_path = c.path("plan.json"), c.path("sent.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f, indent=1)
    sender = c.start("sender", v.netns_exec([lib.PYTHON, os.path.join(lib.ROOT, "tools", "e2e", "lib_live.py"),
                                             "send", plan_path, result_path]))
    rc = sender.wait(60)
    if rc != 0:
        c.fail("the sender in the namespace failed (status %s): %s" % (rc, lib.tail(sender.stderr())))
    with open(result_path) as f:
        sent = json.load(f)
    lib.log("sender:", sent)
    for u, n in zip(plan["udp"], sent["udp"]):
        c.check(n == u["count"], "sender: %d of %d UDP datagrams to port %d sent" % (n, u["count"], u["dport"]))
    for p, n in zip(plan["ping"], sent["ping"]):
        c.check(n == p["count"], "sender: %d of %d echo replies from %s" % (n, p["count"], p["dst"]))
    for t, n in zip(plan["tcp"], sent["tcp"]):
        c.check(n == TCP_REPLY, "sender: TCP client to port %d read %d bytes, not %d" % (t["dport"], n, TCP_REPLY))
    time.sleep(1.0)

    exact = expected_exact(plan, v)
    tcp_keys = set()
    for t in plan["tcp"]:
        tcp_keys.add((t["src"], t["dst"], t["sport"], t["dport"], "tcp"))
        tcp_keys.add((t["dst"], t["src"], t["dport"], t["sport"], "tcp"))
    seen = ref.sums(since=t_traffic)
    checked_packets = sum(seen.get(k, [0])[0] for k in set(exact) | tcp_keys)

    if EXPORTER == "pathflow-probe":
        m = c.metrics(mport)
        lib.log("probe metrics before SIGTERM:", {k: v_ for k, v_ in m.items() if k.startswith("pathflow_probe")})
        c.check(m.get("pathflow_probe_packets_total", 0) >= checked_packets,
                "pathflow_probe_packets_total = %s, fewer than the %d packets of the checked 5-tuples" % (
                    m.get("pathflow_probe_packets_total"), checked_packets))
        c.check(m.get("pathflow_probe_kernel_drops_total", 0) == 0,
                "pathflow_probe_kernel_drops_total = %s" % m.get("pathflow_probe_kernel_drops_total"))
        sig = signal.SIGTERM
    else:
        sig = signal.SIGINT
    # The link is quiet now: the probe must stop without waiting for another packet.
    t_stop = time.monotonic()
    probe.send_signal(sig)
    rc = probe.wait(10)
    if rc is None:
        lib_live.ping(4, v.n4, 1, 8, 0x7777, timeout=0.5)    # a warm-up 5-tuple: not compared
        rc = probe.wait(10)
        c.check(False, "the probe did not exit within 10 s of %s on a quiet interface; %s" % (
            sig.name, "it did after one more packet" if rc is not None else "nor after one more packet"))
        if rc is None:
            rc = probe.stop(signal.SIGKILL, timeout=10)
    else:
        probe.stop(sig, timeout=10)     # its process group
    lib.log("probe exited %.1f s after %s" % (time.monotonic() - t_stop, sig.name))
    c.check(rc == 0, "the probe exited with status %s after %s: %s" % (rc, sig.name, lib.tail(probe.stderr())))
    lib.log("probe stderr:", lib.tail(probe.stderr(), 5))
    time.sleep(0.3)
    ref_packets, ref_drops = ref.finish()
    c.check(ref_drops == 0, "the reference capture dropped %d packets (test problem)" % ref_drops)

    # The collector has everything once its datagram count stops moving.
    last, since, deadline = None, time.monotonic(), time.monotonic() + 20
    while time.monotonic() < deadline:
        cur = c.metrics(pf_mport).get("pathflow_flow_datagrams_total", 0)
        if cur != last:
            last, since = cur, time.monotonic()
        elif cur > 0 and time.monotonic() - since >= 2:
            break
        time.sleep(0.2)
    m = c.metrics(pf_mport)
    lib.log("collector: %s datagrams, %s records" % (m.get("pathflow_flow_datagrams_total"),
                                                     m.get("pathflow_flow_records_total")))
    c.check(m.get("pathflow_flow_decode_errors_total", 0) == 0,
            "collector: pathflow_flow_decode_errors_total = %s" % m.get("pathflow_flow_decode_errors_total"))
    c.stop_pathflow(pf)

    table = lib.db_sums(db)
    lib.log("table: %d 5-tuples, totals %s" % (len(table), lib.table_totals(db)))
    with open(c.path("reference.tsv"), "w") as f:
        for k, s in sorted(seen.items(), key=repr):
            f.write("\t".join(map(str, k + tuple(s))) + "\n")

    # The reference against the plan (checks the case itself).
    d = lib.diff_sums("reference capture", {k: seen[k] for k in exact if k in seen}, "sent", exact)
    c.check(not d, "UDP/ICMP sums, reference capture vs what was sent (test problem): %s" % d)
    for t in plan["tcp"]:
        up = (t["src"], t["dst"], t["sport"], t["dport"], "tcp")
        down = (t["dst"], t["src"], t["dport"], t["sport"], "tcp")
        c.check(ref.payload(up) == t["messages"] * t["size"] and ref.payload(down) == TCP_REPLY,
                "reference capture: TCP payload %d/%d bytes, written %d/%d (test problem)" % (
                    ref.payload(up), ref.payload(down), t["messages"] * t["size"], TCP_REPLY))
    filtered = [k for k in seen if k[4] == "udp" and k[3] == FILTERED_PORT]
    c.check(filtered, "the reference capture did not see the UDP flow to port %d (test problem)" % FILTERED_PORT)

    # The table.
    got_exact = {k: table[k] for k in exact if k in table}
    d = lib.diff_sums("table", got_exact, "sent", exact)
    c.check(not d, "UDP/ICMP sums per 5-tuple, table vs sent: %s" % d)
    want_tcp = {k: seen[k] for k in tcp_keys if k in seen}
    got_tcp = {k: table[k] for k in tcp_keys if k in table}
    d = lib.diff_sums("table", got_tcp, "reference capture", want_tcp)
    c.check(not d, "TCP sums per 5-tuple, table vs reference capture: %s" % d)
    c.check(len(want_tcp) == 4, "reference capture: %d TCP 5-tuples, want 4" % len(want_tcp))
    leaked = [k for k in table if k[4] == "udp" and k[3] == FILTERED_PORT]
    c.check(not leaked, "the flow the pcap_filter leaves out is in the table: %s" % leaked)
    others = sorted((k for k in table if k not in exact and k not in tcp_keys and not ignored(k, v)), key=repr)
    c.check(not others, "%d unexpected 5-tuples in the table, e.g. %s" % (
        len(others), [(k, table[k]) for k in others[:3]]))
    lib.log("checked %d UDP/ICMP and %d TCP 5-tuples (%d packets); ignored %d warm-up/ND 5-tuples" % (
        len(exact), len(tcp_keys), checked_packets, sum(1 for k in table if ignored(k, v))))


lib.main(case)
