# Shell helpers the tools' scripts share. Sourced; set say_tag (the prefix of every message)
# before calling say or die, and package_list before calling wanted_packages.

# Progress and errors go to stderr: stdout is kept for what a script prints as its result.
say() { printf '[%s] %s\n' "$say_tag" "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Those of the given packages this host lacks, one per line.
missing_host_packages() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
	done
}

# Installs packages with apt (waiting up to 10 minutes for another apt to finish).
apt_install() {
	say "installing on this host: $*"
	as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends "$@" >&2
}

# Installs those of the given packages this host lacks.
apt_install_on_host() {
	local missing
	mapfile -t missing < <(missing_host_packages "$@")
	((${#missing[@]})) || return 0
	apt_install "${missing[@]}"
}

# The packages of $package_list: one per line, '#' starts a comment.
wanted_packages() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$package_list" | grep -v '^$' | sort -u
}
