#!/usr/bin/env bash
# Capture BGP fixtures from real speakers into fixtures/bgp/.
#
#   tools/bgp/capture.sh [SPEAKER ...]     (default: gobgpd bird2 frr exabgp)
#
# For each speaker: tools/bgp/listener.py listens on 127.0.0.1:$PORT as a
# passive iBGP route-reflector client with ADD-PATH receive; the speaker is
# configured (tools/bgp/routes.py writes every configuration from one route
# table), loaded with the route set, and connects from its own address:
#   gobgpd 127.0.0.2, bird2 127.0.0.3, frr 127.0.0.4 (fed by an exabgp at
#   127.0.0.14), exabgp 127.0.0.5.
# After both End-of-RIB markers the script makes three changes, one at a
# time, each after the previous one has arrived: an implicit replace of
# 192.0.2.0/24 path 2, a withdrawal of 203.0.113.0/25 path 2 and one of
# 2001:db8:2::/48 path 3.  It then saves the speaker's own view of what it
# advertised, lets the listener close (NOTIFICATION Cease/Admin Shutdown) and
# stops the speaker.  Outputs per speaker S:
#   S-addpath.hex              every message received, one hex line each
#   S-addpath.open-sent.hex    the OPEN the listener sent
#   S-addpath.expected.json    tools/bgp/decode.py of the above
#   S-addpath.speaker-view.txt the speaker's view of its advertisements
#   S.conf (+ frr-feeder.conf) the configuration used; the temporary work
#                              directory appears as $WORK in them
#   S-addpath.crosscheck.txt   tools/bgp/crosscheck.py: decode vs. view
# Needs: gobgpd/gobgp, bird/birdc, /usr/lib/frr/bgpd + vtysh, exabgp,
# python3 (standard library).  Run as root (FRR/BIRD sockets, no privilege
# drop).  All traffic stays on 127.0.0.x; every wait is bounded.
set -euo pipefail

PORT=17179            # listener (collector) port on 127.0.0.1
FRR_PORT=17180        # frr bgpd listens here on 127.0.0.4 for its feeder
GOBGP_API=50061       # gobgpd gRPC API, bound to 127.0.0.1 only
PY=${PYTHON:-/usr/bin/python3}
LISTEN_TIMEOUT=90     # seconds a listener waits in total
STEP_WAIT=100         # polls of 0.2 s for each state change

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T="$ROOT/tools/bgp"
OUT="$ROOT/fixtures/bgp"
SPEAKERS=("$@")
[ ${#SPEAKERS[@]} -gt 0 ] || SPEAKERS=(gobgpd bird2 frr exabgp)

for t in gobgpd gobgp bird birdc vtysh exabgp timeout; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
[ -x /usr/lib/frr/bgpd ] || { echo "missing /usr/lib/frr/bgpd" >&2; exit 1; }
for p in $PORT $FRR_PORT $GOBGP_API; do
    if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
        echo "TCP port $p is already in use" >&2; exit 1
    fi
done

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/pathflow-bgp.XXXXXX)
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "capture: $*" >&2; }

# wait_for CMD... : run CMD every 0.2 s, at most STEP_WAIT times
wait_for() {
    local i
    for i in $(seq 1 "$STEP_WAIT"); do
        if "$@" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    return 1
}
state_has() { grep -q -- "$1" "$W/state"; }

stop_pid() {   # stop one process we started, bounded
    local p=$1 i
    kill "$p" 2>/dev/null || return 0
    for i in $(seq 1 25); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
}

store_conf() {  # store_conf SRC DEST: copy a config, temp dir shown as $WORK
    sed -e "s|$W|\$WORK|g" -e "s|$ROOT/||g" "$1" > "$2"
}

start_listener() {   # start_listener NAME [listener options]
    local name=$1; shift
    rm -f "$OUT/$name-addpath.hex" "$OUT/$name-addpath.open-sent.hex"
    "$PY" "$T/listener.py" --port "$PORT" \
        --out "$OUT/$name-addpath.hex" --open-sent "$OUT/$name-addpath.open-sent.hex" \
        --state "$W/state" --timeout "$LISTEN_TIMEOUT" \
        --after-eor-updates 3 --after-eor-timeout 30 \
        --release "$W/release" --release-timeout 30 "$@" 2>"$W/listener.log" &
    LPID=$!
    PIDS+=("$LPID")
    wait_for state_has phase=listening || { log "listener did not start"; return 1; }
    wait_for ss -Hltn "sport = :$PORT" >/dev/null
}

# run the three changes; $1 is a function taking the step number
changes() {
    local fn=$1 n
    wait_for state_has "eor_ipv4=1 eor_ipv6=1" || { log "no End-of-RIB for both families"; cat "$W/state" >&2; return 1; }
    for n in 1 2 3; do
        "$fn" "$n"
        wait_for state_has "after_eor=$n" || { log "change $n did not arrive"; return 1; }
    done
    wait_for state_has phase=done
}

