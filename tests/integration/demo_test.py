#!/usr/bin/env python3
"""tools/dev demo, headless and nested in an X11 display, run to the end or interrupted.

Each case runs tools/lib/demo.sh against an existing build and checks that no process it
started outlives it: this test is the subreaper of everything below it, so a process the demo
leaves running becomes its child, and is named and then ended here (by pid).

The nested cases run Xvfb with DISPLAY only (no WAYLAND_DISPLAY, no XDG_RUNTIME_DIR), take
screenshots of the X screen (xwd, netpbm) and, inside tessera's window, decode the 2D guest's
test pattern (tests/vm/guest/check-pattern.py) from the cluster zone and see the IVI VM's
GPU-rendered screen (kmscube through virgl, or a simulated 3D guest) change in the centre zone.

    demo_test.py BUILD_DIR [CASE...]
Cases: headless-finished, headless-sigint, nested-sigterm, nested-sigint. Prints
'ok'/'FAIL' per case and 'N passed, N failed'.
"""

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PR_SET_CHILD_SUBREAPER = 36

# The test guests' pattern decoder (tests/vm/guest/check-pattern.py), imported once.
sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(SRC, "tests", "vm", "guest"))
CHECK_PATTERN = __import__("check-pattern")


class Failure(Exception):
    pass


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def running_children():
    """This process's children that are running (not zombies), as {pid: command line}."""
    found = {}
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids = [int(p) for p in f.read().split()]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except (FileNotFoundError, IndexError):
                continue
            if state != "Z":
                found[pid] = cmdline
    return found


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


class Demo:
    """demo.sh running in the background, its output collected in a file."""

    def __init__(self, build, env, out_png):
        self.log = tempfile.NamedTemporaryFile(prefix="demo-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [os.path.join(SRC, "tools", "lib", "demo.sh"), "--build", build, out_png],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=SRC)

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def socket(self):
        m = re.search(r"^\[demo\] TESSERA_SOCKET=(\S+)$", self.output(), re.M)
        return m.group(1) if m else None

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"the demo did not end within {timeout} s")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


def ctl(build, socket, *args):
    result = subprocess.run([os.path.join(build, "compositor", "tessera-ctl"), "--json", *args],
                            env=dict(os.environ, TESSERA_SOCKET=socket),
                            capture_output=True, text=True, timeout=10)
    return json.loads(result.stdout) if result.returncode == 0 else None


def guests_running(build, socket):
    reply = ctl(build, socket, "guests")
    return reply is not None and sum(g["state"] == "running" for g in reply["guests"]) == 2


