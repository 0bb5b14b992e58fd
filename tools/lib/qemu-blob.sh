#!/usr/bin/env bash
# Builds a QEMU that passes VIRTIO_GPU_F_RESOURCE_BLOB from a vhost-user GPU backend to the
# guest: the Debian source package of the build environment's qemu-system-x86 (same version)
# with data/qemu/vhost-user-gpu.patch, configured for x86_64-softmmu only (TCG, KVM,
# vhost-user, vhost-user-gpu-pci, memfd memory backends, 9p). Only the qemu-system-x86_64
# binary is built: it loads its firmware (SeaBIOS, option ROMs such as linuxboot_dma.bin) from
# the same directories as Debian's binary (/usr/share/qemu, /usr/share/seabios,
# /usr/lib/ipxe/qemu, provided by the installed qemu-system-x86), so no -L is needed.
#
# Runs inside the build environment (see tools/dev):
#   tools/dev run tools/lib/qemu-blob.sh build   install what is missing, fetch, patch and
#                                                build (nothing when already up to date);
#                                                progress on stderr, last the binary's
#                                                absolute path on stdout
#   tools/dev run tools/lib/qemu-blob.sh path    the binary's path when built and up to date,
#                                                else exit 1
# Then e.g. TESSERA_QEMU=$(tools/dev run tools/lib/qemu-blob.sh path) for the QEMU tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
patch_file=$repo/data/qemu/vhost-user-gpu.patch
package_list=$repo/tools/packages-qemu-blob.txt

# Where sources, build tree and binary go. Inside the Debian 13 root HOME is /root, which lives
# in the root's directory on the host (~/.cache/tessera/debian13-root/root/.cache/tessera/...):
# outside the repository (nothing can land in git), persistent across runs, shared by every
# clone that uses that root, and dropped together with the root when tools/dev recreates it,
# which is right, since the binary links against the root's libraries. Natively (Debian 13
# host) it is the usual ~/.cache/tessera. The path is only valid inside the environment that
# built it: use it through 'tools/dev run'.
cache_dir=${TESSERA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera}/qemu-blob
binary=$cache_dir/bin/qemu-system-x86_64
stamp=$cache_dir/bin/.stamp

firmware_path=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu # Debian's, see -L help
configure_flags=(
	--target-list=x86_64-softmmu
	--prefix=/usr
	--firmwarepath="$firmware_path"
	--disable-relocatable # the data dir is /usr/share/qemu wherever the binary lies
	--without-default-features
	--enable-tcg
	--enable-kvm
	--enable-vhost-user
	--enable-pixman # virtio-gpu and vhost-user-gpu are built only with pixman
	--enable-attr   # for virtfs (9p, -virtfs): glibc's xattr, no extra package
	--enable-virtfs
	--disable-fdt
	--disable-docs
	--disable-werror
	--disable-download
	--disable-install-blobs
	--disable-debug-info
)

say_tag=qemu-blob
# shellcheck source=tools/lib/common.sh
source "$repo/tools/lib/common.sh"

# The version of the source package a binary package was built from.
source_version() {
	dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null
}

# What the binary depends on: QEMU's Debian version, the patch, the configure flags.
build_key() {
	local version
	version=$(source_version qemu-system-x86) || return 1
	printf 'qemu %s\npatch %s\nflags %s\n' "$version" \
		"$(sha256sum <"$patch_file" | cut -d' ' -f1)" "${configure_flags[*]}"
}

up_to_date() {
	local key
	key=$(build_key) || return 1
	[[ -x $binary && -r $stamp && $(<"$stamp") == "$key" ]]
}

cmd_path() {
	if up_to_date; then
		echo "$binary"
	else
		say "no up-to-date patched QEMU in $cache_dir: run 'tools/dev run tools/lib/qemu-blob.sh build'"
		exit 1
	fi
}

# Runs a long build step niced (another engineer may build on the same 2 cores) with its output
# in a log; prints the log's tail when it fails.
logged() {
	local log=$1
	shift
	nice -n 19 "$@" >"$log" 2>&1 && return
	tail -n 40 "$log" >&2
	return 1
}

