#!/usr/bin/env python3
"""Measures publication (docs/management.md "One change path"): the time from an accepted
change to every worker on the new policy, on `nvlb run` with traffic flowing.

    measure_publication.py NVLB_BINARY [CHANGES] [PPS]

A measurement, not a test: build nvlb in release (`swift build -c release --product nvlb`) and
pass .build/release/nvlb. Creates a namespace with a veth pair, starts `nvlb run --workers 2
--log-level debug` on one end (workers pinned by nvlb), replays generated tenant and client
traffic into it with tcpreplay at PPS frames/s (default 20000) for the whole run, makes
CHANGES (default 1000) weight changes through the API one after the other, and reads nvlb's
debug line of each publication: the snapshot build and swap, and the wait until every worker
has passed a quiescent point. Prints the median, p99 and maximum of each and of their sum.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORT = 9182
SECRET = "measure-publication-secret-5d2e"


def api(method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + SECRET, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def inner(binary, changes, pps):
    work = pathlib.Path(tempfile.mkdtemp(prefix="nvlb-pub-"))
    process = replay = None
    log_path = work / "nvlb.log"
    try:
        tokens = work / "tokens"
        tokens.write_text(f"operator {SECRET}\n")
        tokens.chmod(0o600)
        config = (ROOT / "Config/example.yaml").read_text()
        config = "\n".join(line for line in config.splitlines() if "interface: ext0" not in line)
        config = config.replace("flow_table_capacity: 1048576", "flow_table_capacity: 65536")
        config += f"\nmanagement:\n  listen: 127.0.0.1:{PORT}\n  token_file: {tokens}\n"
        config_path = work / "nvlb.yaml"
        config_path.write_text(config)
        capture = work / "traffic.pcap"
        subprocess.run([binary, "gen", "--config", str(config_path), "--output", str(capture), "--flows", "5000"],
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        log = open(log_path, "w")
        process = subprocess.Popen([binary, "run", "--config", str(config_path), "--workers", "2", "--log-level",
                                    "debug", "--stats-interval", "0"], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while "nvlb running" not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text())
                return 1
            time.sleep(0.05)
        time.sleep(0.5)
        replay = subprocess.Popen(["tcpreplay", "-q", "-i", "pa1", "--pps", str(pps), "--loop", "0", str(capture)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        before = json.loads(api("GET", "/v1/status")[1])["packets"]["received"]
        started = time.monotonic()
        for change in range(changes):
            status, _ = api("PATCH", "/v1/load-balancers/blue-web/backends/5001/10.1.6.21", {"weight": 1 + change % 3})
            if status != 200:
                print(f"change {change}: HTTP {status}")
                return 1
        elapsed = time.monotonic() - started
        time.sleep(1)
        after = json.loads(api("GET", "/v1/status")[1])["packets"]["received"]
        text = log_path.read_text()
        pattern = re.compile(r"built and swapped in ([0-9.e+-]+) µs, every worker on it ([0-9.e+-]+) µs later")
        pairs = [(float(a), float(b)) for a, b in pattern.findall(text)]
        late = text.count("has not passed a quiescent point within 100 ms")
        if late:
            print(f"{late} publications waited more than 100 ms for a worker (left out below)")
        if len(pairs) + late < changes:
            print(f"only {len(pairs)} publications logged")
            print(text[-2000:])
            return 1
        pairs = pairs[-(changes - late):]
        print(f"{changes} changes in {elapsed:.1f} s while nvlb received {after - before} frames "
              f"({(after - before) / (elapsed + 1):.0f}/s); 2 workers")
        for name, values in (("build + swap", [a for a, _ in pairs]), ("workers on it", [b for _, b in pairs]),
                             ("total", [a + b for a, b in pairs])):
            print(f"{name:>14}: median {statistics.median(values):8.1f} µs  p99 {percentile(values, 0.99):8.1f} µs  "
                  f"max {max(values):8.1f} µs")
        print("\n".join(line for line in text.splitlines() if "worker" in line and "cpu" in line.lower())[:1000])
        return 0
    finally:
        for child in (replay,):
            if child is not None:
                child.kill()
                child.wait(timeout=10)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def outer(binary, changes, pps):
    namespace = f"nvlbpub{os.getpid()}"
    try:
        for command in (
            ["ip", "netns", "add", namespace],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "link", "add", "pa0", "type", "veth", "peer", "name", "pa1"],
            ["ip", "-n", namespace, "link", "set", "pa0", "address", "02:4c:42:00:06:02", "up"],
            ["ip", "-n", namespace, "link", "set", "pa1", "up"],
        ):
            subprocess.run(command, check=True, timeout=20)
        return subprocess.run(["ip", "netns", "exec", namespace, sys.executable, __file__, "--inner", binary,
                               str(changes), str(pps)], timeout=1800).returncode
    finally:
        subprocess.run(["ip", "netns", "del", namespace], timeout=20)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    if len(sys.argv) < 2 or len(sys.argv) > 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(outer(os.path.abspath(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
                   int(sys.argv[3]) if len(sys.argv) > 3 else 20000))
