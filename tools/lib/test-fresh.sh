#!/usr/bin/env bash
# The fresh-machine path, as a new user or CI meets it: a new clone of this work tree (its
# commits and the uncommitted changes to tracked files) with an empty cache, so that the Debian
# 13 root and everything the tests need from Debian are set up from scratch, then
# 'tools/dev test' there. Prints the wall time. Both are removed afterwards unless
# TESSERA_KEEP_TMP is set. Runs on the host: tools/dev test --fresh [ARGS...]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say_tag=fresh
# shellcheck source=tools/lib/common.sh
source "$repo/tools/lib/common.sh"

# Under /var/tmp: the root takes about 2 GB, more than a /tmp in memory may hold.
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/tessera-fresh.XXXXXX")
cleanup() {
	if [[ -n ${TESSERA_KEEP_TMP:-} ]]; then
		say "kept $tmp"
	else
		as_root rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# A commit of the work tree's state that changes nothing in it (empty when nothing changed).
changes=$(git -C "$repo" stash create)
git clone -q --no-checkout "$repo" "$tmp/tessera"
git -C "$tmp/tessera" checkout -q --detach "${changes:-HEAD}"
say "a clone of $(git -C "$repo" rev-parse --short HEAD)${changes:+ with the uncommitted changes}" \
	"in $tmp/tessera, with an empty cache in $tmp/cache"

start=$(date +%s)
status=0
(cd "$tmp/tessera" && TESSERA_CACHE_DIR=$tmp/cache tools/dev test "$@") || status=$?
say "fresh run: $(($(date +%s) - start)) s wall time, exit status $status"
exit "$status"
