#!/usr/bin/env bash
# Builds the nvlb lab: a virtual datacenter of network namespaces (docs/lab.md).
#
#   lab/up.sh [--prefix P] [--config FILE] [--bin DIR] [--run-dir DIR] [--lifetime S]
#             [--nvlb] [--verbose]
#
#   --prefix P     namespace name prefix (default nvlb-lab-; must start with nvlb-)
#   --config FILE  the nvlb configuration the hosts read (default Config/lab.yaml)
#   --bin DIR      where nvlb-hvhost (and nvlb) are (default .build/debug)
#   --run-dir DIR  logs, host counters (HOST.json), pids (default /tmp/<prefix>run)
#   --lifetime S   every process the lab starts exits after S seconds (default 900)
#   --nvlb         also start `nvlb run --config FILE` in the nvlb namespace
#   --verbose      hosts log every dropped frame
#
# Needs root, iproute2 and python3. Creates only namespaces named <prefix>*, and the
# interfaces inside them; the root namespace is not touched. On any failure everything
# created is torn down (lab/down.sh). Tear down with: lab/down.sh [--prefix P].
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$LAB_DIR")
PREFIX=nvlb-lab-
CONFIG=$ROOT/Config/lab.yaml
BIN=$ROOT/.build/debug
RUN_DIR=
LIFETIME=900
START_NVLB=0
VERBOSE=()

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --config) CONFIG=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --run-dir) RUN_DIR=$2; shift 2 ;;
        --lifetime) LIFETIME=$2; shift 2 ;;
        --nvlb) START_NVLB=1; shift ;;
        --verbose) VERBOSE=(--verbose); shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab/up.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
RUN_DIR=${RUN_DIR:-/tmp/${PREFIX}run}
CONFIG=$(realpath "$CONFIG")

die() { echo "lab/up.sh: $*" >&2; exit 1; }
[[ $PREFIX == nvlb-* ]] || die "--prefix must start with nvlb- (got '$PREFIX')"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, raw sockets)"
command -v ip >/dev/null || die "needs iproute2 (ip)"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[ -n "$PYTHON" ] || die "needs python3"
[ -x "$BIN/nvlb-hvhost" ] || die "no $BIN/nvlb-hvhost: run 'swift build' first"
[ -f "$CONFIG" ] || die "no configuration $CONFIG"
if [ "$START_NVLB" = 1 ]; then [ -x "$BIN/nvlb" ] || die "no $BIN/nvlb: run 'swift build' first"; fi

SCRIPT=lab/up.sh
# shellcheck source=lab/lib.sh
. "$LAB_DIR/lib.sh"

# Every sender keeps its default offloads (checksum offload, TSO, GSO) and the client the
# usual 1500-byte MTU, as in a real datacenter: nvlb and the hosts finish what the senders
# left pending (docs/packets.md "Frames from virtual links").

NAMESPACES=(pa lb client hv1 hv2 hv3 blue-vm1 blue-vm2 blue-vm3 blue-client red-vm1 red-vm2)
for name in "${NAMESPACES[@]}"; do make_ns "$name"; done

# The provider network: one bridge, an uplink per PA holder (nvlb, hosts). No addresses:
# nvlb and the hosts answer ARP for their PAs themselves, the kernels never see GRE.
ip -n "$(ns pa)" link add br-pa type bridge stp_state 0
ip -n "$(ns pa)" link set br-pa up
uplink() {  # NAMESPACE MAC
    ip -n "$(ns pa)" link add "$1" type veth peer name pa0 netns "$(ns "$1")"
    ip -n "$(ns pa)" link set "$1" master br-pa up
    ip -n "$(ns "$1")" link set pa0 address "$2" up
}
uplink lb 02:4c:42:00:06:02    # underlay.mac
uplink hv1 02:00:00:00:06:03
uplink hv2 02:00:00:00:06:04
uplink hv3 02:00:00:00:06:05

# The external side: the client is on nvlb's ext0 (external.gateway_mac is the client's MAC);
# the VIPs are on-link, so the client ARPs for them and nvlb answers. MTU 1500, an Internet
# client's: nvlb clamps the MSS and answers "fragmentation needed" for what does not fit in
# NVGRE on a 1500-byte underlay (docs/packets.md "ICMP and path MTU").
ip -n "$(ns lb)" link add ext0 type veth peer name eth0 netns "$(ns client)"
ip -n "$(ns lb)" link set ext0 address 02:4c:42:00:00:01 up
ip -n "$(ns client)" link set eth0 address 02:00:00:00:00:fe mtu 1500 up
ip -n "$(ns client)" addr add 203.0.113.10/24 dev eth0
ip -n "$(ns client)" route add 131.107.0.0/16 dev eth0

