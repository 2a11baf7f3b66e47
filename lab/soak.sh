#!/usr/bin/env bash
# Soak of `nvlb run` in the lab (docs/lab.md "Soak"): real TCP traffic for a long time with a
# reload every few seconds; nvlb's resident memory, open descriptors and threads are sampled
# and must stay flat.
#
#   lab/soak.sh [--seconds S] [--sample S] [--reload S] [--bin DIR] [--prefix P]
#
#   --seconds S   how long the traffic runs (default $SOAK_SECONDS or 1800)
#   --sample S    seconds between samples (default $SOAK_SAMPLE or 30)
#   --reload S    seconds between reloads (default 10); each one flips the weight of
#                 blue-web's DIP 10.1.6.22 between 1 and 2, so every reload publishes a new policy
#   --bin DIR     nvlb and nvlb-hvhost (default .build/debug)
#   --prefix P    namespace prefix (default nvlb-soak-)
#
# Traffic: the Internet client's requests to 131.107.10.10 (a new connection each), the
# internal client's to 10.1.5.100:8080, and paced 4 MiB downloads checked byte for byte, each in
# a loop. Fails (exit 1) when a request or download fails, when a reload is not logged, or when,
# after the first 10% of the run (warm-up), RSS grows by more than SOAK_RSS_GROWTH_KB (default
# 8192), the descriptors by more than SOAK_FD_GROWTH (default 0) or the threads by more than
# SOAK_THREAD_GROWTH (default 2: Swift's and NIO's pools start threads on demand, up to a fixed
# number). Prints one line per sample and a summary. Needs root and a build; tears the lab
# down in every case.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$LAB_DIR")
SECONDS_TOTAL=${SOAK_SECONDS:-1800}
SAMPLE=${SOAK_SAMPLE:-30}
RELOAD=10
BIN=$ROOT/.build/debug
PREFIX=nvlb-soak-
RSS_GROWTH_KB=${SOAK_RSS_GROWTH_KB:-8192}
FD_GROWTH=${SOAK_FD_GROWTH:-0}
THREAD_GROWTH=${SOAK_THREAD_GROWTH:-2}

while [ $# -gt 0 ]; do
    case $1 in
        --seconds) SECONDS_TOTAL=$2; shift 2 ;;
        --sample) SAMPLE=$2; shift 2 ;;
        --reload) RELOAD=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --prefix) PREFIX=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab/soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
die() { echo "lab/soak.sh: $*" >&2; exit 2; }
[[ $SECONDS_TOTAL =~ ^[0-9]+$ && $SECONDS_TOTAL -ge 30 ]] || die "--seconds must be an integer ≥ 30"
[[ $SAMPLE =~ ^[0-9]+$ && $SAMPLE -ge 1 ]] || die "--sample must be a positive integer"
[[ $RELOAD =~ ^[0-9]+$ && $RELOAD -ge 1 ]] || die "--reload must be a positive integer"
[ -x "$BIN/nvlb" ] || die "no $BIN/nvlb: run 'swift build' first"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[ -n "$PYTHON" ] || die "needs python3"

WORK=$(mktemp -d /tmp/nvlb-soak.XXXXXX)
RUN_DIR=$WORK/run
CONFIG=$WORK/lab.yaml
cp "$ROOT/Config/lab.yaml" "$CONFIG"
grep -q '{ vsid: 5001, ca: 10.1.6.22, weight: 1 }' "$CONFIG" || die "Config/lab.yaml: blue-web's backend 10.1.6.22 not found"
LIFETIME=$((SECONDS_TOTAL + 300))
LOOPS=()

