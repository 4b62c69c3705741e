"""Shared helpers for the end-to-end cases in tools/e2e/.

Every case is a small script that calls `lib.main(case_function)`.  A case
gets a `Case` object: a private temporary directory, free loopback ports,
and process bookkeeping so that every process it starts is stopped (by pid)
when the case ends, whatever happens.  All network traffic goes to
127.0.0.1 only, and every wait below is bounded in time.

Exit status of a case script: 0 = pass, 1 = fail, 2 = error in the test
itself, 3 = interrupted, 4 = skipped (the last stdout line is then
`SKIP-REASON: <text>`).  The temporary directory of a failed case is kept.  On failure the last stdout line is `FAIL-REASON: <text>`, which
tools/e2e/run prints.

Environment:
  PATHFLOW_BIN_DIR  directory with the pathflow and flowgen binaries
                    (default .build/debug, relative to the repository root)
  PYTHON            interpreter that has scapy (default /usr/bin/python3)
  E2E_SHARED        directory shared by the cases of one run (input pcap
                    cache); a case run alone uses its own temporary directory
  E2E_KEEP          if set, keep each case's temporary directory
"""

import collections
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN_DIR = os.path.join(ROOT, os.environ.get("PATHFLOW_BIN_DIR", ".build/debug"))
PATHFLOW = os.path.join(BIN_DIR, "pathflow")
FLOWGEN = os.path.join(BIN_DIR, "flowgen")
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
TUTORIAL_CONF = os.path.join(ROOT, "configs", "tutorial", "nfacctd.conf")
GEN_PCAP = os.path.join(ROOT, "tools", "gen-pcap.py")
PMACCT_V1_SQL = "/usr/share/pmacct/sql/pmacct-create-table_v1.sqlite3"

# pmacct's names for IP protocol numbers (the ip_proto column of the v1 table).
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}

# The four queries of the tutorial; {addr} is replaced by an address present.
TUTORIAL_QUERIES = [
    "SELECT COUNT(*) FROM acct;",
    "SELECT ip_src, SUM(packets) as total_packets, SUM(bytes) as total_bytes "
    "FROM acct WHERE ip_src = '{addr}' GROUP BY ip_src;",
    "SELECT ip_proto, COUNT(*) as flow_count, SUM(packets) as total_packets, "
    "SUM(bytes) as total_bytes FROM acct GROUP BY ip_proto ORDER BY total_bytes DESC;",
    "SELECT stamp_inserted, COUNT(*) as flows, SUM(packets) as packets, SUM(bytes) as bytes "
    "FROM acct GROUP BY stamp_inserted ORDER BY stamp_inserted;",
]

PMACCTD_NFPROBE_CONF = """\
daemonize: false
pcap_savefile: {pcap}
pcap_savefile_wait: false
plugins: nfprobe
nfprobe_receiver: 127.0.0.1:{port}
nfprobe_version: {version}
nfprobe_timeouts: tcp=5:tcp.rst=5:tcp.fin=5:udp=5:icmp=5:general=5:maxlife=30:expint=1
aggregate: src_host, dst_host, src_port, dst_port, proto, tos
"""

# pathflow probe reading a pcap file: pmacctd's syntax, the same timeouts and
# aggregate as PMACCTD_NFPROBE_CONF (the keys pathflow probe documents only).
PROBE_PCAP_CONF = """\
daemonize: false
plugins: nfprobe
nfprobe_receiver: {receiver}
nfprobe_version: {version}
nfprobe_timeouts: tcp=5:udp=5:icmp=5:general=5:maxlife=30:expint=1
aggregate: src_host, dst_host, src_port, dst_port, proto, tos
metrics_listen: false
"""


class CaseFailure(Exception):
    pass


class CaseSkipped(Exception):
    """The case cannot run against this build (a feature it tests is not in it)."""


EXIT_SKIPPED = 4


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# processes

