#!/usr/bin/env python3
"""Read a RIB dump in pmacct's bgp_table_dump_file format and compare it.

A dump is JSON lines: per router a `dump_init` line, one `dump` line per
path, a `dump_close` line (fixtures/bgp/pmacct-dump/README.md describes each
field as nfacctd 1.7.7 writes it).  This module turns a dump into Path
tuples keyed by (peer, afi, safi, prefix, path id) and compares:

  * with a speaker's own view of what it advertised (speakerview.py): per
    (peer, afi, safi, prefix) the multiset of attribute tuples must be
    equal, because path ids are chosen by the speaker and may differ
    between what it shows and what a collector received; when the view
    knows the ids (gobgpd), (prefix, path id) -> attributes as well;
  * with another dump line by line (pathflow against nfacctd): every line
    equal as JSON, key order included, except the fields in IGNORED;
  * with the format itself (key order, value types), see format_problems.

Usage:
  ribcheck.py paths DUMP                 the paths, one per line
  ribcheck.py check DUMP [VIEW.json]     format, unique path ids, and the
                                         paths against a saved view
  ribcheck.py diff DUMP_A DUMP_B         line-by-line comparison
Exit status 0 when nothing differs.  Standard library only.
"""

import collections
import ipaddress
import json
import re
import sys

# One path as the comparisons see it.  as_path is pmacct's text with AS_SET
# members sorted; comms, ecomms, lcomms are sorted tuples of pmacct's tokens
# (() when the attribute is absent); med and local_pref are None when absent.
Path = collections.namedtuple("Path", "peer afi safi prefix path_id next_hop as_path comms ecomms lcomms "
                                      "origin local_pref med")
ATTRIBUTES = ("next_hop", "as_path", "comms", "ecomms", "lcomms", "origin", "local_pref", "med")

# Fields that legitimately differ between two collectors fed by one speaker:
# when the dump was taken, its sequence number, and the speaker's TCP source
# port (one connection per collector).
IGNORED = ("timestamp", "seq", "peer_tcp_port")

# Key order of each line as nfacctd 1.7.7 writes it (JSON_PRESERVE_ORDER);
# optional keys are present only when the path has the attribute (or ADD-PATH
# was negotiated, for as_path_id).
KEY_ORDER = {
    "dump_init": [("timestamp", str, True), ("peer_ip_src", str, True), ("peer_tcp_port", int, True),
                  ("event_type", str, True), ("dump_period", int, True), ("seq", int, True)],
    "dump": [("seq", int, True), ("timestamp", str, True), ("peer_ip_src", str, True),
             ("peer_tcp_port", int, True), ("event_type", str, True), ("afi", int, True),
             ("safi", int, True), ("ip_prefix", str, True), ("as_path_id", int, False),
             ("bgp_nexthop", str, True), ("as_path", str, True), ("comms", str, False),
             ("ecomms", str, False), ("lcomms", str, False), ("origin", str, True),
             ("local_pref", int, False), ("med", int, False), ("aigp", int, False),
             ("psid_li", int, False)],
    "dump_close": [("timestamp", str, True), ("peer_ip_src", str, True), ("peer_tcp_port", int, True),
                   ("event_type", str, True), ("entries", int, True), ("tables", int, True),
                   ("seq", int, True)],
}
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ORIGINS = ("i", "e", "u")
WELL_KNOWN = {"internet": 0, "no-export": 0xFFFFFF01, "no-advertise": 0xFFFFFF02, "local-AS": 0xFFFFFF03}
WELL_KNOWN_NAMES = {v: k for k, v in WELL_KNOWN.items()}
FAMILIES = {(1, 1): "ipv4 unicast", (2, 1): "ipv6 unicast"}


# ------------------------------------------------------------------ canonical values
def canon_prefix(text):
    return str(ipaddress.ip_network(text, strict=False))


def canon_address(text):
    return str(ipaddress.ip_address(text))


