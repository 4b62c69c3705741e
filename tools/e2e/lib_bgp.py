"""BGP helpers for the end-to-end cases 09-13: real route reflectors (gobgpd,
bird2) sending every path with ADD-PATH to a collector (pathflow, or
pmacct's nfacctd as the reference), and the comparisons of tools/bgp/ribcheck.py.

The speakers get their configuration and route set from tools/bgp/routes.py
(one table, several paths per prefix, IPv4 and IPv6; changes 1-4: implicit
replace, two withdrawals, one added path).  Each speaker connects from its
own loopback address to the collector's address and port; every process is
started through lib.Case (stopped by pid when the case ends), every wait is
bounded, ports are random.

Everything pathflow-specific that a case reads (HTTP paths, JSON field
names, metric names, configuration keys) is defined once below.
"""

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
import urllib.error
import urllib.request

import lib

sys.path.insert(0, os.path.join(lib.ROOT, "tools", "bgp"))
import ribcheck      # noqa: E402
import routes        # noqa: E402
import speakerview   # noqa: E402

log = lib.log

# ------------------------------------------------------------------ pathflow's interface
RIB_DUMP_PATH = "/rib/dump"          # JSON lines, pmacct's bgp_table_dump_file format
RIB_PEERS_PATH = "/rib/peers"        # JSON array, one object per session
METRICS_PATH = "/metrics"
PEER_ADDRESS = "peer_ip_src"         # fields of a /rib/peers object
PEER_STATE = "state"
PEER_BGP_ID = "bgp_id"
PEER_AS = "as"
PEER_PATHS = "paths"
PEER_PREFIXES = "prefixes"
STATE_ESTABLISHED = "established"    # compared case-insensitively
M_SESSIONS = "pathflow_bgp_sessions_established"
M_PATHS = "pathflow_bgp_paths"                       # label peer="ADDRESS"
M_SESSION_DOWN = "pathflow_bgp_session_down_total"
M_NOTIFICATIONS_SENT = "pathflow_bgp_notifications_sent_total"   # labels code, subcode
# printed by `pathflow collect` when the build has no BGP daemon yet
NOT_IN_BUILD = "not part of this build"

ASN = routes.ASN
GOBGP_ADDRESS = "127.0.0.2"
BIRD_ADDRESS = "127.0.0.3"
COLLECTOR_ADDRESS = "127.0.0.1"
NFACCTD_ADDRESS = "127.0.0.11"       # when nfacctd and pathflow are fed by one speaker

NFACCTD_BGP_CONF = """\
daemonize: false
pidfile: {pidfile}
nfacctd_ip: 127.0.0.1
nfacctd_port: {flow_port}
plugins: print
print_output_file: /dev/null
print_refresh_time: 60
aggregate: src_host
bgp_daemon: true
bgp_daemon_ip: {address}
bgp_daemon_port: {port}
bgp_daemon_max_peers: 10
bgp_table_dump_file: {dump_dir}/$peer_src_ip-%Y%m%d-%H%M.jsonl
bgp_table_dump_refresh_time: 60
"""


