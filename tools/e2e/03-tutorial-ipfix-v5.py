#!/usr/bin/env python3
"""As tutorial-ipfix, with pmacctd+nfprobe exporting NetFlow v5 (IPv4 only:
the truth is restricted to the IPv4 5-tuples).  nfprobe's v5 records have
First > SysUptime (times from the pcap), where the two collectors compute
different start times; the models cover that."""
import lib

lib.main(lambda c: lib.exporter_case(c, "pmacctd", 5, expect=[lib.DIFF_V5]))