def as_path_text(segments):
    """pmacct's rendering of [("seq"|"set"|"confed_seq"|"confed_set", [asn, ...]), ...];
    set members sorted (pmacct and BGP implementations keep sets sorted)."""
    out = []
    for kind, asns in segments:
        if kind == "seq":
            out.extend(str(a) for a in asns)
        elif kind == "set":
            out.append("{" + ",".join(str(a) for a in sorted(set(asns))) + "}")
        elif kind == "confed_seq":
            out.append("(" + " ".join(str(a) for a in asns) + ")")
        else:
            out.append("[" + ",".join(str(a) for a in sorted(set(asns))) + "]")
    return " ".join(out)


def parse_as_path(text):
    """pmacct's as_path text back into segments (inverse of as_path_text)."""
    segs = []
    for m in re.finditer(r"\{([^}]*)\}|\(([^)]*)\)|\[([^\]]*)\]|(\d+)", text):
        if m.group(1) is not None:
            segs.append(("set", [int(x) for x in re.split(r"[,\s]+", m.group(1).strip()) if x]))
        elif m.group(2) is not None:
            segs.append(("confed_seq", [int(x) for x in m.group(2).split()]))
        elif m.group(3) is not None:
            segs.append(("confed_set", [int(x) for x in re.split(r"[,\s]+", m.group(3).strip()) if x]))
        elif segs and segs[-1][0] == "seq":
            segs[-1][1].append(int(m.group(4)))
        else:
            segs.append(("seq", [int(m.group(4))]))
    return segs


def canon_as_path(text):
    return as_path_text(parse_as_path(text))


def community_value(token):
    if token in WELL_KNOWN:
        return WELL_KNOWN[token]
    hi, lo = token.split(":")
    return (int(hi) << 16) | int(lo)


def community_token(value):
    return WELL_KNOWN_NAMES.get(value, "%d:%d" % (value >> 16, value & 0xFFFF))


def canon_comms(values):
    """Communities (ints) as pmacct prints them: unique, numerically sorted."""
    return tuple(community_token(v) for v in sorted(set(values)))


def canon_lcomms(triples):
    return tuple("%d:%d:%d" % t for t in sorted(set(tuple(t) for t in triples)))


def canon_ecomms(tokens):
    return tuple(sorted(set(tokens)))


def split_tokens(text):
    return text.split() if text else []


# ------------------------------------------------------------------ dumps
class Dump:
    """A parsed dump: `lines` [(line number, dict in file order, raw text)],
    `paths` [Path], `routers` {peer: {"init": [dict], "close": [dict], "paths": [Path]}},
    and `problems` (structure: JSON errors, dump lines outside init/close,
    entries that do not match)."""

    def __init__(self, text, name="dump"):
        self.name = name
        self.lines = []
        self.paths = []
        self.routers = collections.OrderedDict()
        self.problems = []
        open_peers = {}
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw, object_pairs_hook=collections.OrderedDict)
            except ValueError as e:
                self.problems.append("%s:%d: not JSON (%s): %r" % (name, n, e, raw[:120]))
                continue
            if not isinstance(obj, dict):
                self.problems.append("%s:%d: not a JSON object" % (name, n))
                continue
            self.lines.append((n, obj, raw))
            peer = obj.get("peer_ip_src")
            event = obj.get("event_type")
            r = self.routers.setdefault(peer, {"init": [], "close": [], "paths": []})
            if event == "dump_init":
                if open_peers.get(peer):
                    self.problems.append("%s:%d: dump_init for %s inside an open dump" % (name, n, peer))
                open_peers[peer] = [0]
                r["init"].append(obj)
            elif event == "dump":
                if not open_peers.get(peer):
                    self.problems.append("%s:%d: dump line for %s outside dump_init/dump_close" % (name, n, peer))
                else:
                    open_peers[peer][0] += 1
                try:
                    p = path_of(obj)
                except (KeyError, ValueError, TypeError) as e:
                    self.problems.append("%s:%d: cannot read the path (%s: %s): %r" % (
                        name, n, type(e).__name__, e, raw[:160]))
                    continue
                self.paths.append(p)
                r["paths"].append(p)
            elif event == "dump_close":
                if not open_peers.get(peer):
                    self.problems.append("%s:%d: dump_close for %s without dump_init" % (name, n, peer))
                else:
                    if obj.get("entries") != open_peers[peer][0]:
                        self.problems.append("%s:%d: dump_close of %s says entries %r, %d dump lines" % (
                            name, n, peer, obj.get("entries"), open_peers[peer][0]))
                    open_peers[peer] = None
                r["close"].append(obj)
            else:
                self.problems.append("%s:%d: unknown event_type %r" % (name, n, event))
        for peer, state in open_peers.items():
            if state:
                self.problems.append("%s: dump of %s not closed (no dump_close)" % (name, peer))

    def peers(self):
        return [p for p in self.routers if p is not None]


