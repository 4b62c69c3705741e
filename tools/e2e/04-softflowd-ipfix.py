#!/usr/bin/env python3
"""softflowd -v 10 reading the same pcap, replayed to nfacctd and pathflow:
each table equals its collector's model (softflowd sends ICMP type/code in
IE 32/139, which nfacctd stores as dst_port 0 and pathflow as type*256+code),
per-5-tuple sums equal the truth (with ICMP dst_port 0 for nfacctd), and the
tutorial's queries give each model's output."""
import lib

lib.main(lambda c: lib.exporter_case(c, "softflowd", 10, expect=[lib.DIFF_ICMP]))
