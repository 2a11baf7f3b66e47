#!/usr/bin/env python3
"""A tenant VM's web server for the nvlb lab: HTTP/1.1 (keep-alive) on one or more ports.

  GET /whoami        -> the VM's name and a newline ("blue-vm1\n")
  GET /healthz       -> 200 "ok\n": the path nvlb's http probe asks for (docs/health.md)
  GET /blob?size=N   -> N bytes (a repeating pattern; N <= 16 MiB), for large transfers
  GET /blob?size=N&rate=R
                     -> the same, paced at about R bytes a second (a slow download that
                        stays open while a test changes the network under it); logs one
                        line "blob: N bytes at R B/s to PEER:PORT" on stderr when it starts
  POST /sha256       -> the SHA-256 of the request body, in hex, and a newline (uploads;
                        Content-Length required, at most 16 MiB)
  anything else      -> 404

Every answer carries "X-VM: <name>" and "X-Peer: <client address>:<port>" so a client can
tell which DIP answered and what source address it saw (nvlb keeps the client's address).
Runs until SIGTERM/SIGINT. A lab VM stops serving the way an operator's VM fails: its web
server is stopped (SIGTERM; the kernel then answers SYNs with RST) and started again.
"""
import argparse
import hashlib
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PATTERN = bytes(range(256)) * 64  # 16 KiB


def make_handler(name):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nvlb-lab-vm"

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/whoami":
                body = (name + "\n").encode()
                self.answer(200, body)
            elif url.path == "/healthz":
                self.answer(200, b"ok\n")
            elif url.path == "/blob":
                query = parse_qs(url.query)
                try:
                    size = int(query.get("size", ["0"])[0])
                    rate = int(query.get("rate", ["0"])[0])
                except ValueError:
                    size = rate = -1
                if not 0 <= size <= 16 << 20 or rate < 0:
                    self.answer(400, b"bad size or rate\n")
                    return
                if rate:
                    print("blob: %d bytes at %d B/s to %s:%d" % ((size, rate) + self.client_address[:2]),
                          file=sys.stderr, flush=True)
                self.answer(200, None, length=size, rate=rate)
            else:
                self.answer(404, b"not found\n")

        def do_POST(self):
            if urlparse(self.path).path != "/sha256":
                self.answer(404, b"not found\n")
                return
            try:
                length = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                length = -1
            if not 0 <= length <= 16 << 20:
                self.answer(400, b"bad length\n")
                return
            digest = hashlib.sha256()
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    return  # the client went away
                digest.update(chunk)
                remaining -= len(chunk)
            self.answer(200, (digest.hexdigest() + "\n").encode())

        def answer(self, status, body, length=None, rate=0):
            length = len(body) if body is not None else length
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(length))
            self.send_header("X-VM", name)
            self.send_header("X-Peer", "%s:%d" % self.client_address[:2])
            self.end_headers()
            if body is not None:
                self.wfile.write(body)
                return
            # Paced: a slice every 50 ms, on a schedule (not a fixed sleep per slice), so the
            # rate holds whatever the writes cost. A slice is at most a pattern's length, so
            # every write continues the pattern where the last one stopped.
            step = min(len(PATTERN), max(1, rate // 20)) if rate else len(PATTERN)
            start = time.monotonic()
            sent = 0
            while sent < length:
                chunk = PATTERN[sent % len(PATTERN):][:min(length - sent, step)]
                self.wfile.write(chunk)
                sent += len(chunk)
                if rate:
                    delay = start + sent / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)

        def log_message(self, format, *args):  # quiet: the lab's logs are the hosts'
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (socket.getfqdn): a DNS query that
        # has nowhere to go from a lab namespace and stalls start-up for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the VM's name, returned by /whoami")
    parser.add_argument("--bind", required=True, help="the VM's CA")
    parser.add_argument("--port", type=int, action="append", required=True, help="a port (repeat)")
    args = parser.parse_args()

    servers = [Server((args.bind, port), make_handler(args.name)) for port in args.port]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    # A parent may have started us with these blocked; then SIGTERM would never arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("%s: listening on %s ports %s" % (args.name, args.bind, args.port), file=sys.stderr, flush=True)
    stop.wait()
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
