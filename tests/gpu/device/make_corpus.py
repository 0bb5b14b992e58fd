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


def ctx_hdr(kind, ctx, fence=0):
    return struct.pack("<IIQIB3x", kind, FENCE if fence else 0, fence, ctx, 0)


def ctx_create(ctx, name=b"seed"):
    return ctx_hdr(0x200, ctx) + struct.pack("<II", len(name), 0) + name.ljust(64, b"\0")


def create_3d(res, w, h, target=2, fmt=2, bind=2):
    return hdr(0x204) + struct.pack("<12I", res, target, fmt, bind, w, h, 1, 1, 0, 0, 0, 0)


def transfer_3d(to_host, ctx, res, w, h, fence=0):
    kind = 0x205 if to_host else 0x206
    return ctx_hdr(kind, ctx, fence) + struct.pack("<6IQ4I", 0, 0, 0, w, h, 1, 0, res, 0, 0, 0)


def submit_3d(ctx, dwords, fence=0):
    return ctx_hdr(0x207, ctx, fence) + struct.pack("<II", 4 * len(dwords), 0) + struct.pack(
        f"<{len(dwords)}I", *dwords)


def scattered_pages(count, first=0):
    """Every other page from the top of the fuzz target's memory, as shmem pages come."""
    top = RAM + 256 * 1024
    return [(top - first - (2 * i + 2) * PAGE, PAGE) for i in range(count)]


def records(*requests, cursor_queue=(), fences_done=()):
    """fences_done: before these requests the renderer finishes all its work."""
    out = b""
    for i, r in enumerate(requests):
        flags = (1 if i in cursor_queue else 0) | (2 if i in fences_done else 0)
        out += struct.pack("<BH", flags, len(r)) + r
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
    "virgl": records(
        hdr(0x108) + struct.pack("<II", 0, 0),  # GET_CAPSET_INFO
        hdr(0x109) + struct.pack("<II", 2, 2),  # GET_CAPSET virgl2 v2
        ctx_create(1),
        create_3d(1, 32, 32),
        attach(1, scattered_pages(1)),
        ctx_hdr(0x202, 1) + struct.pack("<II", 1, 0),  # CTX_ATTACH_RESOURCE
        transfer_3d(True, 1, 1, 32, 32, fence=4),
        submit_3d(1, [0x00080007, 0, 0, 0, 0], fence=5),
        transfer_3d(False, 1, 1, 32, 32, fence=6),
        ctx_hdr(0x203, 1) + struct.pack("<II", 1, 0),  # CTX_DETACH_RESOURCE
        unref(1),
        ctx_hdr(0x201, 1),  # CTX_DESTROY
        fences_done={8, 11},
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
