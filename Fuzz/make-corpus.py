#!/usr/bin/env python3
"""Writes the pipeline seed corpus from a capture made by `nvlb gen --replies`.

Each seed is in the pipeline harness's record format (Tests/NVLBTestSupport/FuzzHarness.swift):
records of [control, length / 8, frame bytes padded to a multiple of 8]. Seeds are single
frames and request/reply pairs of one flow, so the fuzzer starts from every packet path.
Usage: make-corpus.py IN.pcap OUT_DIR [MAX_SEEDS]
"""
import hashlib
import os
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        header = f.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            _, _, caplen, _ = struct.unpack(endian + "IIII", record)
            yield f.read(caplen)


def record(frame, last):
    padded = frame + b"\0" * (-len(frame) % 8)
    length = 0 if last else len(padded) // 8
    if length > 255:
        return None
    return bytes([0, length]) + padded


def main():
    source, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 48
    os.makedirs(out, exist_ok=True)
    all_frames = list(frames(source))
    seeds = []
    for i, frame in enumerate(all_frames):
        seeds.append(record(frame, True))
        if i + 1 < len(all_frames):
            first = record(frame, False)
            if first:
                seeds.append(first + record(all_frames[i + 1], True))
    written = 0
    for seed in seeds:
        if seed is None or written >= limit:
            continue
        name = hashlib.sha1(seed).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
        written += 1
    print(f"{written} seeds in {out}")


if __name__ == "__main__":
    main()
