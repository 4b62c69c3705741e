// pathflow console: reads the page's state from its URL, asks /api/v1 for the reports and draws
// them. Every control changes the URL (so a view can be bookmarked and shared); the browser's
// back and forward buttons walk the views. Charts carry their numbers in data-* attributes.
"use strict";
(() => {
  const PAGES = [
    ["overview", "Overview"], ["series", "Time series"], ["matrix", "Matrix"], ["paths", "Paths"],
    ["capacity", "Capacity"], ["failures", "Failures"], ["prefixes", "Prefixes"],
  ];
  const RANGES = ["1h", "6h", "24h", "7d", "30d", "90d"];
  const BINS = ["1m", "5m", "15m", "1h", "6h", "1d"];
  // Kept when moving from page to page: the range, bins and filters.
  const SHARED = ["last", "from", "to", "bin", "where"];
  const COLORS = ["#1f5fbf", "#e07b22", "#2e9d5b", "#c23b3b", "#7a52b3", "#8c6239", "#d45ca8", "#5f6b7a", "#a5a825", "#1aa3b5"];
  const OTHER = "#b9c0ca";
  const SVGNS = "http://www.w3.org/2000/svg";

  const page = document.body.dataset.page;
  let params = new URLSearchParams(location.search);
  let view = null;
  let generation = 0;

  // ---- DOM ----------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function tip(text) { return svg("title", {}, text); }

  // ---- numbers ------------------------------------------------------------------------------
  function si(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    const p = ["", "k", "M", "G", "T", "P", "E"];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < p.length - 1) { v /= 1000; i++; }
    const digits = Math.abs(v) >= 100 || i === 0 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return v.toFixed(digits) + " " + p[i] + unit;
  }
  function show(v, type) {
    if (v === null || v === undefined) return "–";
    switch (type) {
      case "bytes": return si(v, "B");
      case "rate": return si(v, "bit/s");
      case "percent": return v.toFixed(1) + " %";
      default: return String(v);
    }
  }
  function niceStep(span, ticks) {
    const raw = span / Math.max(1, ticks);
    const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }

  // ---- state --------------------------------------------------------------------------------
  function setParams(next, replace) {
    params = next;
    const qs = params.toString();
    const url = location.pathname + (qs ? "?" + qs : "");
    if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    render();
  }
  function change(name, value, keepEmpty) {
    const next = new URLSearchParams(params);
    if (value === null || value === undefined || (value === "" && !keepEmpty)) next.delete(name); else next.set(name, value);
    setParams(next);
  }
  function get(name, fallback) { return params.has(name) ? params.get(name) : fallback; }
  function shared() {
    const q = new URLSearchParams();
    for (const k of SHARED) for (const v of params.getAll(k)) q.append(k, v);
    return q;
  }
  // The range and filters of every report: the default range is the last 24 hours.
  function rangeQuery() {
    const q = shared();
    if (!q.has("last") && !q.has("from") && !q.has("to")) q.set("last", "24h");
    return q;
  }
  function pick(preferred) {
    const cols = view ? view.primitives : [];
    for (const p of preferred) if (cols.includes(p)) return p;
    return cols[0] || preferred[0];
  }

  // ---- API ----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function api(path, query) {
    const headers = {};
    const token = localStorage.getItem("pathflow-token");
    if (token) headers.Authorization = "Bearer " + token;
    const url = "/api/v1/" + path + (query && query.toString() ? "?" + query.toString() : "");
    let response;
    try {
      response = await fetch(url, { headers });
    } catch (e) {
      throw new ApiError(0, "cannot reach pathflow: " + e.message);
    }
    const text = await response.text();
    if (response.status === 401) {
      localStorage.removeItem("pathflow-token");
      askToken();
      throw new ApiError(401, "this console needs its token");
    }
    if (!response.ok) {
      let message = text;
      try { message = JSON.parse(text).error; } catch (e) { /* not JSON: the text says it */ }
      throw new ApiError(response.status, message);
    }
    return JSON.parse(text);
  }
  function reportQuery(extra) {
    const q = rangeQuery();
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined || v === null || v === "") continue;
      q.set(k, v);
    }
    return q;
  }
  async function report(name, extra) {
    const q = reportQuery(extra);
    q.set("format", "table");
    return api("reports/" + name, q);
  }
  function askToken() {
    const box = document.getElementById("message");
    if (box.querySelector(".login")) return;
    const input = el("input", { type: "password", placeholder: "token", id: "token" });
    const form = el("form", { class: "login", onsubmit: (e) => {
      e.preventDefault();
      localStorage.setItem("pathflow-token", input.value.trim());
      box.replaceChildren();
      start();
    } }, "This console needs a token:", input, el("button", { class: "primary", type: "submit" }, "Sign in"));
    box.replaceChildren(form);
  }

  // ---- page frame ---------------------------------------------------------------------------
  function nav() {
    const q = shared().toString();
    const links = PAGES.map(([name, title]) =>
      el("a", { href: "/console/" + name + (q ? "?" + q : ""), class: name === page ? "current" : null }, title));
    if (localStorage.getItem("pathflow-token")) {
      links.push(el("a", { href: "#", id: "signout", onclick: (e) => {
        e.preventDefault();
        localStorage.removeItem("pathflow-token");
        location.reload();
      } }, "Sign out"));
    }
    document.getElementById("nav").replaceChildren(...links);
    document.title = "pathflow · " + (PAGES.find((p) => p[0] === page) || [page, page])[1];
  }
  function columnSelect(name, value, label) {
    const cols = view ? view.primitives : [];
    const options = cols.includes(value) ? cols : [value, ...cols];
    return el("label", {}, label, el("select", { name, onchange: (e) => change(name, e.target.value) },
      options.map((c) => el("option", { value: c, selected: c === value }, c))));
  }
  function numberInput(name, value, label, min, step) {
    return el("label", {}, label, el("input", { type: "number", name, value, min: min ?? 1, step: step || 1,
      onchange: (e) => change(name, e.target.value) }));
  }
  function choice(name, value, label, options) {
    return el("label", {}, label, el("select", { name, onchange: (e) => change(name, e.target.value) },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text))));
  }
  function checkbox(name, on, label) {
    return el("label", {}, el("input", { type: "checkbox", name, checked: on,
      onchange: (e) => change(name, e.target.checked ? "1" : "0") }), label);
  }
  function textInput(name, value, label, placeholder) {
    const input = el("input", { type: "text", name, value: value || "", placeholder });
    input.addEventListener("change", () => change(name, input.value.trim()));
    return el("label", {}, label, input);
  }

  function rangeControls() {
    const custom = params.has("from") || params.has("to");
    const last = custom ? "custom" : get("last", "24h");
    const lasts = RANGES.includes(last) || last === "custom" ? RANGES : [last, ...RANGES];
    const parts = [el("label", {}, "Range", el("select", { name: "last", onchange: (e) => {
      const next = new URLSearchParams(params);
      next.delete("from"); next.delete("to"); next.delete("last");
      if (e.target.value === "custom") {
        // Start from the last 24 hours in the stamps' zone, for the user to edit.
        const end = new Date(), start = new Date(end.getTime() - 86400e3);
        next.set("from", stamp(start)); next.set("to", stamp(end));
      } else next.set("last", e.target.value);
      setParams(next);
    } }, lasts.map((r) => el("option", { value: r, selected: r === last }, "last " + r)),
      el("option", { value: "custom", selected: custom }, "from … to")))];
    if (custom) {
      const from = el("input", { class: "time", name: "from", value: get("from", ""), placeholder: "YYYY-MM-DD HH:MM" });
      const to = el("input", { class: "time", name: "to", value: get("to", ""), placeholder: "YYYY-MM-DD HH:MM" });
      parts.push(el("label", {}, "from", from), el("label", {}, "to", to), el("button", { type: "button", onclick: () => {
        const next = new URLSearchParams(params);
        next.set("from", from.value.trim()); next.set("to", to.value.trim());
        setParams(next);
      } }, "Apply"));
    }
    const base = view ? view.bin_seconds : 60;
    const bins = BINS.filter((b) => seconds(b) > base && seconds(b) % base === 0);
    const bin = get("bin", "");
    parts.push(el("label", {}, "Bins", el("select", { name: "bin", onchange: (e) => change("bin", e.target.value) },
      el("option", { value: "", selected: bin === "" }, "table's (" + duration(base) + ")"),
      (bins.includes(bin) || bin === "" ? bins : [bin, ...bins]).map((b) => el("option", { value: b, selected: b === bin }, b)))));
    return parts;
  }
  function seconds(text) {
    const m = /^(\d+)([smhdw])$/.exec(text);
    if (!m) return 0;
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
  }
  function duration(s) {
    for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60]]) if (s % n === 0) return s / n + unit;
    return s + "s";
  }
  function stamp(date) {
    const utc = view && view.utc;
    const p = (n) => String(n).padStart(2, "0");
    const [y, mo, d, h, mi] = utc
      ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes()]
      : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes()];
    return `${y}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}`;
  }

  function filterBar() {
    const chips = params.getAll("where").map((w, i) => el("span", { class: "chip", "data-filter": w }, w,
      el("button", { type: "button", title: "remove", onclick: () => {
        const next = new URLSearchParams(params);
        const rest = next.getAll("where").filter((_, j) => j !== i);
        next.delete("where");
        for (const r of rest) next.append("where", r);
        setParams(next);
      } }, "×")));
    const cols = view ? view.primitives : [];
    const column = el("select", { name: "filter_column" }, cols.map((c) => el("option", { value: c }, c)));
    const value = el("input", { type: "text", name: "filter_value", placeholder: "value" });
    const add = el("form", { class: "addfilter", onsubmit: (e) => {
      e.preventDefault();
      if (!value.value.trim()) return;
      addFilter(column.value, value.value.trim());
    } }, el("label", {}, "Filter", column), "=", value, el("button", { type: "submit" }, "Add"));
    document.getElementById("filters").replaceChildren(add, ...chips);
  }
  function addFilter(column, value) {
    const next = new URLSearchParams(params);
    const f = column + "=" + value;
    if (!next.getAll("where").includes(f)) next.append("where", f);
    setParams(next);
  }

  // ---- sections -----------------------------------------------------------------------------
  function section(title, wide) {
    const body = el("div", { class: "body" }, el("p", { class: "loading" }, "loading…"));
    const s = el("section", { class: wide ? "wide" : null, "data-section": title }, el("h2", {}, title), body);
    document.getElementById("main").append(s);
    return { s, body };
  }
  // Fills a section from a report; `draw` adds charts above the table.
  async function fill(sec, name, extra, draw, options) {
    const mine = generation;
    try {
      const doc = await report(name, extra);
      if (mine !== generation) return null;
      const q = reportQuery(extra);
      const links = el("span", { class: "links" }, ["json", "csv"].map((f) => {
        const l = new URLSearchParams(q); l.set("format", f);
        return el("a", { href: "/api/v1/reports/" + name + "?" + l.toString() }, f.toUpperCase());
      }));
      const parts = [links];
      if (doc.subtitle) parts.push(el("p", { class: "subtitle" }, doc.subtitle));
      sec.s.dataset.report = name;
      sec.body.replaceChildren(...parts);
      if (draw) draw(sec.body, doc);
      if (!options || options.table !== false) sec.body.append(table(doc, options && options.keys));
      if (doc.notes && doc.notes.length) sec.body.append(el("p", { class: "notes" }, doc.notes.join("\n")));
      return doc;
    } catch (e) {
      if (mine !== generation) return null;
      sec.body.replaceChildren(el("p", { class: "error" }, e.message));
      return null;
    }
  }
  // A section whose report this view cannot answer: why, without asking.
  function missing(sec, text) {
    sec.body.replaceChildren(el("p", { class: "notes" }, text));
    return Promise.resolve(null);
  }
  function table(doc, keys) {
    const head = el("tr", {}, doc.columns.map((c) => el("th", {}, c)));
    const rows = doc.rows.map((row) => el("tr", {}, row.map((v, i) => {
      const type = doc.types[i];
      const number = type !== "text" && typeof v === "number";
      const column = doc.columns[i];
      // A key of a breakdown: a click filters on it (`keys`: the table's column → the primitive).
      const filter = keys && keys[column];
      const key = filter && v !== "other" && v !== "all" && v !== "-";
      return el("td", {
        class: number ? "number" : key ? "key" : null, "data-value": v === null ? "" : String(v),
        title: key ? "filter on " + filter + "=" + v : null,
        onclick: key ? () => addFilter(filter, v) : null,
      }, number ? show(v, type) : v === null ? "–" : String(v));
    })));
    return el("div", { class: "scroll" }, el("table", { class: "report" }, el("thead", {}, head), el("tbody", {}, rows)));
  }

  // ---- charts -------------------------------------------------------------------------------
  function legend(names) {
    return el("div", { class: "legend" }, names.map((n, i) => el("span", {},
      el("span", { class: "swatch", style: "background:" + color(n, i) }), n)));
  }
  function color(name, i) { return name === "other" ? OTHER : COLORS[i % COLORS.length]; }
  function yAxis(g, max, top, bottom, left, right, unit) {
    const step = niceStep(max, 4);
    const y = (v) => bottom - (v / (step * Math.ceil(max / step) || 1)) * (bottom - top);
    for (let v = 0; v <= max + step / 2; v += step) {
      g.append(svg("line", { class: "grid", x1: left, x2: right, y1: y(v), y2: y(v) }));
      g.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, si(v, unit)));
    }
    return y;
  }
  function timeLabels(g, stamps, x, bottom) {
    if (!stamps.length) return;
    const days = stamps[0].slice(0, 10) !== stamps[stamps.length - 1].slice(0, 10);
    const every = Math.max(1, Math.ceil(stamps.length / 7));
    for (let i = 0; i < stamps.length; i += every) {
      const s = stamps[i];
      g.append(svg("text", { x: x(i), y: bottom + 16, "text-anchor": "middle" }, days ? s.slice(5, 16) : s.slice(11, 16)));
    }
  }
  // Bit/s per bin, stacked (or as lines): one series per column after the first.
  function seriesChart(doc, stacked, W) {
    const H = 300, L = 80, R = 10, T = 10, B = 270;
    const names = doc.columns.slice(1);
    const stamps = doc.rows.map((r) => r[0]);
    const n = stamps.length;
    const values = names.map((_, k) => doc.rows.map((r) => r[k + 1] || 0));
    const tops = [];
    let max = 0;
    const base = new Array(n).fill(0);
    for (const v of values) {
      const upper = v.map((x, i) => (stacked ? base[i] : 0) + x);
      tops.push({ lower: stacked ? base.slice() : new Array(n).fill(0), upper });
      if (stacked) for (let i = 0; i < n; i++) base[i] = upper[i];
      max = Math.max(max, ...upper);
    }
    const root = svg("svg", { class: "chart series", viewBox: `0 0 ${W} ${H}`, "data-bins": n });
    const g = svg("g");
    root.append(g);
    const y = yAxis(g, max || 1, T, B, L, W - R, "bit/s");
    const x = (i) => n <= 1 ? L + (W - L - R) / 2 : L + (i / (n - 1)) * (W - L - R);
    g.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: B, y2: B }));
    timeLabels(g, stamps, x, B);
    names.forEach((name, k) => {
      const { lower, upper } = tops[k];
      const sum = values[k].reduce((a, b) => a + b, 0);
      let d;
      const xs = n === 1 ? [L, W - R] : stamps.map((_, i) => x(i));
      const up = n === 1 ? [upper[0], upper[0]] : upper, low = n === 1 ? [lower[0], lower[0]] : lower;
      if (stacked) {
        d = "M" + xs.map((xv, i) => `${xv.toFixed(1)},${y(up[i]).toFixed(1)}`).join("L")
          + "L" + xs.map((xv, i) => `${xv.toFixed(1)},${y(low[i]).toFixed(1)}`).reverse().join("L") + "Z";
      } else {
        d = "M" + xs.map((xv, i) => `${xv.toFixed(1)},${y(up[i]).toFixed(1)}`).join("L");
      }
      root.append(svg("path", {
        d, fill: stacked ? color(name, k) : "none", stroke: color(name, k), "stroke-width": stacked ? 0.5 : 1.8,
        "fill-opacity": stacked ? 0.85 : null, "data-key": name, "data-sum": Math.round(sum),
        "data-last": Math.round(values[k][n - 1] || 0),
      }, tip(`${name}: average ${si(sum / Math.max(1, n), "bit/s")}`)));
    });
    return [root, legend(names)];
  }
  // Horizontal bars: label, value (and an optional second value drawn as a thin mark).
  function bars(items, unit, options, W) {
    const rowH = 22, L = 190, R = 90;
    const H = Math.max(1, items.length) * rowH + 24;
    const max = Math.max(1, ...items.map((i) => Math.max(i.value || 0, i.second || 0, options && options.line || 0)));
    const root = svg("svg", { class: "chart bars", viewBox: `0 0 ${W} ${H}` });
    const x = (v) => L + (v / max) * (W - L - R);
    items.forEach((it, i) => {
      const yTop = i * rowH + 4;
      root.append(svg("text", { x: L - 6, y: yTop + 14, "text-anchor": "end" }, String(it.label).slice(0, 32)));
      root.append(svg("rect", {
        x: L, y: yTop, width: Math.max(0.5, x(it.value || 0) - L), height: rowH - 8, fill: it.color || COLORS[0],
        "data-label": it.label, "data-value": it.value,
      }, tip(`${it.label}: ${show(it.value, unit)}`)));
      if (it.second !== undefined && it.second !== null) {
        // The second value as a tick across the bar.
        root.append(svg("rect", {
          x: x(it.second) - 1.5, y: yTop - 2, width: 3, height: rowH - 4, fill: "#1d2430",
          "data-label": it.label, "data-second": it.second,
        }, tip(`${it.label}: ${options.secondName}: ${show(it.second, unit)}`)));
      }
      root.append(svg("text", { x: x(Math.max(it.value || 0, it.second || 0)) + 4, y: yTop + 14 }, show(it.value, unit)));
    });
    if (options && options.secondName) {
      root.append(svg("text", { x: L, y: H - 6 }, `bar: ${options.firstName || "value"} · tick: ${options.secondName}`));
    }
    if (options && options.line) {
      root.append(svg("line", { class: "threshold", x1: x(options.line), x2: x(options.line), y1: 0, y2: H - 20 }));
      root.append(svg("text", { x: x(options.line), y: H - 6, "text-anchor": "middle" }, options.lineLabel));
    }
    return root;
  }
  // The matrix's cells as a heat map: darker is more.
  function heatmap(doc) {
    const cols = doc.columns.slice(1, -1), rows = doc.rows;
    const cw = 96, rh = 26, L = 150, T = 64;
    const W = L + cols.length * cw + 10, H = T + rows.length * rh + 10;
    let max = 0;
    for (const r of rows) for (let j = 1; j <= cols.length; j++) max = Math.max(max, r[j] || 0);
    const root = svg("svg", { class: "chart heatmap", viewBox: `0 0 ${W} ${H}`, style: `max-width:${W}px` });
    cols.forEach((c, j) => root.append(svg("text", {
      x: L + j * cw + cw / 2, y: T - 8, "text-anchor": "start", transform: `rotate(-30 ${L + j * cw + cw / 2} ${T - 8})`,
    }, String(c).slice(0, 20))));
    const type = doc.types[1] || "bytes";
    rows.forEach((r, i) => {
      root.append(svg("text", { x: L - 6, y: T + i * rh + 15, "text-anchor": "end" }, String(r[0]).slice(0, 22)));
      cols.forEach((c, j) => {
        const v = r[j + 1] || 0;
        const a = max > 0 ? v / max : 0;
        root.append(svg("rect", {
          x: L + j * cw + 1, y: T + i * rh + 1, width: cw - 2, height: rh - 2,
          fill: `rgba(31,95,191,${(0.06 + 0.94 * a).toFixed(3)})`, "data-row": r[0], "data-column": c, "data-value": v,
        }, tip(`${r[0]} → ${c}: ${show(v, type)}`)));
        root.append(svg("text", { x: L + j * cw + cw / 2, y: T + i * rh + 17, "text-anchor": "middle", style: a > 0.55 ? "fill:#fff" : null },
          show(v, type)));
      });
    });
    return root;
  }
  // Paths as a Sankey: one column of nodes per level, bands as wide as their bytes.
  function sankey(levels, paths, W) {
    const nodeW = 14, gap = 8, T = 10, labelPad = 6;
    const total = paths.reduce((a, p) => a + p.value, 0) || 1;
    const nodes = levels.map((_, l) => {
      const m = new Map();
      for (const p of paths) m.set(p.path[l], (m.get(p.path[l]) || 0) + p.value);
      return [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, value]) => ({ name, value }));
    });
    const most = Math.max(...nodes.map((ns) => ns.length));
    const H = Math.min(900, Math.max(320, most * 36));
    const scale = (H - T * 2 - gap * (most - 1)) / total;
    const xOf = (l) => 160 + l * ((W - 320 - nodeW) / Math.max(1, levels.length - 1));
    const place = new Map();
    nodes.forEach((ns, l) => {
      let y = T;
      for (const nd of ns) {
        nd.y = y; nd.h = Math.max(1, nd.value * scale); nd.out = y; nd.in = y;
        place.set(l + "\u0000" + nd.name, nd);
        y += nd.h + gap;
      }
    });
    const root = svg("svg", { class: "chart sankey", viewBox: `0 0 ${W} ${H}` });
    // Links between neighbouring levels, summed over the paths that share them.
    for (let l = 0; l + 1 < levels.length; l++) {
      const links = new Map();
      for (const p of paths) {
        const k = p.path[l] + "\u0000" + p.path[l + 1];
        links.set(k, (links.get(k) || 0) + p.value);
      }
      const sorted = [...links.entries()].sort((a, b) => b[1] - a[1]);
      sorted.forEach(([k, v]) => {
        const [a, b] = k.split("\u0000");
        const from = place.get(l + "\u0000" + a), to = place.get((l + 1) + "\u0000" + b);
        const h = Math.max(1, v * scale);
        const x0 = xOf(l) + nodeW, x1 = xOf(l + 1), y0 = from.out + h / 2, y1 = to.in + h / 2;
        from.out += h; to.in += h;
        const mx = (x0 + x1) / 2;
        // Coloured by the ingress node of the largest path through the band's source.
        const ingress = nodes[0].findIndex((nd) => nd.name === pathStart(paths, l, a));
        root.append(svg("path", {
          d: `M${x0},${y0}C${mx},${y0} ${mx},${y1} ${x1},${y1}`, fill: "none", stroke: COLORS[Math.max(0, ingress) % COLORS.length],
          "stroke-opacity": 0.35, "stroke-width": h, "data-from": a, "data-to": b, "data-level": l, "data-value": v,
        }, tip(`${a} → ${b}: ${si(v, "B")}`)));
      });
    }
    nodes.forEach((ns, l) => {
      root.append(svg("text", { x: xOf(l) + nodeW / 2, y: H - 2, "text-anchor": "middle", "font-weight": 600 }, levels[l]));
      for (const nd of ns) {
        root.append(svg("rect", {
          x: xOf(l), y: nd.y, width: nodeW, height: nd.h, fill: "#1d2430", "data-level": l, "data-node": nd.name, "data-value": nd.value,
        }, tip(`${levels[l]} ${nd.name}: ${si(nd.value, "B")}`)));
        const right = l === levels.length - 1;
        root.append(svg("text", {
          x: right ? xOf(l) + nodeW + labelPad : xOf(l) - labelPad, y: nd.y + nd.h / 2 + 4, "text-anchor": right ? "start" : "end",
        }, String(nd.name).slice(0, 24)));
      }
    });
    return root;
  }
  // The first level's value of the largest path through (level, name): the band's colour.
  function pathStart(paths, level, name) {
    const p = paths.find((q) => q.path[level] === name);
    return p ? p.path[0] : name;
  }
  function column(doc, name) { return doc.columns.indexOf(name); }
  // Charts are drawn at the width they are shown at, so that their text keeps its size.
  function width(body) { return Math.max(480, Math.floor(body.clientWidth) - 4); }
  function same(names) { return Object.fromEntries(names.map((n) => [n, n])); }

  // ---- pages --------------------------------------------------------------------------------
  const pages = {
    overview: {
      controls: () => [],
      async draw() {
        const router = pick(["peer_ip_src"]), exit = pick(["peer_ip_dst", "peer_as_dst"]);
        const tiles = section("Traffic", true);
        const chart = section("Traffic by " + router, true);
        const top = section("Top exits (" + exit + ")");
        const quality = section("Mapping quality");
        const mapped = view.primitives.includes("path_match");
        const series = await fill(chart, "series", { by: router, n: 6, other: "1" }, (body, doc) => body.append(...seriesChart(doc, true, width(body))), { table: false });
        if (series) {
          const totals = series.rows.map((r) => r.slice(1).reduce((a, b) => a + (b || 0), 0));
          const avg = totals.reduce((a, b) => a + b, 0) / Math.max(1, totals.length);
          const tile = (label, value, key) => el("div", { class: "tile", "data-tile": key, "data-value": Math.round(value) },
            el("div", { class: "value" }, si(value, "bit/s")), el("div", { class: "label" }, label));
          tiles.body.replaceChildren(el("div", { class: "tiles" },
            tile("latest bin (" + (series.rows.length ? series.rows[series.rows.length - 1][0] : "–") + ")", totals[totals.length - 1] || 0, "now"),
            tile("average over the range", avg, "average"),
            tile("busiest bin", Math.max(0, ...totals), "peak")));
        } else tiles.body.replaceChildren(el("p", { class: "error" }, "no traffic to show"));
        await Promise.all([
          fill(top, "top", { by: exit, n: 10 }, (body, doc) => {
            const i = column(doc, "avg_bps");
            body.append(bars(doc.rows.map((r) => ({ label: r[0], value: r[i] })), "rate", {}, width(body)));
          }, { keys: same([exit]) }),
          mapped ? fill(quality, "quality", { by: router }, null, { keys: same([router]) })
            : missing(quality, "The view has no path_match column: add path_match to its aggregate (with bgp_daemon and nfacctd_net: bgp) to see how flows were mapped to BGP paths."),
        ]);
      },
    },
    series: {
      controls: () => [
        columnSelect("by", get("by", pick(["peer_ip_dst", "peer_as_dst"])), "Stack by"),
        numberInput("n", get("n", "8"), "Keys"),
        checkbox("other", get("other", "1") !== "0", "the rest as 'other'"),
        choice("stack", get("stack", "stacked"), "Draw", [["stacked", "stacked"], ["lines", "lines"]]),
      ],
      async draw() {
        const by = get("by", pick(["peer_ip_dst", "peer_as_dst"]));
        const sec = section("Bit/s by " + by, true);
        const other = get("other", "1") !== "0" ? "1" : null;
        await fill(sec, "series", { by, n: get("n", "8"), other }, (body, doc) => body.append(...seriesChart(doc, get("stack", "stacked") === "stacked", width(body))));
        const top = section("Largest " + by, true);
        await fill(top, "top", { by, n: get("n", "8") }, null, { keys: same([by]) });
      },
    },
    matrix: {
      controls: () => [
        columnSelect("rows", get("rows", pick(["peer_ip_src"])), "Rows"),
        columnSelect("columns", get("columns", pick(["peer_ip_dst", "peer_as_dst"])), "Columns"),
        choice("cell", get("cell", "avg"), "Cells", [["bytes", "bytes"], ["avg", "average bit/s"], ["p95", "p95 bit/s"], ["peak", "peak bit/s"]]),
        numberInput("max_columns", get("max_columns", "12"), "Columns at most"),
        numberInput("max_rows", get("max_rows", "50"), "Rows at most"),
      ],
      async draw() {
        const rows = get("rows", pick(["peer_ip_src"])), columns = get("columns", pick(["peer_ip_dst", "peer_as_dst"]));
        const sec = section(rows + " × " + columns, true);
        await fill(sec, "matrix", { rows, columns, cell: get("cell", "avg"), max_columns: get("max_columns", "12"), max_rows: get("max_rows", "50") },
          (body, doc) => body.append(el("div", { class: "scroll" }, heatmap(doc))), { keys: { [rows + " \\ " + columns]: rows } });
      },
    },
    paths: {
      controls: () => [
        columnSelect("from_column", get("from_column", pick(["peer_ip_src"])), "Ingress"),
        columnSelect("via", get("via", pick(["peer_ip_dst"])), "Exit"),
        columnSelect("to_column", get("to_column", pick(["peer_as_dst"])), "Then"),
        numberInput("n", get("n", "40"), "Paths"),
      ],
      async draw() {
        const levels = [get("from_column", pick(["peer_ip_src"])), get("via", pick(["peer_ip_dst"])), get("to_column", pick(["peer_as_dst"]))];
        const sec = section(levels.join(" → "), true);
        await fill(sec, "top", { by: levels.join(","), n: get("n", "40") }, (body, doc) => {
          const b = column(doc, "bytes");
          const paths = doc.rows.map((r) => ({ path: levels.map((_, l) => String(r[l])), value: r[b] || 0 }));
          if (!paths.length) { body.append(el("p", { class: "loading" }, "no traffic in the range")); return; }
          const cumulative = doc.rows.length ? doc.rows[doc.rows.length - 1][column(doc, "cumulative")] : 0;
          body.append(el("p", { class: "subtitle" }, `the ${paths.length} largest paths: ${show(cumulative, "percent")} of the bytes`));
          body.append(sankey(levels, paths, width(body)));
        }, { keys: same(levels) });
      },
    },
    capacity: {
      controls: () => [
        numberInput("threshold", get("threshold", "80"), "Threshold %"),
        checkbox("counters", get("counters", "0") === "1", "ports' own sFlow counters"),
        columnSelect("forecast_by", get("forecast_by", pick(["peer_ip_dst"])), "Forecast by"),
        choice("horizon", get("horizon", "90d"), "Horizon", [["30d", "30 days"], ["90d", "90 days"], ["180d", "180 days"], ["365d", "a year"]]),
      ],
      async draw() {
        const threshold = get("threshold", "80");
        const sec = section("Utilisation against capacity", true);
        const counters = get("counters", "0") === "1";
        if (!counters && !view.capacities) {
          missing(sec, "This console has no capacity file: set console_capacities (or pathflow serve --capacities FILE), or tick the ports' own sFlow counters.");
        } else await fill(sec, "capacity", { threshold, counters: get("counters", "0") === "1" ? "1" : null }, (body, doc) => {
          const p95 = column(doc, "p95_util"), peak = column(doc, "peak_util"), name = column(doc, doc.columns.includes("name") ? "name" : doc.columns[0]);
          if (p95 < 0) return;
          body.append(bars(doc.rows.map((r) => ({ label: r[name], value: r[p95], second: peak >= 0 ? r[peak] : null,
            color: r[p95] >= Number(threshold) ? "#c23b3b" : COLORS[0] })), "percent",
          { line: Number(threshold), lineLabel: threshold + " %", firstName: "p95", secondName: "peak" }, width(body)));
        });
        const fc = section("Forecast of the daily p95", true);
        await fill(fc, "forecast", { by: get("forecast_by", pick(["peer_ip_dst"])), horizon: get("horizon", "90d"), threshold: Number(threshold) / 100 }, null);
      },
    },
    failures: {
      controls: () => [
        choice("fail_each", get("fail_each", "peer_ip_dst"), "Fail each", [["peer_ip_dst", "next-hop"], ["peer_as_dst", "peer AS"], ["exit_router", "exit router"]]),
        numberInput("threshold", get("threshold", "0.8"), "Full at (share)", 0, "any"),
        textInput("fail", get("fail", ""), "What if", "next-hop or AS65001"),
      ],
      async draw() {
        const fail = get("fail", "");
        if (fail) {
          const w = section("What if " + fail + " failed", true);
          await fill(w, "what-if", { fail }, (body, doc) => {
            const before = column(doc, "p95_bps_before"), after = column(doc, "p95_bps_after");
            body.append(bars(doc.rows.map((r) => ({ label: r[0], value: r[after], second: r[before] })), "rate", { firstName: "p95 after", secondName: "p95 before" }, width(body)));
          });
        }
        const sec = section("Every single failure", true);
        await fill(sec, "failures", { fail_each: get("fail_each", "peer_ip_dst"), threshold: get("threshold", "0.8") }, (body, doc) => {
          const p95 = column(doc, "p95_bps"), worst = column(doc, "worst_p95_bps");
          body.append(bars(doc.rows.map((r) => ({ label: r[0], value: r[worst], second: r[p95] })), "rate", { firstName: "worst p95 under one failure", secondName: "p95 as it is" }, width(body)));
        });
      },
    },
    prefixes: {
      controls: () => [numberInput("n", get("n", "20"), "Top prefixes")],
      async draw() {
        const sec = section("Prefixes that carry the traffic");
        const top = section("Largest prefixes");
        if (!view.primitives.includes("net_dst") || !view.primitives.includes("mask_dst")) {
          for (const x of [sec, top]) missing(x, "The view has no dst_net and dst_mask: a per-prefix view answers this page.");
          return;
        }
        await Promise.all([
          fill(sec, "prefixes", {}, (body, doc) => {
            const share = column(doc, "traffic_share"), of = column(doc, "of_prefixes");
            body.append(bars(doc.rows.map((r) => ({ label: show(r[share], "percent") + " of bytes", value: r[of] })), "percent", {}, width(body)));
          }),
          fill(top, "top", { by: "net_dst,mask_dst", n: get("n", "20") }, null, { keys: same(["net_dst"]) }),
        ]);
      },
    },
  };

  // ---- render -------------------------------------------------------------------------------
  async function render() {
    const mine = ++generation;
    nav();
    const p = pages[page];
    const controls = document.getElementById("controls");
    controls.replaceChildren(...rangeControls(), ...(p ? p.controls() : []),
      el("button", { type: "button", title: "ask again", onclick: () => render() }, "Refresh"));
    filterBar();
    document.getElementById("main").replaceChildren();
    if (!p) return;
    await p.draw();
    // Every section of this view is drawn (a newer view may have started meanwhile).
    if (mine === generation) document.body.dataset.ready = String(mine);
  }
  async function start() {
    try {
      view = await api("view");
      document.getElementById("viewinfo").textContent =
        `${view.table} · ${view.storage} · bins ${duration(view.bin_seconds)} · ${view.utc ? "UTC" : "local time"}`;
    } catch (e) {
      if (e.status !== 401) document.getElementById("message").replaceChildren(el("span", { class: "error" }, e.message));
      return;
    }
    await render();
  }
  window.addEventListener("popstate", () => { params = new URLSearchParams(location.search); render(); });
  document.getElementById("controls").addEventListener("submit", (e) => e.preventDefault());
  start();
})();
