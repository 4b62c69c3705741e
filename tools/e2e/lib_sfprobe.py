"""sFlow from a real agent for the end-to-end cases 32 and 33: pmacctd's sfprobe plugin reads a
pcap and sends sFlow v5 to a tee of the case, which forwards every datagram, in order, to the
collectors (sfacctd and pathflow) and keeps it, so the case decodes it with lib_sflow (its own
decoder) for its models.

sfprobe sends its last, partly filled datagram and its counter samples only when the plugin next
wakes up, at the latest 60 s after pmacctd read the file (fixtures/sflow/README.md): `Export.wait`
waits for that datagram.  At exit sfprobe sends stale copies of old samples, so `Export.finish`
stops forwarding before it stops pmacctd.
"""

import collections
import signal
import socket
import threading
import time

import lib
import lib_sflow

# What pathflow's /metrics must show after an sFlow stream that decodes without error.
CLEAN_SFLOW_METRICS = ("pathflow_flow_decode_errors_total", "pathflow_udp_socket_drops_total",
                       "pathflow_sflow_unknown_samples_total", "pathflow_sflow_unknown_records_total",
                       "pathflow_sflow_headers_not_ip_total")


# pmacctd reading a pcap for sfprobe plugins: it stays up at the file's end (pcap_savefile_wait)
# until the case stops it, so sfprobe can send its last datagram; pipes for a file's worth of frames.
PMACCTD_HEAD = """\
daemonize: false
pcap_savefile: {pcap}
pcap_savefile_wait: true
plugin_pipe_size: 16777216
plugin_buffer_size: 65536
"""
INTERNAL = 0x3FFFFFFF      # sFlow's ifIndex of "internal" (format 0): sfprobe's other direction


def check_agents(c, decoded, frames, agents, also=()):
    """The agents' export against the pcap's frames.  `agents`: {(agent, sub-agent): (sampling
    rate, input ifIndex, output ifIndex)}.  At rate 1 an agent sends one sample per frame, in
    order, each sample's header the frame's first 128 bytes and its frame length the frame's plus
    4 (sfprobe adds an FCS); at a higher rate every sample is the frame its sample_pool numbers.
    Flow samples of other agents than these and `also` are an error.  Returns {(agent,
    sub-agent): [FlowSample]}."""
    ip_frames = [f for f in frames if lib_sflow.frame_key(f) is not None]
    # pmacctd's core passes a frame behind MPLS labels as pmacct's label walk reads it: the
    # traffic holds only stacks it reads right (lib_sflow.traffic).
    wrong = [i + 1 for i, f in enumerate(frames) if lib_sflow.frame_key(f).mpls and
             lib_sflow.pmacct_mpls_walk(f, 14)[:2] != (6 if ":" in lib_sflow.frame_key(f).src else 4,
                                                        4 * lib_sflow.frame_key(f).mpls)]
    c.check(not wrong, "test error: pmacct misreads the label stacks of frames %s" % wrong[:5])
    c.check(len(ip_frames) == len(frames), "the pcap has %d frames without IP (test error)" % (len(frames) - len(ip_frames)))
    by_agent = collections.defaultdict(list)
    for g in decoded:
        for s in g.flows:
            by_agent[(g.agent, g.sub_agent)].append(s)
    for (agent, sub), (rate, input_if, output_if) in agents.items():
        samples = by_agent[(agent, sub)]
        if rate == 1:
            _check_every_frame(c, agent, samples, frames, input_if, output_if)
            continue
        bad = [s.seq for s in samples if not (
            0 < s.pool <= len(frames) and s.rate == rate and s.header == frames[s.pool - 1][:128]
            and s.frame_length == len(frames[s.pool - 1]) + 4 and s.input == input_if and s.output == output_if)]
        c.check(len(samples) > len(frames) // rate // 2 and not bad,
                "agent %s (rate %d): %d flow samples for %d frames; %d not the frame their sample_pool numbers, "
                "e.g. %s" % (agent, rate, len(samples), len(frames), len(bad), bad[:3]))
    others = sorted(set(by_agent) - set(agents) - set(also))
    c.check(not others, "flow samples from unexpected agents %s" % others)
    return by_agent


def _check_every_frame(c, agent, samples, frames, input_if, output_if):
    bad = [i for i, s in enumerate(samples) if not (
        i < len(frames) and s.seq == s.pool == i + 1 and s.rate == 1 and s.header == frames[i][:128]
        and s.frame_length == len(frames[i]) + 4 and s.input == input_if and s.output == output_if)]
    if len(samples) != len(frames) or bad:
        # Which frames never became a sample (the samples keep the frames' order).
        missing, fi = [], 0
        for s in samples:
            while fi < len(frames) and s.header != frames[fi][:128]:
                missing.append(fi)
                fi += 1
            fi += 1
        missing += list(range(fi, len(frames)))
        c.check(False, "agent %s (rate 1): %d flow samples for %d frames; %d not the frame of their position, "
                "e.g. sample %s; frames never sampled: %d, e.g. %s" % (
                    agent, len(samples), len(frames), len(bad), bad[:3], len(missing),
                    [(i + 1, lib_sflow.frame_key(frames[i])) for i in missing[:3]]))


