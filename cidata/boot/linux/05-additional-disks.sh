#!/bin/bash
# additionalDisks (Lima's 05-lima-disks): each disk is found by the virtio serial den gave it (/sys/block/*/serial),
# partitioned and formatted only if it has no filesystem yet and `format` is on, then mounted at /mnt/lima-<name>
# (or used as swap), and grown to fill a disk that `den disk resize` made larger. A disk that already carries a
# filesystem is never formatted again, whatever its label: the disk exists to keep its data across instances.
# A failed disk is reported and the others are still set up.
set -eu

root="${DEN_BOOT_ROOT:-}"
count="${DEN_CIDATA_DISKS:-0}"
[ "$count" -gt 0 ] || exit 0

# Indirect expansion reads DEN_CIDATA_DISK_<i>_<FIELD> without evaluating anything.
disk_field() {
	local name="DEN_CIDATA_DISK_$1_$2"
	printf '%s' "${!name:-}"
}

# The vdX whose virtio serial is $1, or nothing.
device_with_serial() {
	local wanted="$1" file serial
	for file in "$root"/sys/block/*/serial; do
		[ -f "$file" ] || continue
		serial=""
		IFS= read -r serial <"$file" || true
		if [ "$serial" = "$wanted" ]; then
			file="${file%/serial}"
			printf '%s' "${file##*/}"
			return 0
		fi
	done
	return 1
}

# blkid's line for device $2 (a guest path such as /dev/vdb1) in blkid's whole output $1. The output is matched with
# bash rather than piped to grep: `grep -q` exits at the first match, blkid then dies of SIGPIPE, and the pipeline
# would read as "no filesystem", which would format a disk that has one.
blkid_line() {
	local line
	while IFS= read -r line; do
		if [[ "$line" == "$2: "* ]]; then
			printf '%s' "$line"
			return 0
		fi
	done <<<"$1"
	return 1
}

# Labels are cut to what each holder accepts (a GPT partition name: 36 characters); mkfs.xfs refuses a longer one
# instead of cutting it. Labels are for the user only: nothing here finds a disk by its label.
fs_label() {
	local label="lima-$1" max
	case "$2" in
	gpt) max=36 ;;
	xfs) max=12 ;;
	vfat) max=11 ;;
	swap) max=15 ;;
	btrfs) max=255 ;;
	*) max=16 ;;
	esac
	printf '%s' "${label:0:max}"
}

# Whether $1 is listed in /proc/swaps.
swap_active() {
	local entry rest
	[ -r "$root/proc/swaps" ] || return 1
	while read -r entry rest; do
		[ "$entry" != "$1" ] || return 0
	done <"$root/proc/swaps"
	return 1
}

# Grows partition 1 and then the mounted filesystem after `den disk resize`; growpart reports NOCHANGE as a failure.
grow_disk() {
	local dev="$1" part="$2" fstype="$3" point="$4"
	command -v growpart >/dev/null 2>&1 || return 0
	growpart "$root/dev/$dev" 1 >/dev/null 2>&1 || return 0
	den_log "grew the partition of $part"
	case "$fstype" in
	ext2 | ext3 | ext4) resize2fs "$root$part" || den_log "WARNING cannot grow the filesystem on $part" ;;
	xfs) xfs_growfs "$root$point" || den_log "WARNING cannot grow the filesystem on $part" ;;
	btrfs) btrfs filesystem resize max "$root$point" || den_log "WARNING cannot grow the filesystem on $part" ;;
	*) den_log "$fstype on $part is not grown automatically" ;;
	esac
}

# Called in an `if`, where errexit is off, so every step returns on failure explicitly.
setup_disk() {
	local i="$1" name serial format fstype nargs j arg dev part point blkid_out line existing
	local fsargs=()
	name="$(disk_field "$i" NAME)"
	serial="$(disk_field "$i" SERIAL)"
	format="$(disk_field "$i" FORMAT)"
	fstype="$(disk_field "$i" FSTYPE)"
	nargs="$(disk_field "$i" FSARGS)"
	for ((j = 0; j < ${nargs:-0}; j++)); do
		arg="DEN_CIDATA_DISK_${i}_FSARGS_${j}"
		fsargs+=("${!arg:-}")
	done
	fstype="${fstype:-ext4}"
	if [[ ! "$name" =~ ^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$ ]] || [[ ! "$fstype" =~ ^[a-z0-9]+$ ]]; then
		den_log "WARNING disk $i has an invalid name \"$name\" or filesystem type \"$fstype\""
		return 1
	fi
	if ! dev="$(device_with_serial "$serial")"; then
		den_log "WARNING disk $name: no virtio disk with serial $serial"
		return 1
	fi
	part="/dev/${dev}1"
	point="/mnt/lima-$name"

	blkid_out="$(blkid 2>/dev/null || true)"
	line="$(blkid_line "$blkid_out" "$part" || true)"
	if [[ "$line" == *" TYPE=\""* ]]; then
		# What is there wins over fsType: a disk formatted by another instance or by Lima mounts as what it is.
		existing="${line#* TYPE=\"}"
		existing="${existing%%\"*}"
		if [ "$existing" != "$fstype" ]; then
			den_log "disk $name ($dev) holds $existing, not $fstype: used as $existing"
			fstype="$existing"
		fi
	else
		if [ "$format" != 1 ]; then
			den_log "disk $name ($dev) has no filesystem and format is off: left as it is, not mounted"
			return 0
		fi
		line="$(blkid_line "$blkid_out" "/dev/$dev" || true)"
		if [[ "$line" == *" TYPE="* ]]; then
			den_log "WARNING disk $name ($dev) has a filesystem on the whole disk, not in a partition: not formatted, not mounted"
			return 1
		fi
		den_log "formatting disk $name ($dev) as $fstype"
		if [ "$fstype" = swap ]; then
			printf 'type=swap,name=%s\n' "$(fs_label "$name" gpt)" | sfdisk --label gpt "$root/dev/$dev" >/dev/null || return 1
		else
			printf 'type=linux,name=%s\n' "$(fs_label "$name" gpt)" | sfdisk --label gpt "$root/dev/$dev" >/dev/null || return 1
		fi
		# sfdisk's re-read of the partition table makes udev create the partition's node; wait for it.
		udevadm settle >/dev/null 2>&1 || true
		if [ "$fstype" = swap ]; then
			mkswap ${fsargs[@]+"${fsargs[@]}"} -L "$(fs_label "$name" swap)" "$root$part" >/dev/null || return 1
		else
			"mkfs.$fstype" ${fsargs[@]+"${fsargs[@]}"} -L "$(fs_label "$name" "$fstype")" "$root$part" >/dev/null || return 1
		fi
	fi

	if [ "$fstype" = swap ]; then
		if ! swap_active "$part"; then
			swapon "$root$part" || return 1
		fi
		den_log "disk $name ($dev) is swap"
		return 0
	fi
	mkdir -p "$root$point" || return 1
	if ! mountpoint -q "$root$point"; then
		mount -t "$fstype" "$root$part" "$root$point" || return 1
	fi
	den_log "disk $name ($dev) is mounted at $point"
	grow_disk "$dev" "$part" "$fstype" "$point"
}

failed=0
for ((i = 0; i < count; i++)); do
	if ! setup_disk "$i"; then
		failed=1
	fi
done
exit "$failed"
