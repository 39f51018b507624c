#!/bin/bash
# Names the host for guests whose DNS does not resolve it. The old line is dropped and the new one
# appended, so every boot leaves exactly one line; the file is rewritten in place (not replaced) because
# some guests bind-mount /etc/hosts.
set -eu

root="${DEN_BOOT_ROOT:-}"
gateway="${DEN_CIDATA_SLIRP_GATEWAY:-}"
[ -n "$gateway" ] || exit 0

hosts="$root/etc/hosts"
mkdir -p "$root/etc"
[ -f "$hosts" ] || : >"$hosts"

wanted="$(
	awk '{
		for (i = 2; i <= NF; i++) if ($i == "host.den.internal" || $i == "host.lima.internal") next
		print
	}' "$hosts"
	printf '%s\thost.den.internal host.lima.internal\n' "$gateway"
)"
if [ "$wanted" != "$(cat "$hosts")" ]; then
	printf '%s\n' "$wanted" >"$hosts"
	den_log "wrote host.den.internal ($gateway) to /etc/hosts"
fi
