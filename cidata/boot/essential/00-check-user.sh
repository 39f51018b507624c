#!/bin/bash
# The den user must exist with the uid den.env names: ssh, user provisioning and reverse-sshfs all act as it.
# cloud-init normally creates it from user-data; this creates it when cloud-init's users module did not
# run, and refuses to continue quietly when an image already has that name with another uid.
set -eu

root="${DEN_BOOT_ROOT:-}"
user="${DEN_CIDATA_USER:?DEN_CIDATA_USER is not set}"
uid="${DEN_CIDATA_UID:?DEN_CIDATA_UID is not set}"
home="${DEN_CIDATA_HOME:-/home/$user}"
shell="${DEN_CIDATA_SHELL:-/bin/bash}"
comment="${DEN_CIDATA_COMMENT:-}"

passwd_entry() {
	if [ -z "$root" ]; then
		getent passwd "$user" || true
	elif [ -f "$root/etc/passwd" ]; then
		DEN_USER="$user" awk -F: '$1 == ENVIRON["DEN_USER"]' "$root/etc/passwd"
	fi
}

write_sudoers() {
	local rule="ALL=(ALL) ALL"
	if [ "${DEN_CIDATA_PASSWORDLESS_SUDO:-}" = 1 ]; then
		rule="ALL=(ALL) NOPASSWD:ALL"
	fi
	mkdir -p "$root/etc/sudoers.d"
	printf '%s %s\n' "$user" "$rule" >"$root/etc/sudoers.d/90-den-user"
	chmod 440 "$root/etc/sudoers.d/90-den-user"
}

entry="$(passwd_entry)"
if [ -n "$entry" ]; then
	IFS=: read -r _ _ found_uid _ <<<"$entry"
	if [ "$found_uid" != "$uid" ]; then
		den_log "WARNING user $user has uid $found_uid, expected $uid"
		exit 1
	fi
	den_log "user $user has uid $uid"
	exit 0
fi

if ! den_real_guest; then
	den_log "WARNING user $user does not exist and cannot be created here (not root or relocated)"
	exit 1
fi

den_log "creating user $user (uid $uid): cloud-init did not"
if command -v useradd >/dev/null 2>&1; then
	useradd --uid "$uid" --home-dir "$home" --create-home --shell "$shell" --comment "$comment" "$user"
elif command -v adduser >/dev/null 2>&1; then
	# busybox adduser (Alpine without shadow)
	adduser -D -u "$uid" -h "$home" -s "$shell" -g "$comment" "$user"
else
	den_log "WARNING neither useradd nor adduser is installed"
	exit 1
fi
write_sudoers
