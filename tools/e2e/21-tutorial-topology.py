#!/usr/bin/env python3
"""The tutorial's topology with both of its configurations as they are.

A network namespace plays the tutorial's router: its `eth1` (one end of a veth
pair) faces a second namespace, the LAN, and the collector's address
172.100.101.100 is on its loopback.  In the router namespace run
`pathflow probe -f configs/tutorial/pmacctd.conf` (daemonize: true, capture on
eth1, IPFIX to 172.100.101.100:4739) and
`pathflow collect -f configs/tutorial/nfacctd.conf` (listen on 0.0.0.0:4739,
sqlite3 v1 `acct` table); only the pidfile, logfile and database paths are
moved into the case's directory, on the command line.  From the LAN: UDP
datagrams and ICMP echo requests of known counts and sizes to the router
(whose kernel answers the echoes).  Then SIGTERM the probe (through its
pidfile: it detached) and the collector, and check the `acct` table:

  * the UDP flow and both echo directions carry exactly the packets and bytes
    sent (IP total length), ICMP as dst_port type*256+code;
  * the probe reported the two lines pmacct itself skips (`debug:
    core,nfprobe`, `logfile_mask`) with file and line, and started anyway.

Skipped (exit status 4) when not root or when `ip netns` is unavailable.
"""
import os
import signal
import subprocess
import sys
import time

import lib
import lib_live

PMACCTD_CONF = os.path.join(lib.ROOT, "configs", "tutorial", "pmacctd.conf")
NFACCTD_CONF = os.path.join(lib.ROOT, "configs", "tutorial", "nfacctd.conf")
ROUTER_IP, LAN_IP = "10.99.0.1", "10.99.0.2"
UDP_COUNT, UDP_PAYLOAD, UDP_SPORT, UDP_DPORT = 25, 200, 41000, 9000
ECHO_COUNT, ECHO_PAYLOAD = 5, 56


def sh(*argv, check=True, timeout=20):
    r = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    out = (r.stdout + r.stderr).decode(errors="replace").strip()
    if check and r.returncode != 0:
        raise RuntimeError("%s: status %d: %s" % (" ".join(argv), r.returncode, out))
    return r.returncode, out


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


LAN_TRAFFIC = r"""
import socket, struct, sys, time
router, count, payload, sport, dport, echoes, echo_payload = sys.argv[1], *map(int, sys.argv[2:8])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", sport))
for _ in range(count):
    u.sendto(b"t" * payload, (router, dport))
    time.sleep(0.005)
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
answered = 0
for seq in range(1, echoes + 1):
    body = bytes(echo_payload)
    head = struct.pack("!BBHHH", 8, 0, 0, 0x7777, seq)
    packet = head[:2] + struct.pack("!H", checksum(head + body)) + head[4:] + body
    s.sendto(packet, (router, 0))
    try:
        while True:
            data = s.recv(2048)
            if data[20] == 0 and struct.unpack("!H", data[24:26])[0] == 0x7777:
                answered += 1
                break
    except OSError:
        pass
print(answered)
"""


