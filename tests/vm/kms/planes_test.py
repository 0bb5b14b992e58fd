#!/usr/bin/env python3
"""Hardware planes on a real KMS device: tessera on vkms (DRM backend, 8 overlay planes) with
simulated blob guests whose buffers are udmabuf dma-bufs, a 3D guest shown from its renderer's
exported textures, and a native client sharing dumb buffers of vkms as dma-bufs
(tessera-dmabuf-client). Runs inside the KMS test VM (see run.sh
next to it); each case starts its own tessera, guests and clients.

What is read back: tessera-ctl stats (per zone frame paths, per output frames composited and
planes in use), the kernel's atomic state in debugfs (which plane shows which framebuffer
where) and vkms's CRTC CRCs (a checksum of the composed screen: equal CRCs, equal pixels).

Usage: planes_test.py --build BUILD_DIR [CASE...]; exit status 0 when every case passed.
       planes_test.py --build BUILD_DIR bench: planes auto versus off, figures only.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

DRI = "/sys/kernel/debug/dri/0"
ZONE = (16, 16, 320, 240)  # x, y, width, height: the guest's mode, so unscaled


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(what, predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(interval)


def layout(zones, guests, profiles=""):
    """zones: [(name, (x, y, w, h), extra)]; guests: [(name, scanouts[, extra])]; rules map
    scanout i of each guest to the zones in order."""
    text = "[outputs.main]\nindex = 0\n\n"
    for name, (x, y, w, h), extra in zones:
        text += (f'[zones.{name}]\noutput = "main"\n'
                 f"rect = {{ x = {x}, y = {y}, width = {w}, height = {h} }}\n"
                 f'background = "#203040"\nfit = "stretch"\n{extra}\n')
    zone_names = iter(z[0] for z in zones)
    for guest, scanouts, *extra in guests:
        text += (f'[guests.{guest}]\nsocket = "/tmp/{guest}.sock"\nscanouts = {scanouts}\n'
                 f'{"".join(extra)}\n\n')
        for scanout in range(scanouts):
            text += (f'[[rules]]\nzone = "{next(zone_names)}"\nguest = "{guest}"\n'
                     f"scanout = {scanout}\n\n")
    return text + profiles


class Tessera:
    def __init__(self, build, layout_text, log_name, env=None):
        self.build = build
        self.dir = tempfile.mkdtemp(prefix="tessera-kms-")
        self.layout = os.path.join(self.dir, "layout.toml")
        with open(self.layout, "w") as f:
            f.write(layout_text)
        self.log = open(os.path.join(self.dir, log_name), "w")
        self.socket = "/run/user/0/tessera.wayland-kms.sock"
        # What a Wayland client needs to reach this tessera.
        self.client_env = {**os.environ, "WAYLAND_DISPLAY": "wayland-kms",
                           "XDG_RUNTIME_DIR": "/run/user/0"}
        self.guests = []
        self.proc = subprocess.Popen(
            [f"{build}/compositor/tessera", "--layout", self.layout, "--socket", "wayland-kms",
             "--log-level", "info,planes=debug"],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            # GLES2 on llvmpipe under TCG can take many seconds to start.
            wait_for("tessera's control socket", lambda: os.path.exists(self.socket), timeout=60)
            wait_for("an output", lambda: self.stats()["outputs"])
        except Failure as e:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"{e}\ntessera:\n{self.log_tail()}")

    def ctl(self, *args):
        out = subprocess.run([f"{self.build}/compositor/tessera-ctl", "--json", "--socket",
                              self.socket, *args], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise Failure(f"tessera-ctl {' '.join(args)}: {out.stderr.strip() or out.stdout}")
        return json.loads(out.stdout)

    def stats(self):
        return self.ctl("stats")

    def output(self):
        return self.stats()["outputs"][0]

    def zone(self, name, stats=None):
        for z in (stats or self.stats())["zones"]:
            if z["zone"] == name:
                return z
        return {"zone": name, "plane": 0, "blit": 0, "copy": 0, "composited": 0, "last": ""}

    def output_and_zone(self, name):
        """The output's and a zone's counters from one reply: tessera counts both in the same
        commit, so they agree with each other."""
        stats = self.stats()
        return stats["outputs"][0], self.zone(name, stats)

    def guest(self, name, *args, blob=True):
        self.guests.append(subprocess.Popen(
            [f"{self.build}/tests/gpu/sim-guest/tessera-sim-guest", "--socket",
             f"/tmp/{name}.sock", *(["--blob"] if blob else []), *args],
            stdout=self.log, stderr=subprocess.STDOUT))

    def wait_guest_holding(self):
        """Until a --hold guest stopped flipping and tessera committed every frame it flushed."""
        wait_for("the guest to hold its last frame", lambda: "holding" in open(self.log.name).read())
        wait_for("every guest frame in an output commit", self.guest_frames_committed)

    def guest_frames_committed(self):
        """Whether every frame of each guest scanout went into an output commit of its zone
        (the zone's frames by path count them there)."""
        stats = self.stats()
        committed = {z["zone"]: z["plane"] + z["blit"] + z["copy"] for z in stats["zones"]}
        return all(committed.get(s["zone"], 0) >= s["frames"]
                   for g in stats["guests"] for s in g["scanouts"] if s["zone"])

    def steady_blits(self, zone):
        """A predicate for wait_for: true once, between two calls, the zone's frames were
        blitted and the output composited once for each output frame that carried them."""
        last = []

        def steady():
            output, z = self.output_and_zone(zone)
            now = (z["blit"], z["composited"], output["composited"])
            ok = bool(last) and now[0] > last[0] and now[1] - last[1] == now[2] - last[2]
            if last:
                steady.deltas = (steady.deltas + [tuple(n - o for n, o in zip(now, last))])[-8:]
            last[:] = now
            return ok
        steady.deltas = []
        return steady

    def profile(self, name):
        """Switches to a profile and waits until the output composited a frame after it: for a
        switch that changes the screen."""
        before = self.output()["composited"]
        self.ctl("profile", name)
        wait_for(f"a frame composited in profile {name}",
                 lambda: self.output()["composited"] > before)

    def client(self, *args):
        """tessera-dmabuf-client with these arguments; returns (process, path of its output)."""
        out = os.path.join(self.dir, "client.out")
        proc = subprocess.Popen(
            [f"{self.build}/tests/clients/tessera-dmabuf-client", *args],
            stdout=open(out, "w"), stderr=self.log, env=self.client_env)
        self.guests.append(proc)
        return proc, out

    def watch(self):
        """tessera-ctl watch: the health events from now on, in self.events as they come."""
        self.events = []
        proc = subprocess.Popen([f"{self.build}/compositor/tessera-ctl", "--json", "--socket",
                                 self.socket, "watch"], stdout=subprocess.PIPE, text=True,
                                stderr=self.log)
        self.guests.append(proc)  # ended with the others

        def read():
            for line in proc.stdout:
                self.events.append(json.loads(line))
        threading.Thread(target=read, daemon=True).start()

    def wait_event(self, what, predicate):
        wait_for(what, lambda: any(predicate(e) for e in list(self.events)))

    def stop(self):
        for proc in self.guests + [self.proc]:
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)  # a stopped client ends too
        for proc in self.guests + [self.proc]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()

    def log_tail(self, lines=30):
        with open(self.log.name) as f:
            return "".join(f.readlines()[-lines:])


