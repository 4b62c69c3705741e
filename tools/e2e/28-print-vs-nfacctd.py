#!/usr/bin/env python3
"""pmacct's print plugin: nfacctd and pathflow run the same configuration (three print views:
csv with a ';' separator and a strftime file name, formatted with print_num_protos, json with
print_history and a $peer_src_ip file name; markers on; a print_latest_file link) on the same
IPFIX stream: pmacctd+nfprobe's export of the shared pcap (IPv4 and IPv6, TCP, UDP, ICMP) and a
flowgen stream (next-hops, interfaces, masks, TCP flags).  print_refresh_time is an hour, so each
collector writes every file once, at exit (nfacctd on SIGINT, pathflow on SIGTERM).

Both must write the same files: the same names (and the link to the same file), each with the
same title line, the same rows as sets of lines (formatted padding, csv separators, json key
order and spacing included; json's stamp_updated, the flush time, only checked for its form),
the same markers (process ids and json's duration aside; json's purged/total counts), and packets and bytes summed
over the csv rows equal to the decoded datagrams'.  The comparison must reject a changed row."""
import json
import os
import re
import signal
import time

import lib

AGGREGATE = ("src_host, dst_host, src_port, dst_port, proto, tos, tcpflags, peer_src_ip, peer_dst_ip, "
             "in_iface, out_iface, src_mask, dst_mask, src_net, dst_net, src_as, dst_as, export_proto_version, "
             "sampling_rate")

CONF = """\
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: {port}
pidfile: {dir}/{name}.pid
nfacctd_time_new: true
plugins: print[csv], print[fmt], print[json]
aggregate[csv]: {aggregate}, as_path, std_comm
aggregate[fmt]: src_host, dst_host, src_port, dst_port, proto, peer_dst_ip, in_iface, src_net, dst_mask, tcpflags
aggregate[json]: {aggregate}, as_path, lrg_comm
print_output[csv]: csv
print_output[fmt]: formatted
print_output[json]: json
print_output_separator[csv]: ;
print_num_protos[fmt]: true
print_history[json]: 1h
print_history_roundoff[json]: h
print_output_file[csv]: {out}/csv-%Y%m%d.csv
print_latest_file[csv]: {out}/latest.csv
print_output_file[fmt]: {out}/fmt.txt
print_output_file[json]: {out}/json-$peer_src_ip.json
print_markers: true
print_refresh_time: 3600
"""

FILES = ["csv-%s.csv", "fmt.txt", "json-127_0_0_1.json"]
STAMP = re.compile(r'"stamp_updated": "(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"')


def away_from_hour_boundary():
    """Both collectors must see the same hour (json bins, the csv file's date): start at least
    60 s before the next hour."""
    left = 3600 - time.time() % 3600
    if left < 60:
        lib.log("waiting %.0f s for the next hour to begin" % (left + 2))
        time.sleep(left + 2)


def parse(path, kind):
    """(markers, title, rows) of one output file; rows as a sorted list of lines."""
    with open(path) as f:
        lines = f.read().split("\n")
    if lines[-1] != "":
        raise lib.CaseFailure("%s does not end with a newline" % path)
    lines = lines[:-1]
    if kind == "json":
        markers = [json.loads(lines[0]), json.loads(lines[-1])]
        for m in markers:
            m["writer_id"] = re.sub(r"/\d+$", "/PID", m.get("writer_id", ""))
            # Whole seconds the flush took: 0 or 1 depending on when a second began.
            if isinstance(m.get("duration"), int) and 0 <= m["duration"] <= 5:
                m["duration"] = "S"
        return markers, None, sorted(lines[1:-1])
    markers = [re.sub(r"\(\d+\)", "(PID)", lines[0]), re.sub(r"\(\d+\)", "(PID)", lines[-1])]
    return markers, lines[1], sorted(lines[2:-1])


