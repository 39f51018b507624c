#!/bin/bash
# Installs den's guest agent from the seed as /usr/local/bin/den-guestagent and runs it as den-guestagent.service.
# The binary is replaced only when it changed (it is ~100 MiB), through a temporary file and a rename, so a running
# agent keeps its old inode; the service is restarted whenever the binary or the unit changed. boot.sh skips
# boot/linux in plain mode, and a seed without the agent (a den built without one) skips this step with a warning.
# The agent serves the host over the virtio-serial port when the VM has one (QEMU), else over vsock port 2222 (VZ,
# where the den VZ helper connects to it); the unit is rewritten, and the agent restarted, when that changes.
set -eu

root="${DEN_BOOT_ROOT:-}"
src="${DEN_CIDATA_MNT:?}/den-guestagent"
bin="$root/usr/local/bin/den-guestagent"
unit="$root/etc/systemd/system/den-guestagent.service"

if [ ! -f "$src" ]; then
	# The host agent warns about a den without an agent; nothing to install here.
	den_log "no den-guestagent in the seed: skipped"
	exit 0
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

changed=0
if ! cmp -s "$src" "$bin"; then
	mkdir -p "$(dirname "$bin")"
	cp "$src" "$bin.new"
	chmod 0755 "$bin.new"
	mv -f "$bin.new" "$bin"
	den_log "installed /usr/local/bin/den-guestagent"
	changed=1
fi

# Restart=always: the host agent re-syncs with a restarted agent at once. The low OOMScoreAdjust keeps the kernel
# from killing the agent (and with it every forwarded port) before the workloads that ran the guest out of memory.
wanted="[Unit]
Description=den guest agent (port forwarding, file events)
After=network.target

[Service]
ExecStart=/usr/local/bin/den-guestagent $serve
Restart=always
RestartSec=1
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target"
if [ ! -f "$unit" ] || [ "$wanted" != "$(cat "$unit")" ]; then
	mkdir -p "$(dirname "$unit")"
	printf '%s\n' "$wanted" >"$unit"
	den_log "wrote den-guestagent.service"
	changed=1
fi

den_real_guest || exit 0
if [ ! -d /run/systemd/system ]; then
	den_log "WARNING no systemd: den-guestagent is not started"
	exit 1
fi
systemctl daemon-reload
systemctl enable den-guestagent.service 2>/dev/null
if [ "$changed" = 1 ] || ! systemctl is-active --quiet den-guestagent.service; then
	systemctl restart den-guestagent.service
	den_log "started den-guestagent.service"
fi
