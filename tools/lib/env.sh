# The build environment: native Debian 13 packages, or a cached Debian 13 root.
# Sourced by tools/dev; defines env_prepare and env_run. Expects $repo.

package_list="$repo/tools/packages.txt"
debian_suite=trixie
debian_mirror=${TESSERA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${TESSERA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera}
root_dir="$cache_dir/debian13-root"
# Inside the root this file records the setup it was last brought up to (see setup_key).
root_stamp=".tessera-setup"

say_tag=tools/dev
# shellcheck source=tools/lib/common.sh
source "$repo/tools/lib/common.sh"

# native when the host itself is Debian 13 or newer, or Ubuntu that ships wlroots 0.18.
env_mode() {
	if [[ -n ${TESSERA_ENV:-} ]]; then
		echo "$TESSERA_ENV"
		return
	fi
	local id="" version_id="" codename=""
	# shellcheck disable=SC1091
	[[ -r /etc/os-release ]] && . /etc/os-release && id=${ID:-} version_id=${VERSION_ID:-} codename=${VERSION_CODENAME:-}
	case "$id" in
	debian)
		case "$codename" in trixie | forky | sid) echo native; return ;; esac
		if [[ ${version_id%%.*} =~ ^[0-9]+$ && ${version_id%%.*} -ge 13 ]]; then echo native; return; fi
		;;
	ubuntu)
		if apt-cache show libwlroots-0.18-dev >/dev/null 2>&1; then echo native; return; fi
		;;
	esac
	echo root
}

bwrap_args() {
	local args=(
		--bind "$root_dir" /
		--dev-bind /dev /dev
		--proc /proc
		--ro-bind /sys /sys
		--perms 1777 --tmpfs /tmp
		--ro-bind /etc/resolv.conf /etc/resolv.conf
		--bind "$repo" "$repo"
		--chdir "$PWD"
		--die-with-parent
		--clearenv
		--setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		--setenv HOME /root
		--setenv LANG C.UTF-8
		--setenv TESSERA_IN_ENV root
	)
	local var
	for var in TERM CI TESSERA_KEEP_TMP TESSERA_FUZZ_SECONDS MESON_TESTTHREADS; do
		[[ -n ${!var:-} ]] && args+=(--setenv "$var" "${!var}")
	done
	# Let a nested demo reach the host's display.
	if [[ -n ${WAYLAND_DISPLAY:-} && -n ${XDG_RUNTIME_DIR:-} && -d ${XDG_RUNTIME_DIR} ]]; then
		args+=(--bind "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR" --setenv XDG_RUNTIME_DIR "$XDG_RUNTIME_DIR"
			--setenv WAYLAND_DISPLAY "$WAYLAND_DISPLAY")
	fi
	if [[ -n ${DISPLAY:-} && -d /tmp/.X11-unix ]]; then
		args+=(--bind /tmp/.X11-unix /tmp/.X11-unix --setenv DISPLAY "$DISPLAY")
		[[ -n ${XAUTHORITY:-} && -r $XAUTHORITY ]] && args+=(--ro-bind "$XAUTHORITY" "$XAUTHORITY" --setenv XAUTHORITY "$XAUTHORITY")
	fi
	printf '%s\0' "${args[@]}"
}

in_root() {
	local args
	mapfile -d '' -t args < <(bwrap_args)
	bwrap "${args[@]}" "$@"
}

# The apt sources of the root: binary and source packages (the KMS rig rebuilds a Debian source
# package, and 'apt-get source' works in 'tools/dev shell').
apt_sources() {
	printf 'deb %s %s main\ndeb-src %s %s main\n' "$debian_mirror" "$debian_suite" "$debian_mirror" "$debian_suite"
}

# Everything that shapes the root: the package list, its apt sources and the scripts that build
# it. A change to any of them brings an existing root up to date.
setup_key() {
	{
		apt_sources
		wanted_packages
		cat "$repo/tools/lib/env.sh" "$repo/tools/lib/common.sh" "$repo/tools/lib/provision.sh"
	} | sha256sum | cut -d' ' -f1
}

# Runs a command in the root as root, with the network, before the root is marked ready.
root_setup_run() {
	as_root bash -c "$(declare -f bwrap_args in_root); $(declare -p root_dir repo PWD); in_root \"\$@\"" \
		in_root "$@" >&2
}

# Packages and the rest of the setup (tools/lib/provision.sh) in an existing root.
provision_root() {
	apt_sources | as_root tee "$root_dir/etc/apt/sources.list" >/dev/null
	local packages
	mapfile -t packages < <(wanted_packages)
	root_setup_run apt-get -q -o APT::Sandbox::User=root update &&
		root_setup_run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${packages[@]}" &&
		root_setup_run "$repo/tools/lib/provision.sh"
}

