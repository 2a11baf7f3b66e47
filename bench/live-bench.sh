#!/usr/bin/env bash
# Live benchmark (bench/LIVE-BENCH.md): one run, one topology, interleaved rounds of
#
#   bridge       a Linux bridge in dut (d0, d1): the floor of the kernel's per-frame cost
#   nft          the kernel forwarding with nftables DNAT + conntrack: VIP -> one of 4 DIPs
#   naive        libpcap on d0, one pcap_inject per frame on d1 (bench/pcapfwd.c; no NAT)
#   nvlb-pcap-N  nvlb run --io pcap, N = 1, 2 workers: NAT to a DIP + NVGRE to its host
#   nvlb-xdp-N   nvlb run --io af_xdp, N = 1, 2 workers (skipped with the reason when the
#                binary has no AF_XDP backend)
#
#   netns gen [g0] -- veth -- [d0] netns dut [d1] -- veth -- [s0] netns sink
#
# The generator (bench/gen.c: sendmmsg on AF_PACKET, pinned to CPU 0) sends 60-byte IPv4/UDP
# frames of 10,000 flows (100 clients x 100 ports) to the VIP 131.107.10.10:5001, at the MAC
# the mode expects. The DUT's receive processing is steered to CPU 1 (RPS on d0; with an XDP
# program on d0, threaded NAPI of d0 pinned to CPU 1), the forwarder process is pinned to
# CPU 1 (2 workers: CPUs 0,1); the sink's receive processing (RPS on s0) is on CPU 0. The sink
# counts: the figure is s0's rx_packets per second (dut_tx: frames the DUT put on d1,
# including those s0's full backlog dropped).
# DUT CPU = softirq+irq time of CPU 1 (the kernel's forwarding, and the capture's receive work)
# + utime+stime of the forwarder process and of d0's NAPI threads, per million frames at the sink.
# Each run gets a fresh topology; modes are interleaved over ROUNDS rounds; medians.
# Then an overload sweep (SWEEP_MODE, comma-separated): offered rates from SWEEP (Mpps; 0 = as
# fast as the generator can) against the rate forwarded. nvlb-pcap-1-nonice is nvlb-pcap-1
# without CAP_SYS_NICE (its workers keep nice 0), to show what the workers' priority does.
#
# Usage: sudo bench/live-bench.sh   (or make live-bench)
#   env: ROUNDS=3 SECONDS_PER_RUN=4 MODES=bridge,nft,naive,nvlb-pcap-1,nvlb-pcap-2,nvlb-xdp-1,nvlb-xdp-2
#        SWEEP="0.05 0.1 0.15 0.2 0.3 0.5 0" SWEEP_MODE=nvlb-xdp-1,nvlb-pcap-1 SWEEP_SECONDS=3
#        NVLB=.build/release/nvlb FLOWS=10000 OUT=out/live-bench
# Needs root, iproute2, nftables, a C compiler and libpcap-dev. Bounded: every run stops its
# processes; the trap removes the namespaces and stops what is left in them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "live-bench: must run as root (network namespaces, AF_PACKET sockets)" >&2
    exit 1
fi
for tool in ip:iproute2 nft:nftables cc:gcc; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool##*:}" >/dev/null
done

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
WARMUP=${WARMUP:-1}
FLOWS=${FLOWS:-10000}
MODES=${MODES-bridge,nft,naive,nvlb-pcap-1,nvlb-pcap-2,nvlb-xdp-1,nvlb-xdp-2}
SWEEP=${SWEEP-0.05 0.1 0.15 0.2 0.3 0.5 0}
SWEEP_MODE=${SWEEP_MODE:-nvlb-xdp-1,nvlb-pcap-1}
SWEEP_SECONDS=${SWEEP_SECONDS:-3}
NVLB=${NVLB:-$PWD/.build/release/nvlb}
OUT=${OUT:-out/live-bench}
VIP=131.107.10.10
PORT=5001
NVLB_EXTERNAL_MAC=02:4c:42:00:00:01
DUT_CPU=1
OTHER_CPU=0

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TAG="lb$$"
GEN="nvlb-lb-gen-$TAG"; DUT="nvlb-lb-dut-$TAG"; SINK="nvlb-lb-sink-$TAG"
WORK=$(mktemp -d /tmp/nvlb-live-bench.XXXXXX)

