#!/usr/bin/env bash
# Builds the scale-out lab: two nvlb instances behind a router doing ECMP, announced over
# BGP (docs/lab.md "Scale-out lab", docs/operations.md "Several instances behind ECMP").
#
#   lab/scaleout-up.sh [--prefix P] [--bin DIR] [--run-dir DIR] [--lifetime S]
#
#   --prefix P     namespace name prefix (default nvlb-sx-; must start with nvlb-)
#   --bin DIR      where nvlb and nvlb-hvhost are (default .build/debug)
#   --run-dir DIR  logs, configurations, pids, BIRD's socket (default /tmp/<prefix>run)
#   --lifetime S   every process the lab starts exits after S seconds (default 900)
#
# Namespaces: pa (bridge br-pa, 192.168.6.0/24), router (BIRD 2, AS 65000, 192.168.6.1 and
# 203.0.113.1, kernel ECMP with layer-4 hashing), lb1 and lb2 (nvlb with bgp:, AS 65010,
# kernel addresses 192.168.6.21/.22 for the sessions, next hops 192.168.6.11/.12, the shared
# underlay address 192.168.6.2), client (203.0.113.10), hv1 and hv2 (nvlb-hvhost, PAs
# 192.168.6.3/.4, sending NVGRE to 192.168.6.2 through the router), blue-vm1 and blue-vm2
# (web servers on port 80, DIPs of the VIP 131.107.10.10).
#
# Needs root, iproute2, python3, bird2 and exabgp. BIRD is started here (never as a system
# service) with its own socket and pid file in the run directory. Tear down with
# lab/down.sh --prefix P.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$LAB_DIR")
PREFIX=nvlb-sx-
BIN=$ROOT/.build/debug
RUN_DIR=
LIFETIME=900

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --run-dir) RUN_DIR=$2; shift 2 ;;
        --lifetime) LIFETIME=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab/scaleout-up.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
RUN_DIR=${RUN_DIR:-/tmp/${PREFIX}run}

die() { echo "lab/scaleout-up.sh: $*" >&2; exit 1; }
[[ $PREFIX == nvlb-* ]] || die "--prefix must start with nvlb- (got '$PREFIX')"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, raw sockets)"
command -v ip >/dev/null || die "needs iproute2 (ip)"
BIRD=$(command -v bird || true); BIRDC=$(command -v birdc || true)
[ -n "$BIRD" ] && [ -n "$BIRDC" ] || die "needs BIRD 2 (Debian bird2)"
[ -x /usr/sbin/exabgp ] || die "needs ExaBGP (Debian exabgp)"
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)
[ -n "$PYTHON" ] || die "needs python3"
[ -x "$BIN/nvlb-hvhost" ] && [ -x "$BIN/nvlb" ] || die "no $BIN/nvlb or nvlb-hvhost: run 'swift build' first"

SCRIPT=lab/scaleout-up.sh
# shellcheck source=lab/lib.sh
. "$LAB_DIR/lib.sh"
# No interface's offloads are changed: nvlb and the hosts complete partial checksums and cut
# super-frames themselves (docs/packets.md "Frames from virtual links").

NAMESPACES=(pa router lb1 lb2 client hv1 hv2 blue-vm1 blue-vm2)
for name in "${NAMESPACES[@]}"; do make_ns "$name"; done

ip -n "$(ns pa)" link add br-pa type bridge stp_state 0
ip -n "$(ns pa)" link set br-pa up
uplink() {  # NAMESPACE INTERFACE-MAC
    ip -n "$(ns pa)" link add "$1" type veth peer name pa0 netns "$(ns "$1")"
    ip -n "$(ns pa)" link set "$1" master br-pa up
    ip -n "$(ns "$1")" link set pa0 address "$2" up
}

# The router: provider side 192.168.6.1, Internet side 203.0.113.1; ECMP by 5-tuple; no
# redirects (it forwards NVGRE back out of the interface it came in on).
uplink router 02:00:00:00:06:01
in_ns router ip addr add 192.168.6.1/24 dev pa0
ip -n "$(ns router)" link add ext0 type veth peer name eth0 netns "$(ns client)"
ip -n "$(ns router)" link set ext0 address 02:00:00:00:71:01 up
in_ns router ip addr add 203.0.113.1/24 dev ext0
in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.pa0.send_redirects=0 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.pa0.rp_filter=0
ip -n "$(ns client)" link set eth0 address 02:00:00:00:00:fe up
in_ns client ip addr add 203.0.113.10/24 dev eth0
in_ns client ip route add default via 203.0.113.1

