#!/bin/bash
# 9p and virtiofs mounts come from cloud-init's fstab entries (nofail, so a failed one does not stop the
# boot); this checks each is really mounted, retries the ones that are not, and only then writes
# /run/den-mounts-ready. reverse-sshfs mounts are made later by the host agent over ssh, so they only need
# their mount points, owned by the user.
set -eu

root="${DEN_BOOT_ROOT:-}"
user="${DEN_CIDATA_USER:?}"
failed=()

# Returns 0 once the path is a mount point; real guests retry `mount <path>` (its fstab entry) meanwhile.
ensure_mounted() {
	local point="$1" attempt
	for attempt in 1 2 3 4 5; do
		if mountpoint -q "$root$point"; then
			return 0
		fi
		den_real_guest || return 1
		den_log "mounting $point (attempt $attempt)"
		# cloud-init creates mount points from the fstab-escaped field, so one with a space in it is
		# missing (a folder named with a literal \040 exists instead): mount needs the real one.
		mkdir -p "$point"
		mount "$point" || true
		mountpoint -q "$point" && return 0
		sleep 1
	done
	return 1
}

for ((i = 0; i < ${DEN_CIDATA_MOUNTS:-0}; i++)); do
	type_var="DEN_CIDATA_MOUNTS_${i}_TYPE"
	point_var="DEN_CIDATA_MOUNTS_${i}_MOUNTPOINT"
	type="${!type_var:-}"
	point="${!point_var:-}"
	case "$type" in
	9p | virtiofs)
		if ensure_mounted "$point"; then
			den_log "mount $point ($type) is ready"
		else
			den_log "WARNING mount $point ($type) is not mounted"
			failed+=("$point")
		fi
		;;
	reverse-sshfs)
		if [ ! -d "$root$point" ]; then
			mkdir -p "$root$point"
			if den_real_guest; then
				chown "$user:$(id -gn "$user")" "$point"
			fi
		fi
		;;
	*)
		den_log "WARNING mount $point has unknown type \"$type\""
		failed+=("$point")
		;;
	esac
done

if [ "${#failed[@]}" -gt 0 ]; then
	exit 1
fi
mkdir -p "$root/run"
printf '%s\n' "${DEN_CIDATA_IID:?}" >"$root/run/den-mounts-ready"
