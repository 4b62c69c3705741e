"""`pathflow serve` for the benchmarks: one console per call on 127.0.0.1 (a free port), started
and stopped by its pid, with a plain HTTP client (urllib, a new connection per request) that times
each request, and what the server costs: its CPU (utime + stime of its process, every thread, from
/proc/PID/stat) and its resident memory (VmRSS sampled by a thread, VmHWM).

Also how a report's command line (`top --by peer_as_dst -n 10`) becomes the API's request
(`/api/v1/reports/top?by=peer_as_dst&n=10`).
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 30          # seconds for the console to answer its first request
# Options of `pathflow report` that the console takes from its own command line, not per request.
SERVER_SIDE = {"capacities"}


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def serve_options(pathflow):
    """The long options `pathflow serve --help` lists (e.g. {"listen", "capacities", ...})."""
    try:
        text = subprocess.run([pathflow, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    names = set()
    for word in text.replace(",", " ").replace("|", " ").replace("[", " ").replace("]", " ").split():
        if word.startswith("--") and len(word) > 2:
            names.add(word[2:].split("=")[0].split("<")[0])
    return names


def api_request(argv):
    """A report's command-line arguments -> (report name, [(parameter, value), ...], server-side
    options {name: value}). `--max-columns 5` -> max_columns=5; a flag (`--no-rollup`) -> 1."""
    name, rest = argv[0], argv[1:]
    params, server = [], {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if not word.startswith("-"):
            raise ValueError("%s: stray argument %r" % (" ".join(argv), word))
        key = word.lstrip("-").replace("-", "_")
        if i + 1 < len(rest) and not rest[i + 1].startswith("-"):
            value, i = rest[i + 1], i + 2
        else:
            value, i = "1", i + 1
        if key in SERVER_SIDE:
            server[key] = value
        else:
            params.append((key, value))
    return name, params, server


def summary(seconds):
    """min, median and max of a list of seconds (None when empty), and p95 with 20 or more."""
    if not seconds:
        return None
    s = sorted(seconds)
    out = {"n": len(s), "min": round(s[0], 4), "median": round(statistics.median(s), 4), "max": round(s[-1], 4)}
    if len(s) >= 20:
        out["p95"] = round(s[min(len(s) - 1, int(0.95 * len(s) + 0.5) - 1)], 4)
    return out


class Console:
    """`pathflow serve TARGET... --listen 127.0.0.1:PORT` (`target`: --db/--table/--bin/--utc or -f
    CONF; `extra`: more options such as --capacities FILE)."""

    def __init__(self, pathflow, target, log_path, extra=()):
        self.port = free_port()
        self.argv = [pathflow, "serve"] + list(target) + ["--listen", "127.0.0.1:%d" % self.port] + list(extra)
        self.log_path = log_path
        self.proc = None
        self._sampling = None
        self.rss_peak_kib = 0

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=START_TIMEOUT):
        """Starts the server and waits (bounded) until GET /api/v1/view answers 200."""
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pathflow serve exited at start-up (exit %s): %s" % (self.proc.returncode, self.log_tail()))
            try:
                status, _, _ = self.get("/api/v1/view", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("pathflow serve did not answer on port %d within %d s: %s" % (self.port, timeout, self.log_tail()))

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL if it has not exited within `timeout` s; by pid only."""
        self.stop_sampling()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, n=800):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""

    def url(self, path, params=()):
        return self.base + path + ("?" + urllib.parse.urlencode(list(params), quote_via=urllib.parse.quote) if params else "")

    def get(self, path, params=(), timeout=60):
        """(status, body bytes, seconds from sending the request to the body's last byte)."""
        req = urllib.request.Request(self.url(path, params), headers={"Connection": "close"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            body = e.read()
            status = e.code
        return status, body, time.monotonic() - started

    def report(self, name, params, timeout=60):
        return self.get("/api/v1/reports/" + urllib.parse.quote(name), params, timeout=timeout)

    def reports(self):
        """The reports the server lists (GET /api/v1/reports)."""
        status, body, _ = self.get("/api/v1/reports", timeout=10)
        return json.loads(body)["reports"] if status == 200 else []

    # ---------------------------------------------------------------- what it costs

    def cpu_seconds(self):
        """utime + stime of the server's process (all threads) so far; None once it has exited."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(rest[11]) + int(rest[12])) / TICK

    def status_kib(self, field):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def rss_kib(self):
        return self.status_kib("VmRSS")

    def hwm_kib(self):
        return self.status_kib("VmHWM")

    def start_sampling(self, interval=0.05):
        """Samples VmRSS every `interval` s until stop_sampling(); the peak is in rss_peak_kib."""
        self.stop_sampling()
        self.rss_peak_kib = self.rss_kib() or 0
        stop = threading.Event()

        def run():
            while not stop.wait(interval):
                self.rss_peak_kib = max(self.rss_peak_kib, self.rss_kib() or 0)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._sampling = (stop, thread)

    def stop_sampling(self):
        """Stops the sampler; returns the peak VmRSS seen (KiB)."""
        if self._sampling:
            stop, thread = self._sampling
            stop.set()
            thread.join(5)
            self._sampling = None
            self.rss_peak_kib = max(self.rss_peak_kib, self.rss_kib() or 0)
        return self.rss_peak_kib