# ------------------------------------------------------------------ small helpers
def need_tools(c, *tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        c.fail("missing tools: %s (apt-get install gobgpd bird2 pmacct)" % " ".join(missing))


def tcp_listening(address, port):
    return any(st == "0A" and la == (address, port) for la, _, st in tcp_sockets())


def tcp_sockets():
    """[(local (addr, port), remote (addr, port), state hex)] of IPv4 TCP sockets."""
    out = []
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                out.append((_hexaddr(parts[1]), _hexaddr(parts[2]), parts[3]))
    except OSError:
        pass
    return out


def _hexaddr(text):
    a, p = text.split(":")
    raw = bytes.fromhex(a)[::-1]
    return (".".join(str(b) for b in raw), int(p, 16))


def session_source_port(local, remote, remote_port):
    """The speaker's TCP source port of its established session to remote:remote_port."""
    for la, ra, st in tcp_sockets():
        if st == "01" and la[0] == local and ra == (remote, remote_port):
            return la[1]
    return None


def http_get(port, path, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read().decode()


def parse_metrics(text):
    """[(name, {label: value}, value)] of the sample lines."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            out.append((m.group(1), labels, float(m.group(3))))
        except ValueError:
            pass
    return out


def metric(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items()))


def first_line_diff(problems, n=6):
    return "; ".join(problems[:n]) + ("; ... %d more" % (len(problems) - n) if len(problems) > n else "")


# ------------------------------------------------------------------ speakers
class Speaker:
    """Common parts: `c` the case, `address` the session source address,
    `neighbors` [(name, collector address, port)], `stage` changes applied."""

    kind = "speaker"

    def __init__(self, c, address, neighbors, hold=90, name=None):
        self.c = c
        self.address = address
        self.neighbors = list(neighbors)
        self.hold = hold
        self.name = name or self.kind
        self.stage = 0
        self.proc = None
        self.raw_view = None    # the speaker's output behind the last view()

    def neighbor(self, collector):
        """(name, address, port) of the neighbour that is `collector` (an address or a name)."""
        for n in self.neighbors:
            if collector in (n[0], n[1]):
                return n
        raise KeyError(collector)

    def route_set(self):
        return speakerview.route_set_paths(self.address, routes.table(self.stage))

    def wait_established(self, collector, timeout=30):
        self.c.wait_for("%s's session to %s to be Established" % (self.name, collector),
                        lambda: self.established(collector), timeout, proc=self.proc, step=0.5)

    def wait_view(self, collector, timeout=20):
        """The speaker's view once it equals the route set of the current stage
        (so a change the speaker has not made yet cannot pass as the collector's
        error); a view that never gets there is a failed check."""
        want = self.route_set()
        got, diff = [], ["(not read)"]

        def ready():
            got[:] = self.view(collector)
            diff[:] = (ribcheck.compare_paths(got, want, "%s's view" % self.name, "the route set") +
                       ribcheck.compare_path_ids(got, want, "%s's view" % self.name, "the route set"))
            return not diff
        try:
            self.c.wait_for("%s's view toward %s to equal the route set (stage %d)" % (self.name, collector, self.stage),
                            ready, timeout, proc=self.proc, step=0.2)
        except lib.CaseFailure as e:
            self.c.check(False, "%s: %s" % (e, first_line_diff(diff)))
        return list(got)

    @contextlib.contextmanager
    def frozen(self):
        """SIGSTOP the speaker for the body; SIGCONT after it, whatever happens."""
        log("SIGSTOP", self.name, "pid", self.proc.pid)
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            log("SIGCONT", self.name, "pid", self.proc.pid)
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def apply_through(self, stage):
        while self.stage < stage:
            self.apply_step(self.stage + 1)


class GoBGPd(Speaker):
    kind = "gobgpd"

    def __init__(self, c, neighbors, address=GOBGP_ADDRESS, hold=90, keepalive=30, name=None, routeset=None):
        super().__init__(c, address, neighbors, hold, name)
        self.keepalive = keepalive
        self.api = None
        # the module with the route set and configuration (tools/bgp/routes.py,
        # or one with the same functions, e.g. matrix_routes.py for case 14)
        self.routes = routeset or routes

    def cli(self, *args, check=True, timeout=15):
        argv = ["gobgp", "-u", "127.0.0.1", "-p", str(self.api)] + list(args)
        return lib.run(argv, timeout=timeout, what="gobgp " + " ".join(args), check=check)

    def start(self, enable=True):
        need_tools(self.c, "gobgpd", "gobgp")
        self.api = self.c.free_port()
        conf = self.c.path(self.name + ".conf")
        with open(conf, "w") as f:
            f.write(self.routes.gobgp_config(self.address, [(a, p) for _, a, p in self.neighbors],
                                             hold=self.hold, keepalive=self.keepalive, connect_retry=1))
        self.proc = self.c.start(self.name, ["gobgpd", "-f", conf, "-p", "--api-hosts", "127.0.0.1:%d" % self.api,
                                             "--pprof-disable", "--log-level", "info"])
        self.c.wait_for("%s's API on 127.0.0.1:%d" % (self.name, self.api),
                        lambda: self.cli("global", timeout=5).returncode == 0, 30, proc=self.proc, step=0.2)
        for r in self.routes.table(0):
            self.cli(*self.routes.gobgp_add(r).split())
        want = self.routes.counts(0)
        self.c.wait_for("%s's RIB to hold %s paths" % (self.name, want),
                        lambda: self.rib_counts() == want, 20, proc=self.proc, step=0.2)
        if enable:
            for _, a, _ in self.neighbors:
                self.enable(a)
        return self

    def rib_counts(self):
        out = []
        for fam in ("ipv4", "ipv6"):
            data = json.loads(self.cli("-j", "global", "rib", "-a", fam).stdout.decode() or "{}")
            out.append(sum(len(v) for v in data.values()))
        return tuple(out)

    def apply_step(self, n):
        log("%s: change %d %s" % (self.name, n, self.routes.STEPS[n]))
        self.cli(*self.routes.gobgp_step(n).split())
        self.stage = n

    def enable(self, collector):
        self.cli("neighbor", self.neighbor(collector)[1], "enable")

    def disable(self, collector):
        self.cli("neighbor", self.neighbor(collector)[1], "disable")

    def established(self, collector):
        r = self.cli("-j", "neighbor", self.neighbor(collector)[1], check=False, timeout=5)
        if r.returncode != 0:
            return False
        return json.loads(r.stdout.decode()).get("state", {}).get("session_state") == 6   # ESTABLISHED

    def view(self, collector):
        addr = self.neighbor(collector)[1]
        out = []
        self.raw_view = {}
        for fam in ("ipv4", "ipv6"):
            j = self.cli("-j", "neighbor", addr, "adj-out", "-a", fam).stdout.decode()
            t = self.cli("neighbor", addr, "adj-out", "-a", fam).stdout.decode()
            self.raw_view[fam] = {"json": j, "text": t}
            data = json.loads(j) if j.strip() else {}
            if isinstance(data, dict) and "error" in data:
                raise RuntimeError("gobgp adj-out: %s" % data["error"])
            data = data or {}
            out += speakerview.gobgp_paths(self.address, data, t)
        return out

    def route_set(self):
        # GoBGP sends the identifiers it was given as ADD-PATH ids; its view
        # knows an id only where (prefix, next hop) is unique (speakerview)
        paths = speakerview.route_set_paths(self.address, self.routes.table(self.stage), with_ids=True)
        pairs = collections.Counter((p.afi, p.prefix, p.next_hop) for p in paths)
        return [p if pairs[(p.afi, p.prefix, p.next_hop)] == 1 else p._replace(path_id=None) for p in paths]


class Bird2(Speaker):
    kind = "bird2"

    def __init__(self, c, neighbors, address=BIRD_ADDRESS, hold=90, name=None, routeset=None):
        super().__init__(c, address, neighbors, hold, name)
        self.ctl = None
        self.listen_port = None
        # as for GoBGPd: routes.py, or a module or object with table(), bird_config() and STEPS
        self.routes = routeset or routes

    def birdc(self, *args, check=True):
        return lib.run(["birdc", "-s", self.ctl] + list(args), timeout=15, what="birdc " + " ".join(args),
                       check=check)

    def write_conf(self):
        conf = self.c.path(self.name + ".conf")
        with open(conf + ".tmp", "w") as f:
            f.write(self.routes.bird_config(self.stage, self.address, self.neighbors,
                                            log=self.c.path(self.name + ".log"), hold=self.hold,
                                            listen_port=self.listen_port, connect_delay=1))
        os.replace(conf + ".tmp", conf)
        return conf

    def start(self, enable=True):
        need_tools(self.c, "bird", "birdc")
        self.ctl = self.c.path(self.name + ".ctl")
        # BIRD listens for BGP itself: on its own address and a random port, not *:179
        self.listen_port = self.c.free_port()
        conf = self.write_conf()
        lib.run(["bird", "-p", "-c", conf], timeout=15, what="bird -p (configuration check)")
        self.proc = self.c.start(self.name, ["bird", "-f", "-c", conf, "-s", self.ctl,
                                             "-P", self.c.path(self.name + ".pid")])
        self.c.wait_for("%s's control socket" % self.name,
                        lambda: self.birdc("show", "status", check=False).returncode == 0, 30, proc=self.proc, step=0.2)
        if not enable:
            for n, _, _ in self.neighbors:
                self.birdc("disable", n)
        return self

    def apply_step(self, n):
        log("%s: change %d %s" % (self.name, n, self.routes.STEPS[n]))
        self.stage = n
        self.write_conf()
        out = self.birdc("configure").stdout.decode()
        if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
            self.c.fail("birdc configure (stage %d): %s" % (n, out.strip()))

    def enable(self, collector):
        self.birdc("enable", self.neighbor(collector)[0])

    def disable(self, collector):
        self.birdc("disable", self.neighbor(collector)[0])

    def established(self, collector):
        out = self.birdc("show", "protocols", self.neighbor(collector)[0], check=False).stdout.decode()
        return "Established" in out

    def view(self, collector):
        name = self.neighbor(collector)[0]
        text = self.birdc("show", "route", "all", "export", name).stdout.decode()
        self.raw_view = text
        return speakerview.bird_paths(self.address, text)

    def route_set(self):
        # BIRD's filters cannot build an AS_SET: routes.py flattens them
        return speakerview.route_set_paths(self.address, self.routes.table(self.stage), flatten_sets=True)


# ------------------------------------------------------------------ pathflow with its BGP daemon
class Pathflow:
    """`pathflow collect -f CONF` with the BGP daemon on address:port and its
    HTTP endpoint (metrics, looking glass) on 127.0.0.1:mport."""

    def __init__(self, c, name="pathflow", address=COLLECTOR_ADDRESS, holdtime=None, dump_dir=None):
        self.c = c
        self.name = name
        self.address = address
        self.holdtime = holdtime
        self.dump_dir = dump_dir
        self.port = c.free_port()
        self.mport = c.free_port()
        self.proc = None

    def config(self):
        base = self.c.derive_config(self.name + ".base.conf", {
            "nfacctd_ip": "127.0.0.1",
            "nfacctd_port": str(self.c.free_port()),
            "pidfile": self.c.path(self.name + ".pid"),
            "sql_db": self.c.path(self.name + ".db"),
        })
        lines = ["", "! BGP daemon (flows stay idle in these cases)",
                 "bgp_daemon: true",
                 "bgp_daemon_ip: %s" % self.address,
                 "bgp_daemon_port: %d" % self.port,
                 "bgp_daemon_max_peers: 10",
                 "metrics_listen: 127.0.0.1:%d" % self.mport]
        if self.holdtime is not None:
            lines.append("bgp_daemon_holdtime: %d" % self.holdtime)
        if self.dump_dir is not None:
            lines += ["bgp_table_dump_file: %s/$peer_src_ip-%%Y%%m%%d-%%H%%M.jsonl" % self.dump_dir,
                      "bgp_table_dump_refresh_time: 60"]
        conf = self.c.path(self.name + ".conf")
        with open(base) as f, open(conf, "w") as g:
            g.write(f.read() + "\n".join(lines) + "\n")
        os.unlink(base)
        return conf

    def start(self):
        if not os.access(lib.PATHFLOW, os.X_OK):
            self.c.fail("no pathflow binary at %s (build it, or set PATHFLOW_BIN_DIR)" % lib.PATHFLOW)
        r = lib.run([lib.PATHFLOW, "rib", "--help"], timeout=30, what="pathflow rib --help", check=False)
        if r.returncode != 0:
            raise lib.CaseSkipped("this pathflow has no `rib` command (BGP not in this build yet): %s" %
                                  lib.tail(r.stderr.decode(errors="replace")))
        conf = self.config()
        self.proc = self.c.start(self.name, [lib.PATHFLOW, "collect", "-f", conf])

        def up():
            if not self.proc.alive():
                err = self.proc.stderr()
                if NOT_IN_BUILD in err:
                    raise lib.CaseSkipped("pathflow collect: %s" % lib.tail(err, 1))
                self.c.fail("%s exited (status %s): %s" % (self.name, self.proc.popen.returncode, lib.tail(err)))
            if not tcp_listening(self.address, self.port):
                return False
            try:
                http_get(self.mport, METRICS_PATH)
                return True
            except (OSError, urllib.error.URLError):
                return False
        deadline = time.monotonic() + 30
        while not up():
            if time.monotonic() > deadline:
                self.c.fail("%s did not listen on BGP %s:%d and HTTP 127.0.0.1:%d within 30 s" % (
                    self.name, self.address, self.port, self.mport))
            time.sleep(0.1)
        return self

    def refusal(self):
        """None if this build takes the configuration (`pathflow check-config --strict`), else why not."""
        if not os.access(lib.PATHFLOW, os.X_OK):
            self.c.fail("no pathflow binary at %s (build it, or set PATHFLOW_BIN_DIR)" % lib.PATHFLOW)
        conf = self.config()
        r = lib.run([lib.PATHFLOW, "check-config", "--strict", "-f", conf], timeout=30,
                    what="pathflow check-config", check=False)
        if r.returncode != 0:
            text = (r.stdout + r.stderr).decode(errors="replace")
            return "`pathflow check-config --strict` rejects %s (status %d): %s" % (
                os.path.basename(conf), r.returncode, lib.tail(text, 4))
        return None

    def stop(self):
        return self.c.stop_pathflow(self.proc)

    def dump(self):
        return ribcheck.parse_dump(http_get(self.mport, RIB_DUMP_PATH), "pathflow %s" % RIB_DUMP_PATH)

    def peers(self):
        return json.loads(http_get(self.mport, RIB_PEERS_PATH))

    def metrics(self):
        return parse_metrics(http_get(self.mport, METRICS_PATH))

    def established(self, speaker_address):
        return any(p.get(PEER_ADDRESS) == speaker_address and str(p.get(PEER_STATE, "")).lower() == STATE_ESTABLISHED
                   for p in self.peers())

    def wait_datagrams(self, n, timeout=15):
        """Until /metrics counts `n` flow datagrams taken in."""
        self.c.wait_for("pathflow_flow_datagrams_total = %d" % n,
                        lambda: lib.parse_prometheus(http_get(self.mport, METRICS_PATH)).get(
                            "pathflow_flow_datagrams_total", 0) >= n, timeout, proc=self.proc)

    def wait_snapshot(self, db, timeout=75):
        """Until the RIB snapshot (rib_paths) is in `db` (bgp_rib_snapshot_refresh_time: it falls
        on the minute)."""
        def rows():
            try:
                with lib.connect_ro(db) as conn:
                    return conn.execute("SELECT COUNT(*) FROM rib_paths").fetchone()[0]
            except sqlite3.Error:
                return 0
        self.c.wait_for("the RIB snapshot (rib_paths)", lambda: rows() > 0, timeout, proc=self.proc, step=1)

    def wait_established(self, speaker_address, timeout=30):
        self.c.wait_for("pathflow %s to show %s established" % (RIB_PEERS_PATH, speaker_address),
                        lambda: self.established(speaker_address), timeout, proc=self.proc, step=0.2)

    def wait_rib(self, views, timeout=20, what=""):
        """Poll /rib/dump until its paths equal the union of `views` ({speaker
        address: [Path]}, every router pathflow should hold), then check it
        once more.  Records a failed check with the last difference on timeout."""
        want = [p for v in views.values() for p in v]
        last = ["(no dump read)"]

        def same():
            d = self.dump()
            problems = d.problems + ribcheck.compare_paths(d.paths, want, "pathflow", "speaker view")
            extra = sorted(set(d.peers()) - set(views))
            if extra:
                problems.append("routers in the dump that should not be there: %s" % extra)
            last[:] = problems or []
            return not problems
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if same():
                    break
            except (OSError, ValueError, urllib.error.URLError) as e:
                last[:] = ["%s: %s" % (type(e).__name__, e)]
            if not self.proc.alive():
                self.c.fail("%s exited while waiting for its RIB: %s" % (self.name, lib.tail(self.proc.stderr())))
            time.sleep(0.3)
        else:
            return self.c.check(False, "%spathflow's %s never equalled the speakers' view within %d s: %s" % (
                what + ": " if what else "", RIB_DUMP_PATH, timeout, first_line_diff(last)))
        # settled: it must stay equal, and be well formed
        time.sleep(0.5)
        d = self.dump()
        problems = (d.problems + ribcheck.compare_paths(d.paths, want, "pathflow", "speaker view") +
                    ribcheck.format_problems(d) + ribcheck.path_id_problems(d.paths, "pathflow"))
        for addr, v in views.items():
            if any(p.path_id is not None for p in v):
                problems += ribcheck.compare_path_ids(d.paths, v, "pathflow", "speaker view", peers={addr})
        log("%spathflow's RIB: %d routers, %d paths%s" % (what + ": " if what else "", len(d.peers()), len(d.paths),
                                                          "" if not problems else " - differences"))
        return self.c.check(not problems, "%spathflow's %s: %s" % (what + ": " if what else "", RIB_DUMP_PATH,
                                                                   first_line_diff(problems)))

    def check_peer_summary(self, speaker_address, view):
        """/rib/peers and /metrics agree with the view for one router."""
        peers = [p for p in self.peers() if p.get(PEER_ADDRESS) == speaker_address]
        est = [p for p in peers if str(p.get(PEER_STATE, "")).lower() == STATE_ESTABLISHED]
        self.c.check(len(est) == 1, "%s: %d established sessions for %s: %s" % (
            RIB_PEERS_PATH, len(est), speaker_address, peers))
        if est:
            p = est[0]
            prefixes = len(set((x.afi, x.prefix) for x in view))
            self.c.check(p.get(PEER_PATHS) == len(view) and p.get(PEER_PREFIXES) == prefixes,
                         "%s for %s: paths %r prefixes %r, want %d and %d" % (
                             RIB_PEERS_PATH, speaker_address, p.get(PEER_PATHS), p.get(PEER_PREFIXES),
                             len(view), prefixes))
            self.c.check(p.get(PEER_BGP_ID) == speaker_address and p.get(PEER_AS) == ASN,
                         "%s for %s: bgp_id %r as %r, want %s and %d" % (
                             RIB_PEERS_PATH, speaker_address, p.get(PEER_BGP_ID), p.get(PEER_AS),
                             speaker_address, ASN))
        m = self.metrics()
        got = metric(m, M_PATHS, peer=speaker_address)
        self.c.check(got == len(view), "%s{peer=%r} = %s, want %d" % (M_PATHS, speaker_address, got, len(view)))


# ------------------------------------------------------------------ nfacctd (the reference)
class Nfacctd:
    """nfacctd with bgp_daemon on address:port and a table dump every 60 s
    (its minimum) into dump_dir, one file per router and minute."""

    def __init__(self, c, name="nfacctd", address=COLLECTOR_ADDRESS):
        self.c = c
        self.name = name
        self.address = address
        self.port = c.free_port()
        self.dump_dir = c.path(name + "-dumps")
        self.proc = None
        self.conf = None
        self.tables = {}        # {name: (database, table)} of its sqlite3 views, for wait_written

    def start(self):
        need_tools(self.c, "nfacctd")
        os.makedirs(self.dump_dir, exist_ok=True)
        self.conf = self.c.path(self.name + ".conf")
        with open(self.conf, "w") as f:
            f.write(NFACCTD_BGP_CONF.format(pidfile=self.c.path(self.name + ".pid"), flow_port=self.c.free_port(),
                                            address=self.address, port=self.port, dump_dir=self.dump_dir))
        self.proc = self.c.start(self.name, ["nfacctd", "-f", self.conf])
        self.c.wait_for("%s to listen on BGP %s:%d" % (self.name, self.address, self.port),
                        lambda: tcp_listening(self.address, self.port), 30, proc=self.proc)
        return self

    def launch(self, daemon, flow_port, plugins=1):
        """Starts `daemon -f self.conf` (nfacctd or sfacctd, its BGP daemon on address:port, flows
        on UDP flow_port, `plugins` sqlite3 views) and waits until all three are up."""
        need_tools(self.c, daemon, "sqlite3")
        self.proc = self.c.start(self.name, [daemon, "-f", self.conf])
        self.c.wait_for("%s to listen on BGP %s:%d" % (self.name, self.address, self.port),
                        lambda: tcp_listening(self.address, self.port), 30, proc=self.proc)
        self.c.wait_for("%s to listen on UDP %d" % (self.name, flow_port),
                        lambda: lib.udp_port_bound(flow_port), 30, proc=self.proc)
        self.c.wait_for("%s's %d sqlite3 plugin(s) to start" % (self.name, plugins),
                        lambda: (self.proc.stdout() + self.proc.stderr()).count("cache entries=") >= plugins, 30,
                        proc=self.proc)
        return self

    def stop(self):
        # Only its table dumps are compared, and they are complete before this
        # point.  nfacctd 1.7.7 sometimes aborts (SIGABRT) while tearing down
        # its BGP thread on SIGINT; that is noted, not failed.
        text_before = self.proc.stdout() + self.proc.stderr()
        rc = self.proc.stop(signal.SIGINT, timeout=20)
        text = self.proc.stdout() + self.proc.stderr()
        if "OK, Exiting" not in text:
            log("%s: no 'OK, Exiting' after SIGINT (status %s): %s" % (
                self.name, rc, lib.tail(text[len(text_before):] or text)))
        errors = [l for l in text_before.splitlines() if l.startswith(("ERROR", "ALERT"))]
        self.c.check(not errors, "%s logged: %s" % (self.name, errors[:3]))
        return rc

    def totals(self, name):
        """(packets, bytes) in the table `name` of self.tables; (0, 0) while it cannot be read."""
        db, table = self.tables[name]
        try:
            with lib.connect_ro(db) as conn:
                p, b = conn.execute("SELECT TOTAL(packets), TOTAL(bytes) FROM %s" % table).fetchone()
            return int(p), int(b)
        except sqlite3.Error:
            return 0, 0

    def wait_written(self, want, timeout=40):
        """Until every table of self.tables holds `want` (packets, bytes) (with bins by arrival time
        every row is in the current bin, written by the periodic purge), then two refreshes more
        without change."""
        self.c.wait_for("%s's tables to hold %s packets/bytes" % (self.name, want,),
                        lambda: all(self.totals(v) == want for v in self.tables), timeout, proc=self.proc, step=0.5)
        time.sleep(5)
        for v in self.tables:
            self.c.check(self.totals(v) == want, "%s's %s table changed after holding every flow: %s, want %s" % (
                self.name, v, self.totals(v), want))

    def dump_files(self, stamp):
        """The dump files of the dump taken at `stamp` (a unix time on a minute)."""
        suffix = time.strftime("%Y%m%d-%H%M", time.localtime(stamp)) + ".jsonl"
        return sorted(os.path.join(self.dump_dir, f) for f in os.listdir(self.dump_dir) if f.endswith(suffix))

    def wait_dump(self, not_before, routers, timeout=75):
        """Wait for the first dump taken at or after `not_before` (unix time)
        that covers every router in `routers` and is complete (the dump writer
        logged END); returns (stamp, {router: file path}, Dump of all files)."""
        stamp = next_dump_time(not_before)
        log("%s: waiting for its table dump of %s" % (self.name, time.strftime("%H:%M:%S", time.localtime(stamp))))
        ends_before = (self.proc.stdout() + self.proc.stderr()).count("Dumping BGP tables - END")

        def done():
            text = self.proc.stdout() + self.proc.stderr()
            if time.time() < stamp or text.count("Dumping BGP tables - END") <= ends_before:
                return False
            # the dump writer logs END before its last file is flushed (at its exit):
            # wait until every router's dump_close is in
            closed = set()
            for f in self.dump_files(stamp):
                with open(f) as fh:
                    d = ribcheck.parse_dump(fh.read(), f)
                closed |= set(p for p, r in d.routers.items() if r["close"])
            return closed >= set(routers)
        self.c.wait_for("%s's table dump at %s" % (self.name, time.strftime("%H:%M", time.localtime(stamp))),
                        done, max(timeout, stamp - time.time() + 20), proc=self.proc, step=0.5)
        files = self.dump_files(stamp)
        by_router = {}
        text = ""
        for f in files:
            with open(f) as fh:
                t = fh.read()
            text += t
            d = ribcheck.parse_dump(t, f)
            for peer in d.peers():
                by_router[peer] = f
        missing = sorted(set(routers) - set(by_router))
        if missing:
            self.c.fail("%s's dump at %s has no lines for %s (files %s)" % (
                self.name, time.strftime("%H:%M", time.localtime(stamp)), missing, files))
        return stamp, by_router, ribcheck.parse_dump(text, "%s dump %s" % (self.name, time.strftime(
            "%H:%M", time.localtime(stamp))))


def next_dump_time(t, period=60):
    """nfacctd dumps at multiples of the refresh time (its deadline is aligned to it)."""
    return (int(t) // period + 1) * period if int(t) % period else int(t)


def check_dump_against_views(c, dump, views, who):
    """A collector's dump against the speakers' views, plus format and path ids."""
    want = [p for v in views.values() for p in v]
    problems = (dump.problems + ribcheck.format_problems(dump) + ribcheck.path_id_problems(dump.paths, who) +
                ribcheck.compare_paths(dump.paths, want, who, "speaker view"))
    for addr, v in views.items():
        if any(p.path_id is not None for p in v):
            problems += ribcheck.compare_path_ids(dump.paths, v, who, "speaker view", peers={addr})
    extra = sorted(set(dump.peers()) - set(views))
    if extra:
        problems.append("%s: routers that should not be there: %s" % (who, extra))
    log("%s: %d routers, %d paths, %d problems" % (who, len(dump.peers()), len(dump.paths), len(problems)))
    return c.check(not problems, "%s against the speakers' views: %s" % (who, first_line_diff(problems)))


def save_view(c, name, paths):
    with open(c.path(name + ".view.json"), "w") as f:
        f.write(ribcheck.paths_to_json(paths))


# ------------------------------------------------------------------ the shared RIB case (09, 10)
def rib_case(c, kind):
    """A route reflector (gobgpd or bird2) feeding pathflow: after the initial
    table and after each change (1..4) pathflow's /rib/dump equals the
    speaker's view; /rib/peers, /metrics and the `pathflow rib` commands agree."""
    pf = Pathflow(c).start()
    cls = {"gobgpd": GoBGPd, "bird2": Bird2}[kind]
    sp = cls(c, [("collector", COLLECTOR_ADDRESS, pf.port)]).start()
    sp.wait_established("collector")
    pf.wait_established(sp.address)
    view = sp.wait_view("collector")
    save_view(c, "%s-stage0" % kind, view)
    if not pf.wait_rib({sp.address: view}, what="initial table"):
        return      # the changes would only repeat the difference
    pf.check_peer_summary(sp.address, view)
    m = pf.metrics()
    c.check(metric(m, M_SESSIONS) == 1, "%s = %s, want 1" % (M_SESSIONS, metric(m, M_SESSIONS)))
    check_cli(c, pf, sp.address, view)
    for n in sorted(routes.STEPS):
        sp.apply_step(n)
        view = sp.wait_view("collector")
        save_view(c, "%s-stage%d" % (kind, n), view)
        if not pf.wait_rib({sp.address: view}, what="after change %d (%s)" % (n, routes.STEPS[n][0])):
            return
    pf.check_peer_summary(sp.address, view)
    m = pf.metrics()
    c.check(metric(m, M_SESSION_DOWN) == 0, "%s = %s, want 0 (no flap in this case)" % (
        M_SESSION_DOWN, metric(m, M_SESSION_DOWN)))
    pf.stop()


def check_cli(c, pf, router, view):
    """`pathflow rib dump|peers|lookup --metrics-listen` against the HTTP endpoint."""
    ml = "127.0.0.1:%d" % pf.mport
    r = lib.run([lib.PATHFLOW, "rib", "dump", "--metrics-listen", ml], timeout=30, what="pathflow rib dump")
    cli = ribcheck.parse_dump(r.stdout.decode(), "pathflow rib dump")
    d = ribcheck.compare_dumps(cli, pf.dump())
    c.check(not d, "`pathflow rib dump` differs from %s: %s" % (RIB_DUMP_PATH, first_line_diff(d)))
    r = lib.run([lib.PATHFLOW, "rib", "peers", "--metrics-listen", ml, "--json"], timeout=30, what="pathflow rib peers")
    try:
        peers = json.loads(r.stdout.decode())
    except ValueError:
        peers = None
    c.check(isinstance(peers, list) and any(p.get(PEER_ADDRESS) == router for p in peers),
            "`pathflow rib peers --json` does not list %s: %r" % (router, r.stdout.decode()[:300]))
    prefix = "192.0.2.0/24"
    r = lib.run([lib.PATHFLOW, "rib", "lookup", "192.0.2.77", "--router", router, "--metrics-listen", ml],
                timeout=30, what="pathflow rib lookup")
    out = r.stdout.decode()
    hops = sorted(set(p.next_hop for p in view if p.prefix == prefix))
    c.check(prefix in out and all(h in out for h in hops),
            "`pathflow rib lookup 192.0.2.77 --router %s` should show %s with next hops %s: %r" % (
                router, prefix, hops, out[:400]))