stop_namespace_processes() {
    local ns pid
    for ns in "$GEN" "$DUT" "$SINK"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    done
    sleep 0.3
    for ns in "$GEN" "$DUT" "$SINK"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    done
}
teardown() {
    stop_namespace_processes
    for ns in "$GEN" "$DUT" "$SINK"; do ip netns del "$ns" 2>/dev/null || true; done
}
cleanup() {
    teardown
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -Wall -o "$WORK/gen" bench/gen.c
cc -O2 -Wall -o "$WORK/pcapfwd" bench/pcapfwd.c -lpcap

if [[ "$MODES,${SWEEP:+$SWEEP_MODE}" == *nvlb* ]] && [ ! -x "$NVLB" ]; then
    echo "live-bench: $NVLB not found (make release, or NVLB=path)" >&2
    exit 1
fi
# --io: present on builds with several backends; without it, the one backend is the pcap one.
HAS_IO=0
if [ -x "$NVLB" ] && "$NVLB" run --help 2>&1 | grep -q -- '--io'; then HAS_IO=1; fi

# A fresh topology: three namespaces, two veth pairs, RPS as described above.
setup_topology() {
    local ns
    for ns in "$GEN" "$DUT" "$SINK"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip -n "$GEN" link add g0 type veth peer name d0 netns "$DUT"
    ip -n "$DUT" link add d1 type veth peer name s0 netns "$SINK"
    ip -n "$GEN" link set g0 up
    ip -n "$DUT" link set d0 up
    ip -n "$DUT" link set d1 up
    ip -n "$SINK" link set s0 up
    ip netns exec "$DUT" sh -c "printf %x $((1 << DUT_CPU)) > /sys/class/net/d0/queues/rx-0/rps_cpus"
    ip netns exec "$SINK" sh -c "printf %x $((1 << OTHER_CPU)) > /sys/class/net/s0/queues/rx-0/rps_cpus"
    S0_MAC=$(ip netns exec "$SINK" cat /sys/class/net/s0/address)
    D0_MAC=$(ip netns exec "$DUT" cat /sys/class/net/d0/address)
    G0_MAC=$(ip netns exec "$GEN" cat /sys/class/net/g0/address)
    local i
    for i in $(seq 50); do
        [ "$(ip netns exec "$SINK" cat /sys/class/net/s0/operstate)" = up ] && \
        [ "$(ip netns exec "$GEN" cat /sys/class/net/g0/operstate)" = up ] && return 0
        sleep 0.05
    done
}

counter() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
# An XDP program makes veth receive in NAPI, which runs where the sender transmits (the
# generator's CPU) and before RPS. Threaded NAPI pinned to the DUT's CPU puts that work where a
# NIC's queue interrupt would: on the DUT. Called once the program is attached (veth has no
# NAPI before); sets NAPI_PIDS (their CPU time counts as the DUT's).
NAPI_PIDS=""
pin_napi() {
    ip netns exec "$DUT" sh -c "echo 1 > /sys/class/net/d0/threaded" 2>/dev/null || return 0
    local i
    for i in $(seq 40); do
        NAPI_PIDS=$(pgrep -x 'napi/d0-[0-9]*' || true)
        [ -n "$NAPI_PIDS" ] && break
        sleep 0.05
    done
    local pid
    for pid in $NAPI_PIDS; do taskset -pc "$DUT_CPU" "$pid" >/dev/null; done
}
# Jiffies of softirq + irq on the DUT's CPU.
cpu_interrupt_ticks() { awk -v c="cpu$DUT_CPU" '$1 == c { print $7 + $8 }' /proc/stat; }
process_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)

