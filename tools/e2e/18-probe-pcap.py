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
which must get nothing.  The probe runs with --strict.
"""
import lib


def case(c):
    c.require_probe()
    lib.exporter_case(c, "pathflow-probe", 10, tag="-v10", tshark=True)
    lib.exporter_case(c, "pathflow-probe", 9, tag="-v9", tshark=True, probe_options=True)
    lib.exporter_case(c, "pathflow-probe", 5, tag="-v5", tshark=True, probe_options=True)


lib.main(case)
