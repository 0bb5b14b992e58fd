#!/usr/bin/env bash
# Builds what the KMS test VM needs beyond the Debian packages, into the cache (outside the
# repository), keyed by versions and this script:
#
# - vkms.ko, the kernel's virtual KMS driver, for the build environment's Debian kernel
#   (/boot/vmlinuz-*), out of tree: Debian's kernel config leaves CONFIG_DRM_VKMS unset. The
#   source is Debian's linux-source-6.12 at the kernel's exact version, built against the
#   matching linux-headers package; the environment's setup installs both
#   (tools/lib/provision.sh). One addition: each plane
#   declares an immutable "zpos" equal to its index. vkms blends its planes in that order but
#   does not say so; without zpos, libliftoff guesses every overlay at the same height and can
#   put a layer on the primary plane with the primary buffer on an overlay above it (the layer
#   is then hidden). Drivers of real hardware with overlays expose zpos.
# - libliftoff.so.0 from Debian's libliftoff source (the version wlroots links, fetched into
#   /usr/src/tessera by the setup) with one change:
#   its plane allocation deadline raised from 1 ms to 250 ms. Under TCG every TEST_ONLY atomic
#   commit takes milliseconds, so with the stock deadline libliftoff gives up after the primary
#   plane and never tries an overlay. The VM loads it with LD_LIBRARY_PATH; nothing else
#   changes, and real hardware uses the system's libliftoff.
#
# Runs inside the build environment (see tools/dev):
#   tools/dev run tests/vm/kms/build-rig.sh build   extract and build when needed;
#                                                   progress on stderr, the directory with
#                                                   vkms.ko and lib/libliftoff.so.0 on stdout
#   tools/dev run tests/vm/kms/build-rig.sh path    that directory when built, else exit 1
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
say_tag=vkms
# shellcheck source=tools/lib/common.sh
source "$(dirname "$script")/../../../tools/lib/common.sh"
cache_root=${TESSERA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera}/vkms

kernel_image() {
	find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1
}

kver=$(basename "$(kernel_image)" | sed 's/^vmlinuz-//')
[[ -n $kver ]] || die "no /boot/vmlinuz-* in the build environment (package linux-image-amd64)"
# Debian's version of the kernel package, e.g. 6.12.107-1: the source must be the same.
image_version=$(dpkg-query -W -f='${Version}' "linux-image-$kver" 2>/dev/null ||
	dpkg-query -W -f='${Version}' "linux-image-$kver-unsigned" 2>/dev/null) ||
	die "cannot tell the Debian version of linux-image-$kver"
series=$(echo "$kver" | cut -d. -f1,2) # 6.12
out=$cache_root/$kver
module=$out/vkms.ko
liftoff=$out/lib/libliftoff.so.0
stamp=$out/.stamp
liftoff_version=$(dpkg-query -W -f='${source:Version}' libliftoff0 2>/dev/null) ||
	die "libliftoff0 is not installed (wlroots depends on it)"
key="kernel $kver source $image_version liftoff $liftoff_version script $(sha256sum <"$script" | cut -d' ' -f1)"

up_to_date() { [[ -r $module && -r $liftoff && -r $stamp && $(<"$stamp") == "$key" ]]; }

cmd_build() {
	mkdir -p "$cache_root/$kver"
	exec {lock_fd}>"$cache_root/.lock"
	flock "$lock_fd"
	if up_to_date; then
		echo "$out"
		return
	fi
	local tarball=/usr/src/linux-source-$series.tar.xz
	[[ -r $tarball && -d /lib/modules/$kver/build ]] ||
		die "missing $tarball or the headers of $kver: set up the environment with tools/dev"
	local work=$cache_root/$kver/src
	rm -rf "$work"
	mkdir -p "$work"
	local start=$SECONDS
	say "extracting drivers/gpu/drm/vkms from $(basename "$tarball") ($image_version)"
	tar -xf "$tarball" -C "$work" --strip-components=5 "linux-source-$series/drivers/gpu/drm/vkms" ||
		die "no drivers/gpu/drm/vkms in $tarball"
	grep -q 'drm_plane_create_rotation_property(&plane->base, DRM_MODE_ROTATE_0,' "$work/vkms_plane.c" ||
		die "vkms_plane.c is not as expected: cannot add the zpos property"
	sed -i 's/^\(\s*\)drm_plane_create_rotation_property(&plane->base, DRM_MODE_ROTATE_0,/\1drm_plane_create_zpos_immutable_property(\&plane->base, drm_plane_index(\&plane->base));\n&/' \
		"$work/vkms_plane.c"
	say "building against /lib/modules/$kver/build"
	make -s -C "/lib/modules/$kver/build" M="$work" CONFIG_DRM_VKMS=m modules >"$work/build.log" 2>&1 || {
		tail -n 30 "$work/build.log" >&2
		die "the build failed"
	}
	modinfo -F vermagic "$work/vkms.ko" | grep -q "^$kver " || die "vkms.ko has the wrong vermagic"
	cp "$work/vkms.ko" "$module"
	build_liftoff
	printf '%s\n' "$key" >"$stamp"
	say "built in $((SECONDS - start)) s"
	echo "$out"
}

build_liftoff() {
	local src=$out/liftoff-src dsc=/usr/src/tessera/libliftoff_${liftoff_version#*:}.dsc
	[[ -r $dsc ]] || die "missing $dsc: set up the environment with tools/dev"
	rm -rf "$src"
	mkdir -p "$src"
	dpkg-source --no-copy -x "$dsc" "$src/tree" >/dev/null 2>&1 ||
		die "cannot unpack $dsc"
	local alloc=$src/tree/alloc.c
	grep -q 'DEFAULT_ALLOC_TIMEOUT_NSEC = 1000 \* 1000;' "$alloc" ||
		die "libliftoff's allocation deadline is not where expected in $alloc"
	sed -i 's/DEFAULT_ALLOC_TIMEOUT_NSEC = 1000 \* 1000;/DEFAULT_ALLOC_TIMEOUT_NSEC = 250 * 1000 * 1000;/' "$alloc"
	say "building libliftoff with a 250 ms allocation deadline"
	(meson setup "$src/build" "$src/tree" -Dbuildtype=release >"$src/build.log" 2>&1 &&
		ninja -C "$src/build" >>"$src/build.log" 2>&1) || {
		tail -n 20 "$src/build.log" >&2
		die "the libliftoff build failed"
	}
	mkdir -p "$out/lib"
	cp -L "$src/build/libliftoff.so.0" "$liftoff"
}

case ${1:-} in
build) cmd_build ;;
path)
	up_to_date || {
		say "not built: run 'tools/dev run tests/vm/kms/build-rig.sh build'"
		exit 1
	}
	echo "$out"
	;;
*)
	echo "usage: $0 build|path" >&2
	exit 2
	;;
esac
