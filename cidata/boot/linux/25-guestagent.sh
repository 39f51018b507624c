#!/bin/bash
# Installs den's guest agent and runs it as den-guestagent.service. The agent is Bun's runtime plus den's bundle: the
# seed carries the bundle den-guestagent.js (~0.3 MB) and den-guestagent.runtime, one line `<sha256> <target> <bun
# version>` naming the runtime, whose ~100 MiB travel on a read-only ISO disk labelled DENRUNTIME (files bun and
# bun.sha256). Both go to /usr/local/lib/den-guestagent; /usr/local/bin/den-guestagent is a small wrapper running
# `BUN_BE_BUN=1 bun den-guestagent.js ARGS` (the runtime may be a compiled den executable, which the variable turns
# into plain bun).
# This runs on every boot, on the critical path, where under TCG every fork counts: the runtime is copied only when
# runtime.id (written last) differs from the seed's line, i.e. on the first boot or with a den of another Bun, so a
# later boot mounts nothing and runs one cmp of the bundle; everything else is compared with builtins.
# Files are replaced through a temporary name and a rename, so a running agent keeps its old inode (also an older den's
# ~100 MiB agent binary at /usr/local/bin/den-guestagent, which the wrapper replaces). When the runtime or the bundle
# cannot be installed, nothing after it is touched: the installed agent keeps running, and the non-zero exit makes
# boot.sh warn. The service is restarted only when something changed or it is not running.
# The agent serves the host over the virtio-serial port when the VM has one (QEMU), else over vsock port 2222 (VZ,
# where the den VZ helper connects to it); the unit is rewritten, and the agent restarted, when that changes.
# DEN_RUNTIME_MNT (for tests) names a folder holding the runtime disk's files, used instead of mounting the disk.
set -eu

root="${DEN_BOOT_ROOT:-}"
seed_js="${DEN_CIDATA_MNT:?}/den-guestagent.js"
seed_runtime="$DEN_CIDATA_MNT/den-guestagent.runtime"
lib="$root/usr/local/lib/den-guestagent"
bin="$root/usr/local/bin/den-guestagent"
unit="$root/etc/systemd/system/den-guestagent.service"
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

mounted=""
# Unmounts the runtime disk however the script ends.
release_disk() {
	if [ -n "$mounted" ]; then
		umount "$mounted" || den_log "WARNING cannot unmount the DENRUNTIME disk from ${mounted#"$root"}"
		rmdir "$mounted" 2>/dev/null || true
		mounted=""
	fi
}

# Sets disk to the folder holding the runtime disk's files, mounting the disk read-only when needed.
open_runtime_disk() {
	local dev="$root/dev/disk/by-label/DENRUNTIME" out
	if [ -n "${DEN_RUNTIME_MNT:-}" ]; then
		disk="$DEN_RUNTIME_MNT"
		return 0
	fi
	# udev makes the by-label link; blkid finds the disk without it.
	if [ ! -e "$dev" ]; then
		dev="$(blkid -L DENRUNTIME 2>/dev/null)" || dev=""
	fi
	if [ -z "$dev" ]; then
		den_log "WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: $kept"
		exit 1
	fi
	disk="$root/run/den-guestagent-runtime"
	mkdir -p "$disk"
	trap release_disk EXIT
	if ! out="$(mount -t iso9660 -o ro "$dev" "$disk" 2>&1)"; then
		rmdir "$disk" 2>/dev/null || true
		den_log "WARNING cannot mount the DENRUNTIME disk ${dev#"$root"}: ${out:-mount failed}; $kept"
		exit 1
	fi
	mounted="$disk"
}

