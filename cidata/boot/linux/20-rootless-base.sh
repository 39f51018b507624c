#!/bin/bash
# Rootless containers and unprivileged tools in the guest: user namespaces, ping without setuid, binding
# low ports, subordinate id ranges, and a user systemd manager that outlives ssh sessions.
set -eu

root="${DEN_BOOT_ROOT:-}"
user="${DEN_CIDATA_USER:?}"
uid="${DEN_CIDATA_UID:?}"

sysctl_conf="$root/etc/sysctl.d/99-den.conf"
if [ ! -e "$sysctl_conf" ]; then
	mkdir -p "$(dirname "$sysctl_conf")"
	{
		# Only Debian-patched kernels have this knob; elsewhere it would make `sysctl --system` complain.
		if [ -e /proc/sys/kernel/unprivileged_userns_clone ]; then
			echo "kernel.unprivileged_userns_clone=1"
		fi
		echo "net.ipv4.ping_group_range = 0 2147483647"
		echo "net.ipv4.ip_unprivileged_port_start=0"
	} >"$sysctl_conf"
	den_log "wrote /etc/sysctl.d/99-den.conf"
	if den_real_guest && command -v sysctl >/dev/null 2>&1; then
		sysctl --system >/dev/null || den_log "WARNING sysctl --system failed"
	fi
fi

# systemd-homed expects subordinate ids within 524288..1878982656; 1 GiB of ids leaves room for more users.
# A uid inside that range would overlap its own subordinate ids, so the range then starts above it.
sub_begin=524288
if [ "$uid" -ge "$sub_begin" ]; then
	sub_begin=$((uid + 1))
fi
mkdir -p "$root/etc"
# Read with builtins: every fork counts in an emulated guest's boot.
has_entry() {
	local name rest
	[ -f "$1" ] || return 1
	while IFS=: read -r name rest || [ -n "$name" ]; do
		[ "$name" != "$user" ] || return 0
	done <"$1"
	return 1
}
for f in "$root/etc/subuid" "$root/etc/subgid"; do
	if has_entry "$f"; then
		continue
	fi
	printf '%s:%s:1073741824\n' "$user" "$sub_begin" >>"$f"
	den_log "added $user to ${f#"$root"}"
done

# Lingering is a file logind reads when it starts: once it exists, logind starts the user manager on every boot itself.
if den_real_guest && [ ! -e "/var/lib/systemd/linger/$user" ] && command -v loginctl >/dev/null 2>&1; then
	if command -v systemctl >/dev/null 2>&1; then
		systemctl start systemd-logind.service || true
	fi
	loginctl enable-linger "$user"
fi
