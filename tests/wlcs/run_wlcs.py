#!/usr/bin/env python3
"""Runs Debian's wlcs against tessera's integration module and checks the results against the
expected failures: every test must pass or be listed there with its reason, and a listed test
that passes fails the run too (the list must stay true). An entry may be a pattern (fnmatch:
'Suite.*'); an entry whose reason starts with "flaky" may pass or fail.

    run_wlcs.py WLCS_BINARY MODULE EXPECTED_FAILURES [GTEST_ARGS...]

A test that fails because it needs a protocol tessera does not offer (wlcs says "not supported
by compositor under test": its own expected-failure convention) counts as unsupported.
Prints the failures that are not expected, the expected ones that passed, and a summary line
'wlcs: N passed, N expected failures, N unsupported, N skipped, N unexpected'.
"""
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile


def expected_failures(path):
    """{test name: reason} from lines 'Suite.Test  # reason' (blank lines and # comments)."""
    listed = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            name, _, reason = text.partition("#")
            if not reason.strip():
                sys.exit(f"{path}:{number}: '{name.strip()}' needs a reason after '#'")
            listed[name.strip()] = reason.strip()
    return listed


def main():
    binary, module, listed_path, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    listed = expected_failures(listed_path)
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        run = subprocess.run([binary, module, f"--gtest_output=json:{report}"] + extra,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not os.path.exists(report):
            started = re.findall(r"^\[ RUN +\] (\S+)", run.stdout, re.M)
            print(run.stdout[-20000:])
            print(f"wlcs ended with status {run.returncode} during "
                  f"{started[-1] if started else 'start-up'}, without a report")
            return 1
        with open(report) as f:
            results = json.load(f)
    passed, failed, unsupported, skipped = [], [], [], []
    for suite in results["testsuites"]:
        for case in suite["testsuite"]:
            name = f"{suite['name']}.{case['name']}"
            # wlcs marks its own expected failures ("xfail") with this property and shows
            # them as skipped; gtest's report still lists the failure.
            if (case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN"
                    or "wlcs-skip-test" in case):
                skipped.append(name)
            elif any("not supported by compositor under test" in f.get("failure", "")
                     for f in case.get("failures", [])):
                unsupported.append(name)
            elif case.get("failures"):
                failed.append(name)
            else:
                passed.append(name)
    def entry(name):
        if name in listed:
            return name
        return next((p for p in listed if "*" in p and fnmatch.fnmatchcase(name, p)), None)

    # gtest exits 1 for the expected failures too: sanitizer reports are looked for instead.
    reports = re.findall(r"^.*(?:ERROR: \w+Sanitizer|runtime error:).*$", run.stdout, re.M)
    for line in reports[:20]:
        print(f"sanitizer: {line}")
    unexpected = [n for n in failed if entry(n) is None]
    now_passing = [n for n in passed
                   if entry(n) is not None and not listed[entry(n)].startswith("flaky")]
    for name in unexpected:
        print(f"FAIL (not expected): {name}")
    for name in now_passing:
        print(f"PASSES but is listed as an expected failure: {name} ({listed[entry(name)]})")
    ran = set(passed + failed + unsupported + skipped)
    gone = [p for p in listed
            if (p not in ran if "*" not in p else not fnmatch.filter(ran, p))]
    for name in gone:
        print(f"listed but not run: {name}")
    print(f"wlcs: {len(passed)} passed, {len(failed) - len(unexpected)} expected failures, "
          f"{len(unsupported)} unsupported, {len(skipped)} skipped, "
          f"{len(unexpected) + len(now_passing) + len(gone)} unexpected")
    return 1 if unexpected or now_passing or gone or reports else 0


if __name__ == "__main__":
    sys.exit(main())
