#!/usr/bin/env bash
# Regenerate the real-exporter fixtures in fixtures/flows/ from scratch.
#
#   1. tools/gen-pcap.py writes input.pcap + truth.tsv (deterministic).
#   2. Each exporter (pmacctd nfprobe v5/v9/v10, softflowd v5/v9/v10) reads
#      input.pcap and exports toward 127.0.0.1:$PORT; tcpdump on lo records
#      the export datagrams (<exporter>-v<V>.pcap).
#   3. tshark extracts each UDP payload as one hex line (<exporter>-v<V>.hex)
#      and tools/tshark-flows.py writes one line per decoded flow record
#      (<exporter>-v<V>.tshark.tsv).
#   4. The per-5-tuple packet/byte sums of each TSV are compared with
#      truth.tsv and the result is printed.
#
# Needs root (or capture capabilities) for tcpdump on lo, plus: pmacctd,
# softflowd, tshark, tcpdump, python3 with scapy.  All traffic stays on
# 127.0.0.1.  Captures contain wall-clock export times, so they differ from
# run to run; input.pcap and truth.tsv do not.
set -euo pipefail

PORT=9995                      # collector port used for every exporter
FLOWS=300                      # distinct 5-tuples in input.pcap
PYTHON=${PYTHON:-/usr/bin/python3}   # interpreter that has scapy
EXPORTER_TIMEOUT=120           # seconds, per exporter run
WAIT_STEPS=100                 # polls of 0.1 s when waiting for tcpdump

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/fixtures/flows"
TOOLS="$ROOT/tools"

for t in pmacctd softflowd tshark tcpdump capinfos timeout; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
"$PYTHON" -c 'import scapy' || { echo "$PYTHON cannot import scapy" >&2; exit 1; }
if ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q .; then
    echo "UDP port $PORT is already in use on this host" >&2; exit 1
fi

