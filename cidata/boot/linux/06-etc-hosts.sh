#!/bin/bash
# Names the host for guests whose DNS does not resolve it. The old line is dropped and the new one
# appended, so every boot leaves exactly one line; the file is rewritten in place (not replaced) because
# some guests bind-mount /etc/hosts.
set -eu

root="${DEN_BOOT_ROOT:-}"
gateway="${DEN_CIDATA_SLIRP_GATEWAY:-}"
[ -n "$gateway" ] || exit 0

hosts="$root/etc/hosts"
[ -d "$root/etc" ] || mkdir -p "$root/etc"
[ -f "$hosts" ] || : >"$hosts"

# Read with builtins (no awk, no cat): every fork counts in an emulated guest's boot. A line naming either host name
# after its address is dropped; fields split on blanks, as awk's.
current=""
wanted=""
set -f
while IFS= read -r line || [ -n "$line" ]; do
	current+="$line"$'\n'
	# shellcheck disable=SC2206 # split into fields on purpose; globbing is off
	fields=($line)
	for name in "${fields[@]:1}"; do
		if [ "$name" = host.den.internal ] || [ "$name" = host.lima.internal ]; then
			continue 2
		fi
	done
	wanted+="$line"$'\n'
done <"$hosts"
set +f
wanted+="$gateway"$'\thost.den.internal host.lima.internal\n'
if [ "$wanted" != "$current" ]; then
	printf '%s' "$wanted" >"$hosts"
	den_log "wrote host.den.internal ($gateway) to /etc/hosts"
fi
