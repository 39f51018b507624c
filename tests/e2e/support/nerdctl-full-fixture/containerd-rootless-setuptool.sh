#!/bin/sh
# den's test fixture: a small stand-in for nerdctl's containerd-rootless-setuptool.sh, which cannot be downloaded on
# the machine the end-to-end tests run on. Like the real one it sets up a systemd --user unit that runs containerd
# under rootlesskit (see containerd-rootless.sh next to it); it knows only `install` and `uninstall`. The fixture has
# no BuildKit or stargz, so `install-buildkit-containerd` and `install-stargz` are refused, never faked.
set -eu

bin_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
unit="$unit_dir/containerd.service"

case "${1:-}" in
install)
	[ -n "${XDG_RUNTIME_DIR:-}" ] || { echo "containerd-rootless-setuptool.sh: XDG_RUNTIME_DIR needs to be set" >&2; exit 1; }
	command -v newuidmap >/dev/null 2>&1 || { echo "containerd-rootless-setuptool.sh: newuidmap is missing (install uidmap)" >&2; exit 1; }
	grep -q "^$(id -un):" /etc/subuid || { echo "containerd-rootless-setuptool.sh: /etc/subuid has no range for $(id -un)" >&2; exit 1; }
	mkdir -p "$unit_dir"
	cat >"$unit" <<UNIT
[Unit]
Description=containerd (Rootless; den test stand-in)

[Service]
Environment=PATH=$bin_dir:/sbin:/usr/sbin:/usr/local/bin:/usr/bin:/bin
ExecStart=$bin_dir/containerd-rootless.sh
ExecReload=/bin/kill -s HUP \$MAINPID
Restart=always
RestartSec=2
Delegate=yes
Type=simple
KillMode=mixed

[Install]
WantedBy=default.target
UNIT
	systemctl --user daemon-reload
	systemctl --user enable --now containerd.service
	socket="$XDG_RUNTIME_DIR/containerd/containerd.sock"
	tries=0
	until [ -S "$socket" ]; do
		tries=$((tries + 1))
		if [ "$tries" -gt 60 ]; then
			echo "containerd-rootless-setuptool.sh: $socket did not appear in 60 s" >&2
			journalctl --user -u containerd.service -n 20 --no-pager >&2 || true
			exit 1
		fi
		sleep 1
	done
	echo "Installed containerd.service successfully (den test stand-in; socket $socket)"
	;;
uninstall)
	systemctl --user disable --now containerd.service 2>/dev/null || true
	rm -f "$unit"
	systemctl --user daemon-reload
	echo "Uninstalled containerd.service"
	;;
*)
	echo "containerd-rootless-setuptool.sh (den test stand-in): \"${1:-}\" is not supported; only install and uninstall" >&2
	exit 1
	;;
esac
