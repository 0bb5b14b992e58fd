#!/usr/bin/env python3
"""data/session/tessera-session, the login session script, run headless against a build.

It must start tessera with the session layout, an idle daemon (swayidle, which locks with
swaylock and switches outputs off with wlopm) and the user's own session commands
(~/.config/tessera/session here), and a SIGTERM to it must end tessera and everything it
started. This test is the subreaper of everything below it: a process left running becomes its
child, and is named and ended here (by pid).

    session_script_test.py BUILD_DIR
"""

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PR_SET_CHILD_SUBREAPER = 36


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return found


def descendants(pid):
    """Running descendants of pid as {pid: command line}."""
    found, todo = {}, children(pid)
    while todo:
        child = todo.pop()
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open(f"/proc/{child}/cmdline", "rb") as f:
                found[child] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            todo += children(child)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def main():
    build = os.path.abspath(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory(prefix="tessera-session-") as home:
        runtime = os.path.join(home, "runtime")
        os.mkdir(runtime, 0o700)
        config = os.path.join(home, ".config", "tessera")
        os.makedirs(config)
        info = os.path.join(home, "info.txt")
        with open(os.path.join(config, "session"), "w") as f:
            f.write(f"wayland-info > '{info}.part' && mv '{info}.part' '{info}'\nexec sleep 1000\n")
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "DISPLAY")}
        env.update(HOME=home, XDG_RUNTIME_DIR=runtime, WLR_RENDERER="pixman",
                   TESSERA_LAYOUT=os.path.join(SRC, "data", "layouts", "session.toml"),
                   PATH=os.path.join(build, "compositor") + os.pathsep + env.get("PATH", ""))
        env.pop("XDG_CONFIG_HOME", None)
        session = subprocess.Popen(
            [os.path.join(SRC, "data", "session", "tessera-session"), "--headless", "640x480"],
            env=env, stdout=subprocess.DEVNULL)
        try:
            wait_for("the user's session commands to list the globals",
                     lambda: os.path.exists(info), 60)
            with open(info) as f:
                listed = f.read()
            for interface in ("ext_session_lock_manager_v1", "ext_idle_notifier_v1",
                              "zwlr_output_power_manager_v1"):
                assert f"'{interface}'" in listed, f"wayland-info lacks {interface}"
            started = descendants(session.pid)
            assert any(c.startswith("swayidle") for c in started.values()), \
                f"no swayidle among {started}"
            assert any(c.startswith("sleep 1000") for c in started.values()), \
                f"the user's session is not running: {started}"
            session.send_signal(signal.SIGTERM)
            assert session.wait(timeout=15) == 0, "tessera did not exit cleanly on SIGTERM"
            # tessera waited for what it started; anything left is now this process's child.
            left = descendants(os.getpid())
            assert not left, f"still running after the session ended: {left}"
        finally:
            if session.poll() is None:
                session.kill()
                session.wait()
            for pid in descendants(os.getpid()):
                os.kill(pid, signal.SIGKILL)
    print("ok: tessera-session starts tessera, swayidle and the user's session, and ends them")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
