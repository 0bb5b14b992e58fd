#!/bin/sh
# The KMS test VM: builds (or reuses) the rig's vkms.ko and libliftoff (build-rig.sh), boots
# the Debian kernel under QEMU with vkms (8 overlay planes) and runs planes_test.py there
# against a meson build directory. Runs inside the build environment:
#   tools/dev run tests/vm/kms/run.sh BUILD_DIR [CASE...|bench]
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "$1" && pwd)
shift
rig=$("$src/tests/vm/kms/build-rig.sh" build)
# The VM sees the work tree, not /root (a tmpfs there): the library travels in the build.
mkdir -p "$build/kms-rig/lib"
cp "$rig/lib/libliftoff.so.0" "$build/kms-rig/lib/"
exec python3 "$src/tests/vm/rig/run-in-vm.py" --out "$build/vm-rig" --work "$src" --timeout 400 \
	--module "$rig/vkms.ko:enable_overlay=1 enable_cursor=1" \
	--env "LD_LIBRARY_PATH=$build/kms-rig/lib" \
	-- python3 "$src/tests/vm/kms/planes_test.py" --build "$build" "$@"
