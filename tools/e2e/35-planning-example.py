#!/usr/bin/env python3
"""README's "Planning with pathflow" as it stands: tools/demo/planning.py writes
five weeks of hourly per-prefix traffic, the RIB snapshot and one recorded
egress shift; `report failures`, `shifts` (rows and the demand/routing split)
and `demands` are run as the README runs them and every number is checked
against a computation here from the generated tables (nearest-rank p95 of
hourly bit/s, each prefix's traffic moved to its router's first standing path,
the split's two sums).  Then every table line the README shows for a command
must appear in that command's text output, so the worked example cannot go
stale.  A few seconds."""
import calendar
import json
import math
import os
import re
import sqlite3
import time

import lib

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "demo", "planning.py")
README = os.path.join(HERE, "..", "..", "README.md")
HOUR = 3600
WEEK = ("2026-11-29 00:00:00", "2026-12-06 00:00:00")
BASE = ("2026-11-22 00:00:00", "2026-11-29 00:00:00")


def p95(series, bins):
    values = sorted(series + [0] * (bins - len(series)))
    return values[math.ceil(0.95 * bins) - 1] * 8 / HOUR


def load(db, frm, to):
    """{(router, net, mask, hop, asn): {stamp: bytes}} for stamps in [frm, to)."""
    out = {}
    for row in db.execute("SELECT peer_ip_src, net_dst, mask_dst, peer_ip_dst, peer_as_dst, stamp_inserted, bytes "
                          "FROM prefixes WHERE stamp_inserted >= ? AND stamp_inserted < ?", (frm, to)):
        out.setdefault(row[:5], {})[row[5]] = row[6]
    return out


def report(c, *args, fmt="json"):
    argv = [lib.PATHFLOW, "report", args[0], "--db", "planning.db", "--table", "prefixes", "--bin", "1h", "--utc"]
    argv += list(args[1:]) + ["--format", fmt]
    r = lib.run(argv, timeout=60, what="pathflow report %s" % " ".join(args))
    return json.loads(r.stdout.decode()) if fmt == "json" else r.stdout.decode()


def close(a, b):
    """JSON rates are whole bit/s."""
    return abs(a - b) <= 0.5 + 1e-9 * max(abs(a), abs(b))


def since(line):
    """A failure report's runout is `now` once its date has passed: the README's dates as a
    report run today prints them."""
    def past(m):
        t = calendar.timegm(time.strptime(m.group(0), "%Y-%m-%d %H:%M:%S"))
        return "now" if t <= time.time() else m.group(0)
    if not line.startswith("10.0.0.") or "Gbit/s" not in line or "%" not in line:
        return line
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", past, line)


