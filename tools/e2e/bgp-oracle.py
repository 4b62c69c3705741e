#!/usr/bin/env python3
"""Proof of the BGP harness on the reference: pmacct's nfacctd (bgp_daemon,
bgp_table_dump_file every 60 s) fed by gobgpd and bird2 at once, both route
reflectors sending every path with ADD-PATH.  nfacctd's table dump must
equal each speaker's own view (per prefix, as a multiset of attribute
tuples; for gobgpd also by path id), have unique path ids and nfacctd
1.7.7's format -- after the initial table and again after changes 1-4.
The checker must also reject dumps mutated in four ways.

Not one of the numbered cases (it needs two nfacctd dumps, about 2-3
minutes, and no pathflow):

  /usr/bin/python3 tools/e2e/bgp-oracle.py [--save-fixture DIR]

--save-fixture writes the dumps to DIR (fixtures/bgp/pmacct-dump/):
nfacctd-gobgpd.jsonl (initial table), nfacctd-gobgpd-changed.jsonl (after
the changes), nfacctd-bird2.jsonl; the speakers' views they were checked
against (gobgpd-view.json, gobgpd-view-changed.json: `gobgp [-j] neighbor
ADDRESS adj-out -a ipv4|ipv6` outputs; bird2-view.txt: `birdc show route all
export collector`); and the configurations nfacctd.conf, gobgpd.conf,
bird2.conf (temporary directory shown as $WORK; bird2.conf is the initial
stage).
"""
import collections
import json
import os
import sys
import time

import lib
import lib_bgp
import ribcheck

SAVE = None
if "--save-fixture" in sys.argv:
    i = sys.argv.index("--save-fixture")
    SAVE = os.path.abspath(sys.argv[i + 1])
    del sys.argv[i:i + 2]


def mutations(dump_text):
    """(what, mutated text, function that must report a problem)."""
    lines = dump_text.splitlines()
    idx = [i for i, l in enumerate(lines) if '"event_type": "dump"' in l]
    out = []
    dropped = lines[:idx[0]] + lines[idx[0] + 1:]
    out.append(("one path dropped", dropped, "paths"))
    obj = json.loads(lines[idx[1]], object_pairs_hook=collections.OrderedDict)
    obj["local_pref"] = obj.get("local_pref", 100) + 1
    out.append(("a local_pref changed", lines[:idx[1]] + [json.dumps(obj)] + lines[idx[1] + 1:], "paths"))
    objs = {i: json.loads(lines[i], object_pairs_hook=collections.OrderedDict) for i in idx}
    i, j = [(i, j) for i in idx for j in idx if i < j and objs[i]["ip_prefix"] == objs[j]["ip_prefix"]][0]
    objs[j]["as_path_id"] = objs[i]["as_path_id"]
    out.append(("a path id duplicated", lines[:j] + [json.dumps(objs[j])] + lines[j + 1:], "ids"))
    c = json.loads(lines[idx[2]], object_pairs_hook=collections.OrderedDict)
    c.move_to_end("seq")
    out.append(("keys reordered", lines[:idx[2]] + [json.dumps(c)] + lines[idx[2] + 1:], "format"))
    return [(w, "\n".join(t) + "\n", k) for w, t, k in out]


def check_mutations(c, text, view):
    for what, mutated, kind in mutations(text):
        d = ribcheck.parse_dump(mutated, "mutated")
        if kind == "paths":
            found = d.problems + ribcheck.compare_paths(d.paths, view)
        elif kind == "ids":
            found = ribcheck.path_id_problems(d.paths)
        else:
            found = ribcheck.format_problems(d)
        c.check(found, "the checker did not notice a dump with %s" % what)
        lib.log("mutation '%s' detected: %s" % (what, found[:1]))


def save(c, by_router, names, configs, views=()):
    """Dumps, the configurations, and the speakers' raw views [(file, text)]."""
    os.makedirs(SAVE, exist_ok=True)
    for name, text in views:
        with open(os.path.join(SAVE, name), "w") as f:
            f.write(text)
    for router, name in names.items():
        with open(by_router[router]) as f, open(os.path.join(SAVE, name), "w") as g:
            g.write(f.read())
        lib.log("saved", os.path.join(SAVE, name))
    for conf in ("nfacctd.conf", "gobgpd.conf", "bird2.conf") if configs else ():
        with open(c.path(conf)) as f, open(os.path.join(SAVE, conf), "w") as g:
            g.write(f.read().replace(c.dir, "$WORK"))


def case(c):
    nf = lib_bgp.Nfacctd(c).start()
    speakers = [lib_bgp.GoBGPd(c, [("collector", nf.address, nf.port)]).start(),
                lib_bgp.Bird2(c, [("collector", nf.address, nf.port)]).start()]
    for sp in speakers:
        sp.wait_established("collector")
    views = {sp.address: sp.wait_view("collector") for sp in speakers}
    raw = raw_views(speakers, "")
    synced = time.time()
    stamp, files, dump = nf.wait_dump(synced + 2, list(views))
    lib.log("nfacctd dump at %s: %s" % (time.strftime("%H:%M:%S", time.localtime(stamp)), files))
    lib_bgp.check_dump_against_views(c, dump, views, "nfacctd's dump (initial table)")
    for sp in speakers:
        port = lib_bgp.session_source_port(sp.address, nf.address, nf.port)
        got = set(o.get("peer_tcp_port") for _, o, _ in dump.lines if o.get("peer_ip_src") == sp.address)
        c.check(got == {port}, "nfacctd's peer_tcp_port for %s: %s, the session's source port is %s" % (
            sp.address, got, port))
    with open(files[lib_bgp.GOBGP_ADDRESS]) as f:
        check_mutations(c, f.read(), views[lib_bgp.GOBGP_ADDRESS])
    if SAVE:
        save(c, files, {lib_bgp.GOBGP_ADDRESS: "nfacctd-gobgpd.jsonl", lib_bgp.BIRD_ADDRESS: "nfacctd-bird2.jsonl"}, True, raw)

    for sp in speakers:
        sp.apply_through(max(routes_steps()))
    views = {sp.address: sp.wait_view("collector") for sp in speakers}
    raw = raw_views(speakers[:1], "-changed")
    stamp2, files2, dump2 = nf.wait_dump(max(time.time() + 2, stamp + 1), list(views))
    lib_bgp.check_dump_against_views(c, dump2, views, "nfacctd's dump (after changes 1-4)")
    if SAVE:
        save(c, files2, {lib_bgp.GOBGP_ADDRESS: "nfacctd-gobgpd-changed.jsonl"}, False, raw)
    nf.stop()


def raw_views(speakers, suffix):
    """The speakers' own output behind their views: gobgpd's adj-out (JSON and
    text per family) as one JSON object, birdc's text as it is."""
    out = []
    for sp in speakers:
        if sp.kind == "gobgpd":
            out.append(("gobgpd-view%s.json" % suffix, json.dumps(sp.raw_view, indent=1) + "\n"))
        else:
            out.append(("%s-view%s.txt" % (sp.kind, suffix), sp.raw_view))
    return out


def routes_steps():
    return lib_bgp.routes.STEPS.keys()


lib.main(case)
