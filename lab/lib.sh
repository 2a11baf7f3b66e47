# Shared by lab/up.sh and lab/scaleout-up.sh (sourced, not run): a fresh run directory, teardown
# with the logs' tails on failure, and the namespace helpers. Needs PREFIX, RUN_DIR, LAB_DIR,
# LIFETIME and SCRIPT (the calling script's name, for messages).

# A stale lab of the same prefix goes first.
"$LAB_DIR/down.sh" --prefix "$PREFIX" --run-dir "$RUN_DIR" --quiet
mkdir -p "$RUN_DIR"

teardown_on_failure() {
    local status=$?
    if [ $status -ne 0 ]; then
        echo "$SCRIPT: failed (status $status); logs were in $RUN_DIR; tearing down" >&2
        for log in "$RUN_DIR"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
        "$LAB_DIR/down.sh" --prefix "$PREFIX" --run-dir "$RUN_DIR" --quiet || true
    fi
}
trap teardown_on_failure EXIT
trap 'exit 130' INT TERM

ns() { echo "$PREFIX$1"; }
in_ns() { local name=$1; shift; ip netns exec "$(ns "$name")" "$@"; }

# A namespace with lo up and IPv6 off (no router solicitations or MLD on the lab's links).
make_ns() {
    ip netns add "$(ns "$1")"
    in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$(ns "$1")" link set lo up
}

# Runs a command detached in a namespace, bounded by the lab's lifetime, logging to RUN_DIR.
start_in_ns() {
    local name=$1 log=$2; shift 2
    setsid ip netns exec "$(ns "$name")" timeout -k 5 "$LIFETIME" "$@" </dev/null >"$RUN_DIR/$log.log" 2>&1 &
    echo $! >"$RUN_DIR/$log.pid"
}