class Proc:
    """A process started by a case, in its own session (process group), with
    stdout/stderr in files of the case directory."""

    def __init__(self, name, argv, workdir, cwd=None):
        self.name = name
        self.argv = argv
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        log("start", name + ":", " ".join(argv))
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                      stderr=self._err, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Exit status, or None if still running after `timeout` seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send `sig`, wait up to `timeout` s for the process and then its
        children (same process group) to exit, then SIGKILL what is left.
        Returns the exit status."""
        if self.alive():
            os.kill(self.pid, sig)
            if self.wait(timeout) is None:
                log(self.name, "did not exit within", timeout, "s after", sig.name, "- killing")
                os.kill(self.pid, signal.SIGKILL)
                self.wait(10)
        self.wait_group(timeout)
        self.kill_group()
        return self.popen.returncode

    def group_alive(self):
        try:
            os.killpg(self.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def wait_group(self, timeout):
        deadline = time.monotonic() + timeout
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill_group(self):
        """Children left in this process's group (pmacct's plugin processes)."""
        if self.group_alive():
            log(self.name, "left processes in its group", self.pid, "- killing them")
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stdout(self):
        self._out.flush()
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        self._err.flush()
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def close(self):
        self._out.close()
        self._err.close()


def udp_port_bound(port):
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            pass
    return False


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


# --------------------------------------------------------------------------
# the case object

class Case:
    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="pathflow-e2e-%s-" % name)
        self.procs = []
        self.stop_events = []
        self.cleanups = []      # callables run after the processes are stopped (e.g. network namespaces)
        self.problems = []
        self.failed = False
        self._ports = set()
        shared = os.environ.get("E2E_SHARED")
        self.shared = shared if shared else self.dir

    # ---- bookkeeping -------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def check(self, ok, msg):
        """Record a failed check and keep going (all are reported at the end)."""
        if not ok:
            log("CHECK FAILED:", msg)
            self.problems.append(msg)
        return ok

    def fail(self, msg):
        raise CaseFailure(msg)

    def cleanup(self):
        for ev in self.stop_events:
            ev.set()
        for p in reversed(self.procs):
            try:
                if p.alive():
                    log("cleanup: stopping", p.name, "pid", p.pid)
                    p.stop(signal.SIGTERM, timeout=5)
                else:
                    p.kill_group()
            except Exception as e:  # keep cleaning up the others
                log("cleanup of", p.name, "failed:", e)
            p.close()
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # keep cleaning up the others
                log("cleanup", getattr(fn, "__name__", fn), "failed:", e)
        if os.environ.get("E2E_KEEP") or self.failed:
            log("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, name, argv, cwd=None):
        p = Proc(name, argv, self.dir, cwd=cwd)
        self.procs.append(p)
        return p

    def free_port(self):
        rng = random.Random()
        for _ in range(200):
            port = rng.randint(20000, 60999)
            if port not in self._ports and port_free(port):
                self._ports.add(port)
                return port
        self.fail("no free loopback port found")

    def wait_for(self, what, cond, timeout, proc=None, step=0.1):
        """Poll cond() (an exception counts as False) until true, or fail."""
        def holds():
            try:
                return cond()
            except Exception:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if holds():
                return
            if proc is not None and not proc.alive():
                self.fail("%s exited (status %s) while waiting for %s: %s" % (
                    proc.name, proc.popen.returncode, what, tail(proc.stderr())))
            time.sleep(step)
        if holds():
            return
        self.fail("timed out after %ss waiting for %s" % (timeout, what))

    # ---- configurations ----------------------------------------------------
    def derive_config(self, name, overrides, src=TUTORIAL_CONF):
        """Copy `src`, replacing the value of each key in `overrides` on its line."""
        out, seen = [], set()
        with open(src) as f:
            for line in f:
                m = re.match(r"^\s*([A-Za-z0-9_\[\]]+)\s*:", line)
                if m and m.group(1) in overrides:
                    key = m.group(1)
                    out.append("%s: %s\n" % (key, overrides[key]))
                    seen.add(key)
                else:
                    out.append(line)
        missing = set(overrides) - seen
        if missing:
            self.fail("derive_config: keys %s not in %s" % (sorted(missing), src))
        path = self.path(name)
        with open(path, "w") as f:
            f.writelines(out)
        return path

    # ---- pathflow ----------------------------------------------------------
    def start_pathflow(self, db, conf=TUTORIAL_CONF, name="pathflow", extra=(), wait=True):
        """pathflow collect with the command-line overrides; returns (proc, port, metrics_port)."""
        if not os.access(PATHFLOW, os.X_OK):
            self.fail("no pathflow binary at %s (build it, or set PATHFLOW_BIN_DIR)" % PATHFLOW)
        port, mport = self.free_port(), self.free_port()
        argv = [PATHFLOW, "collect", "-f", conf, "--sql-db", db, "--port", str(port),
                "--listen", "127.0.0.1", "--metrics-listen", "127.0.0.1:%d" % mport,
                "--pidfile", self.path(name + ".pid")] + list(extra)
        p = self.start(name, argv)
        if wait:
            self.wait_for("%s to listen on UDP %d" % (name, port),
                          lambda: udp_port_bound(port), 30, proc=p)
        return p, port, mport

    def stop_pathflow(self, p, timeout=60):
        rc = p.stop(signal.SIGTERM, timeout=timeout)
        self.check(rc == 0, "%s exited with status %s after SIGTERM: %s" % (p.name, rc, tail(p.stderr())))
        return rc

    def wait_datagrams(self, name, mport, want, proc, timeout=20):
        """Waits until pathflow's /metrics counts `want` datagrams (a shortfall is a failed check)."""
        try:
            self.wait_for("%s: pathflow_flow_datagrams_total = %d" % (name, want),
                          lambda: self.metrics(mport).get("pathflow_flow_datagrams_total", 0) >= want, timeout, proc=proc)
        except CaseFailure as e:
            self.check(False, str(e))
        return self.metrics(mport)

    def metrics(self, mport):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
            return parse_prometheus(r.read().decode())

    # ---- nfacctd (the oracle) ----------------------------------------------
    def start_nfacctd(self, db, refresh=2, name="nfacctd"):
        """nfacctd with the tutorial config; only port, listen address, pidfile,
        sql_db and sql_refresh_time differ.  The v1 table comes from pmacct's script."""
        for tool in ("nfacctd", "sqlite3"):
            if shutil.which(tool) is None:
                self.fail("missing tool: " + tool)
        run(["sqlite3", db], stdin_path=PMACCT_V1_SQL, timeout=30, what="creating pmacct's v1 table")
        port = self.free_port()
        conf = self.derive_config(name + ".conf", {
            "nfacctd_port": str(port),
            "nfacctd_ip": "127.0.0.1",
            "pidfile": self.path(name + ".pid"),
            "sql_db": db,
            "sql_refresh_time": str(refresh),
        })
        p = self.start(name, ["nfacctd", "-f", conf])
        p.refresh = refresh
        p.db = db
        self.wait_for("%s to listen on UDP %d" % (name, port), lambda: udp_port_bound(port), 30, proc=p)
        # The sqlite3 plugin announces its cache once it is up.
        self.wait_for("%s's sqlite3 plugin to start" % name,
                      lambda: "cache entries=" in p.stderr() + p.stdout(), 30, proc=p)
        return p, port

    def stop_nfacctd(self, p, timeout=60):
        """Wait until nfacctd's table stops changing (totals unchanged for more
        than two refresh intervals), stop it with SIGINT, wait for its plugin
        to exit, and check that the final flush wrote every queued row.

        nfacctd keeps rows whose time bin lies in the future (later than its
        current bin) out of the periodic flushes and writes them only at exit,
        so the table may still change with the final flush."""
        quiet = 2 * p.refresh + 1
        deadline = time.monotonic() + timeout
        last, changed_at = None, time.monotonic()
        while time.monotonic() < deadline:
            cur = table_totals(p.db)
            if cur != last:
                last, changed_at = cur, time.monotonic()
            elif time.monotonic() - changed_at >= quiet:
                break
            if not p.alive():
                self.fail("nfacctd exited early: " + tail(p.stderr() + p.stdout()))
            time.sleep(0.5)
        else:
            self.fail("nfacctd's table did not settle within %ss (last totals %s)" % (timeout, last))
        before = table_totals(p.db)
        log_before = len(p.stdout() + p.stderr())
        rc = p.stop(signal.SIGINT, timeout=30)
        logtext = p.stdout() + p.stderr()
        self.check("OK, Exiting" in logtext, "nfacctd did not log 'OK, Exiting' after SIGINT (status %s)" % rc)
        # The last purge is the one at exit: it must have written its whole queue.
        final = re.findall(r"Purging cache - END \(PID: \d+, QN: (\d+)/(\d+)", logtext[log_before:])
        self.check(final and final[-1][0] == final[-1][1],
                   "nfacctd's final flush incomplete: purges after SIGINT (written/queued) %s" % final)
        errors = [l for l in logtext.splitlines() if l.startswith(("ERROR", "ALERT", "WARN"))]
        self.check(not errors, "nfacctd logged: %s" % errors[:3])
        after = table_totals(p.db)
        log("nfacctd stopped, status %s; totals before SIGINT %s, after exit %s" % (rc, before, after))
        purges = re.findall(r"Purging cache - END \(PID: \d+, QN: (\d+/\d+)", logtext)
        log("nfacctd purges (written/queued):", " ".join(purges))
        self.check(after[0] > 0, "nfacctd wrote no rows; its log ends: %s" % tail(logtext, 4))
        return rc

    # ---- exporters ---------------------------------------------------------
    def input_pcap(self, flows=2000):
        """gen-pcap.py output (pcap, truth), cached in E2E_SHARED across cases."""
        pcap = os.path.join(self.shared, "input-%d.pcap" % flows)
        truth = os.path.join(self.shared, "truth-%d.tsv" % flows)
        if not (os.path.exists(pcap) and os.path.exists(truth)):
            run([PYTHON, GEN_PCAP, "--flows", str(flows), "--out", pcap + ".tmp", "--truth", truth + ".tmp"],
                timeout=120, what="gen-pcap.py")
            os.rename(truth + ".tmp", truth)
            os.rename(pcap + ".tmp", pcap)
        return pcap, truth

    def capture_export(self, name, argv_for_port, cwd=None, timeout=120):
        """Run an exporter toward a UDP socket of ours on 127.0.0.1 and keep
        every datagram it sends.  argv_for_port(port) -> argv.  Returns the
        list of datagrams (bytes) in arrival order."""
        port = self.free_port()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind(("127.0.0.1", port))
        sock.settimeout(0.1)
        datagrams = []
        stop = threading.Event()
        self.stop_events.append(stop)

        def receive():
            while not stop.is_set():
                try:
                    datagrams.append(sock.recv(65535))
                except socket.timeout:
                    continue
                except OSError:
                    return

        t = threading.Thread(target=receive, daemon=True)
        t.start()
        try:
            p = self.start(name, argv_for_port(port), cwd=cwd)
            self.last_exporter = p
            rc = p.wait(timeout)
            if rc is None:
                p.stop(signal.SIGTERM, timeout=5)
                self.fail("%s did not finish within %ss" % (name, timeout))
            p.kill_group()
            if rc != 0:
                self.fail("%s exited with status %s: %s" % (name, rc, tail(p.stderr() + p.stdout())))
            time.sleep(1.0)  # the last datagrams
        finally:
            stop.set()
            t.join(5)
            sock.close()
        if not datagrams:
            self.fail("%s sent no datagrams" % name)
        with open(self.path(name + ".hex"), "w") as f:
            for d in datagrams:
                f.write(d.hex() + "\n")
        log(name, "sent", len(datagrams), "datagrams,", sum(map(len, datagrams)), "bytes")
        return datagrams

    def pmacctd_nfprobe(self, pcap, version):
        conf = self.path("pmacctd-nfprobe-v%d.conf" % version)

        def argv(port):
            with open(conf, "w") as f:
                f.write(PMACCTD_NFPROBE_CONF.format(pcap=pcap, port=port, version=version))
            return ["pmacctd", "-f", conf]
        return self.capture_export("pmacctd-nfprobe-v%d" % version, argv, cwd=self.dir)

    def softflowd(self, pcap, version):
        return self.capture_export(
            "softflowd-v%d" % version,
            lambda port: ["softflowd", "-d", "-r", pcap, "-v", str(version), "-n", "127.0.0.1:%d" % port],
            cwd=self.dir)

    def require_probe(self):
        """Fail the case when this build has no `pathflow probe` (every build has it)."""
        if not os.access(PATHFLOW, os.X_OK):
            self.fail("no pathflow binary at %s (build it, or set PATHFLOW_BIN_DIR)" % PATHFLOW)
        r = run([PATHFLOW, "probe", "--help"], timeout=30, what="pathflow probe --help", check=False)
        text = (r.stdout + r.stderr).decode(errors="replace")
        # An unknown subcommand with --help prints the top-level help, status 0.
        if r.returncode != 0 or "pathflow probe" not in text:
            self.fail("this pathflow has no probe subcommand (`pathflow probe --help`: status %d, %s)" % (
                r.returncode, tail(text, 1)))

    def pathflow_probe(self, pcap, version, options=False):
        """`pathflow probe` reading `pcap` to a UDP socket of the case; returns the datagrams.

        options=False: everything in the configuration file (pcap_savefile,
        nfprobe_receiver, nfprobe_version).  options=True: the file names a
        receiver the case also owns (a decoy) and NetFlow version 10, and
        --pcap-file, --receiver and --nfprobe-version on the command line override it;
        the decoy must get nothing."""
        self.require_probe()
        name = "pathflow-probe-v%d" % version
        conf = self.path(name + ".conf")
        decoy = None
        if options:
            decoy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            decoy.bind(("127.0.0.1", 0))
            decoy.setblocking(False)

        def argv(port):
            with open(conf, "w") as f:
                if options:
                    f.write(PROBE_PCAP_CONF.format(receiver="127.0.0.1:%d" % decoy.getsockname()[1], version=10))
                else:
                    f.write(PROBE_PCAP_CONF.format(receiver="127.0.0.1:%d" % port, version=version))
                    f.write("pcap_savefile: %s\n" % pcap)
            cmd = [PATHFLOW, "probe", "-f", conf, "--strict"]
            if options:
                cmd += ["--pcap-file", pcap, "--receiver", "127.0.0.1:%d" % port, "--nfprobe-version", str(version)]
            return cmd
        try:
            datagrams = self.capture_export(name, argv, cwd=self.dir)
            if decoy is not None:
                got = 0
                while got < 100000:
                    try:
                        decoy.recv(65535)
                    except BlockingIOError:
                        break
                    got += 1
                self.check(got == 0, "%s: the receiver of the configuration file got %d datagrams although "
                           "--receiver overrides it" % (name, got))
        finally:
            if decoy is not None:
                decoy.close()
        err = self.last_exporter.stderr().strip()
        log("%s stderr: %s" % (name, tail(err, 5)))
        lines = [l for l in err.splitlines() if l.strip()]
        self.check(len(lines) >= 1, "%s printed no summary on stderr" % name)
        return datagrams