def planes():
    """The atomic state's planes: name -> {fb, x, y, w, h, format}."""
    with open(f"{DRI}/state") as f:
        text = f.read()
    result = {}
    for block in re.split(r"\n(?=plane\[)", text):
        head = re.match(r"plane\[(\d+)\]: (\S+)", block)
        if not head:
            continue
        fb = re.search(r"\bfb=(\d+)", block)
        pos = re.search(r"crtc-pos=(\d+)x(\d+)\+(-?\d+)\+(-?\d+)", block)
        fmt = re.search(r"format=(\S+)", block)
        w, h, x, y = (int(v) for v in pos.groups()) if pos else (0, 0, 0, 0)
        result[head.group(2)] = {"fb": int(fb.group(1)) if fb else 0, "x": x, "y": y, "w": w,
                                 "h": h, "format": fmt.group(1) if fmt else ""}
    return result


def overlays_in_use():
    """(x, y, w, h) of every overlay plane (not plane-0, the primary) showing a framebuffer."""
    return sorted((p["x"], p["y"], p["w"], p["h"]) for name, p in planes().items()
                  if name != "plane-0" and p["fb"] and p["w"] != 64)


def crc(frames=4, seconds=0.1):
    """The CRC of the composed screen, once it is the same for `frames` vblanks in a row and
    over `seconds`. Under TCG vkms's composer falls behind and reports one composition for all
    the vblanks it missed, so equal values read at once may be a single (possibly torn) frame;
    values read over time come from separate compositions."""
    with open(f"{DRI}/crtc-0/crc/control", "w") as f:
        f.write("auto")
    values, since = [], 0.0
    with open(f"{DRI}/crtc-0/crc/data") as data:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = data.readline().split()
            if len(line) < 2:
                continue
            if not values or line[1] != values[-1]:
                since = time.monotonic()
            values.append(line[1])
            settled = len(values) >= frames and len(set(values[-frames:])) == 1
            if settled and time.monotonic() - since >= seconds:
                return values[-1]
    raise Failure(f"the screen's CRC does not settle: {values[-8:]}")