def case(c):
    why = lib_live.netns_usable()
    if why:
        raise lib.CaseSkipped(why)
    c.require_probe()
    tag = "%d" % os.getpid()
    router, lan = "pathflow-e2e-tutr-" + tag, "pathflow-e2e-tutl-" + tag

    def remove_namespaces():
        for ns in (router, lan):
            sh("ip", "netns", "del", ns, check=False)
    c.cleanups.append(remove_namespaces)
    probe_pidfile = c.path("pmacctd.pid")

    def stop_detached_probe():
        try:
            pid = int(open(probe_pidfile).read().strip())
        except (OSError, ValueError):
            return
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    c.cleanups.append(stop_detached_probe)

    sh("ip", "netns", "add", router)
    sh("ip", "netns", "add", lan)
    sh("ip", "link", "add", "eth1", "netns", router, "type", "veth", "peer", "name", "lan0", "netns", lan)
    for ns in (router, lan):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", router, "addr", "add", ROUTER_IP + "/24", "dev", "eth1")
    sh("ip", "-n", lan, "addr", "add", LAN_IP + "/24", "dev", "lan0")
    sh("ip", "-n", router, "addr", "add", "172.100.101.100/32", "dev", "lo")
    # IPv6 off on the link: no neighbour discovery or MLD in the capture.
    for ns, dev in ((router, "eth1"), (lan, "lan0")):
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % dev)
    sh("ip", "-n", router, "link", "set", "eth1", "up")
    sh("ip", "-n", lan, "link", "set", "lan0", "up")

    db = c.path("flows.db")
    collector = c.start("collect", ["ip", "netns", "exec", router, lib.PATHFLOW, "collect", "-f", NFACCTD_CONF,
                                    "--sql-db", db, "--pidfile", c.path("nfacctd.pid"),
                                    "--metrics-listen", "false"])

    def collector_listens():
        rc, out = sh("ip", "netns", "exec", router, "cat", "/proc/net/udp", "/proc/net/udp6", check=False)
        return ":1283 " in out     # 4739
    c.wait_for("the collector to listen on UDP 4739 in the router namespace", collector_listens, 30, proc=collector)

    # The probe as the tutorial runs it: daemonize: true, so the command returns at once.
    launcher = c.start("probe-launch", ["ip", "netns", "exec", router, lib.PATHFLOW, "probe", "-f", PMACCTD_CONF,
                                        "--pidfile", probe_pidfile, "--logfile", c.path("probe.log")])
    rc = launcher.wait(30)
    c.check(rc == 0, "pathflow probe (daemonize: true) exited with status %s: %s" % (rc, lib.tail(launcher.stderr())))
    skipped = launcher.stderr()
    for line, key in ((28, "debug"), (32, "logfile_mask")):
        c.check("pmacctd.conf:%d: key '%s'" % (line, key) in skipped,
                "the probe did not report line %d (%s) as pmacct does: %s" % (line, key, lib.tail(skipped)))
    c.wait_for("the detached probe's pidfile", lambda: os.path.getsize(probe_pidfile) > 0, 15)
    probe_pid = int(open(probe_pidfile).read().strip())
    c.wait_for("the probe to start capturing on eth1",
               lambda: "probe started" in open(c.path("probe.log")).read(), 15)
    time.sleep(0.5)

    rc, out = sh("ip", "netns", "exec", lan, sys.executable, "-c", LAN_TRAFFIC, ROUTER_IP, str(UDP_COUNT),
                 str(UDP_PAYLOAD), str(UDP_SPORT), str(UDP_DPORT), str(ECHO_COUNT), str(ECHO_PAYLOAD), timeout=60)
    c.check(out.strip() == str(ECHO_COUNT), "the router answered %s of %d echo requests" % (out, ECHO_COUNT))
    time.sleep(0.5)

    # SIGTERM: the probe exports every cached flow (the tutorial's expint is 60 s), then exits.
    os.kill(probe_pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while pid_alive(probe_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    c.check(not pid_alive(probe_pid), "the probe was still running 15 s after SIGTERM")
    log_text = open(c.path("probe.log")).read()
    c.check("probe finished" in log_text, "the probe's log has no final summary: %s" % lib.tail(log_text))
    time.sleep(1)
    c.stop_pathflow(collector)

    status, rows, err = lib.sqlite_cli(db, "SELECT ip_src, ip_dst, src_port, dst_port, ip_proto, SUM(packets), SUM(bytes) "
                              "FROM acct GROUP BY 1, 2, 3, 4, 5")
    c.check(status == 0, "sqlite3: %s" % err)
    got = {}
    for line in rows.splitlines():
        src, dst, sport, dport, proto, packets, nbytes = line.split("|")
        got[(src, dst, int(sport), int(dport), proto)] = (int(packets), int(nbytes))
    lib.log("acct:", got)
    want = {
        (LAN_IP, ROUTER_IP, UDP_SPORT, UDP_DPORT, "udp"): (UDP_COUNT, UDP_COUNT * (20 + 8 + UDP_PAYLOAD)),
        (LAN_IP, ROUTER_IP, 0, 8 * 256, "icmp"): (ECHO_COUNT, ECHO_COUNT * (20 + 8 + ECHO_PAYLOAD)),
        (ROUTER_IP, LAN_IP, 0, 0, "icmp"): (ECHO_COUNT, ECHO_COUNT * (20 + 8 + ECHO_PAYLOAD)),
    }
    for key, value in want.items():
        c.check(got.get(key) == value, "acct %s: %s, sent %s" % (key, got.get(key), value))
    # Anything else can only be the router's ICMP port unreachables toward the LAN.
    others = {k: v for k, v in got.items() if k not in want and not (k[0] == ROUTER_IP and k[3] == 3 * 256 + 3)}
    c.check(not others, "unexpected rows in acct: %s" % others)


lib.main(case)