def path_of(obj):
    return Path(
        peer=obj["peer_ip_src"], afi=obj["afi"], safi=obj["safi"], prefix=canon_prefix(obj["ip_prefix"]),
        path_id=obj.get("as_path_id"), next_hop=canon_address(obj["bgp_nexthop"]),
        as_path=canon_as_path(obj["as_path"]),
        comms=canon_comms(community_value(t) for t in split_tokens(obj.get("comms"))),
        ecomms=canon_ecomms(split_tokens(obj.get("ecomms"))),
        lcomms=canon_lcomms(tuple(int(x) for x in t.split(":")) for t in split_tokens(obj.get("lcomms"))),
        origin=obj["origin"], local_pref=obj.get("local_pref"), med=obj.get("med"))


def parse_dump(text, name="dump"):
    return Dump(text, name)


def read_dump(path):
    with open(path) as f:
        return Dump(f.read(), path)


def format_problems(dump, add_path=True):
    """Differences from nfacctd 1.7.7's format: key order and set, value
    types, timestamps, origin letters, afi/safi, one seq and timestamp per
    dump, and as_path_id on every path when ADD-PATH is expected."""
    out = []
    seqs, stamps = set(), set()
    for n, obj, raw in dump.lines:
        event = obj.get("event_type")
        spec = KEY_ORDER.get(event)
        if spec is None:
            continue
        where = "%s:%d (%s)" % (dump.name, n, event)
        allowed = [k for k, _, _ in spec]
        keys = list(obj.keys())
        unknown = [k for k in keys if k not in allowed]
        if unknown:
            out.append("%s: keys not in nfacctd's format: %s" % (where, unknown))
        missing = [k for k, _, req in spec if req and k not in obj]
        if missing:
            out.append("%s: missing keys %s" % (where, missing))
        known = [k for k in keys if k in allowed]
        if known != sorted(known, key=allowed.index):
            out.append("%s: key order %s, nfacctd's is %s" % (where, known, [k for k in allowed if k in obj]))
        for k, typ, _ in spec:
            if k in obj and (type(obj[k]) is not typ):
                out.append("%s: %s is %s %r, want %s" % (where, k, type(obj[k]).__name__, obj[k], typ.__name__))
        ts = obj.get("timestamp")
        if isinstance(ts, str) and not TIMESTAMP_RE.match(ts):
            out.append("%s: timestamp %r is not 'YYYY-MM-DD HH:MM:SS'" % (where, ts))
        seqs.add(obj.get("seq"))
        stamps.add(ts)
        if event == "dump":
            if obj.get("origin") not in ORIGINS:
                out.append("%s: origin %r not one of %s" % (where, obj.get("origin"), ORIGINS))
            if (obj.get("afi"), obj.get("safi")) not in FAMILIES:
                out.append("%s: afi/safi %r/%r" % (where, obj.get("afi"), obj.get("safi")))
            else:
                v6 = ":" in str(obj.get("ip_prefix", ""))
                if v6 != (obj["afi"] == 2):
                    out.append("%s: afi %d for prefix %r" % (where, obj["afi"], obj.get("ip_prefix")))
            if add_path and "as_path_id" not in obj:
                out.append("%s: no as_path_id (ADD-PATH was negotiated)" % where)
            for k in ("comms", "ecomms", "lcomms"):
                if k in obj and isinstance(obj[k], str) and obj[k] != " ".join(obj[k].split()):
                    out.append("%s: %s %r is not single-space separated" % (where, k, obj[k]))
            if isinstance(obj.get("as_path"), str) and canon_as_path(obj["as_path"]) != obj["as_path"]:
                out.append("%s: as_path %r, expected the form %r" % (where, obj["as_path"], canon_as_path(obj["as_path"])))
            for k, canon in (("comms", lambda s: " ".join(canon_comms(community_value(t) for t in s.split()))),
                             ("lcomms", lambda s: " ".join(canon_lcomms(tuple(int(x) for x in t.split(":"))
                                                                        for t in s.split())))):
                if isinstance(obj.get(k), str) and canon(obj[k]) != obj[k]:
                    out.append("%s: %s %r is not unique and sorted as pmacct prints it (%r)" % (
                        where, k, obj[k], canon(obj[k])))
        if event == "dump_close" and obj.get("tables") != 1:
            out.append("%s: tables %r (nfacctd writes 1 per router)" % (where, obj.get("tables")))
    if len(seqs) > 1:
        out.append("%s: several seq values in one dump: %s" % (dump.name, sorted(seqs, key=str)))
    if len(stamps) > 1:
        out.append("%s: several timestamps in one dump: %s" % (dump.name, sorted(stamps, key=str)))
    return out


