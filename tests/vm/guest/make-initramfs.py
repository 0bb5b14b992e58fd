#!/usr/bin/env python3
"""Build an uncompressed newc cpio initramfs around one static guest program.

The archive holds:
    /init            the program (mode 0755)
    /modules/N.ko    the requested kernel modules and their dependencies, decompressed
    /modules.order   their file names, one per line, dependencies first
    /dev /proc /sys /modules   directories, and /dev/console (char 5:1) so that the
                     kernel can give init its console before devtmpfs is mounted

Dependencies come from MODULES_DIR/modules.dep (resolved recursively, dependencies first,
no duplicates); modules built into the kernel (MODULES_DIR/modules.builtin) are skipped.
Python's standard library only: no cpio, kmod or xz tools are needed.

    make-initramfs.py --program build-vm/flipper --kernel-version 6.12.107+deb13-amd64 \\
        --output build-vm/initramfs.cpio
    make-initramfs.py --kernel-version 6.12.107+deb13-amd64 --print-modules
"""

import argparse
import gzip
import lzma
import os
import struct
import sys

# virtio-gpu's dependencies are resolved from modules.dep. On the Debian 6.12 kernel the
# transport (virtio, virtio_ring, virtio_pci) is built in; virtio-gpu, virtio_dma_buf,
# drm, drm_kms_helper and drm_shmem_helper are modules.
# virtio_input and evdev (modules there too) give the guest tessera's input devices as
# /dev/input/event*.
DEFAULT_MODULES = ["virtio-gpu", "virtio_input", "evdev"]


class Error(Exception):
    pass


def norm(name):
    """Module name as the kernel sees it: no directory, no .ko[.xz], '-' == '_'."""
    base = os.path.basename(name)
    i = base.find(".ko")
    if i >= 0:
        base = base[:i]
    return base.replace("-", "_")


def read_modules_dep(modules_dir):
    path = os.path.join(modules_dir, "modules.dep")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise Error(f"{path} not found: is --modules-dir the kernel's /lib/modules/KVER "
                    "(with linux-image installed, or run depmod)?") from None
    deps = {}  # name -> (relative path, [dependency relative paths])
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        target, _, rest = line.partition(":")
        deps[norm(target)] = (target.strip(), rest.split())
    return deps


def read_builtin(modules_dir):
    path = os.path.join(modules_dir, "modules.builtin")
    try:
        with open(path, encoding="utf-8") as f:
            return {norm(l) for l in f.read().split()}
    except FileNotFoundError:
        return set()


def resolve(names, deps, builtin):
    """Load order for names: each module after all of its dependencies, once."""
    order, seen, notes = [], set(), []

    def visit(name, chain):
        if name in seen:
            return
        if name in chain:
            raise Error("dependency cycle: " + " -> ".join(chain + [name]))
        if name not in deps:
            raise Error(f"module {name!r} not found in modules.dep"
                        + (f" (needed by {chain[-1]})" if chain else ""))
        for dep in deps[name][1]:
            visit(norm(dep), chain + [name])
        seen.add(name)
        order.append(deps[name][0])

    for requested in names:
        name = norm(requested)
        if name in builtin and name not in deps:
            notes.append(f"{requested} is built into the kernel: not included")
            continue
        visit(name, [])
    return order, notes


