#!/usr/bin/env python3
"""The console's pages in a real browser (Chromium driven by selenium through chromedriver),
against a collector fed by a real exporter and a real BGP speaker.

gobgpd (127.0.0.2) reflects the route set of tools/bgp/matrix_routes.py with ADD-PATH to
`pathflow collect`; softflowd reads a pcap written here (packets toward addresses in the route
set's prefixes, a few toward no route) and its IPFIX goes to the collector from 127.0.0.1, which
bgp_agent_map sends to gobgpd's RIB. The view is per prefix (router, prefix, exit next-hop and
AS, path_match), 1-minute bins, with the RIB snapshot. The collector serves the console itself
(console_listen, with a token, a capacity file and a group of exits that fail together);
`pathflow serve -f` on the same configuration is a second console on the same table.

Checks:
* the API against independent oracles: each prefix's bytes are the pcap's (IP total length, as
  softflowd counts), its exit the best path the route set ranks (LOCAL_PREF, AS_PATH, ORIGIN);
* each page (overview, series, matrix, paths, capacity, failures, prefixes) loads and draws
  with no error in the browser's console; what its charts and tables hold (data-* attributes,
  cells) is what the API's JSON for the same query holds; capacity's utilisation is the pcap's
  bytes over the capacity file's;
* `pathflow serve -f` answers what the collector's console answers;
* the token: the first page asks for it, and then shows the data (and so do other tabs);
* a filter added through the page's form and a change of bins change the URL and the numbers,
  as the API says and as the oracle says; the back button restores the view before;
* the state is in the URL: a view opened from its URL in a fresh tab is the same.
About 90 s (the RIB snapshot falls on the minute)."""
import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request

import lib
import lib_bgp
import lib_flows as lf
import matrix_routes

TOKEN = "console-e2e-token"
VIEW = ("peer_src_ip", "dst_net", "dst_mask", "peer_dst_ip", "peer_dst_as", "path_match")
UNROUTED = "8.8.8.0"        # in no prefix of the route set: path_match no_route


class ConsolePathflow(lib_bgp.Pathflow):
    """pathflow collect: BGP daemon, the per-prefix view, RIB snapshots; softflowd's flows from
    127.0.0.1 use gobgpd's RIB (bgp_agent_map)."""

    def __init__(self, c, capacities, groups):
        super().__init__(c)
        self.flow_port = c.free_port()
        self.console_port = c.free_port()
        self.db = c.path("pathflow.db")
        self.capacities, self.groups = capacities, groups
        self.token_file = c.path("token")

    def config(self):
        agent_map = self.c.path("agent.map")
        with open(agent_map, "w") as f:
            f.write("bgp_ip=%s ip=127.0.0.1\n" % lib_bgp.GOBGP_ADDRESS)
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        with open(self.c.path("capacities"), "w") as f:
            f.write("".join("%s peer_ip_dst=%s %d\n" % (name, hop, bps) for name, (hop, bps) in sorted(self.capacities.items())))
        with open(self.c.path("groups"), "w") as f:
            f.write("".join("%s %s\n" % (name, ",".join("peer_ip_dst=" + h for h in hops)) for name, hops in self.groups.items()))
        conf = self.c.path(self.name + ".conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "daemonize: false", "pidfile: %s" % self.c.path(self.name + ".pid"),
                "nfacctd_ip: 127.0.0.1", "nfacctd_port: %d" % self.flow_port, "nfacctd_time_new: true",
                "metrics_listen: 127.0.0.1:%d" % self.mport,
                "bgp_daemon: true", "bgp_daemon_ip: %s" % self.address, "bgp_daemon_port: %d" % self.port,
                "bgp_daemon_max_peers: 10", "bgp_agent_map: %s" % agent_map,
                "nfacctd_as: bgp", "nfacctd_net: bgp", "bgp_rib_snapshot_refresh_time: 60",
                "plugins: sqlite3[prefixes]", "aggregate[prefixes]: %s" % ", ".join(VIEW),
                "sql_db[prefixes]: %s" % self.db, "sql_table[prefixes]: prefixes",
                "sql_refresh_time[prefixes]: 2", "sql_history[prefixes]: 1m", "sql_history_roundoff[prefixes]: m",
                "console_listen: 127.0.0.1:%d" % self.console_port, "console_token_file: %s" % self.token_file,
                "console_capacities: %s" % self.c.path("capacities"), "console_failure_groups: %s" % self.c.path("groups"),
            ]) + "\n")
        self.conf = conf
        return conf