def held_crc(client):
    """The screen's CRC while `client` is stopped, so that nothing new is drawn: like a --hold
    guest. vkms has no fences: with frames still coming, llvmpipe may not have finished a frame
    when it is committed, and vkms may still read a buffer it released, so a CRC taken then can
    be of a torn frame that the screen never showed whole."""
    client.send_signal(signal.SIGSTOP)
    try:
        return agreed_crc()
    finally:
        client.send_signal(signal.SIGCONT)


def agreed_crc(gap=0.5, tries=8):
    """crc() until two readings `gap` seconds apart agree, with the CRC source closed in between.
    With GLES2 on llvmpipe a frame is committed after glFlush and drawn into the dumb buffer by
    llvmpipe's threads later; until then the screen shows the buffer's older content, unchanging.
    vkms's composer, busy while the CRC source is open and behind under TCG, competes with
    llvmpipe for the VM's CPUs, so that can outlast crc()'s 100 ms: a settled value is only one
    that still holds after a pause."""
    readings = [crc()]
    while len(readings) < tries:
        time.sleep(gap)
        readings.append(crc())
        if readings[-1] == readings[-2]:
            return readings[-1]
    raise Failure(f"the screen's CRC does not settle across pauses: {readings}")


def wait_overlays(expected, what):
    return wait_for(what, lambda: overlays_in_use() == sorted(expected))


# --- cases -------------------------------------------------------------------------------------

PROFILES_ONE = """
[profiles.scaled.zones.a]
rect = { x = 16, y = 16, width = 480, height = 360 }

[profiles.off.zones.a]
planes = "off"

[profiles.translucent.zones.a]
opacity = 0.5

[profiles.scaled-off.zones.a]
rect = { x = 16, y = 16, width = 480, height = 360 }
planes = "off"
"""


