#!/usr/bin/env python3
"""pmacctd+nfprobe (IPFIX) export of a generated pcap, replayed to nfacctd and
to pathflow, both with the tutorial's nfacctd.conf.  Each table must equal its
collector's model computed from the exported datagrams (the models differ for
flows starting exactly on a bin boundary, which this input has); per-5-tuple
sums equal gen-pcap's truth; the tutorial's four queries give each model's
output; pathflow's acct schema is pmacct's v1."""
import lib

lib.main(lambda c: lib.exporter_case(c, "pmacctd", 10, expect=[lib.DIFF_BIN]))
