#!/usr/bin/env python3
"""`pathflow probe` reads the shared generated pcap (TCP, UDP, ICMP, IPv4 and
IPv6) and exports it with IPFIX, NetFlow v9 and NetFlow v5 to a UDP socket of
the case.  For each version: tshark's decoding of the datagrams gives gen-pcap's
truth per 5-tuple (v5: the IPv4 5-tuples only), and the datagrams replayed to
nfacctd and to pathflow collect give tables equal to each collector's model
and per-5-tuple sums equal to the truth, as in tutorial-ipfix.

IPFIX takes everything from the configuration file (pcap_savefile,
nfprobe_receiver, nfprobe_version); v9 and v5 use --pcap-file, --receiver and
--nfprobe-version over a file that names another receiver of the case and version 10,
which must get nothing.  The probe runs with --strict.  Last, sampling 1 in 10
(IPFIX): pathflow collect with nfacctd_renormalize stores exactly every tenth
packet of the file times ten, per 5-tuple.
"""
import lib

SAMPLING = 10


def sampled_truth(pcap):
    """Every SAMPLING-th packet of the file (the probe's deterministic 1-in-N), per
    5-tuple, scaled back up by N: what a renormalising collector must store."""
    from scapy.all import IP, IPv6, TCP, UDP, ICMP, PcapReader  # type: ignore
    sums = {}
    with PcapReader(pcap) as packets:
        for i, p in enumerate(packets):
            if (i + 1) % SAMPLING:
                continue
            if IP in p:
                ip, length, proto = p[IP], p[IP].len, p[IP].proto
            elif IPv6 in p:
                ip, length, proto = p[IPv6], 40 + p[IPv6].plen, p[IPv6].nh
            else:
                continue
            sport = dport = 0
            if TCP in p:
                sport, dport = p[TCP].sport, p[TCP].dport
            elif UDP in p:
                sport, dport = p[UDP].sport, p[UDP].dport
            elif proto in (1, 58):
                raw = bytes(ip.payload)
                dport = raw[0] << 8 | raw[1]
            key = (ip.src, ip.dst, sport, dport, {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}.get(proto, str(proto)))
            entry = sums.setdefault(key, [0, 0])
            entry[0] += SAMPLING
            entry[1] += SAMPLING * length
    return sums


def sampled(c):
    """sampling_rate: 1 in 10, announced in the export's options; pathflow collect with
    nfacctd_renormalize: true stores the sampled packets scaled back up, exactly."""
    pcap, _ = c.input_pcap()
    conf = c.path("probe-sampled.conf")

    def argv(port):
        with open(conf, "w") as f:
            f.write(lib.PROBE_PCAP_CONF.format(receiver="127.0.0.1:%d" % port, version=10))
            f.write("sampling_rate: %d\n" % SAMPLING)
        return [lib.PATHFLOW, "probe", "-f", conf, "--strict", "--pcap-file", pcap]
    datagrams = c.capture_export("pathflow-probe-sampled", argv, cwd=c.dir)
    collector_conf = c.path("renormalize.conf")
    with open(lib.TUTORIAL_CONF) as src, open(collector_conf, "w") as dst:
        dst.write(src.read() + "\nnfacctd_renormalize: true\n")
    db = c.path("sampled.db")
    pf, port, mport = c.start_pathflow(db, conf=collector_conf, name="collect-sampled")
    lib.replay(datagrams, [port], gap=0.0005)
    c.wait_for("collect-sampled: every datagram", lambda: c.metrics(mport).get(
        "pathflow_flow_datagrams_total", 0) >= len(datagrams), 15, proc=pf)
    c.stop_pathflow(pf)
    want = sampled_truth(pcap)
    got = lib.db_sums(db)
    lib.log("sampled 1 in %d: %d 5-tuples expected, %d stored" % (SAMPLING, len(want), len(got)))
    c.check(len(want) > 100, "test error: only %d 5-tuples sampled" % len(want))
    c.check(got == want, "renormalised sums differ from every %dth packet x %d: %s" % (
        SAMPLING, SAMPLING, lib.diff_sums("stored", got, "expected", want)))


def case(c):
    c.require_probe()
    lib.exporter_case(c, "pathflow-probe", 10, tag="-v10", tshark=True)
    lib.exporter_case(c, "pathflow-probe", 9, tag="-v9", tshark=True, probe_options=True)
    lib.exporter_case(c, "pathflow-probe", 5, tag="-v5", tshark=True, probe_options=True)
    sampled(c)


lib.main(case)