WORK=$(mktemp -d)
SINK_PID=""
TD_PID=""
cleanup() {
    if [[ -n "$TD_PID" ]] && kill -0 "$TD_PID" 2>/dev/null; then kill "$TD_PID" 2>/dev/null || true; fi
    if [[ -n "$SINK_PID" ]] && kill -0 "$SINK_PID" 2>/dev/null; then kill "$SINK_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- input ----
mkdir -p "$OUT"
rm -f "$OUT"/*.pcap "$OUT"/*.hex "$OUT"/*.tsv "$OUT"/*.conf
"$PYTHON" "$TOOLS/gen-pcap.py" --flows "$FLOWS" --out "$OUT/input.pcap" --truth "$OUT/truth.tsv"

# A UDP sink on the collector port, so the exporters get no ICMP port
# unreachable errors back (a connected UDP socket would then fail sends).
timeout 900 "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(65535)
' "$PORT" &
SINK_PID=$!
sleep 0.5
kill -0 "$SINK_PID" || { echo "UDP sink failed to start" >&2; exit 1; }

# ------------------------------------------------------------- capture -----
# capture NAME COMMAND...   (runs COMMAND in $OUT, records $OUT/NAME.pcap)
capture() {
    local name=$1; shift
    local cap="$OUT/$name.pcap" err="$WORK/$name.tcpdump.err" i
    tcpdump -i lo -n -U -s 0 -w "$cap" "udp port $PORT" 2>"$err" &
    TD_PID=$!
    for ((i = 0; i < WAIT_STEPS; i++)); do
        grep -q 'listening on' "$err" 2>/dev/null && break
        kill -0 "$TD_PID" 2>/dev/null || { cat "$err" >&2; exit 1; }
        sleep 0.1
    done
    grep -q 'listening on' "$err" || { echo "tcpdump did not start" >&2; exit 1; }
    sleep 0.5

    echo "== $name: $*" >&2
    (cd "$OUT" && timeout "$EXPORTER_TIMEOUT" "$@") >"$WORK/$name.log" 2>&1 || {
        echo "exporter failed (rc=$?), log:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
    sleep 1   # let the last datagrams reach the capture

    kill -INT "$TD_PID"
    for ((i = 0; i < WAIT_STEPS; i++)); do
        kill -0 "$TD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$TD_PID" 2>/dev/null; then kill -KILL "$TD_PID" 2>/dev/null || true; fi
    wait "$TD_PID" 2>/dev/null || true
    TD_PID=""
    chown --reference="$OUT" "$cap" 2>/dev/null || true   # tcpdump drops privileges
    grep -E 'packets captured' "$err" >&2 || true
}

for V in 5 9 10; do
    conf="$OUT/pmacctd-nfprobe-v$V.conf"
    cat >"$conf" <<EOF
daemonize: false
pcap_savefile: input.pcap
pcap_savefile_wait: false
plugins: nfprobe
nfprobe_receiver: 127.0.0.1:$PORT
nfprobe_version: $V
nfprobe_timeouts: tcp=5:tcp.rst=5:tcp.fin=5:udp=5:icmp=5:general=5:maxlife=30:expint=1
aggregate: src_host, dst_host, src_port, dst_port, proto, tos
EOF
    capture "pmacctd-nfprobe-v$V" pmacctd -f "pmacctd-nfprobe-v$V.conf"
done

for V in 5 9 10; do
    capture "softflowd-v$V" softflowd -d -r input.pcap -v "$V" -n "127.0.0.1:$PORT"
    grep -E '^Flows exported' "$WORK/softflowd-v$V.log" >&2 || true
done

kill "$SINK_PID" 2>/dev/null || true
wait "$SINK_PID" 2>/dev/null || true
SINK_PID=""

# ----------------------------------------------------------- decoding ------
for name in pmacctd-nfprobe-v5 pmacctd-nfprobe-v9 pmacctd-nfprobe-v10 softflowd-v5 softflowd-v9 softflowd-v10; do
    cap="$OUT/$name.pcap"
    tshark -n -r "$cap" -T fields -e udp.payload 2>/dev/null >"$OUT/$name.hex"
    n_pkts=$(capinfos -M -c "$cap" | awk -F': *' '/Number of packets/ {print $2}')
    n_hex=$(grep -c '^[0-9a-f]\+$' "$OUT/$name.hex" || true)
    n_lines=$(wc -l <"$OUT/$name.hex")
    if [[ "$n_pkts" != "$n_hex" || "$n_pkts" != "$n_lines" || "$n_pkts" == 0 ]]; then
        echo "$name: $n_pkts packets but $n_hex/$n_lines hex lines" >&2; exit 1
    fi
    "$PYTHON" "$TOOLS/tshark-flows.py" "$cap" "$PORT" "$OUT/$name.tshark.tsv"
done

# --------------------------------------------------------- verification ----
"$PYTHON" - "$OUT" <<'EOF'
import collections, os, sys
out = sys.argv[1]

def load(path):
    sums = collections.defaultdict(lambda: [0, 0, 0])
    with open(path) as f:
        hdr = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            k = (r["src_addr"], r["dst_addr"], int(r["src_port"]), int(r["dst_port"]), int(r["proto"]))
            s = sums[k]
            s[0] += int(r["packets"]); s[1] += int(r["bytes"]); s[2] += 1
    return sums

truth = load(os.path.join(out, "truth.tsv"))
for exp in ("pmacctd-nfprobe", "softflowd"):
    for v in (5, 9, 10):
        got = load(os.path.join(out, "%s-v%d.tshark.tsv" % (exp, v)))
        want = {k: s for k, s in truth.items() if v != 5 or ":" not in k[0]}
        bad = sorted(k for k in set(want) | set(got)
                     if k not in want or k not in got or want[k][:2] != got[k][:2])
        print("%s-v%d: %d records, %d/%d 5-tuples, packets %d/%d, bytes %d/%d: %s" % (
            exp, v, sum(s[2] for s in got.values()), len(got), len(want),
            sum(s[0] for s in got.values()), sum(s[0] for s in want.values()),
            sum(s[1] for s in got.values()), sum(s[1] for s in want.values()),
            "MATCH" if not bad else "%d 5-tuples differ, e.g. %s" % (len(bad), bad[:3])))
EOF
ls -l "$OUT" >&2
