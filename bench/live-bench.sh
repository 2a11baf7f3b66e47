#!/usr/bin/env bash
# Live benchmark (README.md "Performance"): forwarded Mpps over veth for the naive libpcap forwarder
# (pcap_dispatch → one pcap_inject per frame) against nvlb's live I/O (LiveCapture batches →
# one sendmmsg per batch), measured in the same run on the same topology:
#
#   netns gen [g0] ── veth ── [d0] netns dut [d1] ── veth ── [s0] netns sink
#
# Two measurements per forwarder:
#   steady  a sendmmsg generator and the forwarder run together; the figure is the sink's
#           rx_packets delta per second. On a small VM this is bounded by the generator.
#   drain   the generator fills the forwarder's capture ring while it waits; the forwarder then
#           empties it alone: frames sent / busy time. Its capacity.
# The forwarder is pinned to one CPU; the generator and the sink's receive processing (RPS)
# to the other.
#
# Modes `nvlb` and `nvlb-w2` run the real engine instead: `nvlb run --workers 1|2` in dut with
# external.interface = d0 and underlay.interface = d1 (NAT + NVGRE toward the DIPs' hosts,
# whose PAs are static neighbours at s0's MAC). The generator sends TCP requests to the
# public VIP (4,096 flows; the LiveForwarder modes copy the same frames). Steady only: the
# figures are the sink's rate and the frames per CPU-second of the nvlb process (utime +
# stime over the measured window), comparable to the drain figures.
#
# Usage: sudo bench/live-bench.sh            (env: SECONDS_PER_MODE=5 DRAIN_FRAMES=150000 DRAIN_ROUNDS=3
#                                             BATCH=256 MODES=naive,capture-inject,batched,batched-bypass
#                                             OUT=out/live-bench.json)
#        MODES=naive,batched,nvlb,nvlb-w2 sudo bench/live-bench.sh   (naive vs the engine;
#        NVLB=path: the nvlb binary to run, default .build/release/nvlb of this build)
# Needs root, iproute2, network namespaces and veth. Builds the test bundle in release.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "live-bench: must run as root (network namespaces, AF_PACKET sockets)" >&2
    exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
fi

TAG="b$$"
cleanup() {
    # An nvlb left running in dut (the test failed before stopping it): only the processes
    # of this run's namespace.
    for pid in $(ip netns pids "nvlb-lb-dut-$TAG" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.2
    for pid in $(ip netns pids "nvlb-lb-dut-$TAG" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    for ns in gen dut sink; do ip netns del "nvlb-lb-$ns-$TAG" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

OUT=${OUT:-out/live-bench.json}
mkdir -p "$(dirname "$OUT")"
# -enable-testing: some test targets use @testable imports, which a plain release build refuses.
swift build -c release -Xswiftc -enable-testing --build-tests
NVLB_LIVE_BENCH=1 \
NVLB_LIVE_BENCH_TAG="$TAG" \
NVLB_LIVE_BENCH_SECONDS="${SECONDS_PER_MODE:-5}" \
NVLB_LIVE_BENCH_DRAIN_FRAMES="${DRAIN_FRAMES:-150000}" \
NVLB_LIVE_BENCH_DRAIN_ROUNDS="${DRAIN_ROUNDS:-3}" \
NVLB_LIVE_BENCH_BATCH="${BATCH:-256}" \
NVLB_LIVE_BENCH_MODES="${MODES:-naive,capture-inject,batched,batched-bypass}" \
NVLB_LIVE_BENCH_OUTPUT="$PWD/$OUT" \
NVLB_LIVE_BENCH_NVLB="${NVLB:-$PWD/.build/release/nvlb}" \
    swift test -c release --skip-build --filter LiveBenchmark 2>&1 \
    | grep -E '^(live benchmark|  )' 
echo "live-bench: figures in $OUT (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
