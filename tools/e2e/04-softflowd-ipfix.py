#!/usr/bin/env python3
"""softflowd -v 10 reading the same pcap, replayed to nfacctd and pathflow:
per-5-tuple sums equal to the truth for both, and the same acct rows."""
import lib

lib.main(lambda c: lib.exporter_case(c, "softflowd", 10))
