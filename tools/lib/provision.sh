#!/usr/bin/env bash
# The part of the build environment's setup that depends on what the package list installed:
# run by tools/dev as root, inside the Debian 13 root or on a native Debian 13 host, after the
# packages of tools/packages.txt. Everything a test needs from Debian is here or in that list,
# so no test installs or downloads anything.
#
# - The headers and the source of the exact kernel that the VM rigs boot (/boot/vmlinuz-*):
#   the KMS rig builds vkms.ko out of tree from them (tests/vm/kms/build-rig.sh).
# - The source package of the libliftoff that wlroots links, which the KMS rig rebuilds with a
#   longer plane allocation deadline, in /usr/src/tessera/.
set -euo pipefail

say_tag=provision
# shellcheck source=tools/lib/common.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
sources_dir=/usr/src/tessera

installed() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | grep -q "^install ok installed ${2:-}"
}

kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
[[ -n $kernel ]] || die "no /boot/vmlinuz-* (package linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
image_version=$(dpkg-query -W -f='${Version}' "linux-image-$kver" 2>/dev/null ||
	dpkg-query -W -f='${Version}' "linux-image-$kver-unsigned") ||
	die "cannot tell the Debian version of linux-image-$kver"
series=$(cut -d. -f1,2 <<<"$kver")
wanted=()
installed "linux-headers-$kver" || wanted+=("linux-headers-$kver")
installed "linux-source-$series" "$image_version" || wanted+=("linux-source-$series=$image_version")
if ((${#wanted[@]})); then
	say "installing the headers and source of the VM kernel $kver"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends "${wanted[@]}" >&2 ||
		die "cannot install ${wanted[*]} (the mirror must carry version $image_version)"
fi

liftoff_version=$(dpkg-query -W -f='${source:Version}' libliftoff0) ||
	die "libliftoff0 is not installed (wlroots depends on it)"
dsc=$sources_dir/libliftoff_${liftoff_version#*:}.dsc
if [[ ! -r $dsc ]]; then
	say "fetching the source package libliftoff=$liftoff_version into $sources_dir"
	mkdir -p "$sources_dir"
	(cd "$sources_dir" && apt-get -q -o APT::Sandbox::User=root source --download-only \
		"libliftoff=$liftoff_version") >&2 ||
		die "apt-get source libliftoff failed: the apt sources need deb-src entries" \
			"(on a native host add them, or use the Debian 13 root: TESSERA_ENV=root)"
fi
[[ -r $dsc ]] || die "apt-get source did not leave $dsc"
