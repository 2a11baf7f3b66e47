#!/usr/bin/env python3
"""Live test of PA assignment (docs/management.md "What changes without a restart").

    pa_change.py NVLB_BINARY

Creates a namespace with a veth pair (pa0: nvlb's underlay, pa1: the test's side), then runs
this file again inside it (`--inner`): it opens a packet socket on pa1 before starting
`nvlb run`, so it sees the gratuitous ARP of the start; sends a tenant flow to nvlb's PA;
changes the PA and MAC with PUT /v1/config; and checks the gratuitous ARP for the new PA,
that the existing flow and a new one are forwarded with the new outer source, that ARP is
answered for the new PA only, and the flow and gratuitous-ARP figures. The namespace and
nvlb are removed whatever happens; every wait is bounded.
Exit status 0: all checks passed; 1: a check failed.
"""
import json
import os
import pathlib
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORT = 9181
SECRET = "pa-change-test-secret-77a1"
OLD_PA, OLD_MAC = "192.168.6.2", "02:4c:42:00:06:02"
NEW_PA, NEW_MAC = "192.168.6.9", "02:4c:42:00:06:09"
EXTERNAL_MAC = "02:4c:42:00:00:01"
HOST_PA, HOST_MAC = "192.168.6.7", "02:00:00:00:06:07"
VM, VM_MAC, APP_VIP, BLUE_GATEWAY = "10.1.5.20", "00:15:5d:01:05:20", "10.1.5.100", "02:4c:42:00:b1:00"


def outer(binary):
    namespace = f"nvlbpa{os.getpid()}"
    try:
        for command in (
            ["ip", "netns", "add", namespace],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "link", "add", "pa0", "type", "veth", "peer", "name", "pa1"],
            ["ip", "-n", namespace, "link", "set", "pa0", "up"],
            ["ip", "-n", namespace, "link", "set", "pa1", "up"],
        ):
            subprocess.run(command, check=True, timeout=20)
        inner = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, __file__, "--inner", binary],
                               timeout=120)
        return inner.returncode
    finally:
        subprocess.run(["ip", "netns", "del", namespace], timeout=20)


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(data):
    return ":".join(f"{b:02x}" for b in data)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ipv4(source, destination, protocol, payload):
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, protocol, 0,
                                   socket.inet_aton(source), socket.inet_aton(destination)))
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return bytes(header) + payload


def tcp(source, destination, sport, dport, flags):
    header = bytearray(struct.pack("!HHIIBBHHH", sport, dport, 1000, 0 if flags == 0x02 else 2000, 5 << 4, flags,
                                   65535, 0, 0))
    pseudo = socket.inet_aton(source) + socket.inet_aton(destination) + struct.pack("!BBH", 0, 6, len(header))
    header[16:18] = struct.pack("!H", checksum(pseudo + bytes(header)))
    return ipv4(source, destination, 6, bytes(header))


def tenant_frame(pa, mac, sport, flags):
    """VM 10.1.5.20 (VSID 5002) → blue-app 10.1.5.100:8080, NVGRE from its host to nvlb at (pa, mac)."""
    inner = mac_bytes(BLUE_GATEWAY) + mac_bytes(VM_MAC) + b"\x08\x00" + tcp(VM, APP_VIP, sport, 8080, flags)
    gre = struct.pack("!HHI", 0x2000, 0x6558, 5002 << 8 | 0x42) + inner
    return mac_bytes(mac) + mac_bytes(HOST_MAC) + b"\x08\x00" + ipv4(HOST_PA, pa, 47, gre)


def arp_request(target):
    return (b"\xff" * 6 + mac_bytes(HOST_MAC) + b"\x08\x06" +
            struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac_bytes(HOST_MAC) + socket.inet_aton(HOST_PA) +
            b"\0" * 6 + socket.inet_aton(target))


