#!/bin/bash
# Installs den's guest agent and runs it as den-guestagent.service. The agent is Bun's runtime plus den's bundle: the
# seed carries the bundle den-guestagent.js (~0.3 MB) and den-guestagent.runtime, one line `<sha256> <target> <bun
# version>` naming the runtime, whose ~100 MiB travel on a read-only ISO disk labelled DENRUNTIME (files bun and
# bun.sha256). The bundle goes to /usr/local/lib/den-guestagent; /usr/local/bin/den-guestagent is a small wrapper
# running `BUN_BE_BUN=1 /run/den/runtime/bun den-guestagent.js ARGS` (the runtime may be a compiled den executable,
# which the variable turns into plain bun).
# The runtime is run from the disk itself, mounted read-only at /run/den/runtime on every boot, and never copied: a
# copy cost 12-34 s of the first boot under TCG (and again after every den upgrade), a mount costs milliseconds and
# the guest pages in only what the agent runs. This is safe because every driver attaches the disk read-only at every
# start (QEMU readonly=on, VZ readOnly), so nothing in the guest can change it, and its bun.sha256 must equal the
# seed's line, so the agent only ever runs the runtime this den named. /run is a fresh tmpfs at each boot: the disk is
# mounted here each time, and left mounted, since the agent runs from it.
# This runs on every boot, on the critical path, where under TCG every fork counts: once the disk is mounted a rerun
# forks nothing but one cmp of the bundle; everything else is compared with builtins.
# Files are replaced through a temporary name and a rename, so a running agent keeps its old inode. Upgrades: the
# wrapper replaces an older den's ~100 MiB agent binary at /usr/local/bin/den-guestagent, and once it is in place the
# copy of the runtime that older dens kept in /usr/local/lib/den-guestagent (bun, runtime.id) is removed. When the disk
# cannot be mounted or carries another runtime, or the bundle cannot be installed, nothing after it is touched: the
# installed agent keeps running, and the non-zero exit makes boot.sh warn. The service is restarted only when
# something changed or it is not running.
# The agent serves the host over the virtio-serial port when the VM has one (QEMU), else over vsock port 2222 (VZ,
# where the den VZ helper connects to it); the unit is rewritten, and the agent restarted, when that changes.
# musl guests (Alpine, see den_musl_guest in boot.sh) run the disk's musl build of the runtime, bun-musl (checked
# against bun-musl.sha256 and the seed's den-guestagent.runtime-musl line, in the same format), which needs the
# guest's libstdc++ and libgcc (installed with apk when missing). Without systemd but with OpenRC the agent runs as
# the OpenRC service /etc/init.d/den-guestagent under supervise-daemon instead of the systemd unit.
# DEN_RUNTIME_MNT (for tests) names a folder standing in for /run/den/runtime; like it, it counts as mounted when it
# holds bun.sha256.
set -eu

root="${DEN_BOOT_ROOT:-}"
seed_js="${DEN_CIDATA_MNT:?}/den-guestagent.js"
seed_runtime="$DEN_CIDATA_MNT/den-guestagent.runtime"
seed_runtime_musl="$DEN_CIDATA_MNT/den-guestagent.runtime-musl"
runtime_dir="${DEN_RUNTIME_MNT:-$root/run/den/runtime}"
lib="$root/usr/local/lib/den-guestagent"
bin="$root/usr/local/bin/den-guestagent"
unit="$root/etc/systemd/system/den-guestagent.service"
mount_unit="$root/etc/systemd/system/run-den-runtime.mount"
wants="$root/etc/systemd/system/multi-user.target.wants/den-guestagent.service"

if [ ! -f "$seed_js" ]; then
	# The host agent warns about a den without an agent; nothing to install here.
	den_log "no den-guestagent in the seed: skipped"
	exit 0
fi

if [ -e "$bin" ]; then
	kept="the installed den-guestagent is kept"
else
	kept="den-guestagent is not installed"
fi

runtime_id=""
if [ -f "$seed_runtime" ]; then
	IFS= read -r runtime_id <"$seed_runtime" || true
fi
runtime_line='^[0-9a-f]{64} [^ ]+ [^ ]+$'
if [[ ! "$runtime_id" =~ $runtime_line ]]; then
	den_log "WARNING the seed's den-guestagent.runtime is missing or not \"<sha256> <target> <bun version>\": $kept"
	exit 1
fi
read -r runtime_sha runtime_target runtime_version <<<"$runtime_id"