def compare(name, a, b):
    """Differences between nfacctd's (a) and pathflow's (b) parsed file."""
    problems = []
    if a[0] != b[0]:
        problems.append("%s: markers %s, pathflow %s" % (name, a[0], b[0]))
    if a[1] != b[1]:
        problems.append("%s: title %r, pathflow %r" % (name, a[1], b[1]))
    only_a, only_b = sorted(set(a[2]) - set(b[2])), sorted(set(b[2]) - set(a[2]))
    if only_a or only_b or len(a[2]) != len(b[2]):
        problems.append("%s: %d rows, pathflow %d; only nfacctd's %s; only pathflow's %s" % (
            name, len(a[2]), len(b[2]), only_a[:2], only_b[:2]))
    return problems


def json_rows(rows, problems, name, t_lo, t_hi):
    """json rows with stamp_updated checked (a time of the run) and set aside."""
    out = []
    for row in rows:
        m = STAMP.search(row)
        if not m:
            problems.append("%s: no stamp_updated in %s" % (name, row))
            continue
        t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
        if not (t_lo - 1 <= t <= t_hi + 1):
            problems.append("%s: stamp_updated %s outside the run" % (name, m.group(1)))
        out.append(STAMP.sub('"stamp_updated": "T"', row))
    return sorted(out)


def csv_totals(rows, sep=";"):
    packets = bytes_ = 0
    for row in rows:
        fields = row.split(sep)
        packets += int(fields[-2])
        bytes_ += int(fields[-1])
    return packets, bytes_


