#!/bin/bash
# Rosetta for x86_64 Linux binaries in a VZ guest on Apple silicon (`vmOpts.vz.rosetta`), as Lima sets it up: the
# den VZ helper shares Rosetta's runtime under the virtiofs tag vz-rosetta, mounted at Lima's path /mnt/lima-rosetta;
# with `binfmt: true` the kernel runs x86_64 ELF files through it (binfmt_misc), and a binfmt.d entry keeps it first
# over qemu-user-static after systemd-binfmt reloads. With Rosetta off, a registration from an earlier boot is undone.
set -eu

root="${DEN_BOOT_ROOT:-}"
mnt="/mnt/lima-rosetta"
binfmt_dir="/proc/sys/fs/binfmt_misc"
binfmtd_conf="/usr/lib/binfmt.d/rosetta.conf"
# x86_64 ELF executables and shared objects (e_machine 0x3e); the interpreter is opened once at registration (F), so
# it keeps working in containers and chroots that cannot see /mnt/lima-rosetta. binfmt_misc decodes the \x escapes.
rosetta_binfmt=':rosetta:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/mnt/lima-rosetta/rosetta:OCF'

unregister() {
	if [ -f "$root$binfmt_dir/rosetta" ]; then
		echo -1 >"$root$binfmt_dir/rosetta"
		den_log "unregistered rosetta from binfmt_misc"
	fi
	if [ -f "$root$binfmtd_conf" ]; then
		rm -f "$root$binfmtd_conf"
		den_log "removed $binfmtd_conf"
	fi
}

if [ "${DEN_CIDATA_ROSETTA_ENABLED:-}" != 1 ]; then
	unregister
	exit 0
fi

if ! mountpoint -q "$root$mnt"; then
	mkdir -p "$root$mnt"
	if den_real_guest; then
		if ! mount -t virtiofs vz-rosetta "$mnt"; then
			den_log "WARNING cannot mount the Rosetta share (virtiofs tag vz-rosetta) at $mnt"
			exit 1
		fi
		den_log "mounted Rosetta at $mnt"
	fi
fi

if [ "${DEN_CIDATA_ROSETTA_BINFMT:-}" != 1 ]; then
	unregister
	exit 0
fi

if [ ! -f "$root$binfmt_dir/register" ] && den_real_guest; then
	mount -t binfmt_misc binfmt_misc "$binfmt_dir"
fi
if [ ! -f "$root$binfmt_dir/rosetta" ]; then
	printf '%s\n' "$rosetta_binfmt" >"$root$binfmt_dir/register"
	den_log "registered rosetta in binfmt_misc"
fi
# Only where systemd-binfmt reads binfmt.d, as Lima does: a folder that exists means the service is there.
if [ -d "$root$(dirname "$binfmtd_conf")" ] && [ "$(cat "$root$binfmtd_conf" 2>/dev/null)" != "$rosetta_binfmt" ]; then
	printf '%s\n' "$rosetta_binfmt" >"$root$binfmtd_conf"
	den_log "wrote $binfmtd_conf"
fi
