#!/usr/bin/env bash
# Runs tessera with two virtual machines and a native status bar in the two-VM cockpit layout.
# With a display (WAYLAND_DISPLAY or DISPLAY set) tessera opens as a nested window. Without one
# it runs headless, writes screenshots of the cockpit in its two profiles to PNG files and
# prints each guest zone's frame rate.
# The VMs are QEMU (vhost-user-gpu-pci, TCG) booting the Debian kernel. The cluster VM runs the
# page-flipping test guest of tests/vm/guest/ (2D). The IVI VM (3d = true) boots the build root
# shared read-only (tests/vm/rig/run-in-vm.py) and runs Debian's kmscube on its centre screen,
# rendered on the host through virgl, while the test guest shows its passenger screen and draws
# where it is touched: the flipper holds the guest's display and leases kmscube the centre
# screen. Where QEMU or a kernel is missing, tessera-sim-guest (the in-repo vhost-user frontend)
# plays each VM instead (the IVI VM's screens then rendered through virgl too).
# Whether it finishes, fails or is interrupted (SIGINT, SIGTERM, SIGHUP), it ends tessera by pid
# and tessera ends the VMs and the status bar it started.
# Runs inside the build environment (see tools/dev).
#   demo.sh [--build DIR] [OUT.png]    --build: use that meson build directory as it is
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
build=$repo/build
compile=1
if [[ ${1:-} == --build ]]; then
	build=$(cd "$2" && pwd)
	compile=0
	shift 2
fi
out=${1:-$build/demo/tessera-demo.png}
layout=$repo/data/layouts/cockpit-two-vm.toml
say() { printf '[demo] %s\n' "$*"; }

