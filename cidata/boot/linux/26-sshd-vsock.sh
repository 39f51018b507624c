#!/bin/bash
# Makes sshd reachable on vsock port 22 when the guest has vsock (VZ): the den VZ helper listens on the host's SSH
# port and connects each connection there, so SSH needs no guest network. systemd accepts on the vsock socket and
# runs one `sshd -i` per connection, so this does not depend on systemd 256's ssh generator; where that generator
# already made its own sshd-vsock.socket for port 22, it is left to serve it.
set -eu

root="${DEN_BOOT_ROOT:-}"
socket_unit="$root/etc/systemd/system/den-sshd-vsock.socket"
service_unit="$root/etc/systemd/system/den-sshd-vsock@.service"

if [ ! -e "$root/dev/vsock" ]; then
	exit 0
fi

if [ -e "$root/run/systemd/generator/sshd-vsock.socket" ]; then
	den_log "systemd serves sshd on vsock port 22 itself (sshd-vsock.socket)"
	if [ -f "$socket_unit" ]; then
		rm -f "$socket_unit" "$service_unit"
		if den_real_guest; then
			systemctl disable --now den-sshd-vsock.socket 2>/dev/null || true
			systemctl daemon-reload
		fi
	fi
	exit 0
fi

sshd=""
for candidate in /usr/sbin/sshd /usr/bin/sshd /sbin/sshd; do
	if [ -x "$root$candidate" ]; then
		sshd="$candidate"
		break
	fi
done
if [ -z "$sshd" ]; then
	den_log "WARNING no sshd in the guest: SSH over vsock is not set up"
	exit 1
fi

# RuntimeDirectoryPreserve: every connection is its own service instance, and one that ends must not remove
# /run/sshd (privilege separation) from under the others and the main sshd.
wanted_socket="[Unit]
Description=den: sshd on vsock port 22

[Socket]
ListenStream=vsock::22
Accept=yes

[Install]
WantedBy=sockets.target"
wanted_service="[Unit]
Description=den: sshd for one vsock connection

[Service]
ExecStart=-$sshd -i
StandardInput=socket
RuntimeDirectory=sshd
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=yes"

changed=0
write_unit() {
	local path="$1" text="$2"
	if [ ! -f "$path" ] || [ "$text" != "$(cat "$path")" ]; then
		mkdir -p "$(dirname "$path")"
		printf '%s\n' "$text" >"$path"
		den_log "wrote ${path#"$root"}"
		changed=1
	fi
}
write_unit "$socket_unit" "$wanted_socket"
write_unit "$service_unit" "$wanted_service"

den_real_guest || exit 0
if [ ! -d /run/systemd/system ]; then
	den_log "WARNING no systemd: sshd is not reachable over vsock"
	exit 1
fi
systemctl daemon-reload
systemctl enable den-sshd-vsock.socket 2>/dev/null
if [ "$changed" = 1 ] || ! systemctl is-active --quiet den-sshd-vsock.socket; then
	systemctl restart den-sshd-vsock.socket
	den_log "started den-sshd-vsock.socket"
fi