# ------------------------------------------------------------------ comparisons
def attributes(p):
    return tuple(getattr(p, a) for a in ATTRIBUTES)


def show_attributes(attrs):
    d = dict(zip(ATTRIBUTES, attrs))
    parts = ["nh %s" % d["next_hop"], "as_path %r" % d["as_path"], "origin %s" % d["origin"]]
    for k in ("local_pref", "med"):
        if d[k] is not None:
            parts.append("%s %d" % (k, d[k]))
    for k in ("comms", "ecomms", "lcomms"):
        if d[k]:
            parts.append("%s %s" % (k, " ".join(d[k])))
    return "{" + ", ".join(parts) + "}"


def by_prefix(paths):
    out = collections.defaultdict(collections.Counter)
    for p in paths:
        out[(p.peer, p.afi, p.safi, p.prefix)][attributes(p)] += 1
    return out


def path_id_problems(paths, name="dump"):
    """Path ids must be unique per (peer, afi, safi, prefix) and present."""
    seen = collections.Counter((p.peer, p.afi, p.safi, p.prefix, p.path_id) for p in paths)
    out = ["%s: path id %r appears %d times for %s %s (afi %d)" % (name, k[4], n, k[0], k[3], k[1])
           for k, n in sorted(seen.items(), key=str) if n > 1]
    out += ["%s: no path id for %s %s" % (name, p.peer, p.prefix) for p in paths if p.path_id is None]
    return out


def compare_paths(got, want, got_name="dump", want_name="view", peers=None, show=8):
    """Per (peer, afi, safi, prefix): multiset of attribute tuples.  `peers`
    limits both sides to these routers.  Returns a list of differences."""
    if peers is not None:
        got = [p for p in got if p.peer in peers]
        want = [p for p in want if p.peer in peers]
    g, w = by_prefix(got), by_prefix(want)
    out = []
    for key in sorted(set(g) | set(w), key=str):
        extra = g[key] - w[key]
        missing = w[key] - g[key]
        for attrs, n in sorted(missing.items(), key=str):
            out.append("%s %s: path %s in %s, missing from %s%s" % (
                key[0], key[3], show_attributes(attrs), want_name, got_name, " (x%d)" % n if n > 1 else ""))
        for attrs, n in sorted(extra.items(), key=str):
            out.append("%s %s: path %s in %s, not in %s%s" % (
                key[0], key[3], show_attributes(attrs), got_name, want_name, " (x%d)" % n if n > 1 else ""))
    if len(out) > show:
        out = out[:show] + ["... %d more differences" % (len(out) - show)]
    return out


