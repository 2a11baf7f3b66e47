#!/usr/bin/env python3
"""HTTP client for the nvlb lab; prints JSON on stdout.

  many URL [--count N] [--timeout S] [--seconds S] [--times]
      N requests, each on a new TCP connection (a new client port, so a new flow):
      {"ok": .., "failed": .., "by": {vm: count}, "peers": {address: count}, "errors": [..], "seconds": ..}
      --seconds S: requests one after the other for S seconds instead of N.
      --times: also "times": [[start, duration, ok (1 or 0)], ..], one per request (start in Unix
      seconds), to tell when requests failed relative to an event.
  hold URL [--timeout S]
      One keep-alive connection: a request now, then one more for each line "again" on
      stdin, until "quit" or end of input. One JSON line per request:
      {"vm": .., "peer": ..} or {"error": ..}
  blob URL [--timeout S]
      One request for a large body; checks length and content against vm-httpd.py's pattern:
      {"ok": bool, "bytes": .., "vm": ..}
"""
import argparse
import http.client
import json
import sys
import time
from urllib.parse import urlparse

PATTERN = bytes(range(256)) * 64


def connect(url, timeout):
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=timeout)
    path = parsed.path or "/"
    if parsed.query:
        path += "?" + parsed.query
    return connection, path


def request(connection, path):
    connection.request("GET", path, headers={"Connection": "keep-alive"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError("HTTP %d" % response.status)
    return response, body


def many(args):
    result = {"ok": 0, "failed": 0, "by": {}, "peers": {}, "errors": []}
    if args.times:
        result["times"] = []
    start = time.monotonic()
    done = 0
    while (time.monotonic() - start < args.seconds) if args.seconds else done < args.count:
        done += 1
        began, succeeded = time.time(), False
        connection, path = connect(args.url, args.timeout)
        try:
            response, _ = request(connection, path)
            vm = response.getheader("X-VM", "?")
            peer = response.getheader("X-Peer", "?").rsplit(":", 1)[0]
            result["ok"] += 1
            result["by"][vm] = result["by"].get(vm, 0) + 1
            result["peers"][peer] = result["peers"].get(peer, 0) + 1
            succeeded = True
        except Exception as error:  # noqa: BLE001 - every failure is reported, none is fatal
            result["failed"] += 1
            if len(result["errors"]) < 5:
                result["errors"].append("%s: %s" % (type(error).__name__, error))
        finally:
            connection.close()
            if args.times:
                result["times"].append([round(began, 3), round(time.time() - began, 3), 1 if succeeded else 0])
    result["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(result, sort_keys=True))


def hold(args):
    connection, path = connect(args.url, args.timeout)

    def once():
        try:
            response, _ = request(connection, path)
            line = {"vm": response.getheader("X-VM", "?"), "peer": response.getheader("X-Peer", "?")}
        except Exception as error:  # noqa: BLE001
            line = {"error": "%s: %s" % (type(error).__name__, error)}
        print(json.dumps(line, sort_keys=True), flush=True)

    once()
    for command in sys.stdin:
        command = command.strip()
        if command == "quit":
            break
        if command == "again":
            once()
    connection.close()


def blob(args):
    connection, path = connect(args.url, args.timeout)
    try:
        response, body = request(connection, path)
        expected = int(response.getheader("Content-Length", "-1"))
        whole = (PATTERN * (len(body) // len(PATTERN) + 1))[: len(body)]
        result = {"ok": len(body) == expected and body == whole, "bytes": len(body), "vm": response.getheader("X-VM")}
    except Exception as error:  # noqa: BLE001
        result = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    print(json.dumps(result, sort_keys=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["many", "hold", "blob"])
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--times", action="store_true")
    args = parser.parse_args()
    {"many": many, "hold": hold, "blob": blob}[args.mode](args)


if __name__ == "__main__":
    main()