nvlb_config() {
    cat <<EOF
balancer:
  workers: $1
  flow_table_capacity: 1048576
underlay:
  interface: d1
  address: 192.168.6.2
  mac: 02:4c:42:00:06:02
  neighbors:
    - { address: 192.168.6.3, mac: $S0_MAC }
    - { address: 192.168.6.4, mac: $S0_MAC }
external:
  interface: d0
  mac: $NVLB_EXTERNAL_MAC
  gateway_mac: $G0_MAC
routing_domains:
  - name: blue
    gateway_mac: 02:4c:42:00:b1:00
    subnets: [5001]
    lookup_records:
      - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
      - { vsid: 5001, ca: 10.1.6.21, pa: 192.168.6.4, mac: 00:15:5d:01:06:21 }
      - { vsid: 5001, ca: 10.1.6.22, pa: 192.168.6.3, mac: 00:15:5d:01:06:22 }
      - { vsid: 5001, ca: 10.1.6.23, pa: 192.168.6.4, mac: 00:15:5d:01:06:23 }
load_balancers:
  - name: web
    routing_domain: blue
    frontends: [ { vip: $VIP } ]
    rules: [ { protocol: udp, frontend_port: $PORT, backend_port: $PORT } ]
    backends:
      - { vsid: 5001, ca: 10.1.6.20 }
      - { vsid: 5001, ca: 10.1.6.21 }
      - { vsid: 5001, ca: 10.1.6.22 }
      - { vsid: 5001, ca: 10.1.6.23 }
EOF
}

# Starts the DUT of mode $1; sets DUT_PID (0: in-kernel), DEST_MAC; returns 3 when the mode
# is not available (reason in SKIP_REASON).
DUT_PID=0
start_dut() {
    local mode=$1
    DUT_PID=0
    SKIP_REASON=""
    NAPI_PIDS=""
    case "$mode" in
    bridge)
        ip -n "$DUT" link add br0 type bridge
        ip -n "$DUT" link set d0 master br0
        ip -n "$DUT" link set d1 master br0
        ip -n "$DUT" link set br0 up
        DEST_MAC=$S0_MAC
        ;;
    nft)
        ip -n "$DUT" addr add 10.0.0.1/24 dev d0
        ip -n "$DUT" addr add 10.1.0.1/24 dev d1
        ip netns exec "$DUT" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.d0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip -n "$DUT" neigh replace 10.0.0.2 lladdr "$G0_MAC" nud permanent dev d0
        ip -n "$DUT" neigh replace 10.1.0.2 lladdr "$S0_MAC" nud permanent dev d1
        ip -n "$DUT" route add 198.18.0.0/15 via 10.0.0.2 dev d0
        ip -n "$DUT" route add 10.2.0.0/24 via 10.1.0.2 dev d1
        ip netns exec "$DUT" nft -f - <<EOF
table ip lb {
    chain prerouting {
        type nat hook prerouting priority dstnat;
        ip daddr $VIP udp dport $PORT dnat to jhash ip saddr . udp sport mod 4 map { 0 : 10.2.0.10, 1 : 10.2.0.11, 2 : 10.2.0.12, 3 : 10.2.0.13 }
    }
}
EOF
        DEST_MAC=$D0_MAC
        ;;
    naive)
        ip netns exec "$DUT" taskset -c "$DUT_CPU" "$WORK/pcapfwd" d0 d1 >"$WORK/dut.log" 2>&1 &
        DUT_PID=$!
        wait_for_line "$WORK/dut.log" ready 5 || { SKIP_REASON="pcapfwd did not start: $(tail -1 "$WORK/dut.log")"; return 3; }
        DEST_MAC=$S0_MAC
        ;;
    nvlb-pcap-* | nvlb-xdp-*)
        local base=${mode%-nonice} prefix=()
        # -nonice: without CAP_SYS_NICE, workers keep nice 0 (docs/operations.md "Overload").
        [ "$base" != "$mode" ] && prefix=(setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice)
        local workers=${base##*-} io=pcap cpus=$DUT_CPU
        [ "${mode#nvlb-xdp}" != "$mode" ] && io=af_xdp
        [ "$workers" -gt 1 ] && cpus="$OTHER_CPU,$DUT_CPU"
        local args=()
        if [ "$HAS_IO" = 1 ]; then
            args=(--io "$io")
        elif [ "$io" = af_xdp ]; then
            SKIP_REASON="nvlb run has no --io option"
            return 3
        fi
        nvlb_config "$workers" >"$WORK/nvlb.yaml"
        ip netns exec "$DUT" taskset -c "$cpus" "${prefix[@]}" "$NVLB" run --config "$WORK/nvlb.yaml" --workers "$workers" \
            --stats-interval 0 "${args[@]}" >"$WORK/dut.log" 2>&1 &
        DUT_PID=$!
        if ! wait_for_line "$WORK/dut.log" "nvlb running" 15; then
            SKIP_REASON=$(grep -m1 -iE 'error|fail|unknown|not' "$WORK/dut.log" || tail -1 "$WORK/dut.log")
            stop_dut
            return 3
        fi
        DEST_MAC=$NVLB_EXTERNAL_MAC
        pin_napi
        ;;
    *) echo "live-bench: unknown mode $mode" >&2; exit 2 ;;
    esac
}