def replay(datagrams, ports, gap=0.001):
    """Send each datagram to every port on 127.0.0.1, `gap` seconds apart."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for d in datagrams:
            for port in ports:
                s.sendto(d, ("127.0.0.1", port))
            time.sleep(gap)
    finally:
        s.close()


# --------------------------------------------------------------------------
# tshark as a second, independent decoder of the exported datagrams

TSHARK_FLOWS = os.path.join(ROOT, "tools", "tshark-flows.py")


def write_udp_pcap(path, datagrams, port, t0=1700000000):
    """Datagrams as a pcap (Ethernet, IPv4 127.0.0.1 -> 127.0.0.1, UDP to
    `port`), 1 ms apart, in the order they arrived."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, d in enumerate(datagrams):
            if len(d) > 65535 - 28:
                raise ModelError("datagram of %d bytes does not fit an IPv4 packet" % len(d))
            ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28 + len(d), i & 0xFFFF, 0, 64, 17, 0,
                                       bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))
            csum = sum(struct.unpack(">10H", bytes(ip)))
            while csum >> 16:
                csum = (csum & 0xFFFF) + (csum >> 16)
            ip[10:12] = struct.pack(">H", ~csum & 0xFFFF)
            udp = struct.pack(">HHHH", 40000, port, 8 + len(d), 0)
            frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + bytes(ip) + udp + d
            sec, usec = divmod(i * 1000, 1_000_000)
            f.write(struct.pack("<IIII", t0 + sec, usec, len(frame), len(frame)))
            f.write(frame)


def tshark_sums(c, datagrams, name):
    """{5-tuple with pmacct proto name: [packets, bytes]} as tshark decodes the
    datagrams (tools/tshark-flows.py), and the number of records."""
    if shutil.which("tshark") is None:
        c.fail("missing tool: tshark")
    port = 2055
    cap, tsv = c.path(name + ".export.pcap"), c.path(name + ".tshark.tsv")
    write_udp_pcap(cap, datagrams, port)
    run([PYTHON, TSHARK_FLOWS, cap, str(port), tsv], timeout=300, what="tshark-flows.py on %s" % cap)
    sums = collections.defaultdict(lambda: [0, 0])
    n = 0
    with open(tsv) as f:
        hdr = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            proto = int(r["proto"])
            k = (r["src_addr"], r["dst_addr"], int(r["src_port"] or 0), int(r["dst_port"] or 0),
                 PROTO_NAMES.get(proto, str(proto)))
            sums[k][0] += int(r["packets"])
            sums[k][1] += int(r["bytes"])
            n += 1
    return dict(sums), n


