#!/usr/bin/env python3
"""Compare a speaker's own view of what it advertised with the decoded capture.

Usage: crosscheck.py SPEAKER VIEW.txt EXPECTED.json

SPEAKER is gobgpd, bird2, frr or exabgp; VIEW.txt is the text capture.sh
saved from the speaker ("## command" headers, then the command's output);
EXPECTED.json is tools/bgp/decode.py output for the same session.  The check
is deliberately narrow: the multiset of (prefix, next hop) pairs the speaker
lists as advertised must equal the one in decode's final_rib (the table a
receiver holds after the last message).  For exabgp, whose view names the
path-information, (prefix, path id, next hop) triples are compared.  Prints
the verdict and any differences; exit status 0 when they agree.
Standard library only.
"""

import ipaddress
import json
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speakerview  # noqa: E402


def is_ip(tok):
    try:
        ipaddress.ip_address(tok)
        return True
    except ValueError:
        return False


def is_prefix(tok):
    if "/" not in tok:
        return False
    try:
        ipaddress.ip_network(tok)
        return True
    except ValueError:
        return False


def sections(text):
    cur, out = None, {}
    for line in text.splitlines():
        if line.startswith("## "):
            cur = line[3:]
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def table_pairs(lines):
    """gobgp / vtysh tables: prefix column, then the first address = next hop."""
    pairs = []
    cur = None
    pending = False
    for line in lines:
        toks = [re.sub(r"^[*>=si ]*[i ]?", "", t) if i == 0 else t
                for i, t in enumerate(line.split())]
        pfx = [t for t in toks if is_prefix(t)]
        if not pfx:
            # vtysh glues the status codes to the prefix ("*>i192.0.2.0/24")
            m = re.match(r"^[*>=sidhrSR ]*([0-9a-fA-F:.]+/\d+)", line.strip())
            if m and is_prefix(m.group(1)):
                pfx = [m.group(1)]
                toks = [m.group(1)] + line.strip()[m.end():].split()
        if pfx:
            cur = pfx[0]
            after = toks[toks.index(cur) + 1:]
            ips = [t for t in after if is_ip(t)]
            if ips:
                pairs.append((cur, ips[0]))
                pending = False
            else:
                pending = True
            continue
        ips = [t for t in line.split() if is_ip(t)]
        if cur and ips:
            pairs.append((cur, ips[0]))
            pending = False
    return pairs


def bird_pairs(lines):
    """`birdc show route ... all`: the parser the end-to-end cases use (speakerview.py)."""
    return [(p.prefix, p.next_hop) for p in speakerview.bird_paths("", "\n".join(lines))]


def exabgp_triples(lines):
    out = []
    for line in lines:
        m = re.search(r"\s([0-9a-fA-F:.]+/\d+)\s.*?path-information\s+(\S+)\s.*?next-hop\s+(\S+)", line)
        if m:
            pid = int(ipaddress.IPv4Address(m.group(2)))
            out.append((m.group(1), pid, m.group(3)))
    return out


def main():
    speaker, view, expected = sys.argv[1:4]
    secs = sections(open(view).read())
    rib = json.load(open(expected))["final_rib"]
    if speaker == "exabgp":
        got = Counter(t for lines in secs.values() for t in exabgp_triples(lines))
        want = Counter((r["prefix"], r["path_id"], r["next_hop"]) for r in rib)
        what = "(prefix, path id, next hop)"
    else:
        if speaker == "bird2":
            got = Counter(p for lines in secs.values() for p in bird_pairs(lines))
        else:
            got = Counter(p for title, lines in secs.items()
                          if "advertised-routes" in title or "adj-out" in title
                          for p in table_pairs(lines))
        want = Counter((r["prefix"], r["next_hop"]) for r in rib)
        what = "(prefix, next hop)"
    print("speaker %s: %d %s entries in its own view, %d in the decoded final table" % (
        speaker, sum(got.values()), what, sum(want.values())))
    if got == want:
        print("AGREE")
        return 0
    print("DIFFER")
    for k in sorted(set(got) | set(want), key=str):
        if got[k] != want[k]:
            print("  %s: speaker %d, decoded %d" % (k, got[k], want[k]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
