#!/usr/bin/env python3
"""Decode flipper's test pattern from a screenshot (binary PPM, P6, e.g. QEMU's screendump).

Reference decoder for host tests: the image may be scaled, so it only samples the centres
of large areas (see the comment at the top of flipper.c):
  - quadrant centres (W/4 | 3W/4, H/4 | 3H/4): red, green / blue, white;
  - counter cells, centre ((i + 0.5) * W/16, H/32): bright = 1, MSB first;
  - the bar: the one dark cell centre ((i + 0.5) * W/16) on the rows 7H/16 and 9H/16;
    its index must equal counter % 16.
Prints the decoded values; exits 1 if the image does not show the pattern.

    check-pattern.py shot.ppm
"""

import sys


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ValueError(f"{path}: not an 8-bit binary PPM (P6)")
    w, h = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + w * h * 3]
    if len(pixels) != w * h * 3:
        raise ValueError(f"{path}: truncated")
    return w, h, pixels


def decode(w, h, pixels):
    def px(x, y):
        i = (int(y) * w + int(x)) * 3
        return tuple(pixels[i:i + 3])

    def close(rgb, want, tol=48):
        return all(abs(a - b) <= tol for a, b in zip(rgb, want))

    problems = []
    quadrants = {
        "top-left": ((w / 4, h / 4), (255, 0, 0)),
        "top-right": ((3 * w / 4, h / 4), (0, 255, 0)),
        "bottom-left": ((w / 4, 3 * h / 4), (0, 0, 255)),
        "bottom-right": ((3 * w / 4, 3 * h / 4), (255, 255, 255)),
    }
    for name, ((x, y), want) in quadrants.items():
        got = px(x, y)
        if not close(got, want):
            problems.append(f"{name} quadrant is #{bytes(got).hex()}, expected "
                            f"#{bytes(want).hex()}")

    counter = 0
    for i in range(16):
        rgb = px((i + 0.5) * w / 16, h / 32)
        if close(rgb, (255, 255, 255)):
            counter |= 1 << (15 - i)
        elif not close(rgb, (0, 0, 0)):
            problems.append(f"counter cell {i} is #{bytes(rgb).hex()}, neither black "
                            "nor white")

    bars = []
    for y in (7 * h / 16, 9 * h / 16):
        dark = [i for i in range(16) if close(px((i + 0.5) * w / 16, y), (0, 0, 0))]
        if len(dark) != 1:
            problems.append(f"row {int(y)}: {len(dark)} bar cells {dark}, expected 1")
        bars.append(dark[0] if len(dark) == 1 else None)
    bar = bars[0] if bars[0] == bars[1] else None
    if bars[0] != bars[1]:
        problems.append(f"bar cells differ between the band's halves: {bars}")
    elif bar is not None and bar != counter % 16:
        problems.append(f"bar in cell {bar}, but counter {counter} % 16 = {counter % 16}")
    return counter, bar, problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-pattern.py SHOT.ppm")
    try:
        w, h, pixels = read_ppm(sys.argv[1])
    except (OSError, ValueError) as e:
        sys.exit(f"check-pattern.py: error: {e}")
    counter, bar, problems = decode(w, h, pixels)
    print(f"size {w}x{h} counter {counter} bar {bar}")
    for p in problems:
        print("problem: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