def shown_guest_screens(build, socket):
    """{zone: (x, y, width, height)} of the guest screens in visible zones, in output
    coordinates: each zone's rectangle with the guest's mode fitted inside (fit = "fit"); and
    the zones whose frames come from the host's 3D renderer."""
    zones = {z["name"]: z for z in ctl(build, socket, "zones")["zones"] if z["visible"]}
    boxes, rendered = {}, set()
    for guest in ctl(build, socket, "guests")["guests"]:
        for scanout in guest["scanouts"]:
            zone = zones.get(scanout["zone"])
            if not zone or not scanout["frames"] or zone["fit"] != "fit":
                continue
            if guest["submits"] and scanout["path"] in ("readback", "dma-buf"):
                rendered.add(zone["name"])
            scale = min(zone["width"] / scanout["width"], zone["height"] / scanout["height"])
            w, h = int(scanout["width"] * scale), int(scanout["height"] * scale)
            boxes[zone["name"]] = (zone["x"] + (zone["width"] - w) // 2,
                                   zone["y"] + (zone["height"] - h) // 2, w, h)
    return boxes, rendered


def check_nothing_left(demo, keep):
    """Fails, naming them, if processes the demo started are still running; ends them."""
    reap()
    left = {pid: cmd for pid, cmd in running_children().items() if pid not in keep}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    reap()
    if left:
        raise Failure("still running after the demo ended: " +
                      "; ".join(f"{pid} {cmd[:100]}" for pid, cmd in left.items()))


class Xvfb:
    def __init__(self):
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=[write], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise Failure("Xvfb did not start")
        self.display = ":" + number

    def screenshot(self, ppm):
        """The X screen as an 8-bit binary PPM."""
        with open(ppm, "wb") as out:
            xwd = subprocess.run(["xwd", "-root", "-silent", "-display", self.display],
                                 capture_output=True, check=True, timeout=30)
            pnm = subprocess.run(["xwdtopnm"], input=xwd.stdout, capture_output=True,
                                 check=True, timeout=30)
            subprocess.run(["pamdepth", "255"], input=pnm.stdout, stdout=out,
                           stderr=subprocess.DEVNULL, check=True, timeout=30)

    def window(self, width, height):
        """The position of the top-level window of that size (tessera's output), or None."""
        tree = subprocess.run(["xwininfo", "-root", "-children", "-display", self.display],
                              capture_output=True, text=True, timeout=10).stdout
        m = re.search(rf"\s{width}x{height}\+(-?\d+)\+(-?\d+)\s", tree)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def read_ppm(path):
    return CHECK_PATTERN.read_ppm(path), CHECK_PATTERN.decode


def crop(image, box):
    (w, h, pixels), (x0, y0, cw, ch) = image, box
    rows = [pixels[((y0 + y) * w + x0) * 3:((y0 + y) * w + x0 + cw) * 3] for y in range(ch)]
    return cw, ch, b"".join(rows)


def base_env(build, tmp):
    env = {k: v for k, v in os.environ.items()
           if k not in ("WAYLAND_DISPLAY", "DISPLAY", "XDG_RUNTIME_DIR", "TESSERA_SOCKET")}
    env["TMPDIR"] = tmp
    return env


def run_headless(build, tmp, interrupt):
    env = base_env(build, tmp)
    if interrupt:
        env["TESSERA_DEMO_GUESTS"] = "sim"
    out = os.path.join(tmp, "shot.png")
    demo = Demo(build, env, out)
    try:
        if interrupt:
            socket = wait_for("the demo's tessera", demo.socket, 60)
            wait_for("two running guests", lambda: guests_running(build, socket), 120)
            demo.proc.send_signal(interrupt)
            status = demo.wait(30)
            if status != 128 + interrupt:
                raise Failure(f"exit status {status} after signal {interrupt}\n{demo.output()}")
            print(f"  interrupted by signal {interrupt} with two guests running: exit {status}")
        else:
            status = demo.wait(240)
            if status != 0:
                raise Failure(f"exit status {status}\n{demo.output()}")
            for png in (out, out.replace(".png", "-driving.png")):
                if not os.path.getsize(png):
                    raise Failure(f"no screenshot {png}")
            frames = re.findall(r"fps", demo.output())
            print(f"  finished: exit 0, two screenshots, {len(frames)} guest fps lines")
        check_nothing_left(demo, keep=())
    finally:
        demo.close()


def run_nested(build, tmp, interrupt, guests):
    xvfb = Xvfb()
    try:
        env = base_env(build, tmp)
        env["DISPLAY"] = xvfb.display
        if guests == "sim":
            env["TESSERA_DEMO_GUESTS"] = "sim"
        demo = Demo(build, env, os.path.join(tmp, "unused.png"))
        try:
            socket = wait_for("the demo's tessera", demo.socket, 60)
            wait_for("two running guests", lambda: guests_running(build, socket), 120)
            output = ctl(build, socket, "outputs")["outputs"][0]
            width, height = output["width"], output["height"]
            window = wait_for("tessera's window", lambda: xvfb.window(width, height), 30)
            print(f"  tessera's output {output['name']} is the X11 window at "
                  f"{window[0]},{window[1]} ({width}x{height})")
            shot = os.path.join(tmp, "x11.ppm")
            seen = {}

            before = {}

            def patterns_shown():
                """Each shown 2D guest screen's frame counter, decoded from the X screen, and
                'GPU-rendered' for a 3D guest's screen whose pixels changed since the last look
                (a zone's fallback never changes: the renderer drew them)."""
                boxes, rendered = shown_guest_screens(build, socket)
                xvfb.screenshot(shot)
                image, decode = read_ppm(shot)
                decoded = {}
                for zone, (x, y, w, h) in boxes.items():
                    pixels = crop(image, (window[0] + x, window[1] + y, w, h))
                    if zone in rendered:
                        changed = zone in before and before[zone] != pixels[2]
                        before[zone] = pixels[2]
                        seen[zone] = [] if changed else ["its GPU-rendered screen did not change"]
                        decoded[zone] = "GPU-rendered"
                        continue
                    counter, _, problems = decode(*pixels)
                    seen[zone] = problems
                    decoded[zone] = f"frame {counter}"
                return (len(boxes) == 2 and len(rendered) == 1 and not any(seen.values())
                        and decoded)

            try:
                # A TCG guest takes a while to load kmscube's GL driver.
                decoded = wait_for("the 2D guest's pattern and the 3D guest's frames in their "
                                   "zones on the X screen", patterns_shown, 150)
            except Failure as e:
                guests = subprocess.run(
                    [os.path.join(build, "compositor", "tessera-ctl"), "guests"],
                    env=dict(os.environ, TESSERA_SOCKET=socket), capture_output=True,
                    text=True, timeout=10).stdout
                raise Failure(f"{e}; last problems: {seen}\n{guests}\n"
                              f"the demo's output, last lines:\n{demo.output()[-4000:]}")
            print("  the X screen shows " + ", ".join(
                f"{what} in zone {zone}" for zone, what in decoded.items()))
            keep = os.path.join(os.environ.get("TESSERA_TEST_OUTPUT", tmp), f"demo-x11-{guests}.png")
            os.makedirs(os.path.dirname(keep), exist_ok=True)
            with open(keep, "wb") as png:
                subprocess.run(["pnmtopng"], stdin=open(shot, "rb"), stdout=png,
                               stderr=subprocess.DEVNULL, check=True)
            print(f"  screenshot of the X screen: {keep}")
            demo.proc.send_signal(interrupt)
            status = demo.wait(30)
            if status != 128 + interrupt:
                raise Failure(f"exit status {status} after signal {interrupt}\n{demo.output()}")
            print(f"  interrupted by signal {interrupt}: exit {status}")
            check_nothing_left(demo, keep={xvfb.proc.pid})
            # (tessera's log is in the demo's output when nested.) The VMs and the status bar
            # end on SIGTERM: none had to be killed.
            if "killed what ignored SIGTERM" in demo.output():
                raise Failure("tessera had to kill what it started:\n" + demo.output()[-3000:])
        finally:
            demo.close()
    finally:
        xvfb.close()


CASES = {
    "headless-finished": lambda b, t: run_headless(b, t, None),
    "headless-sigint": lambda b, t: run_headless(b, t, signal.SIGINT),
    "nested-sigterm": lambda b, t: run_nested(b, t, signal.SIGTERM, "qemu"),
    "nested-sigint": lambda b, t: run_nested(b, t, signal.SIGINT, "sim"),
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(CASES)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("cannot become a child subreaper")
    passed = failed = 0
    for name in names:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="tessera-demo-test-") as tmp:
            try:
                CASES[name](build, tmp)
                print(f"ok   {name} ({time.monotonic() - start:.1f} s)")
                passed += 1
            except Failure as e:
                print(f"FAIL {name}: {e}")
                failed += 1
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
