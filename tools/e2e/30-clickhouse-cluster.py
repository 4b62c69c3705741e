#!/usr/bin/env python3
"""Two collectors, two ClickHouse shards, reports over the cluster.

Two clickhouse-server instances form the cluster `pf` (one shard each, declared in both servers'
remote_servers). Collector A receives exporter 127.0.0.2's flows and writes them to shard 1's
`matrix_local`; collector B receives exporter 127.0.0.3's flows and writes them to shard 2's;
each creates `matrix`, a Distributed table over both shards, on its node. A third collector R
receives both exporters' flows (the same deterministic streams, sent again) into one SQLite view.
Every report (top, matrix by each cell kind, series, capacity), run on A's and on B's clickhouse
view, prints exactly what it prints on R's sqlite3 view; each shard holds only its collector's
exporter.
"""
import json

import lib
import lib_clickhouse
from lib_clickhouse import ClickHouse, cluster_xml

AGGREGATE = "peer_src_ip, peer_dst_ip, src_host, dst_host, proto"
STREAMS = {"127.0.0.2": "192.0.2.1", "127.0.0.3": "192.0.2.101"}


def clickhouse_conf(c, name, ch):
    path = c.path(name + ".conf")
    with open(path, "w") as f:
        f.write("""daemonize: false
nfacctd_ip: 127.0.0.1
aggregate: {agg}
plugins: clickhouse[c]
sql_table: matrix
sql_refresh_time: 1
sql_history: 1m
sql_history_roundoff: m
clickhouse_url: {url}
clickhouse_database: flows
clickhouse_cluster: pf
clickhouse_spool_dir: {spool}
""".format(agg=AGGREGATE, url=ch.url, spool=c.path(name + "-spool")))
    return path


def sqlite_conf(c, db):
    path = c.path("reference.conf")
    with open(path, "w") as f:
        f.write("""daemonize: false
nfacctd_ip: 127.0.0.1
aggregate: {agg}
plugins: sqlite3[s]
sql_db: {db}
sql_table: matrix
sql_refresh_time: 1
sql_history: 1m
sql_history_roundoff: m
""".format(agg=AGGREGATE, db=db))
    return path


def send(c, port, source, next_hop):
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--source", source, "--next-hop-base", next_hop,
                 "--keys", "2000", "--records", "20000", "--rate", "20000", "--seconds", "30",
                 "--start-time", "1700000000"], timeout=60, what="flowgen")
    return int(json.loads(r.stdout.decode().strip().splitlines()[-1])["datagrams"])


def case(c):
    ports = [(c.free_port(), c.free_port()), (c.free_port(), c.free_port())]
    xml = cluster_xml("pf", [p[1] for p in ports])
    shards = [ClickHouse(c, "shard%d" % (i + 1), ports=ports[i], extra=xml) for i in range(2)]
    db = c.path("reference.db")
    confs = [clickhouse_conf(c, "a", shards[0]), clickhouse_conf(c, "b", shards[1])]
    ref_conf = sqlite_conf(c, db)
    collectors = []
    for name, conf in (("a", confs[0]), ("b", confs[1]), ("reference", ref_conf)):
        collectors.append((name,) + c.start_pathflow(db if name == "reference" else c.path(name + ".unused.db"),
                                                     conf=conf, name=name))
    sent = {"a": 0, "b": 0, "reference": 0}
    for (source, hop), (name, pf, port, mport) in zip(STREAMS.items(), collectors[:2]):
        sent[name] += send(c, port, source, hop)
        sent["reference"] += send(c, collectors[2][2], source, hop)
    for name, pf, port, mport in collectors:
        c.wait_datagrams(name, mport, sent[name], pf)
    for name, pf, port, mport in collectors:
        c.stop_pathflow(pf)
    for i, shard in enumerate(shards):
        sources = shard.query("SELECT DISTINCT peer_ip_src FROM flows.matrix_local FORMAT TabSeparated").split()
        c.check(sources == [list(STREAMS)[i]], "shard %d holds exporters %s" % (i + 1, sources))
    lib.log("shards: %s rows, %s rows; cluster %s rows" % (
        shards[0].query("SELECT count() FROM flows.matrix_local").strip(),
        shards[1].query("SELECT count() FROM flows.matrix_local").strip(),
        shards[0].query("SELECT count() FROM flows.matrix").strip()))

    links = c.path("links.txt")
    with open(links, "w") as f:
        f.write("east peer_ip_src=127.0.0.2 20M\nwest peer_ip_src=127.0.0.3 20M\nhop peer_ip_dst=192.0.2.2 2M\n")
    reports = [
        ["top", "--by", "peer_src_ip,peer_dst_ip", "-n", "20"],
        ["top", "--by", "proto", "--where", "peer_src_ip=127.0.0.3"],
        ["matrix", "--rows", "peer_src_ip", "--columns", "peer_dst_ip", "--cell", "bytes"],
        ["matrix", "--rows", "peer_src_ip", "--columns", "peer_dst_ip", "--cell", "p95"],
        ["matrix", "--rows", "peer_src_ip", "--columns", "proto", "--cell", "peak"],
        ["series", "--by", "peer_src_ip", "-n", "5"],
        ["capacity", "--capacities", links, "--threshold", "80"],
    ]
    lib_clickhouse.same_reports(c, reports, ref_conf, confs)


lib.main(case)