def parse(frame):
    """A frame nvlb sent: ('arp', op, sender MAC, sender IP, target IP, eth dst) or
    ('gre', eth src, outer src, outer dst, inner destination, inner destination port) or None."""
    if len(frame) >= 42 and frame[12:14] == b"\x08\x06":
        op = struct.unpack("!H", frame[20:22])[0]
        return ("arp", op, mac_text(frame[22:28]), socket.inet_ntoa(frame[28:32]), socket.inet_ntoa(frame[38:42]),
                mac_text(frame[0:6]))
    if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 47:
        inner = frame[14 + 20 + 8:]
        inner_ip = inner[14:]
        return ("gre", mac_text(frame[6:12]), socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]),
                socket.inet_ntoa(inner_ip[16:20]), struct.unpack("!H", inner_ip[22:24])[0])
    return None


class Sniffer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.sock.bind(("pa1", 0))
        self.seen = []  # (time, parsed)

    def send(self, frame):
        self.sock.send(frame)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data, address = self.sock.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue
            parsed = parse(data)
            if parsed is not None:
                self.seen.append((time.monotonic(), parsed))

    def wait(self, predicate, seconds, count=1):
        """Pumps until `count` frames after now satisfy `predicate`; returns them (maybe fewer)."""
        start = len(self.seen)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            found = [entry for entry in self.seen[start:] if predicate(entry[1])]
            if len(found) >= count:
                return found
            self.pump(min(0.1, end - time.monotonic()))
        return [entry for entry in self.seen[start:] if predicate(entry[1])]


def request(method, path, body=None):
    headers = {"Authorization": "Bearer " + SECRET}
    data = None
    if body is not None:
        data = body.encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def garp(address, mac):
    return lambda p: p[0] == "arp" and p[1] == 1 and p[3] == address and p[4] == address and p[2] == mac \
        and p[5] == "ff:ff:ff:ff:ff:ff"