cleanup() {
    local status=$?
    for pid in "${LOOPS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$LAB_DIR/down.sh" --prefix "$PREFIX" --run-dir "$RUN_DIR" --quiet || true
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LAB_DIR/up.sh" --prefix "$PREFIX" --config "$CONFIG" --bin "$BIN" --run-dir "$RUN_DIR" \
    --lifetime "$LIFETIME" --nvlb >/dev/null
in_ns() { local name=$1; shift; ip netns exec "$PREFIX$name" "$@"; }
NVLB_PID=
for pid in $(ip netns pids "${PREFIX}lb"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nvlb ] && NVLB_PID=$pid
done
[ -n "$NVLB_PID" ] || die "nvlb did not start: $(tail -n 5 "$RUN_DIR/nvlb.log")"
LOG=$RUN_DIR/nvlb.log
CLIENT=$LAB_DIR/http-client.py
READY=$((SECONDS + 60))
until in_ns client "$PYTHON" "$CLIENT" many http://131.107.10.10/whoami --timeout 0.5 | grep -q '"ok": 1'; do
    [ $SECONDS -lt $READY ] || die "the VIP does not answer: $(tail -n 5 "$LOG")"
    sleep 0.5
done

# Traffic loops: each appends one JSON line per batch to its file.
END=$((SECONDS + SECONDS_TOTAL))
loop() {  # NAME NAMESPACE ARGS...
    local name=$1 namespace=$2; shift 2
    (while [ $SECONDS -lt $END ]; do in_ns "$namespace" "$PYTHON" "$CLIENT" "$@" >>"$WORK/$name.jsonl" || true; done) &
    LOOPS+=($!)
}
loop external client many http://131.107.10.10/whoami --count 50 --timeout 5
loop internal blue-client many http://10.1.5.100:8080/whoami --count 50 --timeout 5
loop download client blob "http://131.107.10.10/blob?size=4194304&rate=262144" --timeout 30

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$NVLB_PID/status"; }
fds() { ls "/proc/$NVLB_PID/fd" | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$NVLB_PID/status"; }
sum_ok() { cat "$WORK"/{external,internal}.jsonl 2>/dev/null | "$PYTHON" -c '
import json, sys
ok = failed = 0
for line in sys.stdin:
    r = json.loads(line); ok += r["ok"]; failed += r["failed"]
print(ok, failed)'; }
downloads() { "$PYTHON" -c '
import json, sys
ok = failed = 0
try:
    for line in open(sys.argv[1]):
        if json.loads(line).get("ok"): ok += 1
        else: failed += 1
except FileNotFoundError: pass
print(ok, failed)' "$WORK/download.jsonl"; }
counter() { grep 'counters:' "$LOG" | tail -n 1 | grep -o " $1=[0-9]*" | cut -d= -f2; }

# The reloads, on their own schedule: one line in reloads.txt each.
(
    weight=1
    next=$((SECONDS + RELOAD))
    while [ $SECONDS -lt $END ]; do
        if [ $SECONDS -ge $next ]; then
            weight=$((3 - weight))
            sed -i "s/{ vsid: 5001, ca: 10.1.6.22, weight: [0-9]* }/{ vsid: 5001, ca: 10.1.6.22, weight: $weight }/" "$CONFIG"
            kill -HUP "$NVLB_PID" && echo "$SECONDS $weight" >>"$WORK/reloads.txt"
            next=$((next + RELOAD))
        fi
        sleep 0.2
    done
) &
LOOPS+=($!)
reloads() { [ -f "$WORK/reloads.txt" ] && wc -l <"$WORK/reloads.txt" || echo 0; }

WARMUP=$((SECONDS_TOTAL / 10))
START=$SECONDS
NEXT_SAMPLE=$START
BASE_RSS= BASE_FDS= BASE_THREADS= MAX_RSS=0 MAX_FDS=0 MAX_THREADS=0 FIRST_RSS=
printf '%8s %10s %5s %7s %9s %7s %9s %8s %8s %8s\n' seconds rss_kib fds threads requests failed downloads reloads created flows
while [ $SECONDS -lt $END ]; do
    kill -0 "$NVLB_PID" 2>/dev/null || { echo "lab/soak.sh: nvlb exited: $(tail -n 5 "$LOG")" >&2; exit 1; }
    if [ $SECONDS -ge $NEXT_SAMPLE ]; then
        rss=$(rss_kb) fd=$(fds) th=$(threads)
        read -r ok failed < <(sum_ok)
        read -r dl_ok dl_failed < <(downloads)
        [ -n "$FIRST_RSS" ] || FIRST_RSS=$rss
        if [ $((SECONDS - START)) -ge $WARMUP ]; then
            if [ -z "$BASE_RSS" ]; then BASE_RSS=$rss BASE_FDS=$fd BASE_THREADS=$th; fi
            [ "$rss" -gt $MAX_RSS ] && MAX_RSS=$rss
            [ "$fd" -gt $MAX_FDS ] && MAX_FDS=$fd
            [ "$th" -gt $MAX_THREADS ] && MAX_THREADS=$th
        fi
        printf '%8d %10d %5d %7d %9d %7d %6d/%-2d %8d %8s %8s\n' $((SECONDS - START)) "$rss" "$fd" "$th" "$ok" \
            "$failed" "$dl_ok" "$dl_failed" "$(reloads)" "$(counter flows)" "$(counter live_flows)"
        NEXT_SAMPLE=$((NEXT_SAMPLE + SAMPLE))
    fi
    sleep 1
done
for pid in "${LOOPS[@]}"; do wait "$pid" 2>/dev/null || true; done
LOOPS=()

LAST_RSS=$(rss_kb)
RELOADS=$(reloads)
read -r ok failed < <(sum_ok)
read -r dl_ok dl_failed < <(downloads)
LOGGED=$(grep -c "reloaded $CONFIG" "$LOG" || true)
REJECTED=$(grep -c "reload of $CONFIG rejected" "$LOG" || true)
COUNTERS=$(grep 'counters:' "$LOG" | tail -n 1 | sed 's/.*counters: //')
cat <<EOF

soak summary ($SECONDS_TOTAL s, reload every $RELOAD s, samples every $SAMPLE s, warm-up $WARMUP s)
  requests:   $ok answered, $failed failed (external + internal, a new connection each)
  downloads:  $dl_ok of 4 MiB complete byte for byte, $dl_failed failed
  reloads:    $RELOADS sent, $LOGGED logged, $REJECTED rejected
  nvlb RSS:   $FIRST_RSS KiB at start, $BASE_RSS KiB after warm-up, max $MAX_RSS KiB after, $LAST_RSS KiB at the end (bound +$RSS_GROWTH_KB KiB)
  nvlb fds:   $BASE_FDS after warm-up, max $MAX_FDS (bound +$FD_GROWTH); threads $BASE_THREADS, max $MAX_THREADS (bound +$THREAD_GROWTH)
  counters:   $COUNTERS
EOF

status=0
fail() { echo "soak FAILED: $*" >&2; status=1; }
[ "$failed" -eq 0 ] || fail "$failed requests failed"
[ "$dl_failed" -eq 0 ] || fail "$dl_failed downloads failed"
[ "$dl_ok" -gt 0 ] || fail "no download completed"
[ "$LOGGED" -ge $((RELOADS - 1)) ] || fail "$RELOADS reloads sent, $LOGGED logged"
[ "$REJECTED" -eq 0 ] || fail "$REJECTED reloads rejected"
[ $((MAX_RSS - BASE_RSS)) -le "$RSS_GROWTH_KB" ] || fail "RSS grew by $((MAX_RSS - BASE_RSS)) KiB after warm-up"
[ $((MAX_FDS - BASE_FDS)) -le "$FD_GROWTH" ] || fail "descriptors grew from $BASE_FDS to $MAX_FDS"
[ $((MAX_THREADS - BASE_THREADS)) -le "$THREAD_GROWTH" ] || fail "threads grew from $BASE_THREADS to $MAX_THREADS"
[ $status -eq 0 ] && echo "soak passed"
exit $status