def ranked_best(paths):
    """The best path as LOCAL_PREF, AS_PATH length and ORIGIN decide it; None on a tie."""
    def key(p):
        return (-p.local_pref, lf.aspath_length(p.segments), lf.ORIGIN_RANK[p.origin])
    order = sorted(paths, key=key)
    if len(order) > 1 and key(order[0]) == key(order[1]):
        return None
    return order[0]


def destinations(table):
    """(prefix, an address whose longest match in the route set is that prefix, best path) for
    each IPv4 prefix whose best path the first three steps decide."""
    nets = [net for net, _ in table[4]]
    out = []
    for net, paths in table[4]:
        best = ranked_best(paths)
        if best is None:
            continue
        for host in net.hosts():
            longest = max((n for n in nets if host in n), key=lambda n: n.prefixlen)
            if longest == net:
                out.append((net, str(host), best))
                break
    return out


def write_pcap(path, targets):
    """Per target a TCP flow of a distinct number of 1000-byte packets (IP total length), plus a
    flow toward an unrouted address. Returns {destination address: IP bytes}."""
    from scapy.all import Ether, IP, TCP, Raw, wrpcap  # python3-scapy
    packets, truth = [], {}
    t0 = time.time() - 30
    for i, (net, host, _) in enumerate(targets + [(None, UNROUTED, None)]):
        count = 3 + 2 * i
        for k in range(count):
            p = Ether() / IP(src="192.0.2.%d" % (10 + i), dst=host) / TCP(sport=40000 + i, dport=443, flags="A") / Raw(b"x" * 960)
            p.time = t0 + i * 0.01 + k * 0.001
            packets.append(p)
        truth[host] = count * 1000
    wrpcap(path, packets)
    return truth


class Api:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def get(self, path, params=(), token=True):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(list(params))
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.token} if token else {})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()

    def report(self, name, params):
        return json.loads(self.get("/api/v1/reports/" + name, params)[1])


class Browser:
    """Chromium through chromedriver; `ready()` waits for the page's views to be drawn."""

    def __init__(self, c):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.options import Options
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise lib.CaseSkipped("python3-selenium is not installed")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        driver = shutil.which("chromedriver")
        if not chromium or not driver:
            raise lib.CaseSkipped("chromium and chromium-driver are needed")
        options = Options()
        options.binary_location = chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                  "--disable-dev-shm-usage", "--user-data-dir=%s" % c.path("chromium-profile")):
            options.add_argument(a)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.c = c
        self.d = webdriver.Chrome(service=Service(driver, log_output=c.path("chromedriver.log")) if _service_takes_log_output()
                                  else Service(driver), options=options)
        c.cleanups.append(self.d.quit)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def ready_after(self, before, what):
        """Waits until the page has drawn a view newer than `before` (body data-ready)."""
        self.c.wait_for(what, lambda: (self.js("return document.body.dataset.ready || ''") or "") not in ("", before), 30)
        return self.js("return document.body.dataset.ready")

    def open(self, url, what):
        self.d.get(url)
        return self.ready_after("", what)

    def errors(self):
        """The console's errors since the last call (the log is drained by reading it)."""
        return [e["message"] for e in self.d.get_log("browser") if e["level"] == "SEVERE"]

    def query(self):
        return urllib.parse.parse_qsl(urllib.parse.urlsplit(self.d.current_url).query)


