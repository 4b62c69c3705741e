#!/usr/bin/env python3
"""exabgp API helper: hands exabgp the commands the capture script drops.

Usage (from an exabgp "process" block): exabgp-api.py STEPDIR TIMEOUT [LOG]

Polls STEPDIR every 0.1 s for step1, step2, ... (in order); when stepN
exists, prints its lines (exabgp API commands) to stdout, flushes, and
creates stepN.sent.  Gives up after TIMEOUT seconds, then waits for exabgp to
close stdin (it does on shutdown).  Standard library only.
"""
import os
import sys
import threading
import time


def copy_stdin(log):
    try:
        with open(log, "a") as f:
            for line in sys.stdin:
                f.write(line)
                f.flush()
    except (OSError, ValueError):
        pass


def main():
    stepdir, timeout = sys.argv[1], float(sys.argv[2])
    end = time.monotonic() + timeout
    reader = None
    if len(sys.argv) > 3:
        reader = threading.Thread(target=copy_stdin, args=(sys.argv[3],), daemon=True)
        reader.start()
    n = 1
    while time.monotonic() < end:
        path = os.path.join(stepdir, "step%d" % n)
        if os.path.exists(path) and not path.endswith(".tmp"):
            with open(path) as f:
                for line in f:
                    if line.strip():
                        sys.stdout.write(line.rstrip("\n") + "\n")
            sys.stdout.flush()
            open(path + ".sent", "w").close()
            n += 1
            continue
        time.sleep(0.1)
    if reader is not None:
        reader.join()
        return
    try:
        sys.stdin.read()
    except (OSError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
