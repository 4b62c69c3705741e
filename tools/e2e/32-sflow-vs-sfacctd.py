#!/usr/bin/env python3
"""sFlow v5 from a real agent, pmacct's sfacctd against pathflow.

pmacctd (1.7.7) reads a generated pcap (lib_sflow.traffic: about 3,800 frames over 1,024
5-tuples; TCP, UDP, ICMP and ICMPv6 over IPv4 and IPv6, a fifth behind an 802.1Q tag, some behind
MPLS labels, some IPv4 headers with options, IPv4 UDP datagrams in fragments) and exports it with
two sfprobe plugins: agent 192.0.2.10 at sampling rate 1 (direction in, ifIndex 5) and agent
192.0.2.20, sub-agent 3, at rate 8 (direction out, ifIndex 7).  A tee of the case receives their
datagrams and forwards each one, in order, to four collectors: sfacctd and pathflow with
`sfacctd_renormalize: false`, and both again with `sfacctd_renormalize: true`.  The case adds one
datagram of its own (agent 192.0.2.30: frames behind two MPLS labels, lib_sflow.mpls_misread_frames).
All four collectors have the same aggregate (peer_src_ip, in_iface, out_iface, src_host, dst_host,
src_port, dst_port, proto) in SQLite, and their rows are compared summed over the time bins (both
bin by arrival time).

The datagrams are also decoded here (lib_sflow, nothing shared with pathflow), which gives
  * the exporter's check: the rate-1 agent sent one sample per frame, in order, each sample's
    header the frame's first 128 bytes and its frame length the frame's plus 4 (sfprobe adds an
    FCS); every sample of the rate-8 agent is the frame its sample_pool numbers;
  * a model of each collector's rows: one packet and frame_length bytes per sample, per key.
Checks: without renormalisation sfacctd's rows, pathflow's rows and the model are the same;
with it, pathflow's rows are the model times the advertised rate, sfacctd's are the model with
sfacctd's own factor (Δsample_pool/Δsequence per data source, the advertised rate for the first
sample), and the two collectors agree on the rate-1 agent, where both factors are 1.  Where they
differ by design (docs/PMACCT.md, "sFlow (sfacctd's configuration)") the comparison normalises:
ICMP ports (sfacctd 0/0, pathflow dst_port type*256+code), the renormalisation of the rate-8
agent (whose rows must then differ, or the input no longer shows it), and the frames behind two
MPLS labels (pmacct reads the second label entry 16 bytes on: sfacctd must read none of them
right, and only their packets and bytes are compared).  Also: pathflow's /metrics count every
datagram and sample with no decode error or socket drop, sfacctd's socket dropped nothing and it
logged no warning, and the comparison rejects a changed row.

sfprobe sends its last, partly filled datagram and its counter samples only when the plugin next
wakes up, at the latest 60 s after pmacctd read the file (fixtures/sflow/README.md): the case
waits for that datagram, so it takes about 90 s."""
import collections
import os
import shutil
import socket

import lib
import lib_sflow
import lib_sfprobe

RATE = 8
AGENT_1, AGENT_N = "192.0.2.10", "192.0.2.20"
AGENT_MPLS = "192.0.2.30"      # the case's own datagram: frames behind two MPLS labels
AGGREGATE = "peer_src_ip, in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto"
COLUMNS = ("peer_ip_src", "iface_in", "iface_out", "ip_src", "ip_dst", "src_port", "dst_port", "ip_proto")

PMACCTD_CONF = lib_sfprobe.PMACCTD_HEAD + """\
plugins: sfprobe[r1], sfprobe[rn]
sfprobe_receiver: 127.0.0.1:{port}
sfprobe_agentip[r1]: {agent1}
sampling_rate[r1]: 1
sfprobe_ifindex[r1]: 5
sfprobe_agentip[rn]: {agentn}
sfprobe_agentsubid[rn]: 3
sampling_rate[rn]: {rate}
sfprobe_direction[rn]: out
sfprobe_ifindex[rn]: 7
"""

# One configuration for both collectors; pathflow gets its port, address, pidfile and database on
# the command line (--sflow-port, --listen, --pidfile, --sql-db).
COLLECTOR_CONF = """\
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: {port}
sfacctd_renormalize: {renormalize}
sfacctd_pipe_size: 4194304
pidfile: {pidfile}
plugins: sqlite3
aggregate: {aggregate}
sql_db: {db}
sql_table: acct
sql_optimize_clauses: true
sql_refresh_time: 2
sql_history: 1m
sql_history_roundoff: m
"""

