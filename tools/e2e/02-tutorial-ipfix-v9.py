#!/usr/bin/env python3
"""As tutorial-ipfix, with pmacctd+nfprobe exporting NetFlow v9."""
import lib

lib.main(lambda c: lib.exporter_case(c, "pmacctd", 9, expect=[lib.DIFF_BIN]))
