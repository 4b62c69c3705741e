#!/usr/bin/env python3
"""pmacctd+nfprobe (IPFIX) export of a generated pcap, replayed to nfacctd and
to pathflow, both with the tutorial's nfacctd.conf: per-5-tuple sums equal to
each other and to gen-pcap's truth, the same acct rows, the tutorial's four
queries give identical output, and pathflow's acct schema is pmacct's v1."""
import lib

lib.main(lambda c: lib.exporter_case(c, "pmacctd", 10, tutorial_queries=True))