# sfacctd writes into a table it does not create: pmacct's column names, the v1 table's types.
SFACCTD_TABLE = """\
CREATE TABLE acct (
    peer_ip_src CHAR(45) NOT NULL DEFAULT '0.0.0.0',
    iface_in INT NOT NULL DEFAULT 0,
    iface_out INT NOT NULL DEFAULT 0,
    ip_src CHAR(45) NOT NULL DEFAULT '0.0.0.0',
    ip_dst CHAR(45) NOT NULL DEFAULT '0.0.0.0',
    src_port INT NOT NULL DEFAULT 0,
    dst_port INT NOT NULL DEFAULT 0,
    ip_proto CHAR(6) NOT NULL DEFAULT 0,
    packets INT NOT NULL,
    bytes BIGINT NOT NULL,
    stamp_inserted DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
    stamp_updated DATETIME,
    PRIMARY KEY (peer_ip_src, iface_in, iface_out, ip_src, ip_dst, src_port, dst_port, ip_proto, stamp_inserted)
);
"""

XFLOW_RESET_BOUNDARY = 50       # pmacct 1.7.7 xflow_status.h: a sequence jump larger than this is a reset


def proto_name(p):
    return lib.PROTO_NAMES.get(p, str(p))


class Model:
    """Rows of each collector computed from the decoded datagrams: {key: [packets, bytes]}, keys
    in COLUMNS order."""

    def __init__(self, decoded):
        self.plain_sf = collections.defaultdict(lambda: [0, 0])     # sfacctd, no renormalisation
        self.plain_pf = collections.defaultdict(lambda: [0, 0])     # pathflow, no renormalisation
        self.renorm_sf = collections.defaultdict(lambda: [0, 0])    # sfacctd: Δpool/Δseq
        self.renorm_pf = collections.defaultdict(lambda: [0, 0])    # pathflow: advertised rate
        self.samples = collections.Counter()                         # flow samples per agent
        self.counter_samples = 0
        self.icmp_samples = 0
        state = {}
        for g in decoded:
            self.counter_samples += len(g.counters)
            for s in g.flows:
                self.samples[g.agent] += 1
                k = s.key
                # Format-0 interfaces: the raw word is the ifIndex (0x3fffffff: "internal").
                common = (g.agent, s.input, s.output, k.src, k.dst)
                if k.icmp is not None:
                    self.icmp_samples += 1
                    ksf = common + (0, 0, proto_name(k.proto))
                    kpf = common + (0, k.icmp[0] * 256 + k.icmp[1], proto_name(k.proto))
                else:
                    ksf = kpf = common + (k.sport, k.dport, proto_name(k.proto))
                for table, key, factor in ((self.plain_sf, ksf, 1), (self.plain_pf, kpf, 1),
                                           (self.renorm_pf, kpf, s.rate),
                                           (self.renorm_sf, ksf, self.sfacctd_factor(state, g, s))):
                    table[key][0] += factor
                    table[key][1] += factor * s.frame_length
        for name in ("plain_sf", "plain_pf", "renorm_sf", "renorm_pf"):
            setattr(self, name, dict(getattr(self, name)))
        self.plain_sf, self.renorm_sf = misread(self.plain_sf), misread(self.renorm_sf)

    @staticmethod
    def sfacctd_factor(state, g, s):
        """pmacct 1.7.7 SF_counters_renormalize_handler(): per agent, sub-agent and data source,
        Δsample_pool / Δsequence (integer division) while both grow; the advertised rate for
        the first sample and after a reset."""
        src = (g.agent, g.sub_agent, s.source_class << 24 | s.source_index)
        last = state.get(src)
        if last is not None:
            if s.seq > last[0] and s.pool > last[1]:
                state[src] = (s.seq, s.pool)
                return (s.pool - last[1]) // (s.seq - last[0])
            if max(s.seq, last[0]) > min(s.seq, last[0]) + XFLOW_RESET_BOUNDARY:
                state[src] = (s.seq, s.pool)
        else:
            state[src] = (s.seq, s.pool)
        return s.rate


