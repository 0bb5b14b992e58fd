#!/usr/bin/env bash
# Builds and tests tessera three times (a normal build, an AddressSanitizer + UBSan build, and a
# clang build of the GPU backend alone that runs its libFuzzer targets with ASan + UBSan for
# TESSERA_FUZZ_SECONDS each, default 60) and ends with one line "N passed, N failed" over all
# three. Runs inside the build environment (see tools/dev).
# Usage: test.sh [--no-sanitize] [--no-fuzz] [meson test arguments...]
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

sanitize=1
fuzz=1
meson_test_args=()
for arg in "$@"; do
	case "$arg" in
	--no-sanitize) sanitize=0 ;;
	--no-fuzz) fuzz=0 ;;
	*) meson_test_args+=("$arg") ;;
	esac
done

step() { printf '\n==> %s\n' "$*"; }

total_passed=0
total_failed=0

# Counts the results of the last 'meson test' run in a build directory.
count_results() {
	python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = 0
try:
    with open(sys.argv[1]) as log:
        for line in log:
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result != "SKIP":
                failed += 1
except FileNotFoundError:
    pass
print(passed, failed)
PY
}

# build_and_test DIR LABEL [meson setup options...]
build_and_test() {
	local dir=$1 label=$2
	shift 2
	local setup_options=("$@")

	step "$label: configuring $dir"
	if [[ -f $dir/build.ninja ]]; then
		meson setup --reconfigure "$dir" "${setup_options[@]}" >/dev/null || { total_failed=$((total_failed + 1)); return; }
	else
		meson setup "$dir" "${setup_options[@]}" || { total_failed=$((total_failed + 1)); return; }
	fi

	step "$label: building"
	if ! meson compile -C "$dir"; then
		echo "$label: build failed"
		total_failed=$((total_failed + 1))
		return
	fi

	step "$label: running the tests"
	rm -f "$dir/meson-logs/testlog.json"
	local extra=()
	[[ $label == sanitized ]] && extra+=(--no-suite lint --timeout-multiplier 3)
	meson test -C "$dir" --print-errorlogs "${extra[@]}" "${meson_test_args[@]}"
	# run_fuzzer.py's last line per target: runs, exec/s, new inputs.
	[[ $label == fuzzing ]] && grep -h '^run_fuzzer: ' "$dir/meson-logs/testlog.txt"
	local passed failed
	read -r passed failed < <(count_results "$dir")
	echo "$label: $passed passed, $failed failed"
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
}

build_and_test build normal -Dwerror=true

if ((sanitize)); then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0
	build_and_test build-sanitize sanitized -Dwerror=true -Dbuildtype=debug \
		-Db_sanitize=address,undefined
fi

if ((fuzz)); then
	# Only the GPU backend and its fuzz targets (meson option fuzzing), built with clang for
	# libFuzzer; the tests (suite fuzz) run both targets at once, one per core.
	CC=clang CXX=clang++ build_and_test build-fuzz fuzzing -Dwerror=true -Dfuzzing=true \
		-Dfuzz_seconds="${TESSERA_FUZZ_SECONDS:-60}" -Db_sanitize=address,undefined -Db_lundef=false
fi

echo
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