# The runtime file on the disk this guest runs, and what names it.
runtime_name=bun
runtime_what=runtime
if den_musl_guest; then
	musl_id=""
	if [ -f "$seed_runtime_musl" ]; then
		IFS= read -r musl_id <"$seed_runtime_musl" || true
	fi
	if [[ ! "$musl_id" =~ $runtime_line ]]; then
		den_log "WARNING this guest's C library is musl, and the seed's den-guestagent.runtime-musl is missing or not \"<sha256> <target> <bun version>\" (den adds the musl runtime for instances whose image location names Alpine): $kept"
		exit 1
	fi
	read -r runtime_sha runtime_target runtime_version <<<"$musl_id"
	runtime_name=bun-musl
	runtime_what="musl runtime"
fi

# Mounts the DENRUNTIME disk read-only at $runtime_dir; exits 1 when there is none or it cannot be mounted.
mount_runtime_disk() {
	local dev="$root/dev/disk/by-label/DENRUNTIME" out
	# udev makes the by-label link; blkid finds the disk without it.
	if [ ! -e "$dev" ]; then
		dev="$(blkid -L DENRUNTIME 2>/dev/null)" || dev=""
	fi
	# Alpine's blkid (busybox) has no -L; its findfs finds a label.
	if [ -z "$dev" ] && command -v findfs >/dev/null; then
		dev="$(findfs LABEL=DENRUNTIME 2>/dev/null)" || dev=""
	fi
	if [ -z "$dev" ]; then
		den_log "WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: $kept"
		exit 1
	fi
	# A later boot: systemd mounts the disk through the unit below as soon as udev sees it; wait for that job rather
	# than mount a second time over it.
	if den_real_guest && [ -f "$mount_unit" ] && [ -z "${DEN_RUNTIME_MNT:-}" ]; then
		if ! out="$(systemctl start run-den-runtime.mount 2>&1)"; then
			den_log "WARNING cannot mount the DENRUNTIME disk ${dev#"$root"} (run-den-runtime.mount): ${out:-systemctl start failed}; $kept"
			exit 1
		fi
		return 0
	fi
	mkdir -p "$runtime_dir"
	if ! out="$(mount -t iso9660 -o ro,nodev,nosuid "$dev" "$runtime_dir" 2>&1)"; then
		rmdir "$runtime_dir" 2>/dev/null || true
		den_log "WARNING cannot mount the DENRUNTIME disk ${dev#"$root"}: ${out:-mount failed}; $kept"
		exit 1
	fi
	den_log "mounted the DENRUNTIME disk ${dev#"$root"} at ${runtime_dir#"$root"}"
}

# bun.sha256 is on the disk, so a folder holding it is the mounted disk (this boot's: /run starts empty).
if [ ! -f "$runtime_dir/bun.sha256" ]; then
	mount_runtime_disk
fi
disk_sha=""
if [ -f "$runtime_dir/$runtime_name.sha256" ]; then
	read -r disk_sha _ <"$runtime_dir/$runtime_name.sha256" || true
fi
if [ ! -f "$runtime_dir/$runtime_name" ] || [ "$disk_sha" != "$runtime_sha" ]; then
	den_log "WARNING the DENRUNTIME disk does not carry the $runtime_what the seed names (bun $runtime_version $runtime_target, sha256 $runtime_sha; the disk's $runtime_name.sha256: ${disk_sha:-none}): $kept"
	exit 1
fi

# Bun's musl build links libstdc++ and libgcc dynamically; a minimal Alpine has neither.
has_lib() {
	[ -e "$root/usr/lib/$1" ] || [ -e "$root/lib/$1" ]
}
if [ "$runtime_name" = bun-musl ] && { ! has_lib libstdc++.so.6 || ! has_lib libgcc_s.so.1; }; then
	if ! command -v apk >/dev/null; then
		den_log "WARNING Bun's musl runtime needs libstdc++.so.6 and libgcc_s.so.1, which this guest lacks, and there is no apk to install them: $kept"
		exit 1
	fi
	if ! out="$(apk --root "${root:-/}" add --no-progress libstdc++ libgcc 2>&1)"; then
		den_log "WARNING cannot install libstdc++ and libgcc, which Bun's musl runtime needs (apk add libstdc++ libgcc): ${out##*$'\n'}; $kept"
		exit 1
	fi
	den_log "installed libstdc++ and libgcc for Bun's musl runtime"
fi

changed=0
if ! cmp -s "$seed_js" "$lib/den-guestagent.js"; then
	mkdir -p "$lib"
	if ! out="$(cp "$seed_js" "$lib/den-guestagent.js.new" 2>&1)"; then
		rm -f "$lib/den-guestagent.js.new"
		den_log "WARNING cannot copy den-guestagent.js to ${lib#"$root"}: ${out:-cp failed}; $kept"
		exit 1
	fi
	chmod 0644 "$lib/den-guestagent.js.new"
	mv -f "$lib/den-guestagent.js.new" "$lib/den-guestagent.js"
	den_log "installed ${lib#"$root"}/den-guestagent.js"
	changed=1
fi

