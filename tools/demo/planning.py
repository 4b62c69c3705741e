#!/usr/bin/env python3
"""Builds the worked example of README's "Planning with pathflow": five weeks of hourly
per-prefix traffic from two ingress routers to three exits, the RIB snapshot that ranks each
prefix's paths, and one recorded egress shift, in the tables the collector writes.

    tools/demo/planning.py DIR      writes DIR/planning.db, DIR/links.txt, DIR/srlg.txt

The numbers are made up but shaped like a network's: a daily cycle peaking in the evening,
quieter weekends, growth of about 1 % a day, a little noise (seeded: every run writes the same
tables). On 2026-12-02 at 14:00:30 both routers' best path for 198.51.100.0/24 moves from the
peer (10.0.0.3) to transit A (10.0.0.1): its LOCAL_PREF was lowered."""
import math
import os
import random
import sqlite3
import sys
import time

START = 1_793_491_200          # 2026-11-01 00:00:00 UTC
DAYS = 35
HOUR = 3600
CHANGE = 1_796_220_030         # 2026-12-02 14:00:30 UTC
ROUTERS = ["192.0.2.1", "192.0.2.2"]
EXITS = {"10.0.0.1": (64501, "10.255.0.1"), "10.0.0.2": (64502, "10.255.0.1"), "10.0.0.3": (64503, "10.255.0.2")}
# prefix: (Gbit/s at the start, its paths in rank order before the change)
PREFIXES = {
    ("198.51.100.0", 24): (2.0, ["10.0.0.3", "10.0.0.1", "10.0.0.2"]),
    ("203.0.113.0", 24): (1.2, ["10.0.0.1", "10.0.0.3"]),
    ("100.64.0.0", 16): (1.5, ["10.0.0.1", "10.0.0.2"]),
    ("100.65.0.0", 16): (1.0, ["10.0.0.2", "10.0.0.1"]),
    ("100.66.0.0", 16): (0.8, ["10.0.0.2"]),
    ("100.67.0.0", 16): (1.1, ["10.0.0.3", "10.0.0.2"]),
}
MOVED = ("198.51.100.0", 24)


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def ranking(prefix, t):
    paths = PREFIXES[prefix][1]
    if prefix == MOVED and t >= CHANGE:
        return ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    return paths


def main(out):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "planning.db")
    if os.path.exists(path):
        os.remove(path)
    rng = random.Random(7)
    db = sqlite3.connect(path)
    db.execute("""CREATE TABLE prefixes (
        peer_ip_src CHAR(45) NOT NULL, net_dst CHAR(45) NOT NULL, mask_dst INT NOT NULL,
        peer_ip_dst CHAR(45) NOT NULL, peer_as_dst INT NOT NULL, packets INT NOT NULL, bytes BIGINT NOT NULL,
        flows INT NOT NULL, stamp_inserted DATETIME NOT NULL, stamp_updated DATETIME,
        PRIMARY KEY (peer_ip_src, net_dst, mask_dst, peer_ip_dst, peer_as_dst, stamp_inserted))""")
    rows = []
    for h in range(DAYS * 24):
        t = START + h * HOUR
        day = h / 24
        hour = h % 24
        weekday = time.gmtime(t).tm_wday           # Monday 0
        daily = 0.65 + 0.35 * math.cos((hour - 20) / 24 * 2 * math.pi)
        weekly = 0.8 if weekday >= 5 else 1.0
        growth = 1 + 0.01 * day
        for r, router in enumerate(ROUTERS):
            for prefix, (gbps, _) in PREFIXES.items():
                share = 0.6 if r == 0 else 0.4
                bps = gbps * 1e9 * share * daily * weekly * growth * rng.uniform(0.95, 1.05)
                exit_hop = ranking(prefix, t)[0]
                nbytes = int(bps / 8 * HOUR)
                rows.append((router, prefix[0], prefix[1], exit_hop, EXITS[exit_hop][0], nbytes // 1000, nbytes,
                             nbytes // 100_000, stamp(t), stamp(t + HOUR)))
    db.executemany("INSERT INTO prefixes VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    # The RIB snapshot as the collector writes it (the state at the end: after the change).
    db.execute("""CREATE TABLE rib_paths (
        peer_ip_src CHAR(45) NOT NULL, bgp_id CHAR(45) NOT NULL, net_dst CHAR(45) NOT NULL,
        mask_dst INT NOT NULL, path_id INT NOT NULL, rank INT NOT NULL, peer_ip_dst CHAR(45) NOT NULL,
        peer_as_dst INT NOT NULL, as_dst INT NOT NULL, as_path TEXT NOT NULL, local_pref INT NOT NULL,
        med INT NOT NULL, stamp_inserted DATETIME NOT NULL, exit_router CHAR(45) NOT NULL)""")
    end = START + DAYS * 86400
    for router in ROUTERS:
        for prefix in PREFIXES:
            for rank, hop in enumerate(ranking(prefix, end)):
                asn, exit_router = EXITS[hop]
                lp = 90 if prefix == MOVED and hop == "10.0.0.3" else 100
                db.execute("INSERT INTO rib_paths VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
                    router, router, prefix[0], prefix[1], int(hop.split(".")[-1]), rank, hop, asn, 64999,
                    "%d 64999" % asn, lp, 0, stamp(end), exit_router))
    db.execute("""CREATE TABLE rib_best_changes (
        stamp DATETIME NOT NULL, time_ms INTEGER NOT NULL, peer_ip_src CHAR(45) NOT NULL, bgp_id CHAR(45) NOT NULL,
        net_dst CHAR(45) NOT NULL, mask_dst INT NOT NULL, reason CHAR(24) NOT NULL,
        old_path_id INT, old_peer_ip_dst CHAR(45), old_peer_as_dst INT, old_as_path TEXT, old_local_pref INT, old_med INT,
        new_path_id INT, new_peer_ip_dst CHAR(45), new_peer_as_dst INT, new_as_path TEXT, new_local_pref INT, new_med INT)""")
    for router in ROUTERS:
        db.execute("INSERT INTO rib_best_changes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            stamp(CHANGE), CHANGE * 1000, router, router, MOVED[0], MOVED[1], "local_pref",
            3, "10.0.0.3", 64503, "64503 64999", 200, 0, 1, "10.0.0.1", 64501, "64501 64999", 100, 0))
    db.commit()
    db.close()
    with open(os.path.join(out, "links.txt"), "w") as f:
        f.write("transit-a peer_ip_dst=10.0.0.1 10G\ntransit-b peer_ip_dst=10.0.0.2 10G\npeer-c peer_ip_dst=10.0.0.3 10G\n")
    with open(os.path.join(out, "srlg.txt"), "w") as f:
        f.write("! transit A and the peer share a duct\nduct-7 peer_ip_dst=10.0.0.1,peer_ip_dst=10.0.0.3\n")
    print("wrote %s (%d rows), links.txt, srlg.txt" % (path, len(rows)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