cmd_build() {
	[[ -r $patch_file ]] || die "missing $patch_file"
	# shellcheck disable=SC2046 # one package per word
	apt_install_on_host $(wanted_packages)

	mkdir -p "$cache_dir"
	exec {lock_fd}>"$cache_dir/.lock"
	flock -n "$lock_fd" || {
		say "waiting for another qemu-blob.sh"
		flock "$lock_fd"
	}

	local key version upstream tree
	key=$(build_key)
	if up_to_date; then
		say "up to date"
		echo "$binary"
		return
	fi
	version=$(source_version qemu-system-x86)
	version=${version#*:} # the epoch is not part of file names
	upstream=${version%-*}
	say "QEMU $version from Debian with $(basename "$patch_file")"

	# The exact source package of the installed binary packages.
	local src=$cache_dir/src dsc
	dsc=$src/qemu_$version.dsc
	mkdir -p "$src"
	if [[ ! -r $dsc ]]; then
		say "fetching the source package qemu=$(source_version qemu-system-x86)"
		(cd "$src" && apt-get -q -o APT::Sandbox::User=root source --download-only \
			"qemu=$(source_version qemu-system-x86)") >&2 ||
			die "apt-get source failed (are there deb-src entries in /etc/apt/sources.list?)"
	fi

	# A tree is kept between runs so an interrupted build resumes; it is unpacked afresh
	# whenever the key (version, patch, flags) changes.
	tree=$cache_dir/qemu-$upstream
	if [[ ! -r $tree/.tessera-key || $(<"$tree/.tessera-key") != "$key" ]]; then
		say "unpacking into $tree"
		rm -rf "$tree" "$tree.partial"
		dpkg-source --no-copy -x "$dsc" "$tree.partial" >/dev/null 2>&1 ||
			die "cannot unpack $dsc"
		say "applying $(basename "$patch_file")"
		patch -d "$tree.partial" -p1 --batch --forward <"$patch_file" >&2 ||
			die "the patch does not apply to QEMU $version"
		# Configured in place: the build tree records absolute paths.
		mv "$tree.partial" "$tree"
		say "configuring: ${configure_flags[*]}"
		mkdir "$tree/build"
		(cd "$tree/build" &&
			logged "$cache_dir/configure.log" ../configure "${configure_flags[@]}" \
				--with-pkgversion="Debian $version + tessera vhost-user-gpu.patch") ||
			die "configure failed (log: $cache_dir/configure.log)"
		printf '%s\n' "$key" >"$tree/.tessera-key"
	fi

	say "building qemu-system-x86_64 (nice 19, 2 jobs; takes a while, log: $cache_dir/build.log)"
	local start=$SECONDS
	logged "$cache_dir/build.log" ninja -C "$tree/build" -j2 qemu-system-x86_64 ||
		die "the build failed (log: $cache_dir/build.log); to start over: rm -rf $tree"
	say "built in $((SECONDS - start)) s"

	# Run from its build tree, QEMU takes its data from build/qemu-bundle/; the copy in bin/ has
	# none beside it and uses the configured firmware path, like Debian's binary. Check there
	# that the firmware of a direct kernel boot is found.
	mkdir -p "$cache_dir/bin"
	cp "$tree/build/qemu-system-x86_64" "$binary.new"
	local kernel="" machine
	kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1) || true
	for machine in pc q35; do
		echo quit | "$binary.new" -machine "$machine" -accel tcg -nodefaults -display none \
			-monitor stdio -S ${kernel:+-kernel "$kernel"} >/dev/null 2>"$cache_dir/smoke.log" ||
			die "the built binary cannot start -machine $machine: $(cat "$cache_dir/smoke.log")"
	done
	"$binary.new" -device help | grep -q '"vhost-user-gpu-pci"' ||
		die "the built binary has no vhost-user-gpu-pci"
	say "checked: -machine pc and q35 start${kernel:+ with -kernel $kernel}, vhost-user-gpu-pci present"
	mv "$binary.new" "$binary"
	printf '%s\n' "$key" >"$stamp"
	echo "$binary"
}

case ${1:-} in
build | path)
	[[ -n ${TESSERA_IN_ENV:-} ]] ||
		die "run me in the build environment: tools/dev run tools/lib/qemu-blob.sh $1"
	;;&
build) cmd_build ;;
path) cmd_path ;;
*)
	echo "usage: $0 build|path" >&2
	exit 2
	;;
esac
