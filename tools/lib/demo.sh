#!/usr/bin/env bash
# Runs tessera with real clients. With a display (WAYLAND_DISPLAY or DISPLAY set) tessera opens
# as a nested window showing the two-VM cockpit layout. Without one it runs headless and writes
# screenshots of the cockpit in its two profiles to PNG files.
# Native foot terminals stand in for the virtual machines.
# Runs inside the build environment (see tools/dev). Usage: demo.sh [OUT.png]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/build/demo/tessera-demo.png}
layout=$repo/data/layouts/cockpit-two-vm.toml
say() { printf '[demo] %s\n' "$*"; }

say "building tessera"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build compositor/tessera compositor/tessera-ctl >/dev/null
export PATH=$repo/build/compositor:$PATH

runtime=$(mktemp -d)
cleanup() {
	[[ -n ${tessera_pid:-} ]] && kill "$tessera_pid" 2>/dev/null && wait "$tessera_pid" 2>/dev/null
	rm -rf "$runtime"
}
trap cleanup EXIT

# What each stand-in shows.
cat >"$runtime/cluster.sh" <<'SH'
printf '\033[1m  CLUSTER\033[0m   (stand-in for the cluster VM)\n\n'
speed=0
while true; do
	printf '\r  %3d km/h   %s ' "$speed" "$(date +%T)"
	speed=$(((speed + 7) % 130))
	sleep 1
done
SH
cat >"$runtime/centre.sh" <<'SH'
printf '\033[1m  CENTRE\033[0m   (stand-in for the infotainment VM)\n\n'
sleep 1
tessera-ctl zones
echo
tessera-ctl surfaces
sleep 600
SH
cat >"$runtime/passenger.sh" <<'SH'
printf '\033[1m  PASSENGER\033[0m   (stand-in for the second screen of the infotainment VM)\n\n'
printf '  Shown while parked; hidden while driving.\n'
sleep 600
SH
cat >"$runtime/status.sh" <<'SH'
while true; do printf '\r  tessera cockpit demo   %s ' "$(date '+%a %d %b  %T')"; sleep 1; done
SH

foot_for() { # app-id, background colour, script
	echo "foot --app-id $1 -o colors.background=$2 -o pad=8x4 sh $runtime/$3"
}
clients=(
	-s "$(foot_for tessera-status 101018 status.sh)"
	-s "$(foot_for tessera-demo-cluster 300808 cluster.sh)"
	-s "$(foot_for tessera-demo-centre 081830 centre.sh)"
	-s "$(foot_for tessera-demo-passenger 083008 passenger.sh)"
)

if [[ -n ${WAYLAND_DISPLAY:-} || -n ${DISPLAY:-} ]]; then
	say "a display is available: opening tessera nested with the two-VM cockpit layout"
	say "switch profiles from another terminal: TESSERA_SOCKET=... tessera-ctl profile parked"
	exec tessera --layout "$layout" "${clients[@]}"
fi

export XDG_RUNTIME_DIR=$runtime
log=$runtime/tessera.log
say "starting tessera headless (1920x720) with the two-VM cockpit layout and four foot terminals"
tessera --headless 1920x720 --socket tessera-demo --layout "$layout" "${clients[@]}" \
	>"$runtime/stdout" 2>"$log" &
tessera_pid=$!
export WAYLAND_DISPLAY=tessera-demo TESSERA_SOCKET=$runtime/tessera.tessera-demo.sock

mapped() { grep -c "mapped toplevel app_id='tessera-" "$log" 2>/dev/null || true; }
for _ in $(seq 300); do
	[[ $(mapped) -ge 4 ]] && break
	kill -0 "$tessera_pid" 2>/dev/null || { cat "$log"; say "tessera exited early"; exit 1; }
	sleep 0.1
done
# The passenger zone is hidden while driving: its window maps once it is shown.
[[ $(mapped) -ge 3 ]] || { cat "$log"; say "the stand-ins did not appear"; exit 1; }
sleep 2 # let the terminals draw their text

mkdir -p "$(dirname "$out")"
driving=${out%.png}-driving.png
tessera-ctl screenshot output HEADLESS-1 "$driving" >/dev/null
say "profile 'driving' (passenger screen hidden): $driving"
tessera-ctl profile parked
sleep 1.5
tessera-ctl screenshot output HEADLESS-1 "$out" >/dev/null
say "profile 'parked' (three screens): $out"