def misread(rows):
    """sfacctd's rows with those of AGENT_MPLS summed into one: pmacct reads the second entry of an
    MPLS label stack 16 bytes on (docs/PMACCT.md, sFlow table, row "MPLS label stacks of two or
    more entries"), so it reads these frames' IP header at the wrong offset; only their packets
    and bytes are compared (and, separately, that none of its keys is right)."""
    out = {}
    for k, v in rows.items():
        if k[0] == AGENT_MPLS:
            k = (AGENT_MPLS, "(read at the wrong offset)") + ("",) * (len(COLUMNS) - 2)
        s = out.setdefault(k, [0, 0])
        s[0] += v[0]
        s[1] += v[1]
    return out


def icmp_as_sfacctd(rows):
    """pathflow's rows with ICMP ports as sfacctd writes them, 0/0 (docs/PMACCT.md, sFlow table,
    row "ICMP": pathflow's dst_port is type*256+code, as in NetFlow and the probe)."""
    out = collections.defaultdict(lambda: [0, 0])
    for k, v in rows.items():
        if k[7] in ("icmp", "ipv6-icmp"):
            k = k[:5] + (0, 0, k[7])
        out[k][0] += v[0]
        out[k][1] += v[1]
    return dict(out)


def db_rows(db):
    """{COLUMNS values: [SUM(packets), SUM(bytes)]} over every time bin."""
    with lib.connect_ro(db) as conn:
        q = "SELECT %s, SUM(packets), SUM(bytes) FROM acct GROUP BY %s" % (", ".join(COLUMNS), ", ".join(COLUMNS))
        return {tuple(r[:-2]): [r[-2], r[-1]] for r in conn.execute(q)}


def only_agent(rows, agent):
    return {k: v for k, v in rows.items() if k[0] == agent}


def diff(name_a, a, name_b, b, show=2):
    """None when equal, else what differs (with totals)."""
    if a == b:
        return None
    tot = lambda t: (len(t), sum(v[0] for v in t.values()), sum(v[1] for v in t.values()))
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    return "%s %s rows/packets/bytes, %s %s; %d only in %s e.g. %s; %d only in %s e.g. %s; %d differ e.g. %s" % (
        name_a, tot(a), name_b, tot(b), len(only_a), name_a, [(k, a[k]) for k in only_a[:show]],
        len(only_b), name_b, [(k, b[k]) for k in only_b[:show]], len(differ),
        [(k, a[k], b[k]) for k in differ[:show]])


def totals(rows):
    return sum(v[0] for v in rows.values()), sum(v[1] for v in rows.values())


def start_sfacctd(c, name, renormalize):
    db = c.path(name + ".db")
    with open(c.path(name + ".sql"), "w") as f:
        f.write(SFACCTD_TABLE)
    lib.run(["sqlite3", db], stdin_path=c.path(name + ".sql"), timeout=30, what="creating sfacctd's table")
    port = c.free_port()
    conf = c.path(name + ".conf")
    with open(conf, "w") as f:
        f.write(COLLECTOR_CONF.format(port=port, renormalize=renormalize, pidfile=c.path(name + ".pid"),
                                      aggregate=AGGREGATE, db=db))
    p = c.start(name, ["sfacctd", "-f", conf])
    p.refresh, p.db, p.port = 2, db, port
    return p


def start_pathflow(c, name, renormalize):
    """pathflow collect with the same configuration, port and address from the command line (the
    file names sfacctd's default port, which nothing must use)."""
    db = c.path(name + ".db")
    conf = c.path(name + ".conf")
    with open(conf, "w") as f:
        f.write(COLLECTOR_CONF.format(port=6343, renormalize=renormalize, pidfile=c.path(name + "-file.pid"),
                                      aggregate=AGGREGATE, db=c.path(name + "-file.db")))
    r = lib.run([lib.PATHFLOW, "check-config", "--strict", "-f", conf], timeout=30, what="check-config", check=False)
    c.check(r.returncode == 0, "pathflow check-config --strict refuses %s: %s" % (
        name, lib.tail((r.stdout + r.stderr).decode(errors="replace"), 4)))
    port, mport = c.free_port(), c.free_port()
    p = c.start(name, [lib.PATHFLOW, "collect", "-f", conf, "--sflow-port", str(port), "--listen", "127.0.0.1",
                       "--metrics-listen", "127.0.0.1:%d" % mport, "--pidfile", c.path(name + ".pid"),
                       "--sql-db", db])
    p.db, p.port, p.mport = db, port, mport
    return p