def inner(binary):
    work = pathlib.Path(tempfile.mkdtemp(prefix="nvlb-pa-"))
    log_path = work / "nvlb.log"
    process = None
    try:
        tokens = work / "tokens"
        tokens.write_text(f"operator {SECRET}\n")
        tokens.chmod(0o600)
        config = (ROOT / "Config/example.yaml").read_text()
        config = "\n".join(line for line in config.splitlines() if "interface: ext0" not in line)
        config += f"\nmanagement:\n  listen: 127.0.0.1:{PORT}\n  token_file: {tokens}\n"
        config_path = work / "nvlb.yaml"
        config_path.write_text(config)
        sniffer = Sniffer()
        log = open(log_path, "w")
        process = subprocess.Popen([binary, "run", "--config", str(config_path), "--workers", "2",
                                    "--stats-interval", "0"], stdout=log, stderr=log)

        # At start: three announcements of the PA a second apart, and of each external VIP.
        start = sniffer.wait(garp(OLD_PA, OLD_MAC), 15, count=3)
        check(len(start) == 3, f"3 gratuitous ARPs for {OLD_PA} at start (saw {len(start)})")
        gaps = [b[0] - a[0] for a, b in zip(start, start[1:])]
        # Scheduled a second apart; a loaded machine may run the worker late, never early (the
        # upper bound only tells a spread-out schedule from announcements at unrelated times).
        check(all(0.8 <= gap <= 5.0 for gap in gaps), f"a second apart: {['%.2f' % g for g in gaps]}")
        vips = [e for e in sniffer.seen if garp("131.107.10.10", EXTERNAL_MAC)(e[1])]
        check(len(vips) == 3, f"3 gratuitous ARPs for the external VIP 131.107.10.10 (saw {len(vips)})")

        # A flow to the PA; nvlb forwards it to a DIP's host from its PA.
        sniffer.send(tenant_frame(OLD_PA, OLD_MAC, 41001, 0x02))
        before = sniffer.wait(lambda p: p[0] == "gre" and p[4] in ("10.1.6.20", "10.1.6.21") and p[5] == 8080, 5)
        check(len(before) == 1 and before[0][1][1:3] == (OLD_MAC, OLD_PA),
              f"the SYN is forwarded from {OLD_MAC} {OLD_PA}: {before}")
        dip_host = before[0][1][3] if before else None

        # Flow counts: one live flow, to the DIP it went to.
        flows = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, text = request("GET", "/v1/status")
            report = json.loads(text) if status == 200 else {}
            counts = [w.get("flows") for w in report.get("workers", [])]
            if counts and None not in counts and sum(counts) == 1:
                flows = report
                break
            time.sleep(0.2)
        check(flows is not None, "status: the workers count 1 live flow")
        if flows:
            app = next(lb for lb in flows["load_balancers"] if lb["name"] == "blue-app")
            per_dip = {b["backend"]: b["flows"] for b in app["backends"]}
            dip = before[0][1][4] if before else None
            check(per_dip.get(f"5001/{dip}") == 1 and sum(per_dip.values()) == 1, f"status: per DIP {per_dip}")

        # The change: new PA and MAC through the API.
        status, text = request("GET", "/v1/config")
        document = json.loads(text)
        document["underlay"]["address"] = NEW_PA
        document["underlay"]["mac"] = NEW_MAC
        changed_at = time.monotonic()
        status, text = request("PUT", "/v1/config", json.dumps(document))
        check(status == 200, f"PUT /v1/config with the new PA: {status} {text[:200]}")

        after = sniffer.wait(garp(NEW_PA, NEW_MAC), 10, count=3)
        check(len(after) == 3, f"3 gratuitous ARPs for {NEW_PA} after the change (saw {len(after)})")
        # Sent by the first worker pass on the new policy: well under a second on an idle machine
        # (the figure is printed); the bound leaves room for a loaded one.
        check(bool(after) and after[0][0] - changed_at < 5.0,
              f"the first soon after the change ({after[0][0] - changed_at:.3f} s)" if after else "none")
        stale = [e for e in sniffer.seen if e[0] > changed_at + 0.1 and garp(OLD_PA, OLD_MAC)(e[1])]
        check(not stale, "no gratuitous ARP for the old PA after the change")

        # The existing flow and a new one, sent to the new PA: forwarded from it.
        sniffer.send(tenant_frame(NEW_PA, NEW_MAC, 41001, 0x10))
        existing = sniffer.wait(lambda p: p[0] == "gre" and p[5] == 8080, 5)
        check(len(existing) == 1 and existing[0][1][1:4] == (NEW_MAC, NEW_PA, dip_host),
              f"the existing flow goes on to the same host from {NEW_MAC} {NEW_PA}: {existing}")
        sniffer.send(tenant_frame(NEW_PA, NEW_MAC, 41002, 0x02))
        fresh = sniffer.wait(lambda p: p[0] == "gre" and p[5] == 8080, 5)
        check(len(fresh) == 1 and fresh[0][1][1:3] == (NEW_MAC, NEW_PA), f"a new flow from the new PA: {fresh}")
        sniffer.send(tenant_frame(OLD_PA, OLD_MAC, 41003, 0x02))
        old = sniffer.wait(lambda p: p[0] == "gre", 1)
        check(not old, f"traffic to the old PA is not forwarded: {old}")

        # ARP: the new PA is answered with the new MAC, the old one no longer.
        sniffer.send(arp_request(NEW_PA))
        reply = sniffer.wait(lambda p: p[0] == "arp" and p[1] == 2 and p[3] == NEW_PA, 3)
        check(len(reply) == 1 and reply[0][1][2] == NEW_MAC, f"ARP for {NEW_PA} answered with {NEW_MAC}: {reply}")
        sniffer.send(arp_request(OLD_PA))
        silent = sniffer.wait(lambda p: p[0] == "arp" and p[1] == 2 and p[3] == OLD_PA, 1)
        check(not silent, f"ARP for {OLD_PA} not answered: {silent}")

        # Counted: 3 rounds × (PA + 2 external VIPs) at start and after the change.
        total = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10) as response:
                for line in response.read().decode().splitlines():
                    if line.startswith("nvlb_gratuitous_arp_total "):
                        total = float(line.split()[1])
            if total == 18:
                break
            time.sleep(0.2)
        check(total == 18, f"nvlb_gratuitous_arp_total 18 (found {total})")
        check(process.poll() is None, "nvlb still running")
        return 0 if not failures else 1
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if failures and log_path.exists():
            print("nvlb log:\n" + log_path.read_text()[-3000:])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        sys.exit(inner(sys.argv[2]))
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(outer(sys.argv[1]))
