#!/usr/bin/env python3
"""A stand-in for `nvlb run`, for proving the lab and its end-to-end test before nvlb's live
mode exists. NOT nvlb: no Maglev, no workers, full checksum recomputation, Python speed.

  standin-lb.py run --config Config/lab.yaml

Reads the nvlb configuration (SPEC §7) and does SPEC §3.1-3.5 for TCP/UDP in the simplest way:
external client -> public VIP -> NVGRE to a DIP and back; internal client (NVGRE) -> CA VIP ->
NVGRE to a DIP and back; ARP for the PA and the external VIPs; next hops from static
neighbours, else ARP. Flows are kept per connection; a new flow picks a DIP by a hash of its
5-tuple over the backends with weight > 0, so weight 0 drains. SIGHUP reloads the file
(invalid: keeps the old policy), SIGTERM/SIGINT exit 0.

Run it through the test: NVLB_LAB_LOAD_BALANCER=$PWD/lab/standin-lb.py swift test --filter NVLBLabTests
"""
import argparse
import select
import signal
import socket
import struct
import sys
import zlib

import yaml

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def ip(text):
    return socket.inet_aton(str(text))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(src, dst, proto, payload, tos=0, ttl=64):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 0, 0x4000, ttl, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def transport(src, dst, proto, segment, sport=None, dport=None):
    """segment with ports replaced and its checksum recomputed (a UDP checksum of 0 stays 0)."""
    segment = bytearray(segment)
    if sport is not None:
        segment[0:2] = struct.pack("!H", sport)
    if dport is not None:
        segment[2:4] = struct.pack("!H", dport)
    offset = 16 if proto == 6 else 6
    if proto == 17 and segment[6:8] == b"\0\0":
        return bytes(segment)
    segment[offset:offset + 2] = b"\0\0"
    value = checksum(src + dst + struct.pack("!BBH", 0, proto, len(segment)) + bytes(segment))
    if proto == 17 and value == 0:
        value = 0xFFFF
    segment[offset:offset + 2] = struct.pack("!H", value)
    return bytes(segment)


class Policy:
    def __init__(self, path):
        with open(path) as file:
            config = yaml.safe_load(file)
        underlay, external = config["underlay"], config.get("external") or {}
        self.underlay_if = underlay["interface"]
        self.pa, self.pa_mac = ip(underlay["address"]), mac(underlay["mac"])
        self.neighbors = {ip(n["address"]): mac(n["mac"]) for n in underlay.get("neighbors", [])}
        self.external_if = external.get("interface", self.underlay_if)
        self.external_mac = mac(external["mac"]) if external else None
        self.external_gateway = mac(external["gateway_mac"]) if external else None
        self.domains = {}  # vsid -> (name, gateway mac)
        self.records = {}  # (domain name, ca) -> (vsid, ca, pa, mac)
        for domain in config["routing_domains"]:
            for vsid in domain["subnets"]:
                self.domains[vsid] = (domain["name"], mac(domain["gateway_mac"]))
            for r in domain["lookup_records"]:
                self.records[(domain["name"], ip(r["ca"]))] = (r["vsid"], ip(r["ca"]), ip(r["pa"]), mac(r["mac"]))
        self.rules = {}  # (vsid or None, vip, proto, port) -> (lb name, domain, backend port, [(record, weight)])
        for lb in config["load_balancers"]:
            backends = [(self.records[(lb["routing_domain"], ip(b["ca"]))], b.get("weight", 1)) for b in lb["backends"]]
            for frontend in lb["frontends"]:
                for rule in lb["rules"]:
                    proto = 6 if rule["protocol"] == "tcp" else 17
                    key = (frontend.get("vsid"), ip(frontend["vip"]), proto, rule["frontend_port"])
                    self.rules[key] = (lb["name"], lb["routing_domain"], rule.get("backend_port", rule["frontend_port"]),
                                       backends)
        self.external_vips = {key[1] for key in self.rules if key[0] is None}