# The paths are quoted for sh: DEN_BOOT_ROOT and DEN_RUNTIME_MNT (tests) may hold anything.
quoted_runtime="${runtime_dir//\'/\'\\\'\'}"
quoted_lib="${lib//\'/\'\\\'\'}"
wrapper="#!/bin/sh
# den's guest agent: Bun's runtime, run from den's read-only DENRUNTIME disk, running den's bundle (written by den's
# boot script 25-guestagent.sh, which mounts the disk at every boot).
BUN_BE_BUN=1 exec '$quoted_runtime/$runtime_name' '$quoted_lib/den-guestagent.js' \"\$@\"
"
# It replaces an older den's agent binary there too (den_write_if_changed reads only its first bytes).
if den_write_if_changed "$bin" "$wrapper" 0755; then
	den_log "installed /usr/local/bin/den-guestagent"
	changed=1
fi

# Only once the wrapper no longer names it: an agent started from the copy keeps its inode until the restart below.
if [ -e "$lib/bun" ] || [ -e "$lib/bun.new" ] || [ -e "$lib/runtime.id" ]; then
	rm -f "$lib/bun" "$lib/bun.new" "$lib/runtime.id"
	den_log "removed the guest agent runtime an older den copied to ${lib#"$root"}"
fi

port_name="${DEN_CIDATA_VIRTIO_PORT:-io.den.agent.0}"
virtio_port="/dev/virtio-ports/$port_name"
# udev links each named virtio port into /dev/virtio-ports; mdev (Alpine) does not, so a port found in sysfs is
# linked here as udev would.
if [ ! -e "$root$virtio_port" ]; then
	for name_file in "$root"/sys/class/virtio-ports/*/name; do
		[ -f "$name_file" ] || continue
		IFS= read -r name <"$name_file" || true
		if [ "$name" = "$port_name" ]; then
			port_dir="${name_file%/name}"
			mkdir -p "$root/dev/virtio-ports"
			ln -sfn "../${port_dir##*/}" "$root$virtio_port"
			den_log "linked $virtio_port to /dev/${port_dir##*/}"
		fi
	done
fi
if [ -e "$root$virtio_port" ]; then
	serve="serve"
elif [ -e "$root/dev/vsock" ]; then
	serve="serve --vsock 2222"
else
	# A QEMU guest whose port has not appeared yet: the agent fails and systemd retries until it does.
	den_log "neither $virtio_port nor /dev/vsock exists: the agent will use the virtio port"
	serve="serve"
fi

unit_changed=0
# Writes unit file $1 (named $3 in the log) with text $2 when it differs.
write_unit() {
	if den_write_if_changed "$1" "$2"; then
		den_log "wrote $3"
		unit_changed=1
	fi
}
# OpenRC (Alpine) instead of systemd: the agent is the service /etc/init.d/den-guestagent, run by supervise-daemon,
# which restarts it whenever it ends (respawn_max=0: without limit, as StartLimitIntervalSec=0 does for systemd).
# OpenRC has no mount units: on a later boot the service may start before this script, so its start_pre mounts the
# disk and links the virtio port itself (the same steps as above, for sh). `need localmount`: after the local file
# systems. The branch is taken only where the root has openrc-run, so tests reach it in a fake root with stand-in
# rc-update and rc-service on PATH.
initd="$root/etc/init.d/den-guestagent"
if [ ! -d "$root/run/systemd/system" ] && [ -x "$root/sbin/openrc-run" ] && [ -d "$root/etc/init.d" ]; then
	quoted_port_name="'${port_name//\'/\'\\\'\'}'"
	quoted_virtio_port="'${virtio_port//\'/\'\\\'\'}'"
	wanted_initd="#!/sbin/openrc-run
# den's guest agent (written by den's boot script 25-guestagent.sh): Bun's runtime from den's read-only DENRUNTIME
# disk running den's bundle, through /usr/local/bin/den-guestagent.
description=\"den guest agent (port forwarding, file events)\"
supervisor=supervise-daemon
command=/usr/local/bin/den-guestagent
command_args=\"$serve\"
respawn_delay=1
respawn_max=0
output_log=/var/log/den-guestagent.log
error_log=/var/log/den-guestagent.log

depend() {
	need localmount
	after net
}

