#!/usr/bin/env python3
"""Run one command inside a Linux VM (QEMU, the build root's Debian kernel) and pass its
exit status through.

    run-in-vm.py [--out DIR] [--work DIR] [--timeout S] [--memory 2G] [--smp N]
                 [--kmod NAME[:PARAMS]]... [--module KO[:PARAMS]]... [--env NAME=VALUE]...
                 [--kernel VMLINUZ] [--accel tcg|kvm] [--qemu-arg ARG]... -- COMMAND...

The guest's root is this machine's / (inside tools/dev: the Debian 13 root), shared
read-only over 9p; --work DIR is shared read-write at the same path. vm-init.c is the
guest's /init; see README.md. Exit status: the command's, 124 on timeout, 125 when the
VM could not run it (the reason is printed). Python's standard library only.
"""

import argparse
import ctypes
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import select
import shlex
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
INIT_SRC = os.path.join(HERE, "vm-init.c")
INIT_COMMON = os.path.join(HERE, "..", "init-common.h")
MAKE_INITRAMFS = os.path.join(HERE, "..", "guest", "make-initramfs.py")

# What vm-init needs to mount the 9p shares (their dependencies come from modules.dep).
BASE_MODULES = ["netfs", "9pnet", "9pnet_virtio", "9p"]
# Cached vm-init binaries and initramfs archives kept in --out (keyed by their inputs).
KEEP_CACHED = 4
EXIT_TIMEOUT = 124
EXIT_VM_FAILED = 125

MARK_COMMAND = re.compile(r"tessera-vm: command t=([0-9.]+)$")
MARK_ENDED = re.compile(r"tessera-vm: command ended t=[0-9.]+$")
MARK_EXIT = re.compile(r"tessera-vm: exit (\d+)$")
MARK_ERROR = re.compile(r"tessera-vm: error: (.*)$")


class Error(Exception):
    pass


def log(msg):
    print(f"run-in-vm: {msg}", file=sys.stderr, flush=True)


