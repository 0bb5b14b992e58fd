#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_input_device.cpp: config queries as Linux's virtio_input
makes them, touch and key frames, a guest that stalls and comes back, a driver restart.

Usage: make_corpus.py [OUT_DIR]   (default: corpus/input_device next to this script)
"""
import pathlib
import struct
import sys

EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
SYN = struct.pack("<HHi", EV_SYN, 0, 0)
ABS_MT_SLOT, ABS_MT_POSITION_X, ABS_MT_POSITION_Y, ABS_MT_TRACKING_ID = 0x2F, 0x35, 0x36, 0x39
BTN_TOUCH, KEY_A, KEY_LEFTSHIFT = 0x14A, 30, 42


def ev(t, c, v):
    return struct.pack("<HHi", t, c, v)


def config_write(offset, data):
    return bytes([0, offset, len(data)]) + data


def query(select, subsel):
    # QEMU writes the whole struct back with select and subsel changed.
    return config_write(0, bytes([select, subsel]) + bytes(134))


def frame(*events):
    return bytes([1, len(events) + 1]) + b"".join(events) + SYN


def deliver(n):
    return bytes([2, n])


def touch(slot, tid, x, y):
    return frame(ev(EV_ABS, ABS_MT_SLOT, slot), ev(EV_ABS, ABS_MT_TRACKING_ID, tid),
                 ev(EV_ABS, ABS_MT_POSITION_X, x), ev(EV_ABS, ABS_MT_POSITION_Y, y),
                 ev(EV_KEY, BTN_TOUCH, 1))


SEEDS = {
    "probe_touchscreen": b"\x00" + b"".join(
        query(s, sub) for s, sub in [(1, 0), (2, 0), (3, 0), (0x10, 0), (0x11, 1), (0x11, 3),
                                     (0x12, 0x2F), (0x12, 0x35), (0x12, 0x36), (0x12, 0x39)]),
    "probe_keyboard": b"\x01" + b"".join(
        query(s, sub) for s, sub in [(1, 0), (0x11, 1), (0x11, 0x14), (0x11, 0x11)]),
    "config_outside": b"\x00" + config_write(130, bytes(20)) + config_write(255, b"\xff"),
    "two_fingers": b"\x00" + touch(0, 1, 10, 20) + touch(1, 2, 30, 40) + deliver(255),
    "stall_and_return": b"\x01" + frame(ev(EV_KEY, KEY_LEFTSHIFT, 1)) + deliver(2) + b"".join(
        frame(ev(EV_KEY, KEY_A, i % 2)) for i in range(60)) + deliver(255),
    "touch_stall_lift": b"\x00" + touch(0, 7, 1, 2) + deliver(6) + b"".join(
        frame(ev(EV_ABS, ABS_MT_POSITION_X, i)) for i in range(40)) + frame(
            ev(EV_ABS, ABS_MT_TRACKING_ID, -1), ev(EV_KEY, BTN_TOUCH, 0)) + deliver(255),
    "restart": b"\x01" + frame(ev(EV_KEY, KEY_A, 1)) + b"\x03" + frame(ev(EV_KEY, KEY_A, 0)) +
    deliver(255),
}


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).parent / "corpus" / "input_device"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