def case_unscaled_on_plane_scaled_blit(build):
    """A flipping blob guest: unscaled it is on an overlay and nothing is composited for its
    frames; made translucent while on it, or scaled (vkms cannot scale), each frame is one
    blit; planes off: blits as well."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], PROFILES_ONE), "flipping.log")
    try:
        t.watch()
        # It keeps its mode when the zone is scaled (else it would follow the zone's size).
        t.guest("vm", "--fps", "10", "--fixed-mode")
        wait_for("zone a on a plane", lambda: t.zone("a")["last"] == "plane")
        t.wait_event("a health event for zone a on a plane",
                     lambda e: e["event"] == "planes" and e["zones"] == ["a"])
        check(overlays_in_use() == [ZONE], f"overlays: {overlays_in_use()}, want {[ZONE]}\n"
              + open(f"{DRI}/state").read())
        before, zone_before = t.output(), t.zone("a")
        time.sleep(3)
        after, zone_after = t.output(), t.zone("a")
        frames = zone_after["plane"] - zone_before["plane"]
        check(frames >= 15, f"only {frames} guest frames on the plane in 3 s")
        check(zone_after["blit"] == zone_before["blit"], "a guest frame was composited")
        check(after["composited"] == before["composited"],
              f"{after['composited'] - before['composited']} frames composited for "
              f"{frames} frames that only changed the plane zone")
        check(after["planes_in_use"] == 1, f"planes in use: {after['planes_in_use']}")
        print(f"  unscaled: {frames} frames on the overlay, 0 composited")
        # On-screen verification of a zone on a plane: the plane got the guest's buffer, at the
        # zone's place (tessera-ctl verify exits non-zero otherwise).
        verified = t.ctl("verify", "zone", "a")
        check(verified["result"] == "match" and verified["shown"] == "plane",
              f"verify zone a: {verified}")
        print(f"  verified on its plane in {verified['cost_us']} us")

        for profile, label in (("translucent", "translucent"), ("scaled", "scaled"),
                               ("off", "planes off")):
            t.ctl("profile", profile)
            wait_overlays([], f"no overlay in use ({label})")
            if label == "translucent":
                t.wait_event("a health event for zone a off its plane",
                             lambda e: e["event"] == "planes" and e["zones"] == [])
            # The window starts once the new path is steady: a guest frame blitted and one
            # composition for it (the switch's own commits, with libliftoff's tests, are slow).
            steady = t.steady_blits("a")
            try:
                wait_for(f"one composition per blitted frame ({label})", steady)
            except Failure as e:
                raise Failure(f"{e}; last (blits, carried, composited) deltas: {steady.deltas}")
            before, zone_before = t.output_and_zone("a")
            time.sleep(3)
            after, zone_after = t.output_and_zone("a")
            blits = zone_after["blit"] - zone_before["blit"]
            carried = zone_after["composited"] - zone_before["composited"]
            composited = after["composited"] - before["composited"]
            check(zone_after["plane"] == zone_before["plane"], f"{label}: frames on a plane")
            check(blits >= 15, f"{label}: only {blits} frames blitted in 3 s")
            # Guest frames that arrive during an output stall share an output frame (under TCG
            # vkms's vblanks stall): at most one output frame per guest frame, at least one.
            check(0 < carried <= blits,
                  f"{label}: {blits} guest frames carried by {carried} output frames")
            # Every output frame that carried new guest frames composited them, and nothing
            # else was composited.
            check(composited == carried,
                  f"{label}: {composited} frames composited, {carried} carried guest frames")
            check(overlays_in_use() == [], f"{label}: overlays in use: {overlays_in_use()}")
            print(f"  {label}: {blits} guest frames in {carried} output frames, {composited} "
                  "composited, 0 on planes")
    finally:
        t.stop()


def case_guest_follows_zone(build):
    """A guest that takes the size its zone offers: scaled by the profile switch at first, it
    re-renders at the zone's new size and is back on an overlay, unscaled."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], PROFILES_ONE), "follows.log")
    try:
        t.guest("vm", "--fps", "10")
        wait_overlays([ZONE], "zone a on an overlay")
        t.ctl("profile", "scaled")
        scaled = (16, 16, 480, 360)
        wait_overlays([scaled], "zone a on an overlay at its new size")
        scanout = t.stats()["guests"][0]["scanouts"][0]
        check((scanout["width"], scanout["height"]) == (480, 360),
              f"the guest shows {scanout['width']}x{scanout['height']}")
        print(f"  the guest took 480x360 and is on the overlay at {scaled}")
    finally:
        t.stop()