def load_make_initramfs():
    # Reuse its module resolution and cpio writer (the file name is not importable).
    # No __pycache__ left in the source tree.
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("make_initramfs", MAKE_INITRAMFS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def missing_prerequisite(kernel):
    """Why the VM cannot run here at all, or None."""
    if not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 is not installed"
    if not kernel and not glob.glob("/boot/vmlinuz-*"):
        return "no /boot/vmlinuz-* kernel"
    if not glob.glob("/usr/lib/*/libc.a"):
        return "no static libc (libc6-dev) for the VM's init"
    return None


def find_kernel(path):
    if path:
        kernels = [path]
    else:
        kernels = glob.glob("/boot/vmlinuz-*")
        if not kernels:
            raise Error("no /boot/vmlinuz-* (install linux-image-amd64, or run inside "
                        "tools/dev run, or pass --kernel)")
        # The newest, by numeric version fields.
        kernels.sort(key=lambda k: [int(x) if x.isdigit() else -1
                                    for x in re.split(r"[.+-]", k)])
    kernel = kernels[-1]
    if not os.path.isfile(kernel):
        raise Error(f"kernel {kernel} not found")
    kver = os.path.basename(kernel).removeprefix("vmlinuz-")
    modules_dir = os.path.join("/lib/modules", kver)
    if not os.path.isdir(modules_dir):
        raise Error(f"{modules_dir} not found: cannot take the 9p modules of kernel {kernel}")
    return kernel, kver, modules_dir


def split_params(spec):
    """'NAME:PARAMS' -> (NAME, PARAMS); PARAMS is finit_module's space-separated string."""
    name, _, params = spec.partition(":")
    if "\n" in params:
        raise Error(f"module parameters must be one line: {spec!r}")
    return name, params.strip()


def modinfo(data, path):
    """The .modinfo fields of a (decompressed) ELF64 module, as a dict of lists."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise Error(f"{path} is not an ELF64 kernel module")
    e = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from(e + "IIQQQQ", data, shoff + i * shentsize)
        return name, off, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            fields = {}
            for item in data[off:off + size].split(b"\0"):
                key, sep, value = item.decode(errors="replace").partition("=")
                if sep:
                    fields.setdefault(key, []).append(value)
            return fields
    raise Error(f"{path} has no .modinfo section: not a kernel module")


def prune(out, pattern):
    """Removes all but the KEEP_CACHED most recently used files matching pattern."""
    cached = sorted(glob.glob(os.path.join(out, pattern)), key=os.path.getmtime)
    for old in cached[:-KEEP_CACHED]:
        os.remove(old)


def build_init(out):
    # Keyed by the program and the header it shares with the test guest.
    digest = hashlib.sha256()
    for path in (INIT_SRC, INIT_COMMON):
        with open(path, "rb") as f:
            digest.update(f.read())
    key = digest.hexdigest()[:16]
    binary = os.path.join(out, f"vm-init-{key}")
    if not os.path.exists(binary):
        tmp = f"{binary}.{os.getpid()}.tmp"
        cmd = ["cc", "-static", "-O2", "-Wall", "-Wextra", "-o", tmp, INIT_SRC]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise Error(f"building vm-init failed ({shlex.join(cmd)}):\n{r.stdout}")
        if r.stdout:
            sys.stderr.write(r.stdout)
        os.replace(tmp, binary)
        prune(out, "vm-init-*[0-9a-f]")
    else:
        os.utime(binary)
    return binary


def plan_modules(mi, modules_dir, kver, kmods, extra):
    """[(name in /modules, loader of its bytes, params, cache key)] in load order."""
    deps = mi.read_modules_dep(modules_dir)
    builtin = mi.read_builtin(modules_dir)

    extras = []  # out-of-tree: (name, data, params)
    wanted = list(BASE_MODULES)
    params = {}
    for spec in kmods:
        name, p = split_params(spec)
        wanted.append(name)
        params[mi.norm(name)] = p
    for spec in extra:
        path, p = split_params(spec)
        data = mi.module_bytes(path)
        info = modinfo(data, path)
        name = info.get("name", [mi.norm(path)])[0]
        vermagic = info.get("vermagic", [""])[0].split(" ")[0]
        if vermagic != kver:
            raise Error(f"{path} is built for kernel {vermagic or '?'}, the VM runs {kver}")
        # Its in-tree dependencies load first (out-of-tree ones: list them before it).
        out_of_tree = {n for n, _, _ in extras}
        for dep in ",".join(info.get("depends", [])).split(","):
            if dep and mi.norm(dep) not in out_of_tree:
                wanted.append(dep)
        extras.append((mi.norm(name), data, p))

    order, notes = mi.resolve(wanted, deps, builtin)
    for note in notes:
        log("note: " + note)
    plan = []
    for rel in order:
        name = mi.norm(rel)
        full = os.path.join(modules_dir, rel)
        st = os.stat(full)
        plan.append((name, lambda full=full: mi.module_bytes(full), params.get(name, ""),
                     f"{rel} {st.st_size} {st.st_mtime_ns}"))
    names = {n for n, *_ in plan}
    for name, data, p in extras:
        if name in names:
            raise Error(f"--module {name}: a module of that name is already loaded "
                        "from the kernel's own modules")
        names.add(name)
        plan.append((name, lambda data=data: data, p, hashlib.sha256(data).hexdigest()))
    return plan


def build_base_initramfs(mi, out, init, plan):
    """The cached part of the initramfs: /init, the modules and /modules.order."""
    h = hashlib.sha256()
    with open(init, "rb") as f:
        init_data = f.read()
    h.update(init_data)
    for name, _, params, key in plan:
        h.update(f"\0{name}\0{params}\0{key}".encode())
    path = os.path.join(out, f"initramfs-{h.hexdigest()[:16]}.cpio")
    if os.path.exists(path):
        os.utime(path)  # most recently used: kept by the pruning below
        return path
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        cpio = mi.Cpio(f)
        for d in ("dev", "proc", "sys", "modules", "newroot"):
            cpio.directory(d)
        cpio.chardev("dev/console", 5, 1)
        cpio.file("init", init_data, 0o755)
        order = ""
        for name, load, params, _ in plan:
            cpio.file(f"modules/{name}.ko", load())
            order += f"{name}.ko {params}".rstrip() + "\n"
        cpio.file("modules.order", order.encode())
        cpio.finish()
    os.replace(tmp, path)
    prune(out, "initramfs-*.cpio")
    log(f"built {path} ({os.path.getsize(path) / 1048576:.1f} MiB): "
        + " ".join(f"{n}{':' + p if p else ''}" for n, _, p, _ in plan))
    return path


def command_script(command, env, work):
    # Start where the caller is when the guest sees the same directory, else in WORK.
    cwd = os.getcwd()
    if not work or not (cwd == work or cwd.startswith(work.rstrip("/") + "/")):
        cwd = work or "/"
    lines = ["# written by run-in-vm.py, run by vm-init with /bin/sh",
             f"cd {shlex.quote(cwd)} || exit {EXIT_VM_FAILED}"]
    for item in env:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise Error(f"--env {item!r}: expected NAME=VALUE")
        lines.append(f"export {name}={shlex.quote(value)}")
    lines.append("exec " + shlex.join(command))
    return "\n".join(lines) + "\n"


def run_initramfs(mi, base, script, out):
    """base + a second cpio archive with /cmd.sh (the kernel unpacks both)."""
    fd, path = tempfile.mkstemp(prefix="run-", suffix=".cpio", dir=out)
    with os.fdopen(fd, "wb") as f:
        with open(base, "rb") as b:
            f.write(b.read())
        cpio = mi.Cpio(f)
        cpio.file("cmd.sh", script.encode())
        cpio.finish()
    return path


def qemu_command(args, kernel, initrd, work):
    append = "console=ttyS0 quiet panic=-1"
    if work:
        append += f" tessera.work={work}"
    if args.accel == "kvm":
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", "tcg", "-cpu", "max"]
    cmd = ["qemu-system-x86_64", *accel, "-m", args.memory, "-smp", str(args.smp),
           "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
           "-no-reboot",
           "-kernel", kernel, "-initrd", initrd, "-append", append,
           # multidevs=remap: / spans several file systems; keep inode numbers unique.
           "-virtfs", "local,path=/,mount_tag=root,security_model=none,readonly=on,"
                      "multidevs=remap"]
    if work:
        cmd += ["-virtfs", f"local,path={work},mount_tag=work,security_model=none"]
    return cmd + args.qemu_args


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def die_with_parent():
    """In QEMU's child before exec: SIGKILL when run-in-vm.py itself dies (even by SIGKILL, as a
    test harness ends it), so that no VM outlives its runner."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def run_vm(cmd, timeout):
    """Boot, stream the console to stdout, return the exit status for run-in-vm.py."""
    start = time.monotonic()
    deadline = start + timeout
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    except OSError as e:
        raise Error(f"cannot start {cmd[0]}: {e}") from None
    out = sys.stdout.buffer
    pending = b""
    status = error = command_at = guest_at = None
    ended = False  # the exit marker counts only right after "command ended"
    try:
        while True:
            now = time.monotonic()
            if status is not None:
                # The guest is powering off: give QEMU a moment to exit on its own.
                deadline = min(deadline, now + 30)
            if now >= deadline:
                if status is not None:
                    break
                stop(proc)
                log(f"timeout: no exit marker after {timeout:g} s; QEMU stopped")
                return EXIT_TIMEOUT
            ready, _, _ = select.select([proc.stdout], [], [], deadline - now)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            chunk = chunk.replace(b"\r", b"")
            out.write(chunk)
            out.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                if m := MARK_COMMAND.search(line):
                    command_at, guest_at = time.monotonic() - start, float(m.group(1))
                elif MARK_ENDED.search(line):
                    ended = True
                elif ended and (m := MARK_EXIT.search(line)):
                    status = int(m.group(1))
                elif (m := MARK_ERROR.search(line)) and error is None:
                    error = m.group(1)
    finally:
        stop(proc)
    total = time.monotonic() - start
    if command_at is not None:
        log(f"command started {command_at:.1f} s after QEMU started (guest clock "
            f"{guest_at:.1f} s); total {total:.1f} s")
    if status is not None:
        log(f"exit {status}")
        return status
    if error:
        log(f"the VM failed to run the command: {error}")
    else:
        log(f"QEMU exited (status {proc.returncode}) without the exit marker after "
            f"{total:.1f} s: QEMU failed to start, or the kernel panicked (see above)")
    return EXIT_VM_FAILED


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        argv, command = argv, []
    else:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        usage="%(prog)s [options] -- COMMAND [ARGS...]",
        description="Run COMMAND (through /bin/sh, arguments quoted) in a QEMU VM whose "
        "root is this machine's / (read-only 9p) plus --work (read-write 9p). Exit status: "
        f"the command's, {EXIT_TIMEOUT} on timeout, {EXIT_VM_FAILED} when the VM failed.")
    ap.add_argument("--out", default=os.path.join(REPO, "build-vm-rig"),
                    help="cache and scratch directory (default: %(default)s)")
    ap.add_argument("--work", default=REPO,
                    help="directory shared read-write at the same path (default: "
                    "%(default)s); 'none' for no share")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds until QEMU is stopped (default: %(default)s)")
    ap.add_argument("--memory", default="2G", help="guest memory (default: %(default)s)")
    ap.add_argument("--smp", type=int, default=2, help="guest CPUs (default: %(default)s)")
    ap.add_argument("--kmod", action="append", default=[], metavar="NAME[:PARAMS]",
                    help="a module of the kernel's own to load (with its dependencies), "
                    "e.g. vgem")
    ap.add_argument("--module", action="append", default=[], metavar="KO[:PARAMS]",
                    help="an out-of-tree module file, loaded last in the order given after "
                    "its in-tree dependencies; PARAMS space-separated, e.g. "
                    "'build/vkms/vkms.ko:enable_overlay=1 enable_cursor=1'")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment variable for the command")
    ap.add_argument("--kernel", help="kernel image (default: the newest /boot/vmlinuz-*)")
    ap.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                    help="tcg (default; works everywhere) or kvm (-cpu host)")
    ap.add_argument("--qemu-arg", action="append", default=[], dest="qemu_args",
                    metavar="ARG", help="extra QEMU argument (repeat for each word)")
    ap.add_argument("--skip-code", type=int, metavar="N",
                    help="exit N, saying why, when QEMU, a kernel or a static libc is missing "
                         "(77: a skipped meson test)")
    args = ap.parse_args(argv)
    if not command:
        ap.error("no command: put it after --")
    if args.timeout <= 0:
        ap.error("--timeout must be positive")

    if args.skip_code is not None:
        missing = missing_prerequisite(args.kernel)
        if missing:
            log(f"skipped: {missing}")
            return args.skip_code

    work = None if args.work == "none" else os.path.realpath(args.work)
    if work is not None:
        if not os.path.isdir(work):
            raise Error(f"--work {work} is not a directory")
        # It goes on the kernel command line as one word.
        if re.search(r"[\s\"'\\,]", work) or work == "/":
            raise Error(f"--work {work}: must not be / or contain blanks, quotes, "
                        "backslashes or commas")
    os.makedirs(args.out, exist_ok=True)
    out = os.path.realpath(args.out)

    mi = load_make_initramfs()
    try:
        kernel, kver, modules_dir = find_kernel(args.kernel)
        init = build_init(out)
        plan = plan_modules(mi, modules_dir, kver, args.kmod, args.module)
        base = build_base_initramfs(mi, out, init, plan)
    except mi.Error as e:
        raise Error(str(e)) from None
    initrd = run_initramfs(mi, base, command_script(command, args.env, work), out)
    try:
        return run_vm(qemu_command(args, kernel, initrd, work), args.timeout)
    finally:
        os.remove(initrd)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Error as e:
        log(f"error: {e}")
        sys.exit(EXIT_VM_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)
