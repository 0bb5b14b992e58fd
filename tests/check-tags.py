#!/usr/bin/env python3
"""Fails when a Catch2 binary has a tag that no meson test runs (or a meson test names a tag
the binary lacks), so that no test case is silently left out of the suite.

Usage: check-tags.py BINARY TAG...
"""
import re
import subprocess
import sys

binary, registered = sys.argv[1], set(sys.argv[2:])
listing = subprocess.run([binary, "--list-tags"], capture_output=True, text=True, check=True)
present = set(re.findall(r"\[([^\]]+)\]", listing.stdout))
unrun, unknown = present - registered, registered - present
for tag in sorted(unrun):
    print(f"{binary}: tag [{tag}] has no meson test")
for tag in sorted(unknown):
    print(f"{binary}: meson test for [{tag}] matches no test case")
if unrun or unknown:
    sys.exit(1)
print(f"{binary}: {len(present)} tags, each run by its own meson test")