def case_2d_guest_on_plane(build):
    """A 2D guest (stock QEMU's kind): its framebuffers are shown from its memory as dma-bufs,
    so it reaches an overlay plane like a blob guest, with nothing copied or composited."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], ""), "2d.log")
    try:
        t.guest("vm", "--fps", "10", blob=False)
        wait_for("zone a on a plane", lambda: t.zone("a")["last"] == "plane")
        check(overlays_in_use() == [ZONE], f"overlays: {overlays_in_use()}, want {[ZONE]}")
        before, zone_before = t.output_and_zone("a")
        time.sleep(3)
        after, zone_after = t.output_and_zone("a")
        frames = zone_after["plane"] - zone_before["plane"]
        check(frames >= 15, f"only {frames} guest frames on the plane in 3 s: {zone_after}, "
              f"{t.stats()['guests'][0]['scanouts'][0]}")
        check(after["composited"] == before["composited"],
              f"{after['composited'] - before['composited']} frames composited")
        scanout = t.stats()["guests"][0]["scanouts"][0]
        check(scanout["bytes_copied"] == 0, f"{scanout['bytes_copied']} bytes copied")
        check(scanout["path"] == "dma-buf", f"path {scanout['path']}")
        print(f"  2D guest: {frames} frames on the overlay, 0 composited, 0 bytes copied")
    finally:
        t.stop()


def case_virgl_export(build):
    """A 3D guest (virgl) whose renderer, llvmpipe, exports its textures through /dev/udmabuf:
    its frames are shown from the renderer's own textures as dma-bufs, nothing read back or
    copied, each paced to the display. vkms's planes take no XB24 (llvmpipe keeps B8G8R8X8 as
    RGBA), so each frame is the one blit; the zone verifies against the texture's pixels."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1, "3d = true")], ""), "virgl.log")
    try:
        t.guest("vm", "--virgl", "--fps", "10", blob=False)
        wait_for("the 3D guest's frames", lambda: t.zone("a")["plane"] + t.zone("a")["blit"] >= 10,
                 timeout=60)
        before = t.stats()["guests"][0]
        time.sleep(3)
        guest = t.stats()["guests"][0]
        scanout = guest["scanouts"][0]
        check(guest["exported_textures"] >= 1, f"no texture exported: {guest}\n{t.log_tail()}")
        check(guest["readback_bytes"] == 0, f"{guest['readback_bytes']} bytes read back")
        check(scanout["path"] == "dma-buf", f"path {scanout['path']}")
        check(guest["bytes_copied"] == 0, f"{guest['bytes_copied']} bytes copied")
        frames = guest["frames"] - before["frames"]
        presented = guest["presented"] - before["presented"]
        check(frames >= 15, f"only {frames} frames in 3 s")
        check(abs(frames - presented) <= 2, f"{frames} frames, {presented} presented")
        zone = t.zone("a")
        check(zone["copy"] == 0, f"zone a: {zone}")
        verified = t.ctl("verify", "zone", "a")
        check(verified["result"] == "match", f"verify zone a: {verified}")
        print(f"  3D guest: {frames} frames in 3 s from {guest['exported_textures']} exported "
              f"textures, 0 bytes read back or copied, {zone['plane']} on a plane, "
              f"{zone['blit']} blitted")
    finally:
        t.stop()