def tshark_check(c, datagrams, truth, name):
    """tshark's decoding of the datagrams gives the truth per 5-tuple."""
    sums, n = tshark_sums(c, datagrams, name)
    log("tshark: %d flow records, %d 5-tuples in %s's export" % (n, len(sums), name))
    d = diff_sums("tshark(%s)" % name, sums, "truth", truth)
    c.check(not d, "per-5-tuple sums, tshark's decoding of %s vs truth: %s" % (name, d))


# --------------------------------------------------------------------------
# data

def run(argv, timeout, what, stdin_path=None, check=True):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        r = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=timeout)
    finally:
        if stdin_path:
            stdin.close()
    if check and r.returncode != 0:
        raise CaseFailure("%s failed (status %d): %s" % (what, r.returncode, tail(r.stderr.decode(errors="replace"))))
    return r


def tail(text, n=3):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"


def connect_ro(db):
    return sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)


def table_totals(db):
    try:
        with connect_ro(db) as c:
            n, p, b = c.execute("SELECT COUNT(*), TOTAL(packets), TOTAL(bytes) FROM acct").fetchone()
        return (n, int(p), int(b))
    except sqlite3.Error:
        return (0, 0, 0)


def db_sums(db):
    """{(ip_src, ip_dst, src_port, dst_port, ip_proto): [packets, bytes]} over all rows."""
    sums = {}
    with connect_ro(db) as c:
        for row in c.execute("SELECT ip_src, ip_dst, src_port, dst_port, ip_proto, "
                             "SUM(packets), SUM(bytes) FROM acct "
                             "GROUP BY ip_src, ip_dst, src_port, dst_port, ip_proto"):
            sums[tuple(row[:5])] = [row[5], row[6]]
    return sums


def db_rows(db):
    """Every row of acct without stamp_updated, as a sorted list of typed tuples."""
    with connect_ro(db) as c:
        cols = [r[1] for r in c.execute("PRAGMA table_info(acct)") if r[1] != "stamp_updated"]
        rows = c.execute("SELECT %s FROM acct" % ", ".join(cols)).fetchall()
    return cols, sorted(rows, key=repr)


def stamp_updated_values(db):
    with connect_ro(db) as c:
        return [r[0] for r in c.execute("SELECT stamp_updated FROM acct")]


def load_truth(path, ipv4_only=False):
    """Truth TSV (gen-pcap.py or flowgen) -> {5-tuple with pmacct proto name: [packets, bytes]}."""
    sums = collections.defaultdict(lambda: [0, 0])
    with open(path) as f:
        hdr = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            if ipv4_only and ":" in r["src_addr"]:
                continue
            proto = int(r["proto"])
            k = (r["src_addr"], r["dst_addr"], int(r["src_port"]), int(r["dst_port"]),
                 PROTO_NAMES.get(proto, str(proto)))
            s = sums[k]
            s[0] += int(r["packets"])
            s[1] += int(r["bytes"])
    return dict(sums)


def diff_sums(name_a, a, name_b, b, show=2):
    """None if equal, else a one-line description of the differences."""
    if a == b:
        return None
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    tot = lambda s: (sum(v[0] for v in s.values()), sum(v[1] for v in s.values()))
    parts = ["%s %d 5-tuples %s packets/bytes, %s %d 5-tuples %s" % (
        name_a, len(a), tot(a), name_b, len(b), tot(b))]
    if only_a:
        parts.append("%d only in %s e.g. %s" % (len(only_a), name_a, [(k, a[k]) for k in only_a[:show]]))
    if only_b:
        parts.append("%d only in %s e.g. %s" % (len(only_b), name_b, [(k, b[k]) for k in only_b[:show]]))
    if differ:
        parts.append("%d differ e.g. %s" % (len(differ), [(k, a[k], b[k]) for k in differ[:show]]))
    # 5-tuples that differ only in dst_port, with equal sums: say which side has 0.
    by_rest = {(k[0], k[1], k[2], k[4]): k for k in only_b}
    zero_a = zero_b = other = 0
    for k in only_a:
        kb = by_rest.get((k[0], k[1], k[2], k[4]))
        if kb is None or a[k] != b[kb]:
            other += 1
        elif k[3] == 0:
            zero_a += 1
        elif kb[3] == 0:
            zero_b += 1
        else:
            other += 1
    if (zero_a or zero_b) and not other and len(only_a) == len(only_b):
        protos = sorted({k[4] for k in only_a})
        parts.append("all %d differ only in dst_port (protocols %s): %s has dst_port 0 for %d, %s for %d" % (
            len(only_a), ",".join(protos), name_a, zero_a, name_b, zero_b))
    return "; ".join(parts)


def diff_rows(name_a, a, name_b, b, show=2):
    ca = collections.Counter(a)
    cb = collections.Counter(b)
    if ca == cb:
        return None
    only_a = sorted((ca - cb).elements(), key=repr)
    only_b = sorted((cb - ca).elements(), key=repr)
    text = "%d rows only in %s e.g. %s; %d rows only in %s e.g. %s" % (
        len(only_a), name_a, only_a[:show], len(only_b), name_b, only_b[:show])
    # Rows equal but for stamp_inserted (the last column): say by how much the bins differ.
    bins_b = collections.defaultdict(list)
    for r in only_b:
        bins_b[r[:-1]].append(r[-1])
    shifts = collections.Counter()
    for r in only_a:
        if len(bins_b.get(r[:-1], ())) == 1:
            try:
                fmt = "%Y-%m-%d %H:%M:%S"
                d = time.mktime(time.strptime(r[-1], fmt)) - time.mktime(time.strptime(bins_b[r[:-1]][0], fmt))
                shifts["%s - %s = %+ds" % (name_a, name_b, d)] += 1
            except (TypeError, ValueError):
                pass
    if shifts:
        text += "; rows differing only in stamp_inserted: %s" % dict(shifts)
    return text