create_root() {
	local tmp="$root_dir.partial" include
	include=$(wanted_packages | paste -sd, -)
	say "creating the Debian 13 build root in $root_dir"
	say "(done once per machine; downloads about 700 MB and takes a few minutes)"
	as_root rm -rf "$tmp"
	mkdir -p "$cache_dir"
	# The sources on standard input ('-'): mmdebstrap takes only a regular file by name.
	apt_sources | as_root mmdebstrap --variant=apt --mode=root \
		--aptopt='APT::Install-Recommends "false"' \
		--include="$include" \
		"$debian_suite" "$tmp" - >&2 || die "mmdebstrap failed"
	as_root rm -rf "$root_dir"
	as_root mv "$tmp" "$root_dir"
	provision_root || die "setting up the Debian 13 root failed"
	setup_key | as_root tee "$root_dir/$root_stamp" >/dev/null
	say "Debian 13 root ready"
}

update_root() {
	say "the setup changed (package list, apt sources or setup scripts); updating the Debian 13 root"
	if provision_root; then
		setup_key | as_root tee "$root_dir/$root_stamp" >/dev/null
		say "Debian 13 root updated"
	else
		say "updating failed; rebuilding the root from scratch"
		create_root
	fi
}

env_prepare() {
	[[ -n ${TESSERA_IN_ENV:-} ]] && return 0
	[[ -r $package_list ]] || die "missing $package_list"
	local mode
	mode=$(env_mode)
	case "$mode" in
	native)
		local wanted
		mapfile -t wanted < <(wanted_packages)
		apt_install_on_host "${wanted[@]}"
		as_root "$repo/tools/lib/provision.sh"
		;;
	root)
		apt_install_on_host mmdebstrap bubblewrap
		mkdir -p "$cache_dir"
		# One creator at a time, across clones and concurrent runs.
		exec {lock_fd}>"$cache_dir/.lock"
		flock -n "$lock_fd" || { say "waiting for another tools/dev to finish the build root"; flock "$lock_fd"; }
		# A root without a current stamp (an older setup, or one whose setup was interrupted)
		# is brought up to date in place.
		if [[ ! -x $root_dir/usr/bin/apt-get ]]; then
			create_root
		elif [[ ! -r $root_dir/$root_stamp || $(<"$root_dir/$root_stamp") != "$(setup_key)" ]]; then
			update_root
		fi
		flock -u "$lock_fd"
		;;
	*) die "TESSERA_ENV must be 'native' or 'root', not '$mode'" ;;
	esac
	export TESSERA_ENV_MODE=$mode
}

# The command that the sandbox's init runs: the first child of the process that --info-fd names.
sandbox_command_pid() {
	local init
	init=$(grep -o '"child-pid": *[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$') || return 1
	cat /proc/"$init"/task/*/children 2>/dev/null | awk '{ print $1; exit }'
}

# Runs a command in the build environment. In the root it runs in a PID namespace of its own,
# so nothing it starts outlives it: when tools/dev dies the sandbox's init is killed, and with
# it every process inside. SIGTERM, SIGINT and SIGHUP to tools/dev reach the command as
# SIGTERM, so that it can end what it started first.
env_run() {
	if [[ -n ${TESSERA_IN_ENV:-} || ${TESSERA_ENV_MODE:-native} == native ]]; then
		TESSERA_IN_ENV=${TESSERA_IN_ENV:-native} "$@"
		return
	fi
	local info status=0 command_pid args
	info=$(mktemp)
	mapfile -d '' -t args < <(bwrap_args)
	# bwrap itself is the background job (not a subshell running it), so that it dies with
	# tools/dev (--die-with-parent). The command gets SIGINT back, which bash takes from
	# background jobs.
	bwrap "${args[@]}" --unshare-pid --info-fd 3 env --default-signal=INT "$@" 3>"$info" &
	local sandbox=$!
	# shellcheck disable=SC2064 # the pid and file are fixed now
	trap "command_pid=\$(sandbox_command_pid '$info') && kill -TERM \"\$command_pid\" 2>/dev/null" TERM INT HUP
	while kill -0 "$sandbox" 2>/dev/null; do
		wait "$sandbox" || true
	done
	wait "$sandbox" || status=$?
	trap - TERM INT HUP
	rm -f "$info"
	return "$status"
}

# An interactive command keeps the terminal in the foreground.
env_run_interactive() {
	if [[ -n ${TESSERA_IN_ENV:-} || ${TESSERA_ENV_MODE:-native} == native ]]; then
		TESSERA_IN_ENV=${TESSERA_IN_ENV:-native} "$@"
	else
		in_root --unshare-pid "$@"
	fi
}