runtime=$(mktemp -d)
tessera_pid=
cleanup() {
	trap '' HUP INT TERM # a second signal must not cut the cleanup short
	if [[ -n $tessera_pid ]]; then
		kill -TERM "$tessera_pid" 2>/dev/null || true
		wait "$tessera_pid" 2>/dev/null || true
	fi
	rm -rf "$runtime"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if ((compile)); then
	say "building tessera"
	[[ -f $build/build.ninja ]] || meson setup "$build" >/dev/null
	meson compile -C "$build" compositor/tessera compositor/tessera-ctl gpu-backend/device_host/tessera-device \
		tests/gpu/sim-guest/tessera-sim-guest >/dev/null
fi
export PATH=$build/compositor:$build/tests/gpu/sim-guest:$PATH

# The VMs' kernel and initramfs, when QEMU can run here (TESSERA_DEMO_GUESTS=sim: never).
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
[[ ${TESSERA_DEMO_GUESTS:-} == sim ]] && kernel=
guest_dir=$build/demo/guest
if command -v qemu-system-x86_64 >/dev/null && [[ -n $kernel ]]; then
	say "building the guest initramfs (tests/vm/guest/)"
	mkdir -p "$guest_dir"
	cc -static -O2 -o "$guest_dir/flipper" tests/vm/guest/flipper.c
	cc -shared -fPIC -O2 -o "$guest_dir/drm-lease-open.so" tests/vm/guest/drm-lease-open.c -ldl
	tests/vm/guest/make-initramfs.py --program "$guest_dir/flipper" \
		--kernel-version "${kernel#/boot/vmlinuz-}" --output "$guest_dir/initramfs.cpio" >/dev/null
	vm_kind=qemu
	command -v kmscube >/dev/null || say "kmscube is not installed: the IVI VM runs the 2D test guest"
else
	say "QEMU or a kernel is missing: simulated guests (tessera-sim-guest) play the VMs"
	vm_kind=sim
fi
# The command that runs one VM against a guest socket ($XDG_RUNTIME_DIR/tessera-NAME.sock).
# touchscreens: how many the layout gives it (one per screen), each on its socket beside the GPU's.
vm_command() { # name, scanouts, touchscreens
	local socket='$XDG_RUNTIME_DIR/tessera-'$1'.sock' inputs= i
	if [[ $vm_kind == sim ]]; then
		echo "tessera-sim-guest --socket $socket"
		return
	fi
	for ((i = 0; i < $3; i++)); do
		inputs+=" -chardev socket,id=touch$i,path=\$XDG_RUNTIME_DIR/tessera-$1-touch-$i.sock"
		inputs+=" -device vhost-user-input-pci,chardev=touch$i"
	done
	echo "exec qemu-system-x86_64 -accel tcg -cpu max -m 256M" \
		"-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem" \
		"-chardev socket,id=gpu,path=$socket -device vhost-user-gpu-pci,chardev=gpu,max_outputs=$2" \
		"$inputs -vga none -nic none -display none -monitor none -serial null" \
		"-kernel $kernel -initrd $guest_dir/initramfs.cpio" \
		"-append 'console=ttyS0 quiet tessera.input=$3'"
}

# The IVI VM with 3D: the build root shared in, kmscube on a lease of the centre screen (scanout
# 0), the test guest on the passenger screen (scanout 1) with both touchscreens. QEMU ends with
# the runner, which tessera ends. Its console joins tessera's log.
ivi_3d_command() {
	local socket='$XDG_RUNTIME_DIR/tessera-ivi-vm'
	local qemu="-object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem"
	qemu+=" -chardev socket,id=gpu,path=$socket.sock -device vhost-user-gpu-pci,chardev=gpu,max_outputs=2"
	for i in 0 1; do
		qemu+=" -chardev socket,id=touch$i,path=$socket-touch-$i.sock -device vhost-user-input-pci,chardev=touch$i"
	done
	local args= word
	for word in $qemu; do args+=" --qemu-arg=$word"; done
	echo "exec python3 $repo/tests/vm/rig/run-in-vm.py --out $build/demo/vm-rig --work $guest_dir" \
		"--memory 1G --smp 2 --timeout 86400 --kmod virtio-gpu --kmod virtio_input --kmod evdev$args" \
		"-- $guest_dir/flipper --scanout 1 --inputs 2 --lease-scanout 0 -- kmscube >&2"
}
ivi_3d=1
if [[ $vm_kind == sim ]]; then
	ivi_vm="$(vm_command ivi-vm 2 2) --virgl"
elif command -v kmscube >/dev/null; then
	ivi_vm=$(ivi_3d_command)
else
	ivi_vm=$(vm_command ivi-vm 2 2)
	ivi_3d=0
fi

cat >"$runtime/status.sh" <<'SH'
while true; do printf '\r  tessera cockpit demo   %s ' "$(date '+%a %d %b  %T')"; sleep 1; done
SH

clients=(
	-s "foot --app-id tessera-status -o colors.background=101018 -o pad=8x4 sh $runtime/status.sh"
	-s "$(vm_command cluster-vm 1 0)"
	-s "$ivi_vm"
)

if [[ -n ${WAYLAND_DISPLAY:-} || -n ${DISPLAY:-} ]]; then
	# An X11 session entered through the build environment brings no runtime directory;
	# tessera needs one for its sockets.
	if [[ -z ${XDG_RUNTIME_DIR:-} || ! -d $XDG_RUNTIME_DIR || ! -w $XDG_RUNTIME_DIR ]]; then
		export XDG_RUNTIME_DIR=$runtime
	fi
	say "a display is available: opening tessera nested with the two-VM cockpit layout ($vm_kind guests)"
	tessera --layout "$layout" "${clients[@]}" >"$runtime/stdout" &
	tessera_pid=$!
	until grep -q '^WAYLAND_DISPLAY=' "$runtime/stdout"; do
		kill -0 "$tessera_pid" 2>/dev/null || { say "tessera exited early"; exit 1; }
		sleep 0.1
	done
	socket=$(sed -n 's/^WAYLAND_DISPLAY=//p' "$runtime/stdout")
	say "TESSERA_SOCKET=$XDG_RUNTIME_DIR/tessera.$socket.sock"
	say "switch profiles from another terminal: TESSERA_SOCKET=... tessera-ctl profile parked"
	say "close the window or press Ctrl+C to stop"
	status=0
	wait "$tessera_pid" || status=$?
	tessera_pid=
	exit "$status"
fi

export XDG_RUNTIME_DIR=$runtime
log=$runtime/tessera.log
say "starting tessera headless (1920x720) with the two-VM cockpit layout, two $vm_kind guests and a status bar"
tessera --headless 1920x720 --socket tessera-demo --layout "$layout" "${clients[@]}" \
	>"$runtime/stdout" 2>"$log" &
tessera_pid=$!
export WAYLAND_DISPLAY=tessera-demo TESSERA_SOCKET=$runtime/tessera.tessera-demo.sock
say "TESSERA_SOCKET=$TESSERA_SOCKET"

# The fewest frames shown by a guest scanout in the given zones (in all three guest zones when
# none is given), or 0 while one has none or the status bar has not drawn: what the
# screenshots wait for.
frames_shown() {
	tessera-ctl --json stats 2>/dev/null | python3 -c '
import json, sys
stats, zones = json.load(sys.stdin), sys.argv[1:]
counts = [s["frames"] for g in stats["guests"] if g["state"] == "running"
          for s in g["scanouts"] if s["zone"] and (not zones or s["zone"] in zones)]
status = any(s["zone"] == "status" and s["frames"] > 0 for s in stats["surfaces"])
print(min(counts) if len(counts) >= (len(zones) or 3) and status else 0)' "$@" 2>/dev/null || echo 0
}
wait_frames() { # the number of frames, zones...
	local want=$1
	shift
	for _ in $(seq 1800); do # QEMU boots in 5-10 s under TCG
		(($(frames_shown "$@") >= want)) && return
		kill -0 "$tessera_pid" 2>/dev/null || { cat "$log"; say "tessera exited early"; exit 1; }
		sleep 0.1
	done
	cat "$log"
	tessera-ctl guests
	say "the guests did not show $want frames within 3 minutes"
	exit 1
}
wait_frames 30
# The IVI VM's centre screen from its host renderer: kmscube takes a while to load its GL
# driver in a TCG guest (the screen shows the guest's console until then).
gpu_rendered() {
	tessera-ctl --json guests 2>/dev/null | python3 -c '
import json, sys
g = next(g for g in json.load(sys.stdin)["guests"] if g["name"] == "ivi-vm")
print(int(g["submits"] > 0 and g["scanouts"][0]["path"] in ("readback", "dma-buf")))' 2>/dev/null || echo 0
}
if ((ivi_3d)); then
	say "waiting for the IVI VM's GPU-rendered frames (virgl) on the centre screen"
	for _ in $(seq 1800); do
		(($(gpu_rendered))) && break
		kill -0 "$tessera_pid" 2>/dev/null || { cat "$log"; say "tessera exited early"; exit 1; }
		sleep 0.1
	done
	(($(gpu_rendered))) || { tessera-ctl guests; say "no GPU-rendered frame within 3 minutes"; exit 1; }
	wait_frames $(($(frames_shown centre) + 30)) centre
fi

mkdir -p "$(dirname "$out")"
driving=${out%.png}-driving.png
tessera-ctl screenshot output HEADLESS-1 "$driving" >/dev/null
say "profile 'driving' (passenger screen hidden): $driving"
tessera-ctl profile parked
# Two more frames of the passenger screen, now shown.
wait_frames $(($(frames_shown passenger) + 2)) passenger
tessera-ctl screenshot output HEADLESS-1 "$out" >/dev/null
say "profile 'parked' (three screens): $out"

# A touch on the screen the test guest shows (the IVI VM's passenger screen when kmscube has
# its centre one): the guest draws a magenta marker where it is touched, and the next
# screenshot shows it there.
touch_zone=centre
((ivi_3d)) && touch_zone=passenger
if [[ $vm_kind == qemu ]]; then
	read -r tx ty < <(tessera-ctl --json zones | python3 -c '
import json, sys
z = next(z for z in json.load(sys.stdin)["zones"] if z["name"] == sys.argv[1])
print(z["x"] + z["width"] // 2, z["y"] + z["height"] // 2)' "$touch_zone")
	tessera-ctl touch down 1 "$tx" "$ty" >/dev/null
	tessera-ctl touch up 1 >/dev/null
	touched=${out%.png}-touch.png
	for _ in $(seq 300); do
		wait_frames $(($(frames_shown "$touch_zone") + 2)) "$touch_zone"
		if python3 - "$tx" "$ty" <<'PY'; then
import base64, json, os, socket, sys
x, y = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["TESSERA_SOCKET"])
s.sendall(b'{"command": "screenshot", "output": "HEADLESS-1"}\n')
reply = json.loads(s.makefile().readline())
rgba = base64.b64decode(reply["rgba"])
i = (y * reply["width"] + x) * 4
sys.exit(0 if rgba[i:i + 3] == bytes([255, 0, 255]) else 1)
PY
			tessera-ctl screenshot output HEADLESS-1 "$touched" >/dev/null
			say "touched the $touch_zone screen at $tx,$ty: the guest drew its marker there: $touched"
			break
		fi
	done
	[[ -f $touched ]] || { say "the guest's touch marker did not appear at $tx,$ty"; exit 1; }
else
	say "simulated guests take no input: no touch shown (QEMU runs the real guests)"
fi
say "guests, per zone (frames and fps over the last second):"
for _ in 1 2 3; do
	tessera-ctl guests
	sleep 1
done
