#!/usr/bin/env python3
"""`pathflow report … --format html` renders in a browser and says what the JSON
says: flowgen sends 20,000 IPFIX records into pathflow (tutorial config, 2 s
refresh); for `report matrix --rows ip_proto --columns dst_port` and
`report top --by ip_src` the values the SVG chart draws (its data-value
attributes, row by row) equal the JSON output's numbers, for `report series
--by ip_proto` each line's data-values equal its JSON column, every page's
subtitle states the bins its first note counts (`1 min bins, N bins`), the
page fetches nothing (no src= or href=, no script), and headless Chromium
renders it to a screenshot that is not blank."""
import json
import os
import re
import shutil
import struct
import zlib

import lib

RECORDS, KEYS = 20_000, 500


def report(db, *args):
    r = lib.run([lib.PATHFLOW, "report"] + list(args) + ["--db", db, "--table", "acct"],
                timeout=30, what="pathflow report " + " ".join(args))
    return r.stdout.decode()


def png_colours(path):
    """Distinct pixel values of an 8-bit RGB/RGBA PNG (stdlib only: inflate and unfilter)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6), "unexpected PNG format %d/%d" % (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        ftype, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                cur[i] = (cur[i] + a) & 255
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 255
            elif ftype == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:
            for x in range(0, stride, channels * 4):
                colours.add(bytes(cur[x:x + 3]))
        prev = cur
    return colours


def series_values(rows, html):
    """Each series line's data-values against its JSON column (series name = column)."""
    lines = re.findall(r'<polyline [^>]*class="series" data-series="([^"]*)" data-values="([^"]*)"', html)
    cols = [k for k in rows[0].keys() if k != "stamp_inserted"]
    got = {name: [float(v) for v in values.split()] for name, values in lines}
    want = {col: [float(row[col]) for row in rows] for col in cols}
    return got, want


def case(c):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        c.fail("missing tool: chromium (tools/deps test installs it)")
    db, conf = c.path("pathflow.db"), c.path("tutorial-2s.conf")
    with open(lib.TUTORIAL_CONF) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("sql_refresh_time: 60\n", "sql_refresh_time: 2\n"))
    pf, port, mport = c.start_pathflow(db, conf=conf)
    r = lib.run([lib.FLOWGEN, "--target", "127.0.0.1:%d" % port, "--keys", str(KEYS), "--records", str(RECORDS),
                 "--rate", "20000", "--seconds", "30", "--start-time", "1700000000"], timeout=60, what="flowgen")
    want_bytes = json.loads(r.stdout.decode().strip().splitlines()[-1])["bytes"]
    c.wait_for("all %d bytes in SQLite" % want_bytes, lambda: lib.table_totals(db)[2] == want_bytes, 30, proc=pf)
    c.stop_pathflow(pf)

    checks = [
        (["matrix", "--rows", "ip_proto", "--columns", "dst_port"],
         lambda rows, cols: [row[col] for row in rows for col in cols[1:-1]]),
        (["top", "--by", "ip_src", "-n", "8"], lambda rows, cols: [row["share"] for row in rows]),
        (["series", "--by", "ip_proto", "-n", "3"], None),
    ]
    for args, values in checks:
        rows = json.loads(report(db, *args, "--format", "json"))
        html = report(db, *args, "--format", "html")
        cols = list(rows[0].keys())
        if values is None:
            got, want = series_values(rows, html)
        else:
            want = [float(v) for v in values(rows, cols)]
            got = [float(v) for v in re.findall(r'data-value="([0-9.]+)"', html)]
        c.check(len(want) > 0 and got == want, "%s: the chart draws %s, the JSON says %s" % (
            " ".join(args), str(got)[:120], str(want)[:120]))
        # The subtitle states the range's bins as the first note counts them.
        note = re.search(r'<p class="note">(\d+) bins? of 60 s from ', html)
        subtitle = re.search(r'<p class="subtitle">([^<]*)</p>', html)
        c.check(note is not None and subtitle is not None
                and ("1 min bins, %s bin" % note.group(1)) in subtitle.group(1)
                and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\(|to )", subtitle.group(1)) is not None,
                "%s: no subtitle with the range and its bins (%s)" % (
                    " ".join(args), subtitle.group(1) if subtitle else "none"))
        c.check("<svg" in html and "<table>" in html, "%s: no chart or no table in the page" % " ".join(args))
        c.check(not re.search(r"<script|\bsrc=|\bhref=", html), "%s: the page fetches or runs something" % " ".join(args))
        page = c.path(args[0] + ".html")
        with open(page, "w") as f:
            f.write(html)
        shot = c.path(args[0] + ".png")
        lib.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--window-size=1200,900", "--screenshot=%s" % shot, "file://%s" % page],
                timeout=90, what="chromium --screenshot", check=False)
        c.check(os.path.exists(shot), "%s: chromium wrote no screenshot" % " ".join(args))
        if os.path.exists(shot):
            colours = png_colours(shot)
            c.check(len(colours) > 8, "%s: the screenshot is blank (%d colours)" % (" ".join(args), len(colours)))
            lib.log("%s: %d values charted, screenshot %d bytes, %d colours" % (
                " ".join(args), len(got) if values is not None else sum(len(v) for v in got.values()),
                os.path.getsize(shot), len(colours)))


lib.main(case)
