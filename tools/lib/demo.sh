#!/usr/bin/env bash
# Runs tessera with a real client. With a display (WAYLAND_DISPLAY or DISPLAY set) tessera opens
# as a nested window running foot. Without one it runs headless, shows foot running a command,
# and writes a screenshot of the output to a PNG.
# Runs inside the build environment (see tools/dev). Usage: demo.sh [OUT.png]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/build/demo/tessera-demo.png}
say() { printf '[demo] %s\n' "$*"; }

say "building tessera"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build compositor/tessera >/dev/null
tessera=$repo/build/compositor/tessera

if [[ -n ${WAYLAND_DISPLAY:-} || -n ${DISPLAY:-} ]]; then
	say "a display is available: opening tessera nested, with foot inside; close it with Ctrl+C"
	exec "$tessera" -s foot
fi

runtime=$(mktemp -d)
trap 'kill "$tessera_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$runtime"' EXIT
export XDG_RUNTIME_DIR=$runtime
log=$runtime/tessera.log
cat >"$runtime/banner.sh" <<'SH'
printf '\033[1mtessera\033[0m: %s, headless demo\n\n' "$(tessera --version)"
echo "Outputs (wlr-randr):"
wlr-randr
echo
echo "Globals offered to clients (wayland-info):"
wayland-info | sed -n "s/^interface: '\([a-z_0-9]*\)'.*/\1/p" | paste -sd' ' | fold -s -w 80
sleep 600
SH

say "starting tessera headless (1280x720) with foot"
PATH=$repo/build/compositor:$PATH "$tessera" --headless 1280x720 --socket tessera-demo \
	-s "foot --app-id tessera-demo --title 'tessera demo' --window-size-chars 84x26 sh $runtime/banner.sh" \
	>"$runtime/stdout" 2>"$log" &
tessera_pid=$!

for _ in $(seq 200); do
	grep -q "mapped toplevel app_id='tessera-demo'" "$log" 2>/dev/null && break
	kill -0 "$tessera_pid" 2>/dev/null || { cat "$log"; say "tessera exited early"; exit 1; }
	sleep 0.1
done
grep -q "mapped toplevel app_id='tessera-demo'" "$log" || { cat "$log"; say "foot did not appear"; exit 1; }
# Give foot a moment to draw the command's output.
sleep 2

mkdir -p "$(dirname "$out")"
WAYLAND_DISPLAY=tessera-demo grim "$out"
say "screenshot of the output: $out"