def sqlite_cli(db, sql, timeout=30):
    """Run SQL with the sqlite3 command-line shell: (status, stdout, stderr)."""
    r = subprocess.run(["sqlite3", db, sql], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def normalized_schema(db):
    rc, out, err = sqlite_cli(db, ".schema acct")
    return re.sub(r"\s+", " ", out).strip()


def parse_prometheus(text):
    """{metric name: sum over all label sets} for the sample lines."""
    out = collections.defaultdict(float)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                out[m.group(1)] += float(m.group(3))
            except ValueError:
                pass
    return dict(out)


def busiest_src(truth):
    """The source address with the most 5-tuples (ties: smallest text)."""
    count = collections.Counter(k[0] for k in truth)
    return sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


# --------------------------------------------------------------------------
# An independent model of both collectors, computed from the exported datagrams
#
# The exported datagrams are decoded here (NetFlow v5, v9 and IPFIX, a decoder
# of its own that shares nothing with pathflow) into flow records, and two
# expected acct tables are built from them: what nfacctd 1.7.7 writes and what
# pathflow writes.  Each collector's table must equal its own model exactly.
# The models differ on purpose in three places (docs/PMACCT.md):
#
# 1. Bin boundary.  nfacctd's sql_cache_insert() places a flow by its start
#    second s relative to its current bin start b (basetime): when b > s,
#    bin = s - (slot - (b - s) % slot), so a flow whose start second is exactly
#    on a bin boundary older than b lands one bin early; otherwise
#    bin = s - (s - b) % slot.  pathflow: bin = s - ((s - anchor) mod slot),
#    the bin that starts at or before s.
# 2. NetFlow v5 start time (First > SysUptime, e.g. pmacctd/softflowd reading
#    an old pcap).  nfacctd: unix_secs - SysUptime/1000 + First/1000 in
#    unsigned 32-bit arithmetic (far future); pathflow: unix_secs -
#    (int32)(SysUptime - First)/1000, division toward zero (as for v9).
#    For NetFlow v9's FIRST_SWITCHED nfacctd uses unix_secs - (uint32)(SysUptime
#    - First)/1000, pathflow the same signed arithmetic as for v5.
# 3. ICMP type/code in IE 32 (icmpTypeCodeIPv4) / IE 139 (icmpTypeCodeIPv6)
#    without port fields (softflowd): nfacctd writes dst_port 0, pathflow
#    type*256+code.  With the code in IE 11 (nfprobe) both write type*256+code.

class ModelError(Exception):
    """The exported data use something the model does not cover."""


M32 = 0xFFFFFFFF
MODEL_COLUMNS = ("ip_src", "ip_dst", "src_port", "dst_port", "ip_proto", "packets", "bytes", "stamp_inserted")
MODEL_TYPES = ("text", "text", "integer", "integer", "text", "integer", "integer", "text")

# Why two flow records get different rows in the two models (see above).
DIFF_BIN = "bin boundary"
DIFF_V5 = "start time (First > SysUptime)"
DIFF_ICMP = "ICMP type/code from IE 32/139"

FlowRec = collections.namedtuple(
    "FlowRec", "version src dst sport dport_nf dport_pf proto packets bytes start_nf start_pf icmp_ie")


def _s32(x):
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


def _div0(a, b):
    """Integer division toward zero (C, Swift)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def uptime_start_pathflow(unix_secs, sys_uptime, at):
    """pathflow: unix_secs - (int32)(SysUptime - at)/1000, as unsigned 32 bits."""
    return (unix_secs - _div0(_s32(sys_uptime - at), 1000)) & M32


def _ipfix_fields(d, p, end, fields):
    """One data record: ({IE: bytes}, next offset) or (None, p) if it does not fit."""
    vals = {}
    for ie, ln, pen in fields:
        if ln == 0xFFFF:                    # IPFIX variable length
            if p >= end:
                return None, p
            ln = d[p]
            p += 1
            if ln == 255:
                if p + 2 > end:
                    return None, p
                ln = int.from_bytes(d[p:p + 2], "big")
                p += 2
        if p + ln > end:
            return None, p
        if pen is None and ie not in vals:
            vals[ie] = d[p:p + ln]
        p += ln
    return vals, p


def _uint(b):
    return int.from_bytes(b, "big")


def _v9_ipfix_record(version, unix_secs, sys_uptime, v):
    """A FlowRec from one v9/IPFIX data record's fields, or None (no flow data)."""
    if 8 in v and len(v[8]) == 4:
        src, dst = socket.inet_ntop(socket.AF_INET, v[8]), socket.inet_ntop(socket.AF_INET, v.get(12, b"\0" * 4))
    elif 27 in v and len(v[27]) == 16:
        src, dst = socket.inet_ntop(socket.AF_INET6, v[27]), socket.inet_ntop(socket.AF_INET6, v.get(28, b"\0" * 16))
    else:
        return None                         # e.g. an options record
    if 1 not in v or 2 not in v:
        raise ModelError("data record without IE 1/2 (octets/packets): IEs %s" % sorted(v))
    proto = _uint(v.get(4, b"\0"))
    sport, dport = _uint(v.get(7, b"")), _uint(v.get(11, b""))
    dport_nf = dport_pf = dport
    icmp_ie = False
    tc_ie = 32 if 8 in v else 139
    if tc_ie in v and proto in (1, 58):
        if 7 in v or 11 in v:
            raise ModelError("ICMP record with both port fields and IE %d" % tc_ie)
        icmp_ie = True
        dport_nf, dport_pf = 0, _uint(v[tc_ie])
    if any(ie in v for ie in (176, 177, 178, 179)):
        raise ModelError("ICMP type/code in IEs 176-179: not modelled")

    # Start time.  nfacctd: NF_time_msecs_handler() (its else-if chain);
    # pathflow: the same fields, with its own uptime arithmetic (see above).
    if 22 in v:
        first = _uint(v[22]) & M32
        if version == 9:
            nf = (unix_secs - ((sys_uptime - first) & M32) // 1000) & M32
            pf = uptime_start_pathflow(unix_secs, sys_uptime, first)
        elif 160 in v and len(v[160]) == 8:
            nf = pf = ((_uint(v[160]) // 1000) + first // 1000) & M32
        else:
            nf = pf = 0                     # IPFIX uptime without systemInitTimeMilliseconds
    elif 152 in v:
        nf = pf = (_uint(v[152]) // 1000) & M32
    elif 154 in v or 156 in v or 158 in v or 323 in v:
        raise ModelError("start time in IE 154/156/158/323: not modelled")
    elif 150 in v:
        nf = pf = _uint(v[150]) & M32
    else:
        nf = pf = 0
    if nf == 0:                             # both fall back to the header's time
        nf = unix_secs
    if pf == 0:
        if 21 in v or 153 in v or 151 in v:
            # pathflow would take the end time; the data seen so far never need it.
            if not (22 in v and version == 10):
                raise ModelError("record with an end time but no usable start time: not modelled")
        pf = unix_secs
    return FlowRec(version, src, dst, sport, dport_nf, dport_pf, proto, _uint(v[2]), _uint(v[1]),
                   nf, pf, icmp_ie)


def decode_export(datagrams):
    """Decode NetFlow v5/v9/IPFIX datagrams (as sent by one exporter) into
    FlowRec records.  Returns (records, notes) where notes counts what was
    skipped."""
    templates = {}          # (version, domain, template id) -> [(ie, length, pen)]
    options = set()         # keys of options templates
    records = []
    notes = collections.Counter()
    for d in datagrams:
        if len(d) < 4:
            raise ModelError("datagram of %d bytes" % len(d))
        version = int.from_bytes(d[0:2], "big")
        if version == 5:
            count, sys_uptime, unix_secs = struct.unpack_from(">HII", d, 2)
            if len(d) < 24 + 48 * count:
                raise ModelError("short v5 datagram")
            for i in range(count):
                o = 24 + 48 * i
                src, dst = socket.inet_ntop(socket.AF_INET, d[o:o + 4]), socket.inet_ntop(socket.AF_INET, d[o + 4:o + 8])
                pkts, octets, first, _last, sport, dport = struct.unpack_from(">IIIIHH", d, o + 16)
                proto = d[o + 38]
                nf = (unix_secs - sys_uptime // 1000 + first // 1000) & M32
                pf = uptime_start_pathflow(unix_secs, sys_uptime, first)
                records.append(FlowRec(5, src, dst, sport, dport, dport, proto, pkts, octets, nf, pf, False))
            continue
        if version == 9:
            sys_uptime, unix_secs, domain = struct.unpack_from(">II4xI", d, 4)
            p, end = 20, len(d)
            tpl_sets, opt_sets = (0,), (1,)
        elif version == 10:
            end = min(len(d), int.from_bytes(d[2:4], "big"))
            unix_secs, domain = struct.unpack_from(">I4xI", d, 4)
            sys_uptime, p = 0, 16
            tpl_sets, opt_sets = (2,), (3,)
        else:
            raise ModelError("datagram of version %d" % version)
        while p + 4 <= end:
            set_id, set_len = struct.unpack_from(">HH", d, p)
            if set_len < 4:
                notes["sets shorter than 4 bytes (rest of datagram skipped)"] += 1
                break
            s_end = min(end, p + set_len)
            q = p + 4
            if set_id in tpl_sets or set_id in opt_sets:
                while q + 4 <= s_end:
                    if set_id in tpl_sets:
                        tid, n = struct.unpack_from(">HH", d, q)
                        q += 4
                        scopes = 0
                    elif version == 10:
                        tid, n, scopes = struct.unpack_from(">HHH", d, q)
                        q += 6
                    else:                   # v9 options template: lengths in bytes
                        tid, slen, olen = struct.unpack_from(">HHH", d, q)
                        q += 6
                        n = (slen + olen) // 4
                    if tid < 256 or n == 0:
                        break
                    fields = []
                    for _ in range(n):
                        ie, ln = struct.unpack_from(">HH", d, q)
                        q += 4
                        pen = None
                        if version == 10 and ie & 0x8000:
                            pen = int.from_bytes(d[q:q + 4], "big")
                            q += 4
                            ie &= 0x7FFF
                        fields.append((ie, ln, pen))
                    key = (version, domain, tid)
                    templates[key] = fields
                    if set_id in opt_sets:
                        options.add(key)
                    else:
                        options.discard(key)
            elif set_id >= 256:
                key = (version, domain, set_id)
                fields = templates.get(key)
                if fields is None:
                    notes["data sets without a template"] += 1
                elif key in options:
                    notes["options data sets"] += 1
                else:
                    while q < s_end:
                        vals, q2 = _ipfix_fields(d, q, s_end, fields)
                        if vals is None:
                            break               # padding
                        q = q2
                        r = _v9_ipfix_record(version, unix_secs, sys_uptime, vals)
                        if r is None:
                            notes["data records without addresses"] += 1
                        else:
                            records.append(r)
            p += set_len
    return records, notes


def pathflow_bin(start, anchor, slot):
    return start - ((start - anchor) % slot)


def nfacctd_bin(start, basetime, slot):
    """pmacct 1.7.7 sql_cache_insert(), sql_history not monthly."""
    if not start:
        return basetime
    if basetime > start:
        return start - (slot - ((basetime - start) % slot))
    return start - ((start - basetime) % slot)


def nfacctd_basetimes(t_lo, t_hi, anchor, slot):
    """The bin starts nfacctd's sqlite3 plugin can have as its basetime while it
    takes the datagrams in [t_lo, t_hi]: it advances basetime while
    now > basetime + slot, so at a second exactly on a boundary it may still
    be the previous bin."""
    out = set()
    for now in range(int(t_lo) - 1, int(t_hi) + 2):
        b = pathflow_bin(now, anchor, slot)
        out.add(b)
        if b == now:
            out.add(b - slot)
    return out


def stamp(t):
    """stamp_inserted as both collectors write it: local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def roundoff_m(t):
    """pmacct's roundoff_time(t, "m"): seconds and minutes cleared, in local time."""
    tm = time.localtime(t)
    return int(time.mktime((tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, 0, 0, 0, 0, -1)))


def tutorial_binning():
    """(slot seconds, roundoff) from the tutorial config; the model covers whole-minute slots."""
    keys = {}
    with open(TUTORIAL_CONF) as f:
        for line in f:
            m = re.match(r"^\s*([a-z_]+)\s*:\s*(\S+)", line)
            if m:
                keys[m.group(1)] = m.group(2)
    hist, roundoff = keys.get("sql_history", ""), keys.get("sql_history_roundoff", "")
    m = re.match(r"^(\d+)([m]?)$", hist)
    if not m or roundoff != "m":
        raise ModelError("model covers sql_history N or Nm with sql_history_roundoff m, not %r/%r" % (hist, roundoff))
    slot = int(m.group(1)) * (60 if m.group(2) == "m" else 1)
    if slot % 60 or 3600 % slot:
        raise ModelError("model covers slots dividing an hour in whole minutes, not %d s" % slot)
    return slot


class Models:
    """model_nfacctd and model_pathflow: {(ip_src, ip_dst, src_port, dst_port,
    ip_proto, stamp_inserted): [packets, bytes]}, plus why they differ."""

    def __init__(self, records, pf_start, nf_start, t_lo, t_hi):
        slot = tutorial_binning()
        # With minute roundoff and slots dividing an hour, the hour start is on every grid.
        pf_anchor, nf_anchor = roundoff_m(pf_start), roundoff_m(nf_start)
        basetimes = nfacctd_basetimes(t_lo, t_hi, nf_anchor, slot)
        self.nfacctd = collections.defaultdict(lambda: [0, 0])
        self.pathflow = collections.defaultdict(lambda: [0, 0])
        self.reasons = collections.Counter()          # records per reason
        self.ambiguous = []
        pf_keys_reasons = collections.defaultdict(set)
        nf_keys_reasons = collections.defaultdict(set)
        for r in records:
            pname = PROTO_NAMES.get(r.proto, str(r.proto))
            nf_bins = {nfacctd_bin(r.start_nf, b, slot) for b in basetimes}
            if len(nf_bins) != 1:
                self.ambiguous.append((r, sorted(nf_bins)))
            nf_bin = min(nf_bins)
            pf_bin = pathflow_bin(r.start_pf, pf_anchor, slot)
            kn = (r.src, r.dst, r.sport, r.dport_nf, pname, stamp(nf_bin))
            kp = (r.src, r.dst, r.sport, r.dport_pf, pname, stamp(pf_bin))
            for table, k in ((self.nfacctd, kn), (self.pathflow, kp)):
                table[k][0] += r.packets
                table[k][1] += r.bytes
            why = set()
            if r.start_nf != r.start_pf:
                why.add(DIFF_V5)
            elif nf_bin != pf_bin:
                why.add(DIFF_BIN)
            if r.dport_nf != r.dport_pf:
                why.add(DIFF_ICMP)
            for w in why:
                self.reasons[w] += 1
                pf_keys_reasons[kp].add(w)
                nf_keys_reasons[kn].add(w)
        self.nfacctd, self.pathflow = dict(self.nfacctd), dict(self.pathflow)
        # Rows present in one model but not (with the same counters) in the other.
        self.pf_only = [k for k, v in self.pathflow.items() if self.nfacctd.get(k) != v]
        self.nf_only = [k for k, v in self.nfacctd.items() if self.pathflow.get(k) != v]
        self.rows_by_reason = collections.Counter()
        for k in self.pf_only:
            for w in pf_keys_reasons.get(k, ("(none)",)):
                self.rows_by_reason[w] += 1
        self.nf_rows_by_reason = collections.Counter()
        for k in self.nf_only:
            for w in nf_keys_reasons.get(k, ("(none)",)):
                self.nf_rows_by_reason[w] += 1

    def summary(self):
        parts = ["models differ in %d pathflow rows / %d nfacctd rows" % (len(self.pf_only), len(self.nf_only))]
        for w in (DIFF_BIN, DIFF_V5, DIFF_ICMP, "(none)"):
            if self.reasons[w] or self.rows_by_reason[w]:
                parts.append("%s: %d rows (pathflow) / %d rows (nfacctd) from %d records" % (
                    w, self.rows_by_reason[w], self.nf_rows_by_reason[w], self.reasons[w]))
        return "; ".join(parts)


def rows_of(table):
    """A model table as sorted row tuples in MODEL_COLUMNS order."""
    return sorted(((k[0], k[1], k[2], k[3], k[4], v[0], v[1], k[5]) for k, v in table.items()), key=repr)


def db_model_rows(db):
    """acct rows in MODEL_COLUMNS order, sorted."""
    with connect_ro(db) as c:
        return sorted(c.execute("SELECT %s FROM acct" % ", ".join(MODEL_COLUMNS)).fetchall(), key=repr)


def db_column_types(db):
    """{(typeof per MODEL_COLUMNS): row count}."""
    with connect_ro(db) as c:
        q = "SELECT %s, COUNT(*) FROM acct GROUP BY %s" % (
            ", ".join("typeof(%s)" % col for col in MODEL_COLUMNS),
            ", ".join(str(i + 1) for i in range(len(MODEL_COLUMNS))))
        return {tuple(r[:-1]): r[-1] for r in c.execute(q)}


def db_other_columns(db):
    """{(value, typeof) of every column outside the model except stamp_updated: row count}."""
    with connect_ro(db) as c:
        cols = [r[1] for r in c.execute("PRAGMA table_info(acct)")
                if r[1] not in MODEL_COLUMNS and r[1] != "stamp_updated"]
        if not cols:
            return {}
        sel = ", ".join("%s, typeof(%s)" % (col, col) for col in cols)
        q = "SELECT %s, COUNT(*) FROM acct GROUP BY %s" % (sel, ", ".join(str(i + 1) for i in range(2 * len(cols))))
        return {tuple(r[:-1]): r[-1] for r in c.execute(q)}


def model_db(table):
    """An in-memory SQLite database with pmacct's v1 acct table holding the model's rows."""
    m = sqlite3.connect(":memory:")
    with open(PMACCT_V1_SQL) as f:
        m.executescript(f.read())
    m.executemany("INSERT INTO acct (%s) VALUES (%s)" % (", ".join(MODEL_COLUMNS), ", ".join("?" * len(MODEL_COLUMNS))),
                  rows_of(table))
    m.commit()
    return m


def cli_list_output(conn, sql):
    """A query's rows as the sqlite3 shell prints them in its default list mode."""
    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            raise ModelError("query %r returned a float; not rendered like the shell" % sql)
        return str(v)
    return "".join("|".join(cell(v) for v in row) + "\n" for row in conn.execute(sql))


def truth_for_nfacctd_icmp(truth):
    """The truth with the dst_port of ICMP 5-tuples set to 0 (nfacctd with IE 32/139)."""
    out = collections.defaultdict(lambda: [0, 0])
    for k, v in truth.items():
        if k[4] in ("icmp", "ipv6-icmp"):
            k = k[:3] + (0,) + k[4:]
        out[k][0] += v[0]
        out[k][1] += v[1]
    return dict(out)


def model_sums(table):
    sums = collections.defaultdict(lambda: [0, 0])
    for k, v in table.items():
        sums[k[:5]][0] += v[0]
        sums[k[:5]][1] += v[1]
    return dict(sums)


def write_model(path, table):
    with open(path, "w") as f:
        f.write("\t".join(MODEL_COLUMNS) + "\n")
        for r in rows_of(table):
            f.write("\t".join(map(str, r)) + "\n")


# --------------------------------------------------------------------------
# exporter -> (nfacctd, pathflow) case against the models, used by cases 01-04

def exporter_case(c, exporter, version, expect=(), tag="", tshark=False, probe_options=False):
    """`expect`: the deliberate differences (DIFF_*) this input must exercise.
    `tag` is added to the names of the collectors' files (several calls in one
    case); `tshark`: the datagrams decoded by tshark must give the truth too."""
    pcap, truth_path = c.input_pcap()
    truth = load_truth(truth_path, ipv4_only=(version == 5))

    if exporter == "pmacctd":
        datagrams = c.pmacctd_nfprobe(pcap, version)
    elif exporter == "pathflow-probe":
        datagrams = c.pathflow_probe(pcap, version, options=probe_options)
    elif exporter == "softflowd":
        datagrams = c.softflowd(pcap, version)
    else:
        raise ValueError("unknown exporter %r" % exporter)
    if tshark:
        tshark_check(c, datagrams, truth, "%s-v%d" % (exporter, version))
    records, notes = decode_export(datagrams)
    log("decoded %d flow records from %d datagrams%s" % (
        len(records), len(datagrams), "; skipped: %s" % dict(notes) if notes else ""))
    if not records:
        c.fail("no flow records decoded from %s's datagrams" % exporter)

    nf_db, pf_db = c.path("nfacctd%s.db" % tag), c.path("pathflow%s.db" % tag)
    nf_start = time.time()
    nf, nf_port = c.start_nfacctd(nf_db, refresh=2, name="nfacctd" + tag)
    pf_start = time.time()
    pf, pf_port, pf_mport = c.start_pathflow(pf_db, name="pathflow" + tag)

    t_lo = time.time()
    replay(datagrams, [nf_port, pf_port], gap=0.002)
    t_hi = time.time() + 2      # nfacctd takes the last datagrams in shortly after
    log("replayed", len(datagrams), "datagrams to nfacctd :%d and pathflow :%d" % (nf_port, pf_port))

    # pathflow: wait until it has taken every datagram, then SIGTERM (it flushes on exit).
    want = len(datagrams)
    try:
        c.wait_for("pathflow_flow_datagrams_total = %d" % want,
                   lambda: c.metrics(pf_mport).get("pathflow_flow_datagrams_total", 0) >= want, 15, proc=pf)
    except CaseFailure as e:
        c.check(False, str(e))
    m = c.metrics(pf_mport)
    c.check(m.get("pathflow_flow_decode_errors_total", 0) == 0,
            "pathflow_flow_decode_errors_total = %s" % m.get("pathflow_flow_decode_errors_total"))
    c.stop_pathflow(pf)
    c.stop_nfacctd(nf)

    # ---- the models --------------------------------------------------------
    models = Models(records, pf_start, nf_start, t_lo, t_hi)
    write_model(c.path("model-nfacctd%s.tsv" % tag), models.nfacctd)
    write_model(c.path("model-pathflow%s.tsv" % tag), models.pathflow)
    if models.ambiguous:
        c.fail("test error: nfacctd's bin is ambiguous for %d records (start on a bin boundary "
               "while the replay crossed one), e.g. %s" % (len(models.ambiguous), models.ambiguous[:2]))
    log("model: %d nfacctd rows, %d pathflow rows; %s" % (
        len(models.nfacctd), len(models.pathflow), models.summary()))
    for w in set(models.reasons) | set(expect):
        c.check(models.rows_by_reason[w] > 0 and models.nf_rows_by_reason[w] > 0,
                "the input should exercise the deliberate difference '%s' but the models differ in "
                "%d/%d rows (pathflow/nfacctd) from %d records for it" % (
                    w, models.rows_by_reason[w], models.nf_rows_by_reason[w], models.reasons[w]))
    c.check(models.rows_by_reason["(none)"] == 0 and models.nf_rows_by_reason["(none)"] == 0,
            "models differ in rows without a known reason (test error)")

    icmp_ie = any(r.icmp_ie for r in records)
    truth_nf = truth_for_nfacctd_icmp(truth) if icmp_ie else truth
    if icmp_ie:
        c.check(all(r.icmp_ie for r in records if r.proto in (1, 58)),
                "some ICMP records carry type/code in IE 32/139, others not (not modelled)")
    # The decoder against gen-pcap's truth: the models are built from the export, not the truth.
    for name, table, t in (("model_pathflow", models.pathflow, truth), ("model_nfacctd", models.nfacctd, truth_nf)):
        d = diff_sums(name, model_sums(table), "truth", t)
        c.check(not d, "per-5-tuple sums, %s vs truth (decoder or exporter problem): %s" % (name, d))

    # ---- per-5-tuple sums --------------------------------------------------
    nf_sums, pf_sums = db_sums(nf_db), db_sums(pf_db)
    log("truth: %d 5-tuples; nfacctd: %d rows %s; pathflow: %d rows %s" % (
        len(truth), table_totals(nf_db)[0], table_totals(nf_db)[1:],
        table_totals(pf_db)[0], table_totals(pf_db)[1:]))
    d = diff_sums("pathflow", pf_sums, "truth", truth)
    c.check(not d, "per-5-tuple sums, pathflow vs truth: %s" % d)
    d = diff_sums("nfacctd", nf_sums, "truth" + (" (ICMP dst_port 0)" if icmp_ie else ""), truth_nf)
    c.check(not d, "per-5-tuple sums, nfacctd vs truth: %s" % d)

    # ---- whole rows against the models -------------------------------------
    # Every column of the model (all but the MAC columns and stamp_updated),
    # with SQLite value types.
    for name, db, table in (("nfacctd", nf_db, models.nfacctd), ("pathflow", pf_db, models.pathflow)):
        d = diff_rows(name, db_model_rows(db), "model_" + name, rows_of(table), show=3)
        c.check(not d, "%s acct rows vs model_%s (%s): %s" % (name, name, ", ".join(MODEL_COLUMNS), d))
        types = db_column_types(db)
        c.check(list(types) == [MODEL_TYPES], "%s: value types %s, want %s for every row" % (name, types, MODEL_TYPES))
    on, op = db_other_columns(nf_db), db_other_columns(pf_db)
    c.check(on == op, "columns outside the model (values, types) differ: nfacctd %s, pathflow %s" % (on, op))
    pf_cols, _ = db_rows(pf_db)
    nf_cols, _ = db_rows(nf_db)
    c.check(pf_cols == nf_cols, "columns differ: pathflow %s, nfacctd %s" % (pf_cols, nf_cols))
    stamp_re = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    for name, db in (("pathflow", pf_db), ("nfacctd", nf_db)):
        bad = [v for v in stamp_updated_values(db) if not (isinstance(v, str) and stamp_re.match(v))]
        c.check(not bad, "%s: %d stamp_updated values not 'YYYY-MM-DD HH:MM:SS', e.g. %r" % (name, len(bad), bad[:3]))

    # ---- the tutorial's queries ---------------------------------------------
    # Each database's sqlite3 output equals its model's (an in-memory table
    # with the model's rows); where the models give the same output the two
    # databases must too.
    addr = busiest_src(truth)
    mdb_nf, mdb_pf = model_db(models.nfacctd), model_db(models.pathflow)
    agree = []
    try:
        for i, q in enumerate(TUTORIAL_QUERIES, 1):
            q = q.format(addr=addr)
            want_nf, want_pf = cli_list_output(mdb_nf, q), cli_list_output(mdb_pf, q)
            rn, out_nf, en = sqlite_cli(nf_db, q)
            rp, out_pf, ep = sqlite_cli(pf_db, q)
            c.check(rn == 0 and rp == 0 and not en and not ep,
                    "query %d: status/stderr nfacctd %d %r, pathflow %d %r" % (i, rn, en.strip(), rp, ep.strip()))
            c.check(out_nf.strip() != "", "query %d returned nothing on nfacctd's table" % i)
            c.check(out_nf == want_nf, "query %d %r: nfacctd %r, model_nfacctd %r" % (
                i, q, out_nf.strip()[:300], want_nf.strip()[:300]))
            c.check(out_pf == want_pf, "query %d %r: pathflow %r, model_pathflow %r" % (
                i, q, out_pf.strip()[:300], want_pf.strip()[:300]))
            if want_nf == want_pf:
                agree.append(i)
                c.check(out_nf == out_pf, "query %d: nfacctd %r, pathflow %r (the models agree)" % (
                    i, out_nf.strip()[:300], out_pf.strip()[:300]))
    finally:
        mdb_nf.close()
        mdb_pf.close()
    log("tutorial queries with the same output in both models (and databases): %s; different: %s" % (
        agree, [i for i in range(1, len(TUTORIAL_QUERIES) + 1) if i not in agree]))
    sn, sp = normalized_schema(nf_db), normalized_schema(pf_db)
    c.check(sn != "" and sn == sp, ".schema acct differs: nfacctd %r, pathflow %r" % (sn, sp))


# --------------------------------------------------------------------------

def main(case_fn):
    name = os.path.basename(sys.argv[0])
    name = re.sub(r"^\d+-", "", re.sub(r"\.py$", "", name))

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    c = Case(name)
    status = 0
    t0 = time.monotonic()
    try:
        case_fn(c)
        if c.problems:
            raise CaseFailure("; ".join(c.problems))
    except CaseSkipped as e:
        print("SKIP-REASON: " + str(e).replace("\n", " "), flush=True)
        status = EXIT_SKIPPED
    except CaseFailure as e:
        msg = str(e)
        if c.problems and msg != "; ".join(c.problems):
            msg = "; ".join(c.problems + [msg])
        print("FAIL-REASON: " + msg.replace("\n", " "), flush=True)
        status = 1
    except SystemExit as e:
        print("FAIL-REASON: interrupted (%s)" % e.code, flush=True)
        status = 3
    except Exception as e:
        traceback.print_exc()
        print("FAIL-REASON: test error: %s: %s" % (type(e).__name__, str(e).replace("\n", " ")), flush=True)
        status = 2
    finally:
        c.failed = status in (1, 2)     # kept for a look; not when interrupted
        c.cleanup()
    outcome = {0: "passed", EXIT_SKIPPED: "skipped"}.get(status, "failed")
    log("%s: %s in %.1fs" % (name, outcome, time.monotonic() - t0))
    sys.exit(status)
