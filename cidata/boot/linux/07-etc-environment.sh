#!/bin/bash
# /etc/environment carries den's `env:` (and proxy) settings to every login through pam_env. Only the
# #DEN-START…#DEN-END block is den's; the rest of the file is left as it was.
set -eu

root="${DEN_BOOT_ROOT:-}"
envfile="$root/etc/environment"
seed="${DEN_CIDATA_MNT:?}/etc_environment"

mkdir -p "$root/etc"
[ -f "$envfile" ] || : >"$envfile"

wanted="$(
	awk '/^#DEN-START/ { skip = 1 } !skip { print } /^#DEN-END/ { skip = 0 }' "$envfile"
	if [ -f "$seed" ]; then cat "$seed"; fi
)"
if [ "$wanted" != "$(cat "$envfile")" ]; then
	printf '%s\n' "$wanted" >"$envfile"
	den_log "updated /etc/environment"
	# An ssh session opened before this point (e.g. by the host agent's readiness probe) still has the old
	# environment; ending the user's sessions makes the next login pick up the new one.
	if den_real_guest && command -v loginctl >/dev/null 2>&1; then
		sessions="$(loginctl show-user "${DEN_CIDATA_USER:?}" --property=Sessions --value 2>/dev/null || true)"
		if [ -n "$sessions" ]; then
			den_log "ending the sessions of ${DEN_CIDATA_USER} so they see the new environment"
			loginctl terminate-user "$DEN_CIDATA_USER" || true
		fi
	fi
fi

mkdir -p "$root/run"
printf '%s\n' "${DEN_CIDATA_IID:?}" >"$root/run/den-ssh-ready"
