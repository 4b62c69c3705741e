#!/usr/bin/env python3
"""Offline tests of ribcheck.py and speakerview.py against the real captures:
fixtures/bgp/pmacct-dump/ (nfacctd 1.7.7 dumps) and the speaker views in
fixtures/bgp/.  Run: /usr/bin/python3 tools/bgp/test_ribcheck.py
Standard library only."""

import collections
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ribcheck      # noqa: E402
import routes        # noqa: E402
import speakerview   # noqa: E402

FIX = os.path.join(HERE, "..", "..", "fixtures", "bgp")
DUMPS = os.path.join(FIX, "pmacct-dump")
GOBGP, BIRD = "127.0.0.2", "127.0.0.3"


def dump(name):
    return ribcheck.read_dump(os.path.join(DUMPS, name))


def rewrite(text, index, change):
    """The dump text with dump line `index` (0-based among dump lines) changed."""
    lines = text.splitlines()
    where = [i for i, l in enumerate(lines) if '"event_type": "dump"' in l][index]
    obj = json.loads(lines[where], object_pairs_hook=collections.OrderedDict)
    change(obj)
    lines[where] = json.dumps(obj)
    return "\n".join(lines) + "\n"


class NfacctdDumps(unittest.TestCase):
    def test_well_formed(self):
        for name in ("nfacctd-gobgpd.jsonl", "nfacctd-gobgpd-changed.jsonl", "nfacctd-bird2.jsonl"):
            d = dump(name)
            self.assertEqual(d.problems, [], name)
            self.assertEqual(ribcheck.format_problems(d), [], name)
            self.assertEqual(ribcheck.path_id_problems(d.paths), [], name)

    def test_gobgpd_equals_route_set(self):
        for name, stage, n in (("nfacctd-gobgpd.jsonl", 0, 12), ("nfacctd-gobgpd-changed.jsonl", 4, 11)):
            d = dump(name)
            want = speakerview.route_set_paths(GOBGP, routes.table(stage), with_ids=True)
            self.assertEqual(len(d.paths), n)
            self.assertEqual(ribcheck.compare_paths(d.paths, want), [], name)
            self.assertEqual(ribcheck.compare_path_ids(d.paths, want), [], name)

    def test_bird2_equals_flattened_route_set(self):
        want = speakerview.route_set_paths(BIRD, routes.table(0), flatten_sets=True)
        self.assertEqual(ribcheck.compare_paths(dump("nfacctd-bird2.jsonl").paths, want), [])

    def test_stages_differ(self):
        want = speakerview.route_set_paths(GOBGP, routes.table(4))
        diff = ribcheck.compare_paths(dump("nfacctd-gobgpd.jsonl").paths, want)
        # replace (2 lines), 2 withdrawals, 1 addition
        self.assertEqual(len(diff), 5, diff)

    def test_mutations_are_noticed(self):
        with open(os.path.join(DUMPS, "nfacctd-gobgpd.jsonl")) as f:
            text = f.read()
        want = speakerview.route_set_paths(GOBGP, routes.table(0), with_ids=True)

        def paths_differ(t):
            d = ribcheck.parse_dump(t)
            return ribcheck.compare_paths(d.paths, want) + ribcheck.compare_path_ids(d.paths, want)
        self.assertTrue(paths_differ(rewrite(text, 3, lambda o: o.update(comms="65000:10"))))
        self.assertTrue(paths_differ(rewrite(text, 0, lambda o: o.pop("med"))))
        self.assertTrue(paths_differ(rewrite(text, 0, lambda o: o.update(as_path="65020 {65021}"))))
        self.assertTrue(paths_differ(rewrite(text, 1, lambda o: o.update(origin="i"))))
        self.assertTrue(paths_differ(rewrite(text, 2, lambda o: o.update(as_path_id=9))))
        self.assertTrue(ribcheck.format_problems(ribcheck.parse_dump(
            rewrite(text, 0, lambda o: o.update(med=str(o["med"]))))))
        self.assertTrue(ribcheck.format_problems(ribcheck.parse_dump(
            rewrite(text, 3, lambda o: o.update(comms="no-export 65000:10")))))
        self.assertTrue(ribcheck.format_problems(ribcheck.parse_dump(
            rewrite(text, 0, lambda o: o.update(origin="?")))))
        self.assertTrue(ribcheck.path_id_problems(ribcheck.parse_dump(
            rewrite(text, 1, lambda o: o.update(as_path_id=1))).paths))
        d = ribcheck.parse_dump("\n".join(l for l in text.splitlines() if "dump_close" not in l))
        self.assertTrue(d.problems)

    def test_compare_dumps_ignores_only_volatile_fields(self):
        with open(os.path.join(DUMPS, "nfacctd-gobgpd.jsonl")) as f:
            text = f.read()
        stamp = json.loads(text.splitlines()[0])["timestamp"]
        other = text.replace('"seq": 0', '"seq": 7').replace(stamp, "2001-02-03 04:05:00")
        self.assertNotEqual(other, text)
        self.assertEqual(ribcheck.compare_dumps(ribcheck.parse_dump(text, "a"), ribcheck.parse_dump(other, "b")), [])
        moved = rewrite(text, 0, lambda o: o.move_to_end("med", last=False))
        self.assertTrue(ribcheck.compare_dumps(ribcheck.parse_dump(text, "a"), ribcheck.parse_dump(moved, "b")))


