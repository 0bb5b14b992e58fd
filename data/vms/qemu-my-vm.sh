#!/bin/sh
# Boots a VM whose display is served by tessera: its virtio-gpu device is QEMU's
# vhost-user-gpu-pci connected to the guest socket of the layout's [guests.my-vm]
# (socket = "tessera-my-vm.sock"). Start tessera with that layout first. With INPUT="touch-0
# keyboard" (the devices of the guest's `input` key: touch-N per scanout, pointer, keyboard) it
# also gets tessera's input devices, each vhost-user-input-pci on its socket beside the GPU's.
#
#   data/vms/qemu-my-vm.sh disk.qcow2 [more QEMU options]
#
# MEMORY must equal the memfd backend's size; guest RAM is shared (share=on) so that tessera
# can read the guest's framebuffers. Without KVM (or with QEMU's stock paravirtual KVM that
# cannot run the guest) use ACCEL="-accel tcg -cpu max" (QEMU 10 or later).
set -eu
disk=${1:?usage: qemu-my-vm.sh DISK [QEMU OPTIONS...]}
shift
memory=${MEMORY:-2G}
socket=${SOCKET:-${XDG_RUNTIME_DIR:?}/tessera-my-vm.sock}
for device in ${INPUT:-}; do
	set -- -chardev socket,id="$device",path="${socket%.sock}-$device.sock" \
		-device vhost-user-input-pci,chardev="$device" "$@"
done
exec qemu-system-x86_64 ${ACCEL:--enable-kvm -cpu host} -m "$memory" \
	-object memory-backend-memfd,id=mem,size="$memory",share=on -numa node,memdev=mem \
	-chardev socket,id=gpu,path="$socket" \
	-device vhost-user-gpu-pci,chardev=gpu,max_outputs="${SCANOUTS:-1}" \
	-vga none -display none \
	-drive file="$disk",if=virtio \
	"$@"