# Two instances: a kernel address for BGP on pa0, nvlb's own MACs for the data plane.
instance() {  # NAME INDEX
    local name=$1 i=$2
    uplink "$name" "02:00:00:00:06:2$i"
    in_ns "$name" ip addr add "192.168.6.2$i/24" dev pa0
    sed -e "s/@MAC@/02:4c:42:00:06:1$i/" -e "s/@EXTMAC@/02:4c:42:00:00:1$i/" \
        -e "s/@LOCAL@/192.168.6.2$i/" -e "s/@NEXTHOP@/192.168.6.1$i/" \
        "$LAB_DIR/scaleout.yaml.in" >"$RUN_DIR/$name.yaml"
}
# The management API's token file (both instances' configurations name it).
printf 'lab %s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$RUN_DIR/tokens"
chmod 600 "$RUN_DIR/tokens"
instance lb1 1
instance lb2 2

vm() {  # HOST VM MAC CA
    local host=$1 name=$2 mac=$3 ca=$4
    ip -n "$(ns "$host")" link add "$name" type veth peer name eth0 netns "$(ns "$name")"
    ip -n "$(ns "$host")" link set "$name" mtu 1458 up
    ip -n "$(ns "$name")" link set eth0 address "$mac" mtu 1458 up
    ip -n "$(ns "$name")" addr add "$ca/24" dev eth0
    ip -n "$(ns "$name")" route add default via 10.1.6.1
    start_in_ns "$name" "$name" "$PYTHON" "$LAB_DIR/vm-httpd.py" --name "$name" --bind "$ca" --port 80
}
host() {  # HOST MAC PA VSID:CA:INTERFACE
    uplink "$1" "$2"
    start_in_ns "$1" "$1" "$BIN/nvlb-hvhost" run --config "$RUN_DIR/lb1.yaml" --pa "$3" --underlay pa0 \
        --vm "$4" --gateway-mac 02:00:00:00:06:01 --stats "$RUN_DIR/$1.json"
}
vm hv1 blue-vm1 00:15:5d:01:06:20 10.1.6.20
vm hv2 blue-vm2 00:15:5d:01:06:21 10.1.6.21
host hv1 02:00:00:00:06:03 192.168.6.3 5001:10.1.6.20:blue-vm1
host hv2 02:00:00:00:06:04 192.168.6.4 5001:10.1.6.21:blue-vm2

cat >"$RUN_DIR/bird.conf" <<BIRD
router id 192.168.6.1;
protocol device { }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths on;     # equal BGP routes from both instances become one ECMP route
}
template bgp nvlbs {
    local 192.168.6.1 as 65000;
    hold time 9;
    ipv4 { import all; export none; };
}
protocol bgp lb1 from nvlbs { neighbor 192.168.6.21 as 65010; }
protocol bgp lb2 from nvlbs { neighbor 192.168.6.22 as 65010; }
BIRD
start_in_ns router bird "$BIRD" -f -c "$RUN_DIR/bird.conf" -s "$RUN_DIR/bird.ctl" -P "$RUN_DIR/bird.run.pid"

start_nvlb() { start_in_ns "$1" "$1" "$BIN/nvlb" run --config "$RUN_DIR/$1.yaml" --stats-interval 0; }
start_nvlb lb1
start_nvlb lb2

wait_for() {  # WHAT SECONDS COMMAND...
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
        sleep 0.2
    done
}
alive() { kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null || die "$1 exited: $(tail -n 5 "$RUN_DIR/$1.log")"; }
for name in blue-vm1 blue-vm2; do wait_for "$name" 15 grep -q listening "$RUN_DIR/$name.log"; alive "$name"; done
for name in hv1 hv2 bird lb1 lb2; do alive "$name"; done
# Ready when the router holds the VIP with two next hops.
wait_for "two next hops for 131.107.10.10" 60 bash -c \
    "[ \$(ip netns exec '$(ns router)' ip route show 131.107.10.10 | grep -c nexthop) = 2 ]"

trap - EXIT
cat <<EOF
scale-out lab up: namespaces ${PREFIX}{$(IFS=,; echo "${NAMESPACES[*]}")}
  logs, configurations: $RUN_DIR
  try:   ip netns exec ${PREFIX}router ip route show 131.107.10.10
         birdc -s $RUN_DIR/bird.ctl show protocols
         ip netns exec ${PREFIX}client curl -s http://131.107.10.10/whoami
  down:  $LAB_DIR/down.sh --prefix $PREFIX --run-dir $RUN_DIR
EOF
