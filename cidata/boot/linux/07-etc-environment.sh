#!/bin/bash
# /etc/environment carries den's `env:` (and proxy) settings to every login through pam_env. Only the
# #DEN-START…#DEN-END block is den's; the rest of the file is left as it was.
set -eu

root="${DEN_BOOT_ROOT:-}"
envfile="$root/etc/environment"
seed="${DEN_CIDATA_MNT:?}/etc_environment"

[ -d "$root/etc" ] || mkdir -p "$root/etc"
[ -f "$envfile" ] || : >"$envfile"

# Read with builtins (no awk, no cat): every fork counts in an emulated guest's boot. Trailing newlines are not
# compared, as the file is always written with exactly one.
current=""
wanted=""
skip=0
while IFS= read -r line || [ -n "$line" ]; do
	current+="$line"$'\n'
	[[ "$line" != "#DEN-START"* ]] || skip=1
	[ "$skip" = 1 ] || wanted+="$line"$'\n'
	[[ "$line" != "#DEN-END"* ]] || skip=0
done <"$envfile"
if [ -f "$seed" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		wanted+="$line"$'\n'
	done <"$seed"
fi
while [[ "$wanted" == *$'\n' ]]; do wanted="${wanted%$'\n'}"; done
while [[ "$current" == *$'\n' ]]; do current="${current%$'\n'}"; done
if [ "$wanted" != "$current" ]; then
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

[ -d "$root/run" ] || mkdir -p "$root/run"
printf '%s\n' "${DEN_CIDATA_IID:?}" >"$root/run/den-ssh-ready"