# Copies the runtime to bun.new, checks it, renames it to bun and writes runtime.id last; exits 1 on any failure,
# leaving the installed runtime as it was.
install_runtime() {
	local sha target version disk="" disk_sha="" out sizes
	read -r sha target version <<<"$runtime_id"
	open_runtime_disk
	if [ -f "$disk/bun.sha256" ]; then
		read -r disk_sha _ <"$disk/bun.sha256" || true
	fi
	if [ ! -f "$disk/bun" ] || [ "$disk_sha" != "$sha" ]; then
		den_log "WARNING the DENRUNTIME disk does not carry the runtime the seed names (bun $version $target, sha256 $sha; the disk's bun.sha256: ${disk_sha:-none}): $kept"
		exit 1
	fi
	mkdir -p "$lib"
	if ! out="$(cp "$disk/bun" "$lib/bun.new" 2>&1)"; then
		rm -f "$lib/bun.new"
		den_log "WARNING cannot copy the guest agent runtime to ${lib#"$root"}: ${out:-cp failed}; $kept"
		exit 1
	fi
	sizes="$(stat -L -c %s "$disk/bun" "$lib/bun.new")"
	if [ "${sizes%%$'\n'*}" != "${sizes##*$'\n'}" ]; then
		rm -f "$lib/bun.new"
		den_log "WARNING the copied guest agent runtime has ${sizes##*$'\n'} bytes, not ${sizes%%$'\n'*}: $kept"
		exit 1
	fi
	chmod 0755 "$lib/bun.new"
	mv -f "$lib/bun.new" "$lib/bun"
	printf '%s\n' "$runtime_id" >"$lib/runtime.id"
	den_log "installed the guest agent runtime (bun $version $target)"
}

changed=0
installed_id=""
if [ -f "$lib/runtime.id" ]; then
	IFS= read -r installed_id <"$lib/runtime.id" || true
fi
if [ "$installed_id" != "$runtime_id" ] || [ ! -x "$lib/bun" ]; then
	install_runtime
	release_disk
	changed=1
fi

if ! cmp -s "$seed_js" "$lib/den-guestagent.js"; then
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

# The paths are quoted for sh: DEN_BOOT_ROOT (tests) may hold anything.
quoted_lib="${lib//\'/\'\\\'\'}"
wrapper="#!/bin/sh
# den's guest agent: Bun's runtime running den's bundle (written by den's boot script 25-guestagent.sh).
BUN_BE_BUN=1 exec '$quoted_lib/bun' '$quoted_lib/den-guestagent.js' \"\$@\"
"
# read -d '' stops at the first NUL, so an older den's agent binary costs a few bytes, not 100 MiB.
current=""
if [ -f "$bin" ]; then
	IFS= read -r -d '' current <"$bin" || true
fi
if [ "$current" != "$wrapper" ]; then
	mkdir -p "${bin%/*}"
	printf '%s' "$wrapper" >"$bin.new"
	chmod 0755 "$bin.new"
	mv -f "$bin.new" "$bin"
	den_log "installed /usr/local/bin/den-guestagent"
	changed=1
fi

virtio_port="/dev/virtio-ports/${DEN_CIDATA_VIRTIO_PORT:-io.den.agent.0}"
if [ -e "$root$virtio_port" ]; then
	serve="serve"
elif [ -e "$root/dev/vsock" ]; then
	serve="serve --vsock 2222"
else
	# A QEMU guest whose port has not appeared yet: the agent fails and systemd retries until it does.
	den_log "neither $virtio_port nor /dev/vsock exists: the agent will use the virtio port"
	serve="serve"
fi

# Restart=always: the host agent re-syncs with a restarted agent at once; StartLimitIntervalSec=0 keeps systemd
# retrying an agent whose virtio port appears late instead of giving up after five tries. The low OOMScoreAdjust
# keeps the kernel from killing the agent (and with it every forwarded port) before the workloads that ran the guest
# out of memory, and MemoryLow shields its ~60 MiB resident set (bench agent-idle) from reclaim under pressure.
wanted="[Unit]
Description=den guest agent (port forwarding, file events)
After=network.target
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
current=""
if [ -f "$unit" ]; then
	IFS= read -r -d '' current <"$unit" || true
fi
unit_changed=0
if [ "$current" != "$wanted" ]; then
	mkdir -p "${unit%/*}"
	printf '%s' "$wanted" >"$unit"
	den_log "wrote den-guestagent.service"
	unit_changed=1
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
if [ "$changed" = 1 ] || ! systemctl is-active --quiet den-guestagent.service; then
	systemctl restart den-guestagent.service
	den_log "started den-guestagent.service"
fi
