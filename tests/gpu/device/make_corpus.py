#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_gpu_command.cpp: request sequences as a Linux guest sends
them, in the target's record format (u8 queue, le16 length, request).

Usage: make_corpus.py [OUT_DIR]   (default: corpus/gpu_command next to this script)
"""
import pathlib
import struct
import sys

RAM = 0x10000  # the fuzz target's guest memory: 256 KiB from here
PAGE = 4096
FENCE = 1


def hdr(kind, flags=0, fence=0):
    return struct.pack("<IIQIB3x", kind, flags, fence, 0, 0)


def rect(x, y, w, h):
    return struct.pack("<IIII", x, y, w, h)


def create_2d(res, fmt, w, h):
    return hdr(0x101) + struct.pack("<IIII", res, fmt, w, h)


def unref(res, fence=0):
    return hdr(0x102, FENCE if fence else 0, fence) + struct.pack("<II", res, 0)


def set_scanout(scanout, res, w, h):
    return hdr(0x103) + rect(0, 0, w, h) + struct.pack("<II", scanout, res)


def flush(res, w, h, fence=0):
    return hdr(0x104, FENCE if fence else 0, fence) + rect(0, 0, w, h) + struct.pack("<II", res, 0)


def transfer(res, x, y, w, h, offset):
    return hdr(0x105) + rect(x, y, w, h) + struct.pack("<QII", offset, res, 0)


def attach(res, entries):
    body = struct.pack("<II", res, len(entries))
    return hdr(0x106) + body + b"".join(struct.pack("<QII", a, n, 0) for a, n in entries)


def detach(res):
    return hdr(0x107) + struct.pack("<II", res, 0)


def get_edid(scanout):
    return hdr(0x10A) + struct.pack("<II", scanout, 0)


def assign_uuid(res):
    return hdr(0x10B) + struct.pack("<II", res, 0)


def cursor(update, scanout, x, y, res, hx=0, hy=0):
    kind = 0x300 if update else 0x301
    return hdr(kind, FENCE, 1) + struct.pack("<IiiIIIII", scanout, x, y, 0, res, hx, hy, 0)


def scattered_pages(count, first=0):
    """Every other page from the top of the fuzz target's memory, as shmem pages come."""
    top = RAM + 256 * 1024
    return [(top - first - (2 * i + 2) * PAGE, PAGE) for i in range(count)]


def records(*requests, cursor_queue=()):
    out = b""
    for i, r in enumerate(requests):
        out += struct.pack("<BH", 1 if i in cursor_queue else 0, len(r)) + r
    return out


SEEDS = {
    "start": records(get_edid(0), get_edid(1), hdr(0x100)),
    "frame": records(
        create_2d(1, 2, 64, 64),
        attach(1, scattered_pages(4)),
        transfer(1, 0, 0, 64, 64, 0),
        set_scanout(0, 1, 64, 64),
        flush(1, 64, 64),
        transfer(1, 8, 4, 16, 8, 4 * 256 + 8 * 4),
        flush(1, 64, 64, fence=7),
        set_scanout(0, 0, 0, 0),
        unref(1),
    ),
    "deferred_unref": records(
        create_2d(1, 2, 32, 32),
        attach(1, scattered_pages(1)),
        create_2d(2, 2, 32, 32),
        attach(2, scattered_pages(1, PAGE)),
        set_scanout(0, 1, 32, 32),
        set_scanout(1, 1, 32, 32),
        unref(1, fence=3),
        set_scanout(0, 2, 32, 32),
        set_scanout(1, 0, 0, 0),
    ),
    "cursor": records(
        create_2d(5, 1, 64, 64),
        attach(5, [(RAM, 16384)]),
        transfer(5, 0, 0, 64, 64, 0),
        cursor(True, 0, 10, 20, 5, 2, 3),
        cursor(False, 0, -5, 700, 0),
        cursor(True, 1, 0, 0, 0),
        cursor_queue={3, 4, 5},
    ),
    "backing": records(
        create_2d(9, 134, 40, 30),
        attach(9, [(RAM + 128 * 1024 - 100, 4800)]),  # crosses the region boundary
        assign_uuid(9),
        transfer(9, 0, 0, 40, 30, 0),
        detach(9),
        attach(9, [(RAM, 2400), (RAM + 2400, 2400)]),
        transfer(9, 1, 1, 38, 28, 164),
    ),
    "errors": records(
        hdr(0x999),
        create_2d(0, 2, 8, 8),
        create_2d(1, 5, 8, 8),
        create_2d(1, 2, 8, 8),
        create_2d(1, 2, 8, 8),
        transfer(1, 0xFFFFFFF0, 0, 0x20, 1, 0),
        attach(1, [(0xFFFFFFFFFFFFF000, 0x2000)]),
        create_2d(2, 2, 8, 8)[:30],
        transfer(1, 0, 0, 8, 8, 0),
        hdr(0x10C) + struct.pack("<IIIIQQ", 3, 1, 2, 0, 0, 4096),
        set_scanout(16, 1, 8, 8),
    ),
}


def main():
    here = pathlib.Path(__file__).resolve().parent
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here / "corpus" / "gpu_command"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