wait_for_line() {
    local file=$1 text=$2 seconds=$3 i
    for i in $(seq $((seconds * 20))); do
        grep -q "$text" "$file" 2>/dev/null && return 0
        [ "$DUT_PID" != 0 ] && ! alive "$DUT_PID" && return 1
        sleep 0.05
    done
    return 1
}

# A process that has not exited (a child that exited stays a zombie until waited for).
alive() { [ -e "/proc/$1/stat" ] && [ "$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Stops the DUT process (SIGTERM, then SIGKILL after 10 s).
stop_dut() {
    [ "$DUT_PID" = 0 ] && return 0
    kill -TERM "$DUT_PID" 2>/dev/null || true
    local i
    for i in $(seq 200); do alive "$DUT_PID" || break; sleep 0.05; done
    kill -KILL "$DUT_PID" 2>/dev/null || true
    wait "$DUT_PID" 2>/dev/null || true
}

# One measured run: generator at rate $2 (pps, 0 = max) for WARMUP + $3 seconds; appends a
# line of key=value figures to $4.
measure() {
    local mode=$1 rate=$2 seconds=$3 out=$4
    local total
    total=$(awk -v a="$WARMUP" -v b="$seconds" 'BEGIN { print a + b + 0.3 }')
    ip netns exec "$GEN" taskset -c "$OTHER_CPU" "$WORK/gen" g0 "$DEST_MAC" "$VIP" "$PORT" "$FLOWS" "$total" \
        "$rate" 64 >"$WORK/gen.log" 2>&1 &
    local gen_pid=$!
    sleep "$WARMUP"
    local s0 s0drop g0 g0drop irq proc t0
    s0=$(counter "$SINK" s0 rx_packets); s0drop=$(counter "$SINK" s0 rx_dropped)
    g0=$(counter "$GEN" g0 tx_packets); g0drop=$(counter "$GEN" g0 tx_dropped)
    local x0 x0drop x1 x1drop
    x0=$(counter "$DUT" d1 tx_packets); x0drop=$(counter "$DUT" d1 tx_dropped)
    irq=$(cpu_interrupt_ticks)
    proc=0; [ "$DUT_PID" != 0 ] && proc=$(process_ticks "$DUT_PID")
    local pid; for pid in $NAPI_PIDS; do proc=$((proc + $(process_ticks "$pid"))); done
    t0=$(date +%s.%N)
    sleep "$seconds"
    local s1 s1drop g1 g1drop irq1 proc1 t1
    s1=$(counter "$SINK" s0 rx_packets); s1drop=$(counter "$SINK" s0 rx_dropped)
    g1=$(counter "$GEN" g0 tx_packets); g1drop=$(counter "$GEN" g0 tx_dropped)
    x1=$(counter "$DUT" d1 tx_packets); x1drop=$(counter "$DUT" d1 tx_dropped)
    irq1=$(cpu_interrupt_ticks)
    proc1=0; [ "$DUT_PID" != 0 ] && proc1=$(process_ticks "$DUT_PID")
    for pid in $NAPI_PIDS; do proc1=$((proc1 + $(process_ticks "$pid"))); done
    t1=$(date +%s.%N)
    wait "$gen_pid" || true
    # offered: frames the generator put on g0 (taken by d0, or dropped at d0's full receive
    # backlog: dut_rx_drops, as a NIC's ring would).
    echo "mode=$mode rate=$rate seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
        "sink=$((s1 - s0)) sink_drops=$((s1drop - s0drop)) offered=$((g1 - g0 + g1drop - g0drop))" \
        "dut_rx_drops=$((g1drop - g0drop)) dut_tx=$((x1 - x0 + x1drop - x0drop)) dut_tx_drops=$((x1drop - x0drop)) irq_s=$(awk -v a="$irq" -v b="$irq1" -v t="$TICK" 'BEGIN { printf "%.3f", (b - a) / t }')" \
        "proc_s=$(awk -v a="$proc" -v b="$proc1" -v t="$TICK" 'BEGIN { printf "%.3f", (b - a) / t }')" \
        "gen=$(cat "$WORK/gen.log" | tr ' ' ':')" >>"$out"
}

# nvlb's final counters (key=value) from its log, after it stopped.
nvlb_counters() {
    grep -m1 'final counters:' "$WORK/dut.log" | sed 's/.*final counters: //; s/ drops: .*//' || true
}

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
IFS=, read -r -a MODE_LIST <<<"$MODES"
declare -A UNAVAILABLE=()
echo "live-bench: $ROUNDS rounds of ${MODE_LIST[*]}, $SECONDS_PER_RUN s each, $FLOWS flows, 60-byte frames" \
    "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq "$ROUNDS"); do
    for mode in "${MODE_LIST[@]}"; do
        [ -n "${UNAVAILABLE[$mode]:-}" ] && continue
        setup_topology
        if start_dut "$mode"; then
            measure "$mode" 0 "$SECONDS_PER_RUN" "$WORK/run.txt"
            stop_dut
            line=$(cat "$WORK/run.txt"); rm -f "$WORK/run.txt"
            case "$mode" in nvlb-*) line="$line $(nvlb_counters)" ;; esac
            [ "$mode" = naive ] && line="$line $(awk '/^forwarded/ { print "sent=" $2, "send_failures=" $4, "kernel_drops=" $6 }' "$WORK/dut.log")"
            echo "round=$round $line" >>"$RESULTS"
            echo "  round $round $line"
        else
            UNAVAILABLE[$mode]=$SKIP_REASON
            echo "  ${mode#nvlb-}: not available ($SKIP_REASON)" | sed 's/^  xdp-\([0-9]\)/  af_xdp (\1 worker(s))/'
        fi
        teardown
    done
done

SWEEP_RESULTS="$OUT/sweep.txt"
: >"$SWEEP_RESULTS"
IFS=, read -r -a SWEEP_LIST <<<"$SWEEP_MODE"
if [ -n "$SWEEP" ]; then
    echo "live-bench: overload sweep of ${SWEEP_LIST[*]} (offered Mpps: $SWEEP; 0 = the generator's maximum)"
    for mpps in $SWEEP; do
        for mode in "${SWEEP_LIST[@]}"; do
            [ -n "${UNAVAILABLE[$mode]:-}" ] && continue
            setup_topology
            if start_dut "$mode"; then
                pps=$(awk -v m="$mpps" 'BEGIN { printf "%d", m * 1e6 }')
                measure "$mode" "$pps" "$SWEEP_SECONDS" "$WORK/run.txt"
                stop_dut
                line="$(cat "$WORK/run.txt") $(nvlb_counters)"; rm -f "$WORK/run.txt"
                echo "$line" >>"$SWEEP_RESULTS"
                echo "  $line"
            fi
            teardown
        done
    done
fi

python3 bench/live-bench-table.py "$RESULTS" "$SWEEP_RESULTS" \
    "$(for m in "${!UNAVAILABLE[@]}"; do echo "$m: ${UNAVAILABLE[$m]}"; done)" | tee "$OUT/table.md"
echo "live-bench: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "figures in $OUT/"