def compare_path_ids(got, want, got_name="dump", want_name="view", peers=None):
    """For views that know the path ids (gobgpd): (peer, afi, prefix, id) -> attributes."""
    def index(paths):
        return {(p.peer, p.afi, p.safi, p.prefix, p.path_id): attributes(p) for p in paths
                if (peers is None or p.peer in peers)}
    g = index(got)
    w = index([p for p in want if p.path_id is not None])
    out = []
    for k, attrs in sorted(w.items(), key=str):
        if k not in g:
            out.append("%s %s path id %s: in %s, not in %s" % (k[0], k[3], k[4], want_name, got_name))
        elif g[k] != attrs:
            out.append("%s %s path id %s: %s %s, %s %s" % (k[0], k[3], k[4], got_name, show_attributes(g[k]),
                                                            want_name, show_attributes(attrs)))
    return out


def comparable_line(obj, ignore=IGNORED):
    """A line as (key, value) pairs in file order without the ignored keys."""
    return tuple((k, json.dumps(v)) for k, v in obj.items() if k not in ignore)


def compare_dumps(a, b, ignore=IGNORED, show=8):
    """Line by line, per router: the multiset of lines (key order included)
    without the `ignore` keys; dump_init first and dump_close last in both."""
    out = []
    for d in (a, b):
        out += ["%s: %s" % (d.name, p) for p in d.problems]
    ca = collections.Counter((obj.get("peer_ip_src"), comparable_line(obj, ignore)) for _, obj, _ in a.lines)
    cb = collections.Counter((obj.get("peer_ip_src"), comparable_line(obj, ignore)) for _, obj, _ in b.lines)
    diffs = []
    for key, n in sorted((ca - cb).items(), key=str):
        diffs.append("only in %s: %s" % (a.name, "{" + ", ".join("%s: %s" % kv for kv in key[1]) + "}"))
    for key, n in sorted((cb - ca).items(), key=str):
        diffs.append("only in %s: %s" % (b.name, "{" + ", ".join("%s: %s" % kv for kv in key[1]) + "}"))
    if len(diffs) > show:
        diffs = diffs[:show] + ["... %d more lines differ" % (len(diffs) - show)]
    out += diffs
    for d in (a, b):
        for peer in d.peers():
            events = [obj.get("event_type") for _, obj, _ in d.lines if obj.get("peer_ip_src") == peer]
            if events and (events[0] != "dump_init" or events[-1] != "dump_close"):
                out.append("%s: lines of %s do not start with dump_init and end with dump_close" % (d.name, peer))
    return out


# ------------------------------------------------------------------ views saved as JSON
def paths_to_json(paths):
    return json.dumps([p._asdict() for p in paths], indent=1)


def paths_from_json(text):
    out = []
    for d in json.loads(text):
        for k in ("comms", "ecomms", "lcomms"):
            d[k] = tuple(d[k])
        out.append(Path(**d))
    return out


def main(argv):
    if len(argv) < 3 or argv[1] not in ("paths", "check", "diff"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "paths":
        for p in read_dump(argv[2]).paths:
            print("%s\t%s\t%s\t%s" % (p.peer, p.prefix, p.path_id, show_attributes(attributes(p))))
        return 0
    if argv[1] == "check":
        d = read_dump(argv[2])
        problems = d.problems + format_problems(d) + path_id_problems(d.paths, d.name)
        if len(argv) > 3:
            with open(argv[3]) as f:
                view = paths_from_json(f.read())
            problems += compare_paths(d.paths, view, d.name, argv[3], peers=set(p.peer for p in view))
            problems += compare_path_ids(d.paths, view, d.name, argv[3])
        print("%s: %d routers, %d paths" % (d.name, len(d.peers()), len(d.paths)))
    else:
        a, b = read_dump(argv[2]), read_dump(argv[3])
        problems = compare_dumps(a, b)
    for p in problems:
        print("  " + p)
    print("AGREE" if not problems else "DIFFER")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