class Tee:
    """Receives the agent's datagrams on 127.0.0.1:port and forwards each, in arrival order, to
    every collector port, 1 ms apart: the agent sends a file's worth (about 900 KB) in a burst,
    which the tee's receive buffer holds; the pacing and the collectors' 4 MiB buffers
    (`sfacctd_pipe_size`, as far as net.core.rmem_max allows) keep theirs from overflowing on a
    busy host."""

    def __init__(self, c, targets):
        self.targets = targets
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)     # SO_RCVBUFFORCE (root)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.datagrams = []             # (monotonic arrival time, bytes), every one forwarded
        self.send_errors = 0
        self.stop_event = threading.Event()
        c.stop_events.append(self.stop_event)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.is_set():
            try:
                d = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            for port in self.targets:
                try:
                    self.out.sendto(d, ("127.0.0.1", port))
                except OSError:
                    self.send_errors += 1
            self.datagrams.append((time.monotonic(), d))
            time.sleep(0.001)

    def drops(self):
        """Datagrams the kernel dropped on the tee's socket (/proc/net/udp)."""
        return udp_drops(self.port)

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)
        self.sock.close()
        self.out.close()


def udp_drops(port):
    want = ":%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        return sum(int(line.split()[12]) for line in f if line.split()[1].endswith(want))


class Export:
    """The datagrams the tee forwarded, decoded as they come (`decoded`, and `undecodable` as
    (index, reason)); `agent` samples at rate 1 and `frames` is the number of frames in the pcap."""

    def __init__(self, c, tee, agent, frames):
        self.c, self.tee, self.agent, self.frames = c, tee, agent, frames
        self.decoded, self.undecodable = [], []
        self.agent_samples = 0
        self.forwarded = None

    def update(self):
        """Decodes what came since the last call; True once the rate-1 agent sampled every frame."""
        while len(self.decoded) + len(self.undecodable) < len(self.tee.datagrams):
            n = len(self.decoded) + len(self.undecodable)
            try:
                g = lib_sflow.decode(self.tee.datagrams[n][1])
            except lib_sflow.DecodeError as e:
                self.undecodable.append((n, str(e)))
                continue
            self.decoded.append(g)
            self.agent_samples += len(g.flows) if g.agent == self.agent else 0
        return self.agent_samples >= self.frames

    def settled(self):
        """Every frame sampled at rate 1, or sfprobe's final burst (it comes after a pause of a
        good 20 s) seen; and 2 s without a datagram."""
        self.update()
        ts = [t for t, _ in self.tee.datagrams]
        return bool(ts) and time.monotonic() - ts[-1] >= 2.0 and (
            self.agent_samples >= self.frames or any(b - a >= 20 for a, b in zip(ts, ts[1:])))

    def wait(self, pm, timeout=100):
        """Until sfprobe's last datagram is in (pm: the pmacctd process)."""
        try:
            self.c.wait_for("sfprobe's last datagram", self.settled, timeout, proc=pm, step=0.5)
        except lib.CaseFailure as e:
            self.c.fail("%s (%d datagrams, %d flow samples of agent %s for %d frames)" % (
                e, len(self.tee.datagrams), self.agent_samples, self.agent, self.frames))

    def finish(self, pm):
        """Stops the tee, then pmacctd; keeps the datagrams (forwarded.hex) and checks that the tee
        lost none and that every one decodes.  Returns the datagrams forwarded."""
        self.tee.stop()
        self.update()
        pm.stop(signal.SIGINT, timeout=10)
        tee = self.tee
        self.forwarded = [d for _, d in tee.datagrams]
        with open(self.c.path("forwarded.hex"), "w") as f:
            f.writelines(d.hex() + "\n" for d in self.forwarded)
        lib.log("the tee forwarded %d datagrams (%d bytes) to %d collectors; its socket dropped %d; send errors %d" % (
            len(self.forwarded), sum(map(len, self.forwarded)), len(tee.targets), tee.drops(), tee.send_errors))
        self.c.check(tee.drops() == 0 and tee.send_errors == 0,
                     "the tee lost datagrams: %d socket drops, %d send errors" % (tee.drops(), tee.send_errors))
        self.c.check(not self.undecodable, "%d datagrams do not decode as sFlow v5, e.g. %s" % (
            len(self.undecodable), self.undecodable[:2]))
        return self.forwarded


def check_pathflow_metrics(c, name, mport, proc, datagrams, flow_samples, counter_samples):
    """pathflow's /metrics (on 127.0.0.1:mport) once it has counted `datagrams`: every flow and
    counter sample, and nothing in CLEAN_SFLOW_METRICS.  Returns the metrics."""
    m = c.wait_datagrams(name, mport, datagrams, proc, timeout=20)
    want = {"pathflow_flow_datagrams_total": datagrams, "pathflow_sflow_flow_samples_total": flow_samples,
            "pathflow_sflow_counter_samples_total": counter_samples}
    want.update((k, 0) for k in CLEAN_SFLOW_METRICS)
    got = {k: int(m.get(k, 0)) for k in want}
    c.check(got == want, "%s /metrics %s, want %s" % (name, got, want))
    return m


def stop_sfacctd(c, p):
    """sfacctd's socket dropped nothing; then stopped as nfacctd is (lib.Case.stop_nfacctd)."""
    drops = udp_drops(p.port)
    c.check(drops == 0, "%s's socket dropped %d datagrams" % (p.name, drops))
    c.stop_nfacctd(p)
