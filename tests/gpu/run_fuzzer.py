#!/usr/bin/env python3
"""Runs a libFuzzer target for a bounded time: a test of suite 'fuzz' (-Dfuzzing=true).

usage: run_fuzzer.py FUZZER SEED_DIR WORK_DIR SECONDS [LIBFUZZER_FLAG...]

The target mutates WORK_DIR/corpus/ (emptied first: libFuzzer writes the new inputs it finds into
its first corpus folder) together with SEED_DIR, which it only reads. A crash, sanitizer report,
leak, timeout (INPUT_TIMEOUT_S) or out-of-memory (RSS_LIMIT_MB) input is saved under
WORK_DIR/artifacts/ and fails the test; the output says how to reproduce it.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

# Per-input limits: an input slower than this (seconds) or bigger than this (MiB) is a finding.
INPUT_TIMEOUT_S = 20
RSS_LIMIT_MB = 2048


def symbolizer():
    """llvm-symbolizer where installed (the llvm package), else binutils' addr2line, which the
    sanitizers also speak: a crash report then names functions, files and lines."""
    found = shutil.which("llvm-symbolizer") or next(
        iter(sorted(glob.glob("/usr/lib/llvm-*/bin/llvm-symbolizer"), reverse=True)), None)
    return found or shutil.which("addr2line")


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    fuzzer, seeds, work = (os.path.abspath(arg) for arg in sys.argv[1:4])
    seconds = sys.argv[4]
    flags = sys.argv[5:]
    name = os.path.basename(fuzzer)
    corpus = os.path.join(work, "corpus")
    artifacts = os.path.join(work, "artifacts")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    os.makedirs(artifacts, exist_ok=True)
    before = set(os.listdir(artifacts))

    command = [
        fuzzer,
        f"-max_total_time={int(seconds)}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        *flags,
        corpus,
        seeds,
    ]
    env = dict(os.environ)
    path = symbolizer()
    if path:
        for tool in ("ASAN", "UBSAN"):
            env.setdefault(f"{tool}_SYMBOLIZER_PATH", path)
    print("+ " + shlex.join(command), flush=True)
    stats = {}
    start = time.monotonic()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as child:
        for line in child.stdout:
            sys.stdout.write(line)
            match = re.match(r"stat::(\w+):\s+(\d+)", line)
            if match:
                stats[match[1]] = int(match[2])
    elapsed = time.monotonic() - start
    sys.stdout.flush()

    found = sorted(set(os.listdir(artifacts)) - before)
    # libFuzzer also saves inputs slower than -report_slow_units (10 s) and goes on: worth a
    # look, not a failure on a loaded machine.
    for artifact in (a for a in found if a.startswith("slow-unit-")):
        print(f"run_fuzzer: {name}: slow input saved as {os.path.join(artifacts, artifact)}")
    found = [a for a in found if not a.startswith("slow-unit-")]
    if child.returncode != 0 or found:
        print(f"\nrun_fuzzer: {name} FAILED (exit status {child.returncode}) after {elapsed:.0f} s")
        for artifact in found:
            path = os.path.join(artifacts, artifact)
            print(f"run_fuzzer: input saved as {path}\n"
                  f"run_fuzzer:   reproduce with: {shlex.join([fuzzer, path])}")
        if not found:
            print(f"run_fuzzer: no input saved in {artifacts}/ (see the output above)")
        return 1

    runs = stats.get("number_of_executed_units", 0)
    print(f"\nrun_fuzzer: {name}: {runs} runs in {elapsed:.0f} s "
          f"({stats.get('average_exec_per_sec', 0)} exec/s), "
          f"{stats.get('new_units_added', 0)} new inputs in {corpus}/, "
          f"peak RSS {stats.get('peak_rss_mb', 0)} MB, nothing found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
