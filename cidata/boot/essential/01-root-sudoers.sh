#!/bin/bash
# User provisioning runs `sudo -iu USER` as root. Alpine's sudo package does not always let root do that
# without a rule, so give root one there (Lima does the same).
set -eu

root="${DEN_BOOT_ROOT:-}"
[ -f "$root/etc/alpine-release" ] || exit 0
[ -d "$root/etc/sudoers.d" ] || mkdir -p "$root/etc/sudoers.d"
rule="$root/etc/sudoers.d/00-root-user"
if [ ! -f "$rule" ]; then
	echo "root ALL=(ALL) NOPASSWD:ALL" >"$rule"
	chmod 440 "$rule"
	den_log "allowed root to sudo on Alpine"
fi