finish_listener() {   # finish_listener NAME
    local name=$1 rc=0
    touch "$W/release"
    wait "$LPID" || rc=$?
    log "$name: listener exit status $rc; $(cat "$W/state")"
    cat "$W/listener.log" >&2
    "$PY" "$T/decode.py" "$OUT/$name-addpath.hex" > "$OUT/$name-addpath.expected.json"
    if [ -s "$OUT/$name-addpath.speaker-view.txt" ]; then
        "$PY" "$T/crosscheck.py" "$name" "$OUT/$name-addpath.speaker-view.txt" \
            "$OUT/$name-addpath.expected.json" > "$OUT/$name-addpath.crosscheck.txt" || true
        cat "$OUT/$name-addpath.crosscheck.txt" >&2
    fi
    return $rc
}

# ------------------------------------------------------------------ gobgpd
G() { gobgp -u 127.0.0.1 -p "$GOBGP_API" "$@"; }
gobgp_step() { G $("$PY" "$T/routes.py" gobgp-step "$1"); }
gobgp_rib_full() {
    [ "$(G global rib -a ipv4 summary 2>/dev/null | grep -o 'Path: [0-9]*')" = "Path: 7" ] &&
    [ "$(G global rib -a ipv6 summary 2>/dev/null | grep -o 'Path: [0-9]*')" = "Path: 5" ]
}
run_gobgpd() {
    local name=gobgpd src=127.0.0.2 line
    "$PY" "$T/routes.py" gobgp-conf --local $src --port $PORT > "$W/gobgpd.conf"
    store_conf "$W/gobgpd.conf" "$OUT/gobgpd.conf"
    # GoBGP sends End-of-RIB only to peers advertising Graceful Restart
    start_listener $name --graceful-restart
    gobgpd -f "$W/gobgpd.conf" -p --api-hosts 127.0.0.1:$GOBGP_API --pprof-disable \
        > "$W/gobgpd.log" 2>&1 &
    local SP=$!; PIDS+=("$SP")
    wait_for G global >/dev/null || { log "gobgpd API did not come up"; return 1; }
    "$PY" "$T/routes.py" gobgp-initial > "$W/gobgp-initial.txt"
    while read -r line; do G $line; done < "$W/gobgp-initial.txt"
    wait_for gobgp_rib_full || { log "gobgpd RIB incomplete"; return 1; }
    G neighbor 127.0.0.1 enable
    changes gobgp_step || return 1
    { echo "## gobgp neighbor 127.0.0.1 adj-out -a ipv4"; G neighbor 127.0.0.1 adj-out -a ipv4
      echo "## gobgp neighbor 127.0.0.1 adj-out -a ipv6"; G neighbor 127.0.0.1 adj-out -a ipv6
    } > "$OUT/$name-addpath.speaker-view.txt"
    local rc=0
    finish_listener $name || rc=$?
    stop_pid "$SP"
    return $rc
}

# ------------------------------------------------------------------ bird2
bird_step() {
    "$PY" "$T/routes.py" bird-conf --stage "$1" --local 127.0.0.3 --port $PORT \
        --log "$W/bird.log" > "$W/bird.conf"
    birdc -s "$W/bird.ctl" configure >/dev/null
}
run_bird2() {
    local name=bird2
    "$PY" "$T/routes.py" bird-conf --stage 0 --local 127.0.0.3 --port $PORT \
        --log "$W/bird.log" > "$W/bird.conf"
    store_conf "$W/bird.conf" "$OUT/bird2.conf"
    bird -p -c "$W/bird.conf"
    start_listener $name
    bird -f -c "$W/bird.conf" -s "$W/bird.ctl" -P "$W/bird.pid" > "$W/bird.out" 2>&1 &
    local SP=$!; PIDS+=("$SP")
    changes bird_step || return 1
    { echo "## birdc show route export collector all"
      birdc -s "$W/bird.ctl" show route export collector all
    } > "$OUT/$name-addpath.speaker-view.txt"
    local rc=0
    finish_listener $name || rc=$?
    stop_pid "$SP"
    return $rc
}

# ------------------------------------------------------------------ frr
EXA_ENV=(exabgp_daemon_user=root exabgp_daemon_drop=false exabgp_api_cli=false
         exabgp_log_destination=stdout)