def _service_takes_log_output():
    import inspect
    from selenium.webdriver.chrome.service import Service
    return "log_output" in inspect.signature(Service.__init__).parameters


def series_marks(b):
    return {k: v for k, v in b.js(
        "return [...document.querySelectorAll('svg.series path[data-key]')].map(p => [p.dataset.key, +p.dataset.sum])")}


def api_series_sums(doc):
    return {name: round(sum(row[i + 1] or 0 for row in doc["rows"])) for i, name in enumerate(doc["columns"][1:])}


def close(a, b, tolerance=1.0):
    return set(a) == set(b) and all(abs(a[k] - b[k]) <= tolerance for k in a)


def case(c):
    lib_bgp.need_tools(c, "gobgpd", "gobgp", "softflowd")
    browser = Browser(c)
    table = lf.rib()
    targets = destinations(table)
    c.check(len(targets) >= 4, "the route set should give at least 4 decided prefixes, got %d" % len(targets))
    pcap = c.path("console.pcap")
    truth = write_pcap(pcap, targets)
    datagrams = c.softflowd(pcap, 10)
    lib.log("softflowd exported %d datagrams for %d flows" % (len(datagrams), len(truth)))

    exits = {}
    for net, host, best in targets:
        exits[str(best.nexthop)] = exits.get(str(best.nexthop), 0) + truth[host]
    # Capacities: each exit's bit/s in its minute is a round share of its line.
    capacities = {"link-%d" % i: (hop, int(nbytes * 8 / 60 / share)) for i, ((hop, nbytes), share) in
                  enumerate(zip(sorted(exits.items()), (0.25, 0.5, 0.8, 0.9, 0.4, 0.6)))}
    groups = {"duct-1": sorted(exits)[:2]}
    pf = ConsolePathflow(c, capacities, groups).start()
    g = lib_bgp.GoBGPd(c, [("collector", lib_bgp.COLLECTOR_ADDRESS, pf.port)], routeset=matrix_routes).start()
    g.wait_established("collector")
    view = g.wait_view("collector")
    pf.wait_rib({g.address: view}, what="before the flows")
    lib.replay(datagrams, [pf.flow_port])
    pf.wait_datagrams(len(datagrams))

    def rows():
        try:
            with lib.connect_ro(pf.db) as conn:
                return conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM prefixes").fetchone()[0]
        except sqlite3.Error:
            return 0
    c.wait_for("every byte in the table", lambda: rows() >= sum(truth.values()), 20, proc=pf.proc)
    with lib.connect_ro(pf.db) as conn:
        stamps = [r[0] for r in conn.execute("SELECT DISTINCT stamp_inserted FROM prefixes")]
    c.check(len(stamps) == 1, "the flows should fall in one minute: %s" % stamps)
    minute = stamps[0][:16]
    next_minute = time.strftime("%Y-%m-%d %H:%M", time.localtime(time.mktime(time.strptime(minute, "%Y-%m-%d %H:%M")) + 60))

    api = Api(pf.console_port, TOKEN)
    c.wait_for("the collector's console to answer", lambda: api.get("/api/v1/view")[0] == 200, 20, proc=pf.proc)
    base = "http://127.0.0.1:%d" % pf.console_port
    port = c.free_port()
    serve = c.start("serve", [lib.PATHFLOW, "serve", "-f", pf.conf, "--listen", "127.0.0.1:%d" % port])
    other = Api(port, TOKEN)
    c.wait_for("pathflow serve to answer", lambda: other.get("/api/v1/view")[0] == 200, 20, proc=serve)

    # ---- the API against the oracles ------------------------------------------------------
    last = [("last", "1h")]
    top = api.report("top", last + [("by", "net_dst,mask_dst,peer_ip_dst,peer_as_dst"), ("n", "100")])
    got = {(r["net_dst"], r["mask_dst"]): (r["bytes"], r["peer_ip_dst"]) for r in top}
    want = {(str(net.network_address), str(net.prefixlen)): (truth[host], str(best.nexthop)) for net, host, best in targets}
    want[("0.0.0.0", "0")] = (truth[UNROUTED], "0.0.0.0")
    c.check(got == want, "bytes and exit per prefix through the API: %s, want %s" % (sorted(got.items()), sorted(want.items())))
    total = sum(truth.values())
    for path, params in [("/api/v1/reports/top", last + [("by", "peer_ip_dst")]),
                         ("/api/v1/reports/capacity", [("from", minute), ("to", next_minute)]),
                         ("/api/v1/reports/series", last + [("by", "peer_as_dst"), ("format", "table")]), ("/api/v1/view", [])]:
        c.check(api.get(path, params) == other.get(path, params), "the collector's console and `pathflow serve -f` differ on %s" % path)
    for path in ("/api/v1/view", "/api/v1/reports/top?by=peer_ip_dst"):
        try:
            status = api.get(path, token=False)[0]
        except urllib.error.HTTPError as e:
            status = e.code
        c.check(status == 401, "%s without the token: %s, want 401" % (path, status))

    # ---- the token: the page asks for it, then draws --------------------------------------
    browser.d.get(base + "/console/overview?last=1h")
    c.wait_for("the page to ask for the token", lambda: browser.js("return !!document.getElementById('token')"), 20)
    auth_errors = browser.errors()
    c.check(all("401" in e for e in auth_errors), "before the token, only the 401 may be logged: %s" % auth_errors)
    browser.js("document.getElementById('token').value = arguments[0]; document.querySelector('form.login button').click()", TOKEN)
    browser.ready_after("", "the overview after the token")

    # ---- overview ---------------------------------------------------------------------------
    doc = api.report("series", last + [("by", "peer_ip_src"), ("n", "6"), ("other", "1"), ("format", "table")])
    c.check(close(series_marks(browser), api_series_sums(doc)),
            "overview chart %s, API %s" % (series_marks(browser), api_series_sums(doc)))
    totals = [sum(v or 0 for v in row[1:]) for row in doc["rows"]]
    tiles = {k: v for k, v in browser.js(
        "return [...document.querySelectorAll('.tile')].map(t => [t.dataset.tile, +t.dataset.value])")}
    c.check(abs(tiles.get("average", -1) - sum(totals) / len(totals)) <= 1 and abs(tiles.get("peak", -1) - max(totals)) <= 1,
            "overview tiles %s, API totals avg %.0f peak %.0f" % (tiles, sum(totals) / len(totals), max(totals)))
    c.check(abs(sum(totals) * 60 / 8 - total) <= len(totals), "overview's bytes %.0f, the pcap's %d" % (sum(totals) * 60 / 8, total))
    bars = {k: v for k, v in browser.js(
        "return [...document.querySelectorAll('[data-report=top] rect[data-label]')].map(r => [r.dataset.label, +r.dataset.value])")}
    top_exits = api.report("top", last + [("by", "peer_ip_dst"), ("n", "10")])
    c.check(close(bars, {r["peer_ip_dst"]: r["avg_bps"] for r in top_exits}),
            "overview's top exits %s, API %s" % (bars, top_exits))
    quality = browser.js("return [...document.querySelectorAll('[data-report=quality] tbody tr')].map(r => r.cells[0].dataset.value)")
    c.check("all" in quality and "127.0.0.1" in quality, "overview's quality rows: %s" % quality)
    c.check(not browser.errors(), "overview: console errors %s" % browser.errors())

    # ---- series: a filter through the form, bins, the back button ------------------------------
    ready = browser.open(base + "/console/series?last=1h&by=peer_ip_dst&n=8", "the series page")
    before = series_marks(browser)
    doc = api.report("series", last + [("by", "peer_ip_dst"), ("n", "8"), ("other", "1"), ("format", "table")])
    c.check(close(before, api_series_sums(doc)), "series chart %s, API %s" % (before, api_series_sums(doc)))
    exit_hop = max(exits, key=exits.get)
    browser.js("""
        const f = document.querySelector('form.addfilter');
        f.querySelector('select').value = 'peer_ip_dst';
        f.querySelector('input').value = arguments[0];
        f.querySelector('button').click();""", exit_hop)
    ready = browser.ready_after(ready, "the series page with a filter")
    c.check(("where", "peer_ip_dst=" + exit_hop) in browser.query(), "the filter is in the URL: %s" % browser.d.current_url)
    after = series_marks(browser)
    doc = api.report("series", last + [("by", "peer_ip_dst"), ("n", "8"), ("other", "1"), ("where", "peer_ip_dst=" + exit_hop),
                                       ("format", "table")])
    c.check(close(after, api_series_sums(doc)), "filtered series chart %s, API %s" % (after, api_series_sums(doc)))
    c.check(abs(after.get(exit_hop, 0) * 60 / 8 - exits[exit_hop]) <= len(doc["rows"]) and after != before,
            "filtered on %s: %s bytes, the pcap's %d" % (exit_hop, after.get(exit_hop, 0) * 60 / 8, exits[exit_hop]))
    browser.js("const s = document.querySelector('select[name=bin]'); s.value = '5m'; s.dispatchEvent(new Event('change'))")
    ready = browser.ready_after(ready, "the series page in 5-minute bins")
    bins = browser.js("return +document.querySelector('svg.series').dataset.bins")
    doc = api.report("series", last + [("by", "peer_ip_dst"), ("n", "8"), ("other", "1"), ("where", "peer_ip_dst=" + exit_hop),
                                       ("bin", "5m"), ("format", "table")])
    c.check(bins == len(doc["rows"]) and ("bin", "5m") in browser.query(), "5-minute bins: %s drawn, API %d" % (bins, len(doc["rows"])))
    browser.d.back()
    ready = browser.ready_after(ready, "the series page after back")
    browser.d.back()
    ready = browser.ready_after(ready, "the series page after back again")
    c.check(("where", "peer_ip_dst=" + exit_hop) not in browser.query() and close(series_marks(browser), before),
            "back twice: %s, %s, want %s" % (browser.d.current_url, series_marks(browser), before))
    c.check(not browser.errors(), "series: console errors %s" % browser.errors())

    # ---- matrix, paths, prefixes: what is drawn is what the API says -----------------------------
    browser.open(base + "/console/matrix?last=1h&rows=peer_ip_src&columns=peer_ip_dst&cell=bytes", "the matrix page")
    cells = {(r, col): v for r, col, v in browser.js(
        "return [...document.querySelectorAll('svg.heatmap rect')].map(r => [r.dataset.row, r.dataset.column, +r.dataset.value])")}
    m = api.report("matrix", last + [("rows", "peer_ip_src"), ("columns", "peer_ip_dst"), ("cell", "bytes")])
    want_cells = {(row["peer_ip_src \\ peer_ip_dst"], k): v for row in m for k, v in row.items()
                  if k not in ("peer_ip_src \\ peer_ip_dst", "total")}
    c.check(cells == want_cells, "heat map %s, API %s" % (cells, want_cells))
    c.check(cells.get(("127.0.0.1", exit_hop)) == exits[exit_hop], "heat map cell of %s: %s, the pcap's %d" % (
        exit_hop, cells.get(("127.0.0.1", exit_hop)), exits[exit_hop]))

    browser.open(base + "/console/paths?last=1h", "the paths page")
    links = browser.js("return [...document.querySelectorAll('svg.sankey path[data-level=\"1\"]')]"
                       ".map(p => [p.dataset.from, p.dataset.to, +p.dataset.value])")
    paths = api.report("top", last + [("by", "peer_ip_src,peer_ip_dst,peer_as_dst"), ("n", "40")])
    want_links = {}
    for r in paths:
        k = (r["peer_ip_dst"], str(r["peer_as_dst"]))
        want_links[k] = want_links.get(k, 0) + r["bytes"]
    c.check({(a, b): v for a, b, v in links} == want_links, "Sankey exit → AS %s, API %s" % (links, want_links))

    browser.open(base + "/console/prefixes?last=1h", "the prefixes page")
    shown = browser.js("return [...document.querySelectorAll('[data-report=prefixes] tbody tr')]"
                       ".map(r => [...r.cells].map(td => td.dataset.value))")
    coverage = api.report("prefixes", last)
    c.check([[float(x) for x in row] for row in shown] ==
            [[float(r[k]) for k in ("traffic_share", "prefixes", "of_prefixes", "covered")] for r in coverage],
            "prefixes table %s, API %s" % (shown, coverage))
    c.check(not browser.errors(), "matrix, paths, prefixes: console errors %s" % browser.errors())

    # ---- capacity: utilisation of the one minute with traffic --------------------------------
    rng = "from=%s&to=%s" % (urllib.parse.quote(minute), urllib.parse.quote(next_minute))
    browser.open(base + "/console/capacity?" + rng, "the capacity page")
    drawn = {k: v for k, v in browser.js(
        "return [...document.querySelectorAll('[data-report=capacity] rect[data-value]')].map(r => [r.dataset.label, +r.dataset.value])")}
    cap = api.report("capacity", [("from", minute), ("to", next_minute)])
    c.check(close(drawn, {r["name"]: r["p95_util"] for r in cap}, 0.01), "capacity bars %s, API %s" % (drawn, cap))
    want_util = {name: round(exits[hop] * 8 / 60 / bps * 100, 2) for name, (hop, bps) in capacities.items()}
    c.check(close({r["name"]: r["p95_util"] for r in cap}, want_util, 0.02), "capacity p95_util %s, the pcap's %s" % (cap, want_util))
    c.check(not browser.errors(), "capacity: console errors %s" % browser.errors())

    # ---- failures and what-if, once the RIB snapshot is written --------------------------------
    pf.wait_snapshot(pf.db)
    browser.open(base + "/console/failures?%s&fail=%s" % (rng, exit_hop), "the failures page")
    worst = {k: v for k, v in browser.js(
        "return [...document.querySelectorAll('[data-report=failures] rect[data-value]')].map(r => [r.dataset.label, +r.dataset.value])")}
    fails = api.report("failures", [("from", minute), ("to", next_minute)])
    c.check(close(worst, {r["peer_ip_dst"]: r["worst_p95_bps"] for r in fails}), "failures bars %s, API %s" % (worst, fails))
    notes = " ".join(api.report("failures", [("from", minute), ("to", next_minute), ("format", "table")])["notes"])
    c.check("1 group(s)" in notes, "failures should take the group of console_failure_groups: %s" % notes)
    after = {k: v for k, v in browser.js(
        "return [...document.querySelectorAll('[data-report=what-if] rect[data-value]')].map(r => [r.dataset.label, +r.dataset.value])")}
    whatif = api.report("what-if", [("from", minute), ("to", next_minute), ("fail", exit_hop)])
    c.check(close(after, {r["peer_ip_dst"]: r["p95_bps_after"] for r in whatif}) and after.get(exit_hop) == 0,
            "what-if bars %s, API %s" % (after, whatif))
    c.check(not browser.errors(), "failures: console errors %s" % browser.errors())

    # ---- the state is the URL: the same view in a fresh tab ---------------------------------
    url = base + "/console/series?last=1h&by=peer_as_dst&n=3&stack=lines&where=peer_ip_src%3D127.0.0.1"
    browser.open(url, "a series view from its URL")
    first = series_marks(browser)
    browser.d.switch_to.new_window("tab")
    browser.open(url, "the same view in a new tab")
    c.check(series_marks(browser) == first and browser.js("return document.querySelector('select[name=by]').value") == "peer_as_dst",
            "the view from its URL: %s, then %s" % (first, series_marks(browser)))
    c.check(not browser.errors(), "URL views: console errors %s" % browser.errors())
    serve.stop()
    pf.stop()


if __name__ == "__main__":
    lib.main(case)