def case_same_screen_either_path(build):
    """A guest that holds one frame: the screen's CRC is the same with the zone on a plane and
    composited, unscaled and scaled."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], PROFILES_ONE), "static.log")
    try:
        t.guest("vm", "--frames", "2", "--hold")
        t.wait_guest_holding()
        wait_overlays([ZONE], "zone a on an overlay")
        on_plane = crc()
        t.ctl("profile", "off")
        wait_overlays([], "zone a composited")
        composited = crc()
        check(on_plane == composited,
              f"CRC on a plane {on_plane} != composited {composited}")
        t.profile("scaled")
        check(overlays_in_use() == [], f"scaled: overlays in use: {overlays_in_use()}")
        scaled_auto = crc()
        # The same screen composited either way: the switch is applied when tessera-ctl returns.
        t.ctl("profile", "scaled-off")
        scaled_off = crc()
        check(scaled_auto == scaled_off, f"scaled: CRC auto {scaled_auto} != off {scaled_off}")
        check(scaled_auto != composited, "the scaled zone looks like the unscaled one")
        print(f"  CRC unscaled {on_plane} (plane and composited), scaled {scaled_auto} (both)")
    finally:
        t.stop()


def case_priorities(build):
    """Ten candidate zones, eight overlays: the eight with the highest plane priority get
    them, the other two are composited, and the screen is the same as with planes off."""
    zones, want = [], []
    for i in range(10):
        box = (16 + (i % 5) * 200, 16 + (i // 5) * 200, 128, 128)
        priority = [5, 90, 10, 80, 70, 60, 50, 40, 30, 20][i]
        zones.append((f"z{i}", box, f"plane-priority = {priority}"))
        if priority > 10:
            want.append(box)
    off = "".join(f'[profiles.off.zones.z{i}]\nplanes = "off"\n' for i in range(10))
    t = Tessera(build, layout(zones, [("vm", 10)], off), "priorities.log")
    try:
        t.guest("vm", "--frames", "2", "--hold")
        t.wait_guest_holding()
        wait_overlays(want, "the eight highest priorities on overlays")
        out = t.output()
        check(out["planes_in_use"] == 8 and out["planes"] == 8,
              f"planes {out['planes_in_use']}/{out['planes']}")
        # (Before all ten scanouts were up, a low priority zone may have had a free plane.)
        for low in ("z0", "z2"):
            z = t.zone(low)
            check(z["last"] == "blit", f"zone {low}: {z}")
        on_planes = crc()
        t.ctl("profile", "off")
        wait_overlays([], "every zone composited")
        composited = crc()
        check(on_planes == composited, f"CRC with planes {on_planes} != composited {composited}")
        print(f"  8 of 10 zones on overlays by priority, CRC {on_planes} either way")
    finally:
        t.stop()


def case_refused_format(build):
    """A guest buffer in a format vkms's planes do not scan out (R8G8B8X8, XB24): offered,
    refused, composited all along; the screen is the same as with planes off."""
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], PROFILES_ONE), "format.log")
    try:
        t.guest("vm", "--rgbx", "--fps", "10")
        wait_for("a few frames", lambda: t.zone("a")["blit"] >= 10)
        z, out = t.zone("a"), t.output()
        check(z["plane"] == 0, f"zone a: {z['plane']} frames on a plane")
        check(out["planes_in_use"] == 0, f"planes in use: {out['planes_in_use']}")
        check(overlays_in_use() == [], f"overlays in use: {overlays_in_use()}")
        check("planes refused" in open(t.log.name).read(), "no refusal in the log")
        print(f"  XB24 guest: {z['blit']} frames blitted, 0 on planes")
    finally:
        t.stop()
    t = Tessera(build, layout([("a", ZONE, "")], [("vm", 1)], PROFILES_ONE), "format-crc.log")
    try:
        t.guest("vm", "--rgbx", "--frames", "2", "--hold")
        t.wait_guest_holding()
        auto = crc()
        # Composited either way: the switch is applied when tessera-ctl returns.
        t.ctl("profile", "off")
        off = crc()
        check(auto == off, f"CRC auto {auto} != off {off}")
        print(f"  XB24 guest: CRC {auto} with planes auto and off")
    finally:
        t.stop()


# The GLES2 renderer (llvmpipe on vkms's primary node) imports dma-bufs, so tessera offers
# linux-dmabuf and native clients can share dma-bufs; pixman cannot read them.
GLES2 = {"WLR_RENDERER": "gles2", "WLR_RENDERER_ALLOW_SOFTWARE": "1"}


def screenshot_pixels(path, points):
    """RGB of a binary PPM (grim -t ppm) at the given (x, y) points."""
    data = open(path, "rb").read()
    # P6, width, height, maxval, then exactly one whitespace byte before the pixels.
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    check(header is not None, f"not an 8-bit PPM: {data[:20]!r}")
    width, pixels = int(header.group(1)), data[header.end():]
    return [tuple(pixels[3 * (y * width + x):3 * (y * width + x) + 3]) for x, y in points]


def feedbacks(path):
    """The client's feedbacks so far: a list of {"tranches": [(scanout, [formats])]}."""
    result = []
    for line in open(path).read().splitlines():
        if line.startswith("feedback main="):
            result.append({"tranches": []})
        elif line.startswith("tranche ") and result:
            fields = dict(f.split("=", 1) for f in line.split()[1:])
            result[-1]["tranches"].append((fields["scanout"] == "1",
                                           fields["formats"].split(",")))
    return result


