#!/usr/bin/env bash
# Runs tessera with two virtual machines and a native status bar in the two-VM cockpit layout.
# With a display (WAYLAND_DISPLAY or DISPLAY set) tessera opens as a nested window. Without one
# it runs headless, writes screenshots of the cockpit in its two profiles to PNG files and
# prints each guest zone's frame rate.
# The VMs are QEMU (vhost-user-gpu-pci, TCG) booting the Debian kernel with the page-flipping
# test guest of tests/vm/guest/; where QEMU or a kernel is missing, tessera-sim-guest (the
# in-repo vhost-user frontend) plays each VM instead.
# Runs inside the build environment (see tools/dev). Usage: demo.sh [OUT.png]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=${1:-$repo/build/demo/tessera-demo.png}
layout=$repo/data/layouts/cockpit-two-vm.toml
say() { printf '[demo] %s\n' "$*"; }

say "building tessera"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
meson compile -C build compositor/tessera compositor/tessera-ctl \
	tests/gpu/sim-guest/tessera-sim-guest >/dev/null
export PATH=$repo/build/compositor:$repo/build/tests/gpu/sim-guest:$PATH

# The VMs' kernel and initramfs, when QEMU can run here.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
guest_dir=$repo/build/demo/guest
if command -v qemu-system-x86_64 >/dev/null && [[ -n $kernel ]]; then
	say "building the guest initramfs (tests/vm/guest/)"
	mkdir -p "$guest_dir"
	cc -static -O2 -o "$guest_dir/flipper" tests/vm/guest/flipper.c
	tests/vm/guest/make-initramfs.py --program "$guest_dir/flipper" \
		--kernel-version "${kernel#/boot/vmlinuz-}" --output "$guest_dir/initramfs.cpio" >/dev/null
	vm_kind=qemu
else
	say "QEMU or a kernel is missing: simulated guests (tessera-sim-guest) play the VMs"
	vm_kind=sim
fi
# The command that runs one VM against a guest socket ($XDG_RUNTIME_DIR/tessera-NAME.sock).
vm_command() { # name, scanouts
	local socket='$XDG_RUNTIME_DIR/tessera-'$1'.sock'
	if [[ $vm_kind == sim ]]; then
		echo "tessera-sim-guest --socket $socket"
		return
	fi
	echo "qemu-system-x86_64 -accel tcg -cpu max -m 256M" \
		"-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem" \
		"-chardev socket,id=gpu,path=$socket -device vhost-user-gpu-pci,chardev=gpu,max_outputs=$2" \
		"-vga none -nic none -display none -monitor none -serial null" \
		"-kernel $kernel -initrd $guest_dir/initramfs.cpio -append 'console=ttyS0 quiet'"
}

runtime=$(mktemp -d)
cleanup() {
	[[ -n ${tessera_pid:-} ]] && kill "$tessera_pid" 2>/dev/null && wait "$tessera_pid" 2>/dev/null
	pkill -f -- "$runtime/tessera-" 2>/dev/null || true # the VMs
	rm -rf "$runtime"
}
trap cleanup EXIT

cat >"$runtime/status.sh" <<'SH'
while true; do printf '\r  tessera cockpit demo   %s ' "$(date '+%a %d %b  %T')"; sleep 1; done
SH

clients=(
	-s "foot --app-id tessera-status -o colors.background=101018 -o pad=8x4 sh $runtime/status.sh"
	-s "$(vm_command cluster-vm 1)"
	-s "$(vm_command ivi-vm 2)"
)

if [[ -n ${WAYLAND_DISPLAY:-} || -n ${DISPLAY:-} ]]; then
	say "a display is available: opening tessera nested with the two-VM cockpit layout ($vm_kind guests)"
	say "switch profiles from another terminal: TESSERA_SOCKET=... tessera-ctl profile parked"
	exec tessera --layout "$layout" "${clients[@]}"
fi

export XDG_RUNTIME_DIR=$runtime
log=$runtime/tessera.log
say "starting tessera headless (1920x720) with the two-VM cockpit layout, two $vm_kind guests and a status bar"
tessera --headless 1920x720 --socket tessera-demo --layout "$layout" "${clients[@]}" \
	>"$runtime/stdout" 2>"$log" &
tessera_pid=$!
export WAYLAND_DISPLAY=tessera-demo TESSERA_SOCKET=$runtime/tessera.tessera-demo.sock

running() { tessera-ctl --json guests 2>/dev/null | grep -Eo '"state": ?"running"' | wc -l; }
for _ in $(seq 1200); do # QEMU boots in 5-10 s under TCG
	[[ $(running) -ge 2 ]] && break
	kill -0 "$tessera_pid" 2>/dev/null || { cat "$log"; say "tessera exited early"; exit 1; }
	sleep 0.1
done
[[ $(running) -ge 2 ]] || { cat "$log"; tessera-ctl guests; say "the guests did not start"; exit 1; }
sleep 2 # a few seconds of frames

mkdir -p "$(dirname "$out")"
driving=${out%.png}-driving.png
tessera-ctl screenshot output HEADLESS-1 "$driving" >/dev/null
say "profile 'driving' (passenger screen hidden): $driving"
tessera-ctl profile parked
sleep 1.5
tessera-ctl screenshot output HEADLESS-1 "$out" >/dev/null
say "profile 'parked' (three screens): $out"
say "guests, per zone (frames and fps over the last second):"
for _ in 1 2 3; do
	tessera-ctl guests
	sleep 1
done