def module_bytes(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise Error(f"module file {path} not found (listed in modules.dep)") from None
    try:
        if path.endswith(".ko.xz"):
            return lzma.decompress(data)
        if path.endswith(".ko.gz"):
            return gzip.decompress(data)
        if path.endswith(".ko.zst"):
            try:
                from compression import zstd  # Python 3.14+
            except ImportError:
                raise Error(f"{path} is zstd-compressed and this Python "
                            f"({sys.version.split()[0]}) has no zstd support "
                            "(compression.zstd needs Python 3.14): decompress the "
                            "modules first (unzstd) or use a Python with zstd") from None
            return zstd.decompress(data)
    except (lzma.LZMAError, OSError, EOFError) as e:
        raise Error(f"cannot decompress {path}: {e}") from None
    if path.endswith(".ko"):
        return data
    raise Error(f"{path}: unknown module file type")


def check_program(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise Error(f"program {path} not found (build it first, e.g. "
                    "gcc -static -O2 -o flipper flipper.c)") from None
    if data[:4] == b"#!":
        raise Error(f"{path} is a script; the initramfs has no interpreter")
    if data[:4] != b"\x7fELF":
        raise Error(f"{path} is not an ELF executable")
    # A dynamically linked program has a PT_INTERP program header.
    if data[4] == 2:  # ELFCLASS64
        endian = "<" if data[5] == 1 else ">"
        phoff, = struct.unpack_from(endian + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
        for i in range(phnum):
            p_type, = struct.unpack_from(endian + "I", data, phoff + i * phentsize)
            if p_type == 3:  # PT_INTERP
                raise Error(f"{path} is dynamically linked; the initramfs has no libc: "
                            "link it with -static")
    return data


class Cpio:
    """Writer for the 'newc' (070701) cpio format that the kernel unpacks."""

    def __init__(self, f):
        self.f = f
        self.ino = 1
        self.names = set()

    def _entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        if name in self.names:
            raise Error(f"duplicate initramfs entry {name}")
        self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.ino += 1
        self.f.write(header + encoded)
        self.f.write(b"\0" * (-(len(header) + len(encoded)) % 4))
        self.f.write(data)
        self.f.write(b"\0" * (-len(data) % 4))

    def directory(self, name, perm=0o755):
        self._entry(name, 0o040000 | perm, nlink=2)

    def file(self, name, data, perm=0o644):
        self._entry(name, 0o100000 | perm, data)

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, 0o020000 | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self._entry("TRAILER!!!", 0)


def main():
    ap = argparse.ArgumentParser(
        description="Build a newc cpio initramfs: a static /init plus kernel modules.")
    ap.add_argument("--program", help="static executable to install as /init")
    ap.add_argument("--kernel-version", help="kernel release, e.g. 6.12.107+deb13-amd64 "
                    "(gives the default --modules-dir /lib/modules/KVER)")
    ap.add_argument("--modules-dir", help="the kernel's modules directory "
                    "(with modules.dep)")
    ap.add_argument("--output", help="the cpio archive to write")
    ap.add_argument("--module", action="append", dest="modules", metavar="NAME",
                    help="module to include with its dependencies (repeatable; default: "
                    + " ".join(DEFAULT_MODULES) + "); --module none for no modules")
    ap.add_argument("--print-modules", action="store_true",
                    help="print the resolved module load order and exit")
    args = ap.parse_args()

    modules_dir = args.modules_dir
    if not modules_dir:
        if not args.kernel_version:
            ap.error("--kernel-version or --modules-dir is required")
        modules_dir = os.path.join("/lib/modules", args.kernel_version)
    if not os.path.isdir(modules_dir):
        raise Error(f"modules directory {modules_dir} does not exist")
    if args.kernel_version and os.path.basename(os.path.normpath(modules_dir)) \
            != args.kernel_version:
        print(f"warning: --modules-dir {modules_dir} does not end in --kernel-version "
              f"{args.kernel_version}", file=sys.stderr)

    names = args.modules if args.modules is not None else DEFAULT_MODULES
    names = [n for n in names if n != "none"]
    order, notes = resolve(names, read_modules_dep(modules_dir), read_builtin(modules_dir))
    for note in notes:
        print("note: " + note, file=sys.stderr)

    if args.print_modules:
        for rel in order:
            print(rel)
        return

    if not args.program or not args.output:
        ap.error("--program and --output are required (unless --print-modules)")
    program = check_program(args.program)

    files = []  # (name in /modules, bytes)
    for rel in order:
        data = module_bytes(os.path.join(modules_dir, rel))
        name = norm(rel) + ".ko"
        files.append((name, data))

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        cpio = Cpio(f)
        for d in ("dev", "proc", "sys", "modules"):
            cpio.directory(d)
        cpio.chardev("dev/console", 5, 1)
        cpio.file("init", program, 0o755)
        for name, data in files:
            cpio.file("modules/" + name, data)
        cpio.file("modules.order", "".join(n + "\n" for n, _ in files).encode())
        cpio.finish()
    os.replace(tmp, args.output)
    size = os.path.getsize(args.output)
    print(f"{args.output}: {size / 1048576:.1f} MiB, /init + {len(files)} modules: "
          + " ".join(n for n, _ in files), file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Error as e:
        print(f"make-initramfs.py: error: {e}", file=sys.stderr)
        sys.exit(1)