V() { vtysh --vty_socket "$W" "$@"; }
frr_feeder_in() {
    V -c 'show bgp ipv4 unicast summary json' -c 'show bgp ipv6 unicast summary json' |
        "$PY" -c '
import json, sys
text = sys.stdin.read()
dec = json.JSONDecoder(); i = 0; got = []
while i < len(text):
    if text[i].isspace(): i += 1; continue
    obj, i = dec.raw_decode(text, i); got.append(obj["peers"]["127.0.0.14"]["pfxRcd"])
sys.exit(0 if got == [7, 5] else 1)'
}
exa_step() {   # exa_step N: drop change N for the exabgp API helper
    "$PY" "$T/routes.py" exabgp-step "$1" > "$W/steps/step$1.tmp"
    mv "$W/steps/step$1.tmp" "$W/steps/step$1"
}
run_frr() {
    local name=frr
    mkdir -p "$W/steps"; rm -f "$W/steps/"*
    "$PY" "$T/routes.py" frr-conf --local 127.0.0.4 --port $PORT --feeder 127.0.0.14 \
        --log "$W/bgpd.log" > "$W/bgpd.conf"
    "$PY" "$T/routes.py" exabgp-conf --local 127.0.0.14 --peer 127.0.0.4 --port $FRR_PORT \
        --python "$PY" --api "$T/exabgp-api.py" --stepdir "$W/steps" --api-timeout 120 \
        > "$W/feeder.conf"
    store_conf "$W/bgpd.conf" "$OUT/frr.conf"
    store_conf "$W/feeder.conf" "$OUT/frr-feeder.conf"
    # FRR sends End-of-RIB only to peers advertising Graceful Restart
    start_listener $name --graceful-restart
    /usr/lib/frr/bgpd -Z -S -u root -g root -f "$W/bgpd.conf" -p $FRR_PORT -l 127.0.0.4 \
        -P 0 --vty_socket "$W" -i "$W/bgpd.pid" > "$W/bgpd.out" 2>&1 &
    local SP=$!; PIDS+=("$SP")
    wait_for test -S "$W/bgpd.vty" || { log "bgpd vty did not come up"; return 1; }
    env "${EXA_ENV[@]}" exabgp "$W/feeder.conf" > "$W/feeder.log" 2>&1 &
    local XP=$!; PIDS+=("$XP")
    wait_for frr_feeder_in || { log "frr did not learn the feeder's paths"; return 1; }
    V -c 'configure terminal' -c 'router bgp 65000' -c 'no neighbor 127.0.0.1 shutdown'
    changes exa_step || return 1
    { echo "## vtysh -c 'show bgp ipv4 unicast neighbors 127.0.0.1 advertised-routes'"
      V -c 'show bgp ipv4 unicast neighbors 127.0.0.1 advertised-routes'
      echo "## vtysh -c 'show bgp ipv6 unicast neighbors 127.0.0.1 advertised-routes'"
      V -c 'show bgp ipv6 unicast neighbors 127.0.0.1 advertised-routes'
      echo "## vtysh -c 'show bgp ipv4 unicast'"
      V -c 'show bgp ipv4 unicast'
      echo "## vtysh -c 'show bgp ipv6 unicast'"
      V -c 'show bgp ipv6 unicast'
    } > "$OUT/$name-addpath.speaker-view.txt"
    local rc=0
    finish_listener $name || rc=$?
    stop_pid "$XP"
    stop_pid "$SP"
    return $rc
}

# ------------------------------------------------------------------ exabgp
run_exabgp() {
    local name=exabgp
    mkdir -p "$W/steps"; rm -f "$W/steps/"*
    : > "$W/api-in.txt"
    "$PY" "$T/routes.py" exabgp-conf --local 127.0.0.5 --port $PORT \
        --python "$PY" --api "$T/exabgp-api.py" --stepdir "$W/steps" --api-timeout 120 \
        --api-log "$W/api-in.txt" > "$W/exabgp.conf"
    store_conf "$W/exabgp.conf" "$OUT/exabgp.conf"
    start_listener $name
    env "${EXA_ENV[@]}" exabgp "$W/exabgp.conf" > "$W/exabgp.log" 2>&1 &
    local SP=$!; PIDS+=("$SP")
    changes exa_step || return 1
    echo "show adj-rib out extensive" > "$W/steps/step4.tmp"; mv "$W/steps/step4.tmp" "$W/steps/step4"
    wait_for grep -q "2001:db8:2::/48" "$W/api-in.txt" || true
    sleep 1
    { echo "## exabgp API: show adj-rib out extensive"; cat "$W/api-in.txt"; } \
        > "$OUT/$name-addpath.speaker-view.txt"
    local rc=0
    finish_listener $name || rc=$?
    stop_pid "$SP"
    return $rc
}

versions() {
    dpkg-query -W -f '${Package} ${Version}\n' gobgpd bird2 frr exabgp > "$OUT/versions.txt"
}

FAILED=()
for s in "${SPEAKERS[@]}"; do
    W="$WORK/$s"; mkdir -p "$W"
    log "=== $s"
    if ! "run_$s"; then
        FAILED+=("$s")
        log "$s FAILED; logs:"; tail -n 20 "$W"/*.log "$W"/*.out 2>/dev/null >&2 || true
    fi
    # the listener and speaker of this round must be gone before the next one
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
done
versions
date -u '+%Y-%m-%dT%H:%M:%SZ' > "$OUT/captured-at.txt"
if [ ${#FAILED[@]} -gt 0 ]; then log "failed: ${FAILED[*]}"; exit 1; fi
log "all captured"
