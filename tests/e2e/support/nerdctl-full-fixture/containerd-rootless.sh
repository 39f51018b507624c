#!/bin/sh
# den's test fixture: a small stand-in for nerdctl's containerd-rootless.sh. It runs containerd as the user inside a
# user namespace made by rootlesskit (mapping the user's /etc/subuid range through newuidmap), with the socket, state,
# data and config under the user's XDG folders, so nothing needs root. Debian's slirp4netns is linked against
# libslirp0, which the test guest may lack: without a working slirp4netns the namespace shares the host network.
set -eu

: "${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR needs to be set}"
state="$XDG_RUNTIME_DIR/containerd"
data="${XDG_DATA_HOME:-$HOME/.local/share}/containerd"
config="${XDG_CONFIG_HOME:-$HOME/.config}/containerd/config.toml"
rootlesskit_state="$XDG_RUNTIME_DIR/containerd-rootless"
mkdir -p "$state" "$data"
# A state folder left by a killed rootlesskit makes the next one refuse to start.
rm -rf "$rootlesskit_state"

set -- --state-dir="$rootlesskit_state"
if slirp4netns --version >/dev/null 2>&1; then
	set -- "$@" --net=slirp4netns --mtu=65520 --disable-host-loopback
else
	set -- "$@" --net=host
fi
exec rootlesskit "$@" containerd --config "$config" --address "$state/containerd.sock" --root "$data" --state "$state"
