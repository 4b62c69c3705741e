"""clickhouse-server (Debian's package) for the benchmarks: one instance per call, on 127.0.0.1
with free ports and its own data directory, started and stopped by its pid.

Besides the HTTP interface the benchmarks need what the server costs: its CPU (utime + stime of
its one process, every thread, from /proc/PID/stat), its resident memory (sampled) and, with the
query log on, what each query read and held.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from lib_clickhouse import config_xml  # noqa: E402

BINARY = "/usr/sbin/clickhouse-server"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def cluster_xml(name, tcp_ports):
    """remote_servers with one shard per server (127.0.0.1 and its native TCP port)."""
    shards = "".join("<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>" % p for p in tcp_ports)
    return "<remote_servers><%s>%s</%s></remote_servers>" % (name, shards, name)


class ClickHouseServer:
    """`extra`: XML added to the server's configuration (remote_servers); `query_log`: log every
    query to system.query_log (flushed every second) for `query_stats`."""

    def __init__(self, directory, ports=None, extra="", query_log=False, mark_cache_mib=256):
        if not os.access(BINARY, os.X_OK):
            raise RuntimeError("%s is not installed (apt-get install -y clickhouse-server)" % BINARY)
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.http_port, self.tcp_port = ports or (free_port(), free_port())
        self.proc = None
        log_config = ("<query_log><database>system</database><table>query_log</table>"
                      "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>") if query_log else ""
        with open(os.path.join(directory, "config.xml"), "w") as f:
            f.write(config_xml(directory, self.http_port, self.tcp_port,
                               "<mark_cache_size>%d</mark_cache_size>\n%s\n%s" % (mark_cache_mib << 20, log_config, extra)))
        with open(os.path.join(directory, "users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
    <profiles><default>{log}</default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
""".format(log="<log_queries>1</log_queries>" if query_log else ""))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=60):
        out = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen([BINARY, "--config-file=%s/config.xml" % self.dir], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("clickhouse-server exited at start-up (exit %s; see %s)" % (self.proc.returncode, self.dir))
            try:
                if self.query("SELECT 1", timeout=2) == "1\n":
                    return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("clickhouse-server did not answer on %d within %d s" % (self.http_port, timeout))

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL if it has not exited within `timeout` s; by pid only."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def query(self, sql, timeout=60):
        req = urllib.request.Request(self.url + "/", data=sql.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()

    def version(self):
        try:
            return self.query("SELECT version()", timeout=10).strip()
        except (OSError, urllib.error.URLError):
            return "?"

    def insert(self, statement, body, timeout=600):
        """`statement`: INSERT ... FORMAT ...; `body`: the rows in that format (bytes)."""
        req = urllib.request.Request(self.url + "/?" + urllib.parse.urlencode({"query": statement}), data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError("insert refused: %s" % e.read().decode(errors="replace")[:500])

    def cpu_seconds(self):
        """utime + stime of the server's process (all threads) so far; None once it has exited."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(rest[11]) + int(rest[12])) / TICK

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def wait_merges(self, timeout=300):
        """Waits (bounded) until no merge or mutation runs for 2 s; returns the seconds waited."""
        started = time.monotonic()
        quiet_since = None
        while time.monotonic() - started < timeout:
            busy = int(self.query("SELECT count() FROM system.merges").strip() or 0)
            now = time.monotonic()
            if busy:
                quiet_since = None
            else:
                quiet_since = quiet_since or now
                if now - quiet_since >= 2:
                    break
            time.sleep(0.2)
        return round(time.monotonic() - started, 1)

    def parts(self, database, table):
        """(active parts, rows, bytes on disk) of a table."""
        for size in ("bytes_on_disk", "bytes"):
            try:
                text = self.query("SELECT count(), sum(rows), sum(%s) FROM system.parts WHERE active AND database = '%s' "
                                  "AND table = '%s'" % (size, database, table))
                n, rows, nbytes = (int(x) for x in text.split())
                return n, rows, nbytes
            except urllib.error.HTTPError:
                continue
        return None, None, None

    def query_stats(self, since):
        """The queries that finished since `since` (unix seconds): count, their summed duration,
        rows read, rows and bytes returned and the largest memory use, and the first 40 one by one
        (duration ms, rows read, rows returned). A query on a Distributed table is logged by the
        server it was sent to and, for its part, by every other shard."""
        where = ("type = 2 AND event_time >= toDateTime(%d) AND query NOT LIKE '%%system.%%' AND query NOT LIKE 'SYSTEM%%'"
                 % int(since))
        try:
            self.query("SYSTEM FLUSH LOGS")
            text = self.query("SELECT count(), sum(query_duration_ms), sum(read_rows), sum(result_rows), sum(result_bytes), "
                              "max(memory_usage) FROM system.query_log WHERE " + where)
            each = self.query("SELECT query_duration_ms, read_rows, result_rows FROM system.query_log WHERE %s "
                              "ORDER BY query_start_time, event_time LIMIT 40" % where)
        except (OSError, urllib.error.URLError):
            return None
        fields = [int(x) for x in text.split()]
        stats = dict(zip(("queries", "duration_ms", "read_rows", "result_rows", "result_bytes", "memory_bytes"), fields))
        stats["each"] = [[int(x) for x in line.split()] for line in each.splitlines() if line]
        return stats