# A tenant VM: a namespace with eth0 (the lookup record's MAC, the CA, default route via
# the subnet's .1, which the host's ARP proxy answers with the domain's gateway MAC); the
# other end of the veth is in the host's namespace, named after the VM.
vm() {  # HOST VM MAC CA GATEWAY PORT...
    local host=$1 name=$2 mac=$3 ca=$4 gateway=$5; shift 5
    ip -n "$(ns "$host")" link add "$name" type veth peer name eth0 netns "$(ns "$name")"
    ip -n "$(ns "$host")" link set "$name" mtu 1458 up
    ip -n "$(ns "$name")" link set eth0 address "$mac" mtu 1458 up
    ip -n "$(ns "$name")" addr add "$ca/24" dev eth0
    ip -n "$(ns "$name")" route add default via "$gateway"
    if [ $# -gt 0 ]; then
        local ports=()
        for port in "$@"; do ports+=(--port "$port"); done
        start_in_ns "$name" "$name" "$PYTHON" "$LAB_DIR/vm-httpd.py" --name "$name" --bind "$ca" "${ports[@]}"
    fi
}
vm hv1 blue-vm1    00:15:5d:01:06:20 10.1.6.20 10.1.6.1 80 8080
vm hv1 red-vm1     00:15:5d:02:06:21 10.1.6.21 10.1.6.1 443
vm hv2 blue-vm2    00:15:5d:01:06:21 10.1.6.21 10.1.6.1 80 8080
vm hv2 red-vm2     00:15:5d:02:06:22 10.1.6.22 10.1.6.1 443
vm hv3 blue-vm3    00:15:5d:01:06:22 10.1.6.22 10.1.6.1 80 8080
vm hv3 blue-client 00:15:5d:01:05:20 10.1.5.20 10.1.5.1

host() {  # HOST PA VSID:CA:INTERFACE...
    local name=$1 pa=$2; shift 2
    local vms=()
    for vm in "$@"; do vms+=(--vm "$vm"); done
    start_in_ns "$name" "$name" "$BIN/nvlb-hvhost" run --config "$CONFIG" --pa "$pa" --underlay pa0 \
        "${vms[@]}" --stats "$RUN_DIR/$name.json" "${VERBOSE[@]}"
}
host hv1 192.168.6.3 5001:10.1.6.20:blue-vm1 6001:10.1.6.21:red-vm1
host hv2 192.168.6.4 5001:10.1.6.21:blue-vm2 6001:10.1.6.22:red-vm2
host hv3 192.168.6.5 5001:10.1.6.22:blue-vm3 5002:10.1.5.20:blue-client

if [ "$START_NVLB" = 1 ]; then
    start_in_ns lb nvlb "$BIN/nvlb" run --config "$CONFIG"
fi

# Ready when every host writes its counters and every web server listens (bounded).
wait_for() {  # WHAT SECONDS COMMAND...
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
        sleep 0.1
    done
}
alive() { kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null || die "$1 exited: $(tail -n 5 "$RUN_DIR/$1.log")"; }
for name in hv1 hv2 hv3; do
    wait_for "$name" 15 bash -c "[ -s '$RUN_DIR/$name.json' ] || { kill -0 \$(cat '$RUN_DIR/$name.pid') || exit 0; exit 1; }"
    alive "$name"
done
for name in blue-vm1 blue-vm2 blue-vm3 red-vm1 red-vm2; do
    wait_for "$name" 15 bash -c "grep -q listening '$RUN_DIR/$name.log' || { kill -0 \$(cat '$RUN_DIR/$name.pid') || exit 0; exit 1; }"
    alive "$name"
done
[ "$START_NVLB" = 1 ] && { sleep 1; alive nvlb; }

trap - EXIT
cat <<EOF
lab up: namespaces ${PREFIX}{$(IFS=,; echo "${NAMESPACES[*]}")}
  logs and host counters: $RUN_DIR
  try:   ip netns exec ${PREFIX}blue-vm1 curl -s http://10.1.6.21/whoami        # blue-vm2, via NVGRE
         ip netns exec ${PREFIX}client curl -s http://131.107.10.10/whoami      # needs nvlb run
         ip netns exec ${PREFIX}blue-client curl -s http://10.1.5.100:8080/whoami
  down:  $LAB_DIR/down.sh --prefix $PREFIX
EOF
