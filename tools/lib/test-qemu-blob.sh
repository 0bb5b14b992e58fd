#!/usr/bin/env bash
# The optional real-VMM blob tier (tools/dev test-qemu-blob): QEMU 10.0 built with
# data/qemu/vhost-user-gpu.patch (cached), then the real-guest test against it, where the
# Linux guest's dumb buffers are blobs paced by tessera's fences. Runs in the build environment.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

qemu=$("$repo/tools/lib/qemu-blob.sh" build | tail -n 1)
echo "QEMU with the blob patch: $qemu"
export TESSERA_QEMU=$qemu TESSERA_QEMU_BLOB=1
exec "$repo/tools/lib/test.sh" --no-sanitize --no-fuzz integration-qemu-guest "$@"
