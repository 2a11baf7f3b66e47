#!/usr/bin/env python3
"""Tables of bench/live-bench.sh: medians per mode over the rounds, and the overload sweep.

Usage: live-bench-table.py RUNS SWEEP UNAVAILABLE_TEXT
Each line of RUNS and SWEEP is `key=value ...` (bench/live-bench.sh `measure` and nvlb's
final counters).
"""
import statistics
import sys

ORDER = ["bridge", "nft", "naive", "nvlb-pcap-1", "nvlb-pcap-2", "nvlb-xdp-1", "nvlb-xdp-2"]
LABEL = {
    "bridge": "Linux bridge (no NAT)",
    "nft": "kernel forwarding, nftables DNAT + conntrack",
    "naive": "naive pcap_inject forwarder (copy, no NAT)",
    "nvlb-pcap-1": "nvlb run --io pcap, 1 worker (NAT + NVGRE)",
    "nvlb-pcap-2": "nvlb run --io pcap, 2 workers",
    "nvlb-xdp-1": "nvlb run --io af_xdp, 1 worker",
    "nvlb-xdp-2": "nvlb run --io af_xdp, 2 workers",
    "nvlb-pcap-1-nonice": "nvlb run --io pcap, 1 worker at nice 0 (no CAP_SYS_NICE)",
}


def parse(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                row = {}
                for word in line.split():
                    if "=" in word:
                        k, v = word.split("=", 1)
                        row[k] = v
                if row:
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


def num(row, key):
    try:
        return float(row[key])
    except (KeyError, ValueError):
        return None


def figures(row):
    seconds = num(row, "seconds") or 1
    sink = num(row, "sink") or 0
    offered = num(row, "offered") or 0
    cpu = (num(row, "irq_s") or 0) + (num(row, "proc_s") or 0)
    out = {
        "mpps": sink / seconds / 1e6,
        "offered": offered / seconds / 1e6,
        "cpu_per_m": cpu / (sink / 1e6) if sink > 0 else float("nan"),
        "dut_tx": (num(row, "dut_tx") or 0) / seconds / 1e6,
        "dut_rx_drop_pct": 100 * (num(row, "dut_rx_drops") or 0) / offered if offered else 0,
    }
    for key in ["in", "handoffs", "kernel_drops", "flows", "handoff_overflows", "handoff_drops"]:
        value = num(row, key)
        out[key] = value
    return out


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "—" if value is None else format(value, spec)


def main():
    runs = parse(sys.argv[1])
    sweep = parse(sys.argv[2])
    unavailable = [line for line in (sys.argv[3] if len(sys.argv) > 3 else "").splitlines() if line.strip()]
    by_mode = {}
    for row in runs:
        by_mode.setdefault(row["mode"], []).append(figures(row))
    rounds = max((len(v) for v in by_mode.values()), default=0)
    print(f"| DUT | Mpps at the sink (median of {rounds}; range) | offered Mpps | DUT CPU-s per M frames "
          "| handoffs | hand-off ring drops | capture-ring drops | dropped at d0's backlog | flow entries |")
    print("|---|---|---|---|---|---|---|---|---|")
    nft = median([f["mpps"] for f in by_mode.get("nft", [])])
    bridge = median([f["mpps"] for f in by_mode.get("bridge", [])])
    for mode in ORDER + sorted(set(by_mode) - set(ORDER)):
        rows = by_mode.get(mode)
        if not rows:
            continue
        mpps = [f["mpps"] for f in rows]
        m = median(mpps)
        ratio = ""
        if mode.startswith("nvlb") and nft:
            ratio = f" ({m / nft:.2f}× nft" + (f", {m / bridge:.2f}× bridge)" if bridge else ")")
        share = lambda key: (
            None if median([f[key] for f in rows]) is None
            else median([f[key] for f in rows]))
        handoffs, drops, flows = share("handoffs"), share("kernel_drops"), share("flows")
        received = share("in")
        handoff_text = "—" if handoffs is None else (
            f"{handoffs:,.0f}" + (f" ({100 * handoffs / received:.0f} %)" if received else ""))
        print(f"| {LABEL.get(mode, mode)} | **{m:.3f}**{ratio} ({min(mpps):.3f}–{max(mpps):.3f}) "
              f"| {median([f['offered'] for f in rows]):.3f} "
              f"| {median([f['cpu_per_m'] for f in rows]):.2f} "
              f"| {handoff_text} | {fmt(share('handoff_drops'), ',.0f')} | {fmt(drops, ',.0f')} "
              f"| {median([f['dut_rx_drop_pct'] for f in rows]):.0f} % | {fmt(flows, ',.0f')} |")
    for line in unavailable:
        mode, _, reason = line.partition(": ")
        print(f"| {LABEL.get(mode, mode)} | not available ({reason}) | | | | | | | |")
    groups = {}
    for row in sweep:
        groups.setdefault(row["mode"], []).append(row)
    for mode, rows in groups.items():
        print()
        print(f"Overload sweep, {LABEL.get(mode, mode)}: offered (paced) against forwarded")
        print()
        print("| paced at | offered Mpps | forwarded Mpps (at the sink) | sent on d1 Mpps | capture-ring drops "
              "| hand-off ring drops | dropped at d0's backlog | DUT CPU-s per M frames |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            f = figures(row)
            pace = float(row["rate"]) / 1e6
            print(f"| {'max' if pace == 0 else f'{pace:.2f}'} | {f['offered']:.3f} | **{f['mpps']:.3f}** "
                  f"| {f['dut_tx']:.3f} | {fmt(f['kernel_drops'], ',.0f')} | {fmt(num(row, 'handoff_drops'), ',.0f')} "
                  f"| {f['dut_rx_drop_pct']:.0f} % | {f['cpu_per_m']:.2f} |")
        rates = [figures(r) for r in rows]
        peak = max(rates, key=lambda f: f["mpps"])
        top = max(rates, key=lambda f: f["offered"])
        print()
        print(f"{mode}: peak {peak['mpps']:.3f} Mpps (offered {peak['offered']:.3f}); at the highest offered load "
              f"({top['offered']:.3f}) {top['mpps']:.3f} Mpps = {100 * top['mpps'] / peak['mpps']:.0f} % of the peak")

if __name__ == "__main__":
    main()
