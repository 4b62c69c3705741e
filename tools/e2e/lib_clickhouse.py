"""clickhouse-server (Debian's package) for end-to-end cases: one instance per call, on
127.0.0.1 with random free ports and its own data directory under the case's directory."""
import os
import signal
import urllib.request

import lib

BINARY = "/usr/sbin/clickhouse-server"



def config_xml(directory, http_port, tcp_port, settings=""):
    """A clickhouse-server configuration of its own: loopback ports, every path under
    `directory`, the users file beside it; `settings` adds elements (caches, query_log,
    remote_servers)."""
    return """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>{d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
{settings}
</yandex>
""".format(d=directory, http=http_port, tcp=tcp_port, settings=settings)

class ClickHouse:
    def __init__(self, c, name="clickhouse", ports=None, extra=""):
        """`ports`: (http, tcp), e.g. chosen beforehand for a cluster; `extra`: XML added to
        the server's configuration (remote_servers)."""
        if not os.access(BINARY, os.X_OK):
            raise lib.CaseSkipped("clickhouse-server is not installed (tools/deps test installs it)")
        self.c, self.name = c, name
        self.dir = c.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.http_port, self.tcp_port = ports or (c.free_port(), c.free_port())
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(config_xml(self.dir, self.http_port, self.tcp_port,
                               "<mark_cache_size>5368709</mark_cache_size>\n"
                               "<uncompressed_cache_size>8589934</uncompressed_cache_size>\n" + extra))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
""")
        self.proc = None
        self.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def start(self):
        self.proc = self.c.start(self.name, [BINARY, "--config-file=%s/config.xml" % self.dir], cwd=self.dir)
        self.c.wait_for("%s to answer on %d" % (self.name, self.http_port),
                        lambda: self.query("SELECT 1") == "1\n", 60, proc=self.proc)

    def kill(self):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.stop(signal.SIGKILL, timeout=10)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def query(self, sql, timeout=10):
        req = urllib.request.Request(self.url + "/", data=sql.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()

    def sums(self, table, key="ip_src, ip_dst, src_port, dst_port, ip_proto"):
        """{key tuple: [packets, bytes]} over the whole table."""
        out = {}
        text = self.query("SELECT %s, sum(packets), sum(bytes) FROM %s GROUP BY %s FORMAT TabSeparated" % (key, table, key))
        width = len(key.split(","))
        for line in text.splitlines():
            f = line.split("\t")
            k = tuple(int(x) if x.isdigit() else x for x in f[:width])
            out[k] = [int(f[width]), int(f[width + 1])]
        return out


def cluster_xml(name, tcp_ports):
    """remote_servers with one shard per server (127.0.0.1 and its native TCP port)."""
    shards = "".join("<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>" % p for p in tcp_ports)
    return "    <remote_servers><%s>%s</%s></remote_servers>" % (name, shards, name)


def view_metric(mport, name, view):
    """The value of `name` for one view (parse_prometheus sums every label set)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and 'view="%s"' % view in line.split("}")[0]:
            total += float(line.rsplit(" ", 1)[1])
    return total


def same_reports(c, reports, want_conf, confs):
    """Each report (`pathflow report` arguments, the kind first) with --format json prints on every
    configuration of `confs` exactly what it prints on `want_conf`; returns the reference's outputs."""
    def report(argv, conf):
        r = lib.run([lib.PATHFLOW, "report", argv[0], "-f", conf, "--format", "json"] + argv[1:],
                    timeout=60, what="report", check=False)
        c.check(r.returncode == 0, "report %s with %s: exit %d: %s" % (
            " ".join(argv), os.path.basename(conf), r.returncode, lib.tail(r.stderr.decode(errors="replace"))))
        return r.stdout.decode()
    outputs = []
    for argv in reports:
        want = report(argv, want_conf)
        c.check(len(want) > 10, "report %s on the reference: empty" % " ".join(argv))
        for conf in confs:
            got = report(argv, conf)
            c.check(got == want, "report %s over the cluster (%s) differs from the reference: %s / %s" % (
                " ".join(argv), os.path.basename(conf), got[:200], want[:200]))
        outputs.append(want)
    return outputs