def check_exporter(c, decoded, frames):
    """The agent's export against the pcap (see the docstring)."""
    by_agent = lib_sfprobe.check_agents(c, decoded, frames, {
        (AGENT_1, 0): (1, 5, lib_sfprobe.INTERNAL), (AGENT_N, 3): (RATE, lib_sfprobe.INTERNAL, 7)},
        also=[(AGENT_MPLS, 0)])
    return len(by_agent[(AGENT_1, 0)]), len(by_agent[(AGENT_N, 3)])


def case(c):
    for tool in ("pmacctd", "sfacctd", "sqlite3"):
        if shutil.which(tool) is None:
            c.fail("missing tool: " + tool)
    if not os.access(lib.PATHFLOW, os.X_OK):
        c.fail("no pathflow binary at %s (build it, or set PATHFLOW_BIN_DIR)" % lib.PATHFLOW)
    frames = lib_sflow.traffic()
    pcap = c.path("traffic.pcap")
    lib_sflow.write_pcap(pcap, frames)
    keys = [lib_sflow.frame_key(f) for f in frames]
    lib.log("traffic: %d frames, %d 5-tuples, %d IPv6, %d tagged, %d with MPLS labels, %d ICMP/ICMPv6, "
            "%d later fragments" % (
                len(frames), len({k[:6] for k in keys}), sum(":" in k.src for k in keys),
                sum(k.vlan is not None for k in keys), sum(k.mpls > 0 for k in keys),
                sum(k.icmp is not None for k in keys), sum(k.proto == 17 and k.sport == 0 for k in keys)))

    # ---- the four collectors and the tee -----------------------------------------------------
    sf_plain, sf_renorm = start_sfacctd(c, "sfacctd", "false"), start_sfacctd(c, "sfacctd-renorm", "true")
    pf_plain, pf_renorm = start_pathflow(c, "pathflow", "false"), start_pathflow(c, "pathflow-renorm", "true")
    for p in (sf_plain, sf_renorm, pf_plain, pf_renorm):
        c.wait_for("%s to listen on UDP %d" % (p.name, p.port), lambda p=p: lib.udp_port_bound(p.port), 30, proc=p)
    for p in (sf_plain, sf_renorm):
        c.wait_for("%s's sqlite3 plugin to start" % p.name, lambda p=p: "cache entries=" in p.stderr() + p.stdout(),
                   30, proc=p)
    for p in (pf_plain, pf_renorm):
        c.wait_for("%s's /metrics" % p.name, lambda p=p: c.metrics(p.mport) is not None, 30, proc=p)
    collectors = (sf_plain, sf_renorm, pf_plain, pf_renorm)
    tee = lib_sfprobe.Tee(c, [p.port for p in collectors])

    # ---- the agent -----------------------------------------------------------------------------
    conf = c.path("pmacctd.conf")
    with open(conf, "w") as f:
        f.write(PMACCTD_CONF.format(pcap=pcap, port=tee.port, agent1=AGENT_1, agentn=AGENT_N, rate=RATE))
    pm = c.start("pmacctd", ["pmacctd", "-f", conf])
    export = lib_sfprobe.Export(c, tee, AGENT_1, len(frames))
    export.wait(pm)
    # The case's own datagram, through the tee like the agent's.
    mpls = lib_sflow.mpls_misread_frames()
    before = len(tee.datagrams)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.sendto(lib_sflow.encode_datagram(AGENT_MPLS, 0, 1, 1000, [
        lib_sflow.encode_flow_sample(i + 1, 1, 1, i + 1, 9, 0x3FFFFFFF, f) for i, f in enumerate(mpls)]),
        ("127.0.0.1", tee.port))
    sender.close()
    c.wait_for("the tee to forward the case's datagram", lambda: len(tee.datagrams) > before, 5)
    forwarded = export.finish(pm)
    decoded = export.decoded
    n1, nn = check_exporter(c, decoded, frames)
    model = Model(decoded)
    lib.log("decoded: %d flow samples (agent %s: %d, agent %s: %d), %d counter samples, %d ICMP samples" % (
        sum(model.samples.values()), AGENT_1, n1, AGENT_N, nn, model.counter_samples, model.icmp_samples))

    # ---- stop the collectors ---------------------------------------------------------------------
    for p in (pf_plain, pf_renorm):
        lib_sfprobe.check_pathflow_metrics(c, p.name, p.mport, p, len(forwarded), sum(model.samples.values()),
                                           model.counter_samples)
        c.stop_pathflow(p)
    for p in (sf_plain, sf_renorm):
        lib_sfprobe.stop_sfacctd(c, p)

    # ---- rows ----------------------------------------------------------------------------------
    rows = {p.name: db_rows(p.db) for p in collectors}
    for p in collectors:
        n, pk, by = len(rows[p.name]), *totals(rows[p.name])
        lib.log("%s: %d rows (over bins), %d packets, %d bytes; per agent %s" % (
            p.name, n, pk, by, {a: totals(only_agent(rows[p.name], a)) for a in (AGENT_1, AGENT_N, AGENT_MPLS)}))
        c.check(n > 0 and all(only_agent(rows[p.name], a) for a in (AGENT_1, AGENT_N)),
                "%s has no rows for one of the agents" % p.name)

    # Without renormalisation: sfacctd = its model, pathflow = its model, and each other.
    d = diff("sfacctd", misread(rows["sfacctd"]), "model", model.plain_sf)
    c.check(not d, "sfacctd (no renormalisation) vs the model: %s" % d)
    d = diff("pathflow", rows["pathflow"], "model", model.plain_pf)
    c.check(not d, "pathflow (no renormalisation) vs the model: %s" % d)
    d = diff("pathflow", misread(icmp_as_sfacctd(rows["pathflow"])), "sfacctd", misread(rows["sfacctd"]))
    c.check(not d, "pathflow vs sfacctd (no renormalisation; ICMP ports as sfacctd's): %s" % d)
    c.check(model.icmp_samples > 0, "the input has no ICMP sample: the ICMP normalisation is not exercised")
    right = {k for k in model.plain_pf if k[0] == AGENT_MPLS}
    got = {k for k in rows["sfacctd"] if k[0] == AGENT_MPLS}
    lib.log("agent %s (two MPLS labels): pathflow's keys %s; sfacctd's %s" % (AGENT_MPLS, sorted(right)[:2], sorted(got)[:2]))
    c.check(len(right) == len(mpls) and got and not (got & right),
            "sfacctd should read none of the %d frames behind two MPLS labels right (pmacct's label walk, "
            "docs/PMACCT.md): its keys %s, the frames' %s" % (len(mpls), sorted(got), sorted(right)))

    # With renormalisation: each its own model; both agree on the rate-1 agent.
    d = diff("sfacctd-renorm", misread(rows["sfacctd-renorm"]), "model (Δpool/Δseq)", model.renorm_sf)
    c.check(not d, "sfacctd (renormalised) vs the model of its Δsample_pool/Δsequence: %s" % d)
    d = diff("pathflow-renorm", rows["pathflow-renorm"], "model (x rate)", model.renorm_pf)
    c.check(not d, "pathflow (renormalised) vs the model, the advertised rate: %s" % d)
    d = diff("pathflow-renorm", icmp_as_sfacctd(only_agent(rows["pathflow-renorm"], AGENT_1)),
             "sfacctd-renorm", only_agent(rows["sfacctd-renorm"], AGENT_1))
    c.check(not d, "pathflow vs sfacctd, renormalised, agent %s (rate 1: both factors 1): %s" % (AGENT_1, d))
    pf_n = icmp_as_sfacctd(only_agent(model.renorm_pf, AGENT_N))
    sf_n = only_agent(model.renorm_sf, AGENT_N)
    differ = sum(1 for k in pf_n if pf_n[k] != sf_n.get(k))
    lib.log("agent %s renormalised: pathflow %s packets/bytes, sfacctd %s, the frames %s; %d of %d rows differ "
            "(docs/PMACCT.md, sFlow table, row 'renormalisation')" % (
                AGENT_N, totals(pf_n), totals(sf_n), (len(frames), sum(len(f) + 4 for f in frames)), differ, len(pf_n)))
    c.check(differ > 0, "the renormalised models agree for agent %s: the documented difference is not exercised" % AGENT_N)

    # The comparison rejects a row with one byte more.
    changed = misread(rows["sfacctd"])
    k = sorted(changed)[-1]
    changed[k] = [changed[k][0], changed[k][1] + 1]
    c.check(diff("pathflow", misread(icmp_as_sfacctd(rows["pathflow"])), "changed", changed) is not None,
            "the comparison accepts a changed row")


lib.main(case)