def case(c):
    pcap, _ = c.input_pcap()
    nfprobe = c.pmacctd_nfprobe(pcap, 10)
    hex_path = c.path("flowgen.hex")
    lib.run([lib.FLOWGEN, "--hex-out", hex_path, "--keys", "400", "--records", "3000", "--batch", "25",
             "--start-time", "1700000000", "--domain", "7"], timeout=60, what="flowgen")
    with open(hex_path) as f:
        generated = [bytes.fromhex(line.strip()) for line in f if line.strip()]
    records = lib.decode_export(nfprobe)[0] + lib.decode_export(generated)[0]
    want = (sum(r.packets for r in records), sum(r.bytes for r in records))
    lib.log("%d datagrams from nfprobe, %d from flowgen: %d records, %d packets, %d bytes" % (
        len(nfprobe), len(generated), len(records), want[0], want[1]))

    away_from_hour_boundary()
    outs, confs = {}, {}
    for name in ("nfacctd", "pathflow"):
        outs[name] = c.path(name + "-out")
        os.mkdir(outs[name])
    nf_port = c.free_port()
    confs["nfacctd"] = c.path("nfacctd.conf")
    with open(confs["nfacctd"], "w") as f:
        f.write(CONF.format(port=nf_port, dir=c.dir, name="nfacctd", out=outs["nfacctd"], aggregate=AGGREGATE))
    confs["pathflow"] = c.path("pathflow.conf")
    with open(confs["pathflow"], "w") as f:
        # The port, pidfile and metrics come from the command line.
        f.write(CONF.format(port=nf_port, dir=c.dir, name="pathflow-unused", out=outs["pathflow"], aggregate=AGGREGATE))
    r = lib.run([lib.PATHFLOW, "check-config", "--strict", "-f", confs["pathflow"]], timeout=30,
                what="pathflow check-config", check=False)
    c.check(r.returncode == 0, "check-config --strict refuses the configuration: %s" % lib.tail(r.stdout.decode(), 4))

    nf = c.start("nfacctd", ["nfacctd", "-f", confs["nfacctd"]])
    c.wait_for("nfacctd to listen on UDP %d" % nf_port, lambda: lib.udp_port_bound(nf_port), 30, proc=nf)
    c.wait_for("nfacctd's print plugins to start",
               lambda: (nf.stdout() + nf.stderr()).count("cache entries=") >= 3, 30, proc=nf)
    pf, pf_port, pf_mport = c.start_pathflow(c.path("unused.db"), conf=confs["pathflow"])

    t_lo = time.time()
    lib.replay(nfprobe, [nf_port, pf_port], gap=0.002)
    lib.replay(generated, [nf_port, pf_port], gap=0.002)
    c.wait_datagrams("pathflow", pf_mport, len(nfprobe) + len(generated), pf)
    time.sleep(1.0)  # nfacctd has no counter to wait for; loopback delivers within this
    c.stop_pathflow(pf)
    rc = nf.stop(signal.SIGINT, timeout=30)
    t_hi = time.time()
    log = nf.stdout() + nf.stderr()
    c.check("OK, Exiting" in log, "nfacctd did not log 'OK, Exiting' after SIGINT (status %s)" % rc)
    purges = re.findall(r"\( (\w+)/print \): \*\*\* Purging cache - END \(PID: \d+, QN: (\d+)/(\d+)", log)
    c.check(sorted(p[0] for p in purges) == ["csv", "fmt", "json"] and all(p[1] == p[2] for p in purges),
            "nfacctd should purge each view once, whole, at exit: %s" % purges)
    errors = [line for line in log.splitlines() if line.startswith(("ERROR", "ALERT", "WARN"))]
    c.check(not errors, "nfacctd logged: %s" % errors[:3])

    day = time.strftime("%Y%m%d", time.localtime(t_hi))
    files = [f % day if "%s" in f else f for f in FILES]
    for name in outs:
        listed = sorted(os.listdir(outs[name]))
        c.check(listed == sorted(files + ["latest.csv"]), "%s wrote %s, want %s" % (name, listed, sorted(files + ["latest.csv"])))
        link = os.path.join(outs[name], "latest.csv")
        c.check(os.path.islink(link) and os.readlink(link) == os.path.join(outs[name], files[0]),
                "%s's latest.csv should link to %s" % (name, files[0]))
    if c.problems:
        return

    parsed = {name: {f: parse(os.path.join(outs[name], f), "json" if f.endswith(".json") else "text") for f in files}
              for name in outs}
    for name in outs:
        pj = parsed[name][files[2]]
        problems = []
        parsed[name][files[2]] = (pj[0], None, json_rows(pj[2], problems, name, t_lo, t_hi))
        for p in problems[:3]:
            c.check(False, p)
        n = len(pj[2])
        c.check(pj[0][0] == {"event_type": "purge_init", "writer_id": "json/PID"}
                and pj[0][1] == {"event_type": "purge_close", "writer_id": "json/PID", "purged_entries": n,
                                 "total_entries": n, "duration": "S"},
                "%s's json markers: %s" % (name, pj[0]))
        got = csv_totals(parsed[name][files[0]][2])
        c.check(got == want, "%s's csv rows sum to %s packets/bytes, the datagrams to %s" % (name, got, want))
    for f in files:
        for p in compare(f, parsed["nfacctd"][f], parsed["pathflow"][f]):
            c.check(False, p)
        lib.log("%s: %d rows, the same in both" % (f, len(parsed["pathflow"][f][2])))

    # The comparison itself: a row with one byte more must not pass.
    a = parsed["nfacctd"][files[1]]
    changed = (a[0], a[1], sorted(a[2][:-1] + [re.sub(r"(\d+)$", lambda m: str(int(m.group(1)) + 1), a[2][-1])]))
    c.check(compare(files[1], a, changed), "the comparison accepts a changed row")
    # The input exercises what the files are about: IPv6, absent next-hops, TCP flags, names.
    rows = parsed["pathflow"][files[0]][2]
    # csv columns: SRC_AS;DST_AS;COMMS;AS_PATH;PEER_SRC_IP;PEER_DST_IP;IN_IFACE;OUT_IFACE;SRC_IP;...
    c.check(any(":" in r.split(";")[8] for r in rows) and any(r.split(";")[5] == "" for r in rows)
            and any(r.split(";")[5] != "" for r in rows) and any(";27;tcp;" in r for r in rows),
            "csv rows lack IPv6 sources, absent or present next-hops, or TCP flags")


lib.main(case)
