#!/usr/bin/env python3
"""As tutorial-ipfix, with pmacctd+nfprobe exporting NetFlow v5 (IPv4 only:
the truth is restricted to the IPv4 5-tuples)."""
import lib

lib.main(lambda c: lib.exporter_case(c, "pmacctd", 5))