def case_native_feedback(build):
    """A native client sharing dma-bufs in a format vkms's planes refuse (XB24): tessera tells
    it in a scanout tranche which formats the planes take, the client reallocates in XR24 and
    its zone goes onto an overlay, composited nothing for its frames; a click still reaches it
    there; the screen is the same composited; with planes off the scanout tranche goes away."""
    text = (layout([("app", ZONE, "")], []) + '[[rules]]\nzone = "app"\nivi-id = 7\n\n'
            + '[profiles.off.zones.app]\nplanes = "off"\n')
    t = Tessera(build, text, "native.log", env=GLES2)
    out = os.devnull
    try:
        if "linux-dmabuf enabled" not in open(t.log.name).read():
            raise Failure("no linux-dmabuf with the GLES2 renderer:\n" + t.log_tail())
        client, out = t.client("--ivi-id", "7", "--size", f"{ZONE[2]}x{ZONE[3]}", "--format",
                               "XB24", "--follow-feedback", "--fps", "10", "--poke",
                               f"{ZONE[0] + 100},{ZONE[1] + 80}")
        wait_for("XB24 buffers", lambda: "buffers format=XB24" in open(out).read())
        check(not any(scanout for f in feedbacks(out) for scanout, _ in f["tranches"]),
              "a scanout tranche before any plane refused the buffer")
        wait_for("a scanout tranche", lambda: any(
            scanout for f in feedbacks(out) for scanout, _ in f["tranches"]))
        scanout = [formats for f in feedbacks(out) for s, formats in f["tranches"] if s][0]
        check("XR24" in scanout and "XB24" not in scanout, f"scanout tranche formats {scanout}")
        # The client takes the tranche's first format it can draw.
        chosen = next(f for f in scanout if f in ("XR24", "AR24", "XB24", "AB24"))
        wait_for(f"{chosen} buffers", lambda: f"buffers format={chosen}" in open(out).read())
        wait_overlays([ZONE], "the client's zone on an overlay")
        wait_for("zone app on a plane", lambda: t.zone("app")["last"] == "plane")
        before, zone_before = t.output(), t.zone("app")
        time.sleep(3)
        after, zone_after = t.output(), t.zone("app")
        frames = zone_after["plane"] - zone_before["plane"]
        check(frames >= 15, f"only {frames} client frames on the plane in 3 s")
        check(after["composited"] == before["composited"],
              f"{after['composited'] - before['composited']} frames composited for {frames} "
              "frames on the plane")
        entered = [l for l in open(out).read().splitlines() if l.startswith("surface ")]
        check(entered and entered[-1] == "surface enter",
              f"on a plane and not on the output for its client: {entered}")
        print(f"  XB24 refused, scanout tranche {','.join(scanout)}, {chosen}: {frames} frames "
              "on the overlay, 0 composited")

        # Input: the seat finds the surface although the scene does not draw it.
        check(t.output()["planes_in_use"] == 1, "not on a plane before the click")
        client.send_signal(signal.SIGUSR1)
        wait_for("the click on the client", lambda: "pointer button" in open(out).read())
        check("pointer enter 100 80" in open(out).read(),
              "pointer entered elsewhere: " + open(out).read()[-300:])
        print("  a click on the plane zone reached the client at 100,80")

        # A screencopy client gets the screen with the plane's content in it.
        shot = os.path.join(t.dir, "shot.ppm")
        subprocess.run(["grim", "-t", "ppm", shot], check=True, timeout=30, env=t.client_env)
        squares = screenshot_pixels(shot, [(ZONE[0] + 4, ZONE[1] + 4), (ZONE[0] + 20, ZONE[1] + 4)])
        check(squares == [(255, 0, 0), (0, 0, 255)],
              f"grim saw {squares} where the client's red and blue squares are")
        wait_overlays([ZONE], "the zone back on its overlay after the screenshot")
        print("  grim captured the plane zone's content")

        on_plane = held_crc(client)
        told = len(feedbacks(out))
        t.ctl("profile", "off")
        wait_overlays([], "the zone composited")
        wait_for("feedback without a scanout tranche", lambda: len(feedbacks(out)) > told)
        check(not any(s for s, _ in feedbacks(out)[-1]["tranches"]),
              f"planes off and still a scanout tranche: {feedbacks(out)[-1]}")
        composited = held_crc(client)
        check(on_plane == composited, f"CRC on a plane {on_plane} != composited {composited}")
        print(f"  planes off: default feedback again; CRC {on_plane} on the plane and composited")
    except Failure as e:
        raise Failure(f"{e}\nclient:\n{open(out).read()[-1500:]}\ntessera:\n{t.log_tail()}")
    finally:
        t.stop()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(build, seconds=10):
    """Not a test: the same guest workload (two 480x360 blob scanouts flipping as fast as their
    fences allow) with planes auto and off; prints guest frames, frames composited and
    tessera's CPU time per guest frame."""
    zones = [("a", (16, 16, 480, 360), ""), ("b", (512, 16, 480, 360), "")]
    print(f"{'planes':<7} {'guest frames':>12} {'frames/s':>9} {'committed':>10} "
          f"{'composited':>11} {'on planes':>10} {'cpu ms/frame':>13} {'cpu %':>6}")
    for mode in ("auto", "off"):
        text = layout(zones, [("vm", 2)]).replace("index = 0", f'index = 0\nplanes = "{mode}"')
        t = Tessera(build, text, f"bench-{mode}.log")
        try:
            t.guest("vm")
            wait_for("both zones showing", lambda: all(
                t.zone(z)["plane"] + t.zone(z)["blit"] > 10 for z in ("a", "b")))
            time.sleep(2)

            def sample():
                """One stats query: the output, guest frames, frames on planes, CPU, time."""
                stats = t.stats()
                zones = [z for z in stats["zones"] if z["zone"] in ("a", "b")]
                return (stats["outputs"][0], sum(z["plane"] + z["blit"] for z in zones),
                        sum(z["plane"] for z in zones), cpu_seconds(t.proc.pid), time.monotonic())

            o0, f0, p0, c0, t0 = sample()
            time.sleep(seconds)
            o1, f1, p1, c1, t1 = sample()
            frames = f1 - f0
            print(f"{mode:<7} {frames:>12} {frames / (t1 - t0):>9.1f} "
                  f"{o1['frames'] - o0['frames']:>10} {o1['composited'] - o0['composited']:>11} "
                  f"{p1 - p0:>10} {1000 * (c1 - c0) / max(frames, 1):>13.2f} "
                  f"{100 * (c1 - c0) / (t1 - t0):>6.1f}", flush=True)
        finally:
            t.stop()


CASES = {
    "unscaled-plane-scaled-blit": case_unscaled_on_plane_scaled_blit,
    "same-screen": case_same_screen_either_path,
    "2d-guest-plane": case_2d_guest_on_plane,
    "follows-zone": case_guest_follows_zone,
    "priorities": case_priorities,
    "refused-format": case_refused_format,
    "native-feedback": case_native_feedback,
    "virgl-export": case_virgl_export,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    os.environ.update({"WLR_RENDERER": "pixman", "LIBSEAT_BACKEND": "noop",
                       "WLR_BACKENDS": "drm", "WLR_LIBINPUT_NO_DEVICES": "1"})
    if args.cases == ["bench"]:
        bench(os.path.abspath(args.build))
        return 0
    failed = 0
    for name in args.cases:
        start = time.monotonic()
        try:
            CASES[name](os.path.abspath(args.build))
            print(f"ok   {name} ({time.monotonic() - start:.1f} s)", flush=True)
        except Failure as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
    print(f"{len(args.cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
