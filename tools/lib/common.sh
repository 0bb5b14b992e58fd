# Shell helpers the tools' scripts share. Sourced; set say_tag (the prefix of every message)
# before calling say or die, and package_list before calling wanted_packages.

# Progress and errors go to stderr: stdout is kept for what a script prints as its result.
say() { printf '[%s] %s\n' "$say_tag" "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# The packages of $package_list: one per line, '#' starts a comment.
wanted_packages() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$package_list" | grep -v '^$' | sort -u
}