class Values(unittest.TestCase):
    def test_as_path_forms(self):
        for text in ("", "65020 {65021,65022}", "(65001 65002) 65003 [65004,65005] 4200000001"):
            self.assertEqual(ribcheck.canon_as_path(text), text)
        self.assertEqual(ribcheck.canon_as_path("65030 {4200000003,65031}"), "65030 {65031,4200000003}")

    def test_communities(self):
        self.assertEqual(ribcheck.canon_comms([0xFFFFFF01, (65000 << 16) | 10, (65000 << 16) | 10]),
                         ("65000:10", "no-export"))


class SpeakerViews(unittest.TestCase):
    def test_saved_views_equal_nfacctd(self):
        """The views the harness compared with nfacctd's dumps, parsed again."""
        for view, name in (("gobgpd-view.json", "nfacctd-gobgpd.jsonl"),
                           ("gobgpd-view-changed.json", "nfacctd-gobgpd-changed.jsonl")):
            with open(os.path.join(DUMPS, view)) as f:
                raw = json.load(f)
            got = []
            for fam in ("ipv4", "ipv6"):
                got += speakerview.gobgp_paths(GOBGP, raw[fam]["json"], raw[fam]["text"])
            d = dump(name)
            self.assertEqual(len(got), len(d.paths))
            self.assertTrue(all(p.path_id is not None for p in got))
            self.assertEqual(ribcheck.compare_paths(d.paths, got), [], view)
            self.assertEqual(ribcheck.compare_path_ids(d.paths, got), [], view)
        with open(os.path.join(DUMPS, "bird2-view.txt")) as f:
            got = speakerview.bird_paths(BIRD, f.read())
        self.assertEqual(len(got), 12)
        self.assertEqual(ribcheck.compare_paths(dump("nfacctd-bird2.jsonl").paths, got), [])

    def test_bird_view_of_the_capture(self):
        with open(os.path.join(FIX, "bird2-addpath.speaker-view.txt")) as f:
            got = speakerview.bird_paths(BIRD, f.read())
        want = speakerview.route_set_paths(BIRD, routes.table(3), flatten_sets=True)
        self.assertEqual(len(got), 10)
        self.assertEqual(ribcheck.compare_paths(got, want), [])

    def test_gobgp_ids_from_text(self):
        with open(os.path.join(FIX, "gobgpd-addpath.speaker-view.txt")) as f:
            ids = speakerview.gobgp_ids(f.read())
        self.assertEqual(ids[("192.0.2.0/24", "10.0.0.2")], [2])
        self.assertEqual(ids[("2001:db8:1::/48", "2001:db8:ffff::2")], [2])
        self.assertEqual(sum(len(v) for v in ids.values()), 10)


if __name__ == "__main__":
    unittest.main()