class StandIn:
    def __init__(self, path):
        self.path = path
        self.policy = Policy(path)
        self.flows = {}  # (client vsid, proto, client ip, client port, vip, vip port) -> flow
        self.replies = {}  # (dip vsid, dip ca, backend port, client ip, client port, proto) -> flow
        self.learned = {}  # pa -> mac
        self.pending = {}  # pa -> [frames without destination MAC]
        self.reload_requested = False
        self.sockets = {}
        for name in {self.policy.underlay_if, self.policy.external_if}:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((name, 0))
            sock.setblocking(False)
            self.sockets[name] = sock

    def log(self, message):
        print("standin-lb: " + message, file=sys.stderr, flush=True)

    def reload(self):
        try:
            self.policy = Policy(self.path)
            self.log("reloaded " + self.path)
        except Exception as error:  # noqa: BLE001 - an invalid file keeps the old policy
            self.log("reload failed, old policy kept: %s" % error)

    def send(self, interface, frame):
        self.sockets[interface].send(frame)

    def send_underlay(self, pa, packet):
        """An outer IPv4 packet to `pa`, resolving its MAC."""
        dst = self.policy.neighbors.get(pa) or self.learned.get(pa)
        if dst is None:
            queue = self.pending.setdefault(pa, [])
            if not queue:
                arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, self.policy.pa_mac, self.policy.pa,
                                  b"\0" * 6, pa)
                self.send(self.policy.underlay_if, b"\xff" * 6 + self.policy.pa_mac + b"\x08\x06" + arp)
            queue.append(packet)
            return
        self.send(self.policy.underlay_if, dst + self.policy.pa_mac + b"\x08\x00" + packet)

    def encapsulate(self, record, inner_src_mac, src, dst, proto, segment, sport=None, dport=None, tos=0):
        vsid, _, pa, vm_mac = record
        segment = transport(src, dst, proto, segment, sport, dport)
        inner = vm_mac + inner_src_mac + b"\x08\x00" + ipv4_packet(src, dst, proto, segment, tos)
        flow_id = zlib.crc32(src + dst + segment[:4]) & 0xFF
        gre = struct.pack("!HHI", 0x2000, 0x6558, vsid << 8 | flow_id)
        self.send_underlay(pa, ipv4_packet(self.policy.pa, pa, 47, gre + inner, tos))

    def choose(self, backends, key):
        candidates = [record for record, weight in backends for _ in range(weight)]
        return candidates[zlib.crc32(repr(key).encode()) % len(candidates)] if candidates else None

    def new_flow(self, key, rule):
        lb, domain, backend_port, backends = rule
        dip = self.choose(backends, key)
        if dip is None:
            return None
        client_vsid, proto, client, client_port, vip, vip_port = key
        flow = {"dip": dip, "backend_port": backend_port, "client_vsid": client_vsid, "client": client,
                "client_port": client_port, "vip": vip, "vip_port": vip_port, "proto": proto, "domain": domain}
        self.flows[key] = flow
        self.replies[(dip[0], dip[1], backend_port, client, client_port, proto)] = flow
        return flow

    def arp(self, interface, frame):
        hw, proto, _, _, op, sha, spa, _, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:42])
        if interface == self.policy.underlay_if:
            if spa in self.pending or tpa == self.policy.pa:
                self.learned[spa] = sha
                for packet in self.pending.pop(spa, []):
                    self.send_underlay(spa, packet)
        ours = (interface == self.policy.underlay_if and tpa == self.policy.pa) or (
            interface == self.policy.external_if and tpa in self.policy.external_vips)
        if op == 1 and ours:
            my_mac = self.policy.pa_mac if tpa == self.policy.pa and interface == self.policy.underlay_if \
                else self.policy.external_mac
            reply = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, my_mac, tpa, sha, spa)
            self.send(interface, sha + my_mac + b"\x08\x06" + reply)

    def external(self, frame):
        if frame[0:6] != self.policy.external_mac:
            return
        packet = frame[14:]
        ihl = (packet[0] & 0xF) * 4
        proto, src, dst = packet[9], packet[12:16], packet[16:20]
        segment = packet[ihl:struct.unpack("!H", packet[2:4])[0]]
        if proto not in (6, 17):
            return
        sport, dport = struct.unpack("!HH", segment[:4])
        key = (None, proto, src, sport, dst, dport)
        flow = self.flows.get(key)
        if flow is None:
            rule = self.policy.rules.get((None, dst, proto, dport))
            flow = rule and self.new_flow(key, rule)
        if flow:
            gateway_mac = self.policy.domains[flow["dip"][0]][1]
            self.encapsulate(flow["dip"], gateway_mac, src, flow["dip"][1], proto, segment,
                             dport=flow["backend_port"], tos=packet[1])

    def underlay(self, frame):
        if frame[0:6] != self.policy.pa_mac or frame[12:14] != b"\x08\x00":
            return
        outer = frame[14:]
        ihl = (outer[0] & 0xF) * 4
        if outer[9] != 47 or outer[16:20] != self.policy.pa:
            return
        flags, gre_proto, key = struct.unpack("!HHI", outer[ihl:ihl + 8])
        if flags != 0x2000 or gre_proto != 0x6558 or (key >> 8) not in self.policy.domains:
            return
        vsid, inner = key >> 8, outer[ihl + 8:]
        domain, gateway_mac = self.policy.domains[vsid]
        if inner[0:6] != gateway_mac or inner[12:14] != b"\x08\x00":
            return
        packet = inner[14:]
        pihl = (packet[0] & 0xF) * 4
        proto, src, dst = packet[9], packet[12:16], packet[16:20]
        if proto not in (6, 17):
            return
        segment = packet[pihl:struct.unpack("!H", packet[2:4])[0]]
        sport, dport = struct.unpack("!HH", segment[:4])
        record = self.policy.records.get((domain, src))
        if record is None or record[0] != vsid or record[2] != outer[12:16] or record[3] != inner[6:12]:
            return  # spoofed
        flow = self.replies.get((vsid, src, sport, dst, dport, proto))
        if flow:  # a DIP's answer
            if flow["client_vsid"] is None:
                packet = ipv4_packet(flow["vip"], flow["client"], proto,
                                     transport(flow["vip"], flow["client"], proto, segment, sport=flow["vip_port"]),
                                     packet[1])
                self.send(self.policy.external_if,
                          self.policy.external_gateway + self.policy.external_mac + b"\x08\x00" + packet)
            else:
                client = self.policy.records[(flow["domain"], flow["client"])]
                self.encapsulate(client, gateway_mac, flow["vip"], flow["client"], proto, segment,
                                 sport=flow["vip_port"], tos=packet[1])
            return
        key = (vsid, proto, src, sport, dst, dport)
        flow = self.flows.get(key)
        if flow is None:
            rule = self.policy.rules.get((vsid, dst, proto, dport))
            flow = rule and self.new_flow(key, rule)
        if flow:
            self.encapsulate(flow["dip"], self.policy.domains[flow["dip"][0]][1], src, flow["dip"][1], proto, segment,
                             dport=flow["backend_port"], tos=packet[1])

    def run(self):
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "reload_requested", True))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
        self.log("running on %s" % sorted(self.sockets))
        by_fd = {sock.fileno(): name for name, sock in self.sockets.items()}
        while not stop:
            if self.reload_requested:
                self.reload_requested = False
                self.reload()
            try:
                readable, _, _ = select.select(list(self.sockets.values()), [], [], 0.2)
            except InterruptedError:
                continue
            for sock in readable:
                name = by_fd[sock.fileno()]
                for _ in range(64):
                    try:
                        frame, address = sock.recvfrom(65536)
                    except BlockingIOError:
                        break
                    if address[2] == PACKET_OUTGOING or len(frame) < 42:
                        continue
                    try:
                        if frame[12:14] == b"\x08\x06":
                            self.arp(name, frame)
                        elif name == self.policy.underlay_if and name != self.policy.external_if:
                            self.underlay(frame)
                        elif frame[12:14] == b"\x08\x00":
                            self.external(frame)
                    except (struct.error, IndexError, KeyError) as error:
                        self.log("dropped a frame: %r" % error)
        self.log("stopped")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    StandIn(args.config).run()


if __name__ == "__main__":
    main()
