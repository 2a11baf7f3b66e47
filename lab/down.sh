#!/usr/bin/env bash
# Tears the nvlb lab down: every process in the lab's namespaces (SIGTERM, then SIGKILL
# after 3 s), then the namespaces (which removes their interfaces), then the run directory.
#
#   lab/down.sh [--prefix P] [--run-dir DIR] [--keep-logs] [--quiet]
#
# Only namespaces whose name starts with the prefix (default nvlb-lab-; it must start
# with nvlb-) are touched. Safe to run when nothing is up.
set -uo pipefail

PREFIX=nvlb-lab-
RUN_DIR=
KEEP_LOGS=0
QUIET=0
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --run-dir) RUN_DIR=$2; shift 2 ;;
        --keep-logs) KEEP_LOGS=1; shift ;;
        --quiet) QUIET=1; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab/down.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
RUN_DIR=${RUN_DIR:-/tmp/${PREFIX}run}
if [[ $PREFIX != nvlb-* ]]; then echo "lab/down.sh: --prefix must start with nvlb-" >&2; exit 2; fi
if [ "$(id -u)" != 0 ]; then echo "lab/down.sh: needs root" >&2; exit 1; fi

namespaces=()
while read -r name _; do
    [[ $name == "$PREFIX"* ]] && namespaces+=("$name")
done < <(ip netns list 2>/dev/null)

lab_pids() {
    local name
    for name in "${namespaces[@]}"; do ip netns pids "$name" 2>/dev/null; done
    # Processes started by up.sh whose namespace is already gone.
    cat "$RUN_DIR"/*.pid 2>/dev/null | while read -r pid; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done
}

if [ ${#namespaces[@]} -gt 0 ] || ls "$RUN_DIR"/*.pid >/dev/null 2>&1; then
    pids=$(lab_pids | sort -u)
    if [ -n "$pids" ]; then
        kill -TERM $pids 2>/dev/null
        for _ in $(seq 30); do
            pids=$(lab_pids | sort -u)
            [ -z "$pids" ] && break
            sleep 0.1
        done
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    fi
    for name in "${namespaces[@]}"; do ip netns del "$name" 2>/dev/null; done
fi
if [ "$KEEP_LOGS" = 0 ] && [ -d "$RUN_DIR" ]; then
    # Only what up.sh writes: never a recursive removal of a directory given on the command line.
    rm -f -- "$RUN_DIR"/*.log "$RUN_DIR"/*.pid "$RUN_DIR"/*.json
    rmdir -- "$RUN_DIR" 2>/dev/null
fi
[ "$QUIET" = 1 ] || echo "lab down: ${#namespaces[@]} namespace(s) ${PREFIX}* removed"
exit 0