def case(c):
    os.chdir(c.dir)
    lib.run(["/usr/bin/python3", DEMO, c.dir], timeout=60, what="tools/demo/planning.py")
    db = sqlite3.connect("planning.db")
    ranks = {}
    for router, net, mask, hop, asn, er in db.execute(
            "SELECT peer_ip_src, net_dst, mask_dst, peer_ip_dst, peer_as_dst, exit_router FROM rib_paths ORDER BY rank"):
        ranks.setdefault((router, net, mask), []).append((hop, er))
    week = load(db, *WEEK)
    bins = 7 * 24
    stamps = sorted({s for v in week.values() for s in v})
    c.check(len(stamps) == bins, "the demo's week has %d hours" % len(stamps))

    # ---- failures: every next-hop, every exit router and the duct
    failures = {}
    hops = sorted({k[3] for k in week})
    for h in hops:
        failures[h] = lambda hop, er, h=h: hop == h
    for er in sorted({er for paths in ranks.values() for _, er in paths}):
        failures["router " + er] = lambda hop, e, er=er: e == er
    failures["duct-7"] = lambda hop, er: hop in ("10.0.0.1", "10.0.0.3")

    def exit_loads(fail):
        out = {}
        for (router, net, mask, hop, asn), series in week.items():
            paths = ranks[(router, net, mask)]
            er = next(e for h, e in paths if h == hop)
            to = hop
            if fail and fail(hop, er):
                to = next((h for h, e in paths if not fail(h, e)), None)
            if to is None:
                continue
            for s, b in series.items():
                out.setdefault(to, {}).setdefault(s, 0)
                out[to][s] += b
        return {x: p95(list(v.values()), bins) for x, v in out.items()}

    normal = exit_loads(None)
    worst = {x: (v, None) for x, v in normal.items()}
    for name, fail in failures.items():
        for x, v in exit_loads(fail).items():
            if v > worst.get(x, (0, None))[0]:
                worst[x] = (v, name)
    got = report(c, "failures", "--fail-each", "peer_ip_dst,exit_router", "--groups", "srlg.txt",
                 "--capacities", "links.txt", "--from", WEEK[0][:10], "--to", WEEK[1][:10])
    c.check({r["peer_ip_dst"] for r in got} == set(worst), "failures: exits %s" % [r["peer_ip_dst"] for r in got])
    for r in got:
        want_p95, want_failure = worst[r["peer_ip_dst"]]
        c.check(close(r["p95_bps"], normal[r["peer_ip_dst"]]) and close(r["worst_p95_bps"], want_p95)
                and r["worst_failure"] == (want_failure or "-"),
                "failures %s: p95 %s, worst %s by %s; want %s, %s by %s" % (
                    r["peer_ip_dst"], r["p95_bps"], r["worst_p95_bps"], r["worst_failure"],
                    normal[r["peer_ip_dst"]], want_p95, want_failure))

    # ---- shifts: the recorded changes and the whole bins around them
    changes = db.execute("SELECT stamp, time_ms, peer_ip_src, net_dst, mask_dst, reason, old_peer_ip_dst, "
                         "new_peer_ip_dst FROM rib_best_changes ORDER BY time_ms").fetchall()
    day = load(db, "2026-12-02 00:00:00", "2026-12-03 00:00:00")
    got = report(c, "shifts", "--from", "2026-12-02", "--to", "2026-12-03")
    c.check(len(got) == len(changes) == 2, "shifts: %d rows, %d changes" % (len(got), len(changes)))
    for row, (stamp, ms, router, net, mask, reason, old, new) in zip(got, changes):
        hour = (ms // 1000) // HOUR * HOUR
        before_stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(hour - HOUR))
        after_stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(hour + HOUR))

        def rate(hop, s):
            return sum(v.get(s, 0) for k, v in day.items() if k[:4] == (router, net, mask, hop)) * 8 / HOUR
        c.check(row["peer_ip_src"] == router and row["prefix"] == "%s/%d" % (net, mask) and row["reason"] == reason
                and row["from"] == old and row["to"] == new and row["time"] == stamp,
                "shifts row %s, want %s" % (row, (stamp, router, net, mask, reason, old, new)))
        c.check(close(row["before_bps"], rate(old, before_stamp)) and close(row["after_bps"], rate(new, after_stamp)),
                "shifts %s: before %s after %s, want %s %s" % (router, row["before_bps"], row["after_bps"],
                                                              rate(old, before_stamp), rate(new, after_stamp)))

    # ---- the split: per router and prefix, d1, d2 and the shares per exit
    base = load(db, *BASE)
    seconds = 7 * 86400
    per = {}
    for data, i in ((base, 0), (week, 1)):
        for (router, net, mask, hop, asn), series in data.items():
            per.setdefault((router, net, mask), [{}, {}])[i][hop] = sum(series.values()) * 8 / seconds
    want = {}
    for one, two in per.values():
        d1, d2 = sum(one.values()), sum(two.values())
        for x in set(one) | set(two):
            s1 = one.get(x, 0) / d1 if d1 else 0
            s2 = two.get(x, 0) / d2 if d2 else s1
            w = want.setdefault(x, [0, 0, 0, 0])
            w[0] += one.get(x, 0)
            w[1] += two.get(x, 0)
            w[2] += (d2 - d1) * s2
            w[3] += d1 * (s2 - s1)
    got = report(c, "shifts", "--baseline-from", BASE[0][:10], "--baseline-to", BASE[1][:10],
                 "--from", WEEK[0][:10], "--to", WEEK[1][:10])
    c.check({r["peer_ip_dst"] for r in got} == set(want), "split: exits %s" % [r["peer_ip_dst"] for r in got])
    for r in got:
        w = want[r["peer_ip_dst"]]
        c.check(all(close(a, b) for a, b in zip(
            (r["avg_bps_baseline"], r["avg_bps"], r["demand_bps"], r["routing_bps"]), w)),
            "split %s: %s, want %s" % (r["peer_ip_dst"], r, w))
    # ---- demands: each pair's own p95
    pairs = {}
    for (router, net, mask, hop, asn), series in week.items():
        for s, b in series.items():
            pairs.setdefault((router, hop), {}).setdefault(s, 0)
            pairs[(router, hop)][s] += b
    got = report(c, "demands", "--from", WEEK[0][:10], "--to", WEEK[1][:10])
    c.check(len(got) == len(pairs), "demands: %d pairs, want %d" % (len(got), len(pairs)))
    for r in got:
        want_p95 = p95(list(pairs[(r["source"], r["dest"])].values()), bins)
        c.check(close(r["p95_bps"], want_p95), "demands %s: %s, want %s" % (r, r["p95_bps"], want_p95))

    # ---- README: each shown table line is in the output of its command
    text = open(README).read()
    start = text.index("## Planning with pathflow")
    section = text[start:text.index("\n## ", start + 1)]
    # Fenced blocks in order; a shell block followed by a plain one is a command and what it prints.
    fences = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
    blocks = [(a[1], b[1]) for a, b in zip(fences, fences[1:]) if a[0] == "sh" and b[0] == ""]
    c.check(len(blocks) >= 4, "README's planning section: %d command/output pairs" % len(blocks))
    for commands, shown in blocks:
        outputs = ""
        for line in commands.strip().splitlines():
            if not line.startswith("r "):
                continue
            args = line.split()[1:]
            fmt = args[args.index("--format") + 1] if "--format" in args else "text"
            if "--format" in args:
                i = args.index("--format")
                args = args[:i] + args[i + 2:]
            outputs += report(c, *args, fmt=fmt)
        have = [re.sub(r"\s+", " ", l).strip() for l in outputs.splitlines()]
        for line in shown.splitlines():
            if line.strip() in ("", "..."):
                continue
            c.check(re.sub(r"\s+", " ", since(line)).strip() in have, "README line not in the output of %s: %r" % (
                commands.strip().splitlines(), line))


lib.main(case)