start_pre() {
	if [ ! -f /run/den/runtime/bun.sha256 ]; then
		dev=/dev/disk/by-label/DENRUNTIME
		[ -e \"\$dev\" ] || dev=\"\$(findfs LABEL=DENRUNTIME 2>/dev/null || blkid -L DENRUNTIME 2>/dev/null)\" || dev=\"\"
		if [ -z \"\$dev\" ]; then
			eerror \"no disk labelled DENRUNTIME (den's guest agent runtime) is attached\"
			return 1
		fi
		mkdir -p /run/den/runtime
		mount -t iso9660 -o ro,nodev,nosuid \"\$dev\" /run/den/runtime || return 1
	fi
	if [ ! -e $quoted_virtio_port ]; then
		for name_file in /sys/class/virtio-ports/*/name; do
			[ -f \"\$name_file\" ] || continue
			read -r name <\"\$name_file\" || true
			[ \"\$name\" = $quoted_port_name ] || continue
			port_dir=\"\${name_file%/name}\"
			mkdir -p /dev/virtio-ports
			ln -sfn \"../\${port_dir##*/}\" $quoted_virtio_port
		done
	fi
	return 0
}
"
	write_unit "$initd" "$wanted_initd" /etc/init.d/den-guestagent
	if [ "$unit_changed" = 1 ]; then
		chmod 0755 "$initd"
		changed=1
	fi
	if [ ! -L "$root/etc/runlevels/default/den-guestagent" ]; then
		if ! out="$(rc-update add den-guestagent default 2>&1)"; then
			den_log "WARNING cannot add den-guestagent to the default runlevel: ${out:-rc-update failed}"
			exit 1
		fi
		den_log "added den-guestagent to the default runlevel"
	fi
	if [ "$changed" = 1 ] || ! rc-service den-guestagent status >/dev/null 2>&1; then
		if ! out="$(rc-service den-guestagent restart 2>&1)"; then
			den_log "WARNING cannot start den-guestagent: ${out:-rc-service failed}"
			exit 1
		fi
		den_log "started den-guestagent (OpenRC)"
	fi
	exit 0
fi

# Restart=always: the host agent re-syncs with a restarted agent at once; StartLimitIntervalSec=0 keeps systemd
# retrying an agent whose virtio port appears late instead of giving up after five tries. The low OOMScoreAdjust
# keeps the kernel from killing the agent (and with it every forwarded port) before the workloads that ran the guest
# out of memory, and MemoryLow shields its ~60 MiB resident set (bench agent-idle) from reclaim under pressure.
# Requires/After=run-den-runtime.mount: on a later boot systemd mounts the disk as soon as udev sees it and starts the
# agent right after, in parallel with cloud-init, instead of waiting for this script (the second boot's agent then
# connects seconds earlier). If systemd started it before this script ran, it runs this boot's runtime (the disk is
# the one den attached for this start) and, when it may have loaded an older bundle, the cmp above replaced that
# bundle and the restart below (changed=1) runs the new one. The ordering also makes systemd stop the agent before it
# unmounts the disk at shutdown, which would otherwise fail as busy.
wanted="[Unit]
Description=den guest agent (port forwarding, file events)
After=network.target run-den-runtime.mount
Requires=run-den-runtime.mount
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/local/bin/den-guestagent $serve
Restart=always
RestartSec=1
OOMScoreAdjust=-500
MemoryLow=64M

[Install]
WantedBy=multi-user.target
"
# The disk's mount, as a unit so that systemd mounts it early at every later boot (this script mounted it itself on
# the first). The by-label link exists once udev has seen the disk; systemd waits for that device.
# DefaultDependencies=no: a local mount is otherwise ordered before local-fs.target, and the whole boot (cloud-init
# included) then waited for the disk to appear: 18 s under TCG. The agent alone needs it; umount.target still
# unmounts it at shutdown, after the agent stopped.
wanted_mount="[Unit]
Description=den guest agent runtime (the read-only DENRUNTIME disk)
DefaultDependencies=no
Conflicts=umount.target
Before=umount.target

[Mount]
What=/dev/disk/by-label/DENRUNTIME
Where=/run/den/runtime
Type=iso9660
Options=ro,nodev,nosuid
"
write_unit "$mount_unit" "$wanted_mount" run-den-runtime.mount
write_unit "$unit" "$wanted" den-guestagent.service
if [ "$unit_changed" = 1 ]; then
	changed=1
fi

den_real_guest || exit 0
if [ ! -d /run/systemd/system ]; then
	den_log "WARNING no systemd: den-guestagent is not started"
	exit 1
fi
# daemon-reload and enable are slow (generators, unit files): only when the unit is new or changed, or not enabled.
if [ "$unit_changed" = 1 ]; then
	systemctl daemon-reload
fi
if [ ! -L "$wants" ]; then
	systemctl enable den-guestagent.service 2>/dev/null
fi
# Beside cloud-init's init stage (see boot.sh) the agent cannot start before that stage ends (it follows sysinit.target):
# its start is queued rather than waited for, so the scripts after this one run meanwhile.
if [ "$changed" = 1 ] || ! systemctl is-active --quiet den-guestagent.service; then
	if [ "${DEN_BOOT_BESIDE_INIT:-}" = 1 ]; then
		systemctl restart --no-block den-guestagent.service
		den_log "queued the start of den-guestagent.service"
	else
		systemctl restart den-guestagent.service
		den_log "started den-guestagent.service"
	fi
fi
