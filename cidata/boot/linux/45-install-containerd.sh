#!/bin/bash
# containerd from den's nerdctl-full archive, as Lima's boot script sets it up: the archive is extracted into the guest
# install prefix (/usr/local) unless the same archive is already there; a system containerd (and BuildKit, when the
# archive has it) runs from the archive's own systemd units; a rootless one is installed for the guest user with the
# archive's containerd-rootless-setuptool.sh.
# The archive (~250 MB) is not in the seed: it travels on a read-only ISO disk labelled DENCONTAINERD (files
# nerdctl-full.tgz and nerdctl-full.tgz.sha256), and the seed names only its sha256 (DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256).
# This runs on every boot, where under TCG hashing 250 MB takes long: the installed archive is known by that sha256,
# kept in a marker file, so a boot with the same archive compares two lines and mounts nothing. Only when they differ
# is the disk mounted read-only, its nerdctl-full.tgz.sha256 checked against the seed's, the archive extracted, and
# the disk unmounted again.
# DEN_CONTAINERD_MNT (for tests) names a folder holding the disk's files, used instead of mounting the disk.
# boot.sh runs it with bash, which brings den_log. Every failure is a WARNING line and a non-zero exit, so it shows in
# cloud-init-output.log and boot.sh's summary; nothing is skipped quietly.
set -eu

system="${DEN_CIDATA_CONTAINERD_SYSTEM:-}"
user_mode="${DEN_CIDATA_CONTAINERD_USER:-}"
if [ "$system" != 1 ] && [ "$user_mode" != 1 ]; then
	exit 0
fi

root="${DEN_BOOT_ROOT:-}"
user="${DEN_CIDATA_USER:?}"
uid="${DEN_CIDATA_UID:?}"
home="$root${DEN_CIDATA_HOME:-/home/$user}"
guest_prefix="${DEN_CIDATA_GUEST_INSTALL_PREFIX:-/usr/local}"
prefix="$root$guest_prefix"
name="${DEN_CIDATA_CONTAINERD_ARCHIVE:-}"
sum="${DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256:-}"
marker="$prefix/share/den/containerd-archive.sha256"
: "${CONTAINERD_NAMESPACE:=default}"
: "${CONTAINERD_SNAPSHOTTER:=overlayfs}"

fail() {
	den_log "WARNING containerd: $*"
	echo "den: containerd: $*" >&2
	exit 1
}

if [ -z "$name" ] || [[ ! "$sum" =~ ^[0-9a-f]{64}$ ]]; then
	fail "containerd.system or containerd.user is on, but the seed names no archive (DEN_CIDATA_CONTAINERD_ARCHIVE=${name:-<empty>}, DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256=${sum:-<empty>}); den start attaches it, see the host agent log"
fi
if den_real_guest && ! command -v systemctl >/dev/null 2>&1; then
	fail "containerd needs systemd, and this guest has no systemctl"
fi

# The user's commands run in a login shell of the user, with the runtime folder the user's systemd manager serves.
as_user() {
	sudo -iu "$user" "XDG_RUNTIME_DIR=/run/user/$uid" "PATH=$guest_prefix/bin:$guest_prefix/sbin:$PATH" \
		"CONTAINERD_NAMESPACE=$CONTAINERD_NAMESPACE" "CONTAINERD_SNAPSHOTTER=$CONTAINERD_SNAPSHOTTER" "$@"
}

# ---- the DENCONTAINERD disk, mounted only to install ------------------------------------------------------------
mounted=""
# Unmounts the disk however the script ends.
release_disk() {
	if [ -n "$mounted" ]; then
		umount "$mounted" || den_log "WARNING containerd: cannot unmount the DENCONTAINERD disk from ${mounted#"$root"}"
		rmdir "$mounted" 2>/dev/null || true
		mounted=""
	fi
}

# Sets disk to the folder holding the disk's files, mounting the disk read-only when needed, and checks that it
# carries the archive the seed names.
open_archive_disk() {
	local dev="$root/dev/disk/by-label/DENCONTAINERD" out disk_sum=""
	if [ -n "${DEN_CONTAINERD_MNT:-}" ]; then
		disk="$DEN_CONTAINERD_MNT"
	else
		# udev makes the by-label link; blkid finds the disk without it.
		if [ ! -e "$dev" ]; then
			dev="$(blkid -L DENCONTAINERD 2>/dev/null)" || dev=""
		fi
		[ -n "$dev" ] || fail "no disk labelled DENCONTAINERD (den's containerd archive, sha256 $sum) is attached; den start attaches it, see the host agent log"
		disk="$root/run/den/containerd"
		mkdir -p "$disk"
		trap release_disk EXIT
		if ! out="$(mount -t iso9660 -o ro "$dev" "$disk" 2>&1)"; then
			rmdir "$disk" 2>/dev/null || true
			fail "cannot mount the DENCONTAINERD disk ${dev#"$root"} (containerd archive sha256 $sum): ${out:-mount failed}"
		fi
		mounted="$disk"
	fi
	if [ -f "$disk/$name.sha256" ]; then
		read -r disk_sum _ <"$disk/$name.sha256" || true
	fi
	if [ ! -f "$disk/$name" ] || [ "$disk_sum" != "$sum" ]; then
		fail "the DENCONTAINERD disk does not carry the containerd archive the seed names ($name, sha256 $sum; the disk's $name.sha256: ${disk_sum:-none})"
	fi
}

# ---- install the archive, once per archive ----------------------------------------------------------------------
installed=""
if [ -f "$marker" ]; then
	read -r installed <"$marker" || true
fi
if [ "$installed" = "$sum" ]; then
	den_log "containerd archive sha256:$sum is already installed in $guest_prefix: skipped extraction"
else
	disk=""
	open_archive_disk
	if [ -n "$installed" ] && den_real_guest; then
		# Another archive was installed before: stop what runs from it, and uninstall the rootless setup so the
		# install below writes its units again (as Lima does on an upgrade). Best effort: the old files may be gone.
		den_log "replacing containerd archive sha256:$installed"
		systemctl disable --now containerd buildkit stargz-snapshotter >/dev/null 2>&1 || true
		if [ -e "$home/.config/systemd/user/containerd.service" ]; then
			as_user containerd-rootless-setuptool.sh uninstall-buildkit-containerd >/dev/null 2>&1 || true
			as_user containerd-rootless-setuptool.sh uninstall >/dev/null 2>&1 || true
		fi
	fi
	mkdir -p "$prefix"
	tar -C "$prefix" -xf "$disk/$name" || fail "cannot extract $name (sha256 $sum) from the DENCONTAINERD disk into $guest_prefix"
	release_disk
	mkdir -p "$(dirname "$marker")"
	printf '%s\n' "$sum" >"$marker.new"
	mv -f "$marker.new" "$marker"
	den_log "installed containerd archive sha256:$sum into $guest_prefix"
	if den_real_guest && [ -x "$prefix/bin/nerdctl" ]; then
		mkdir -p /etc/bash_completion.d
		"$prefix/bin/nerdctl" completion bash >/etc/bash_completion.d/nerdctl || den_log "WARNING containerd: nerdctl completion bash failed"
	fi
fi

has_buildkit=""
if [ -x "$prefix/bin/buildkitd" ]; then
	has_buildkit=1
fi
has_stargz=""
if [ -x "$prefix/bin/containerd-stargz-grpc" ]; then
	has_stargz=1
fi

# ---- system containerd ------------------------------------------------------------------------------------------
if [ "$system" = 1 ]; then
	if [ ! -e "$root/etc/containerd/config.toml" ]; then
		mkdir -p "$root/etc/containerd"
		cat >"$root/etc/containerd/config.toml" <<EOF
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
[proxy_plugins]
  [proxy_plugins."stargz"]
    type = "snapshot"
    address = "/run/containerd-stargz-grpc/containerd-stargz-grpc.sock"
EOF
		den_log "wrote /etc/containerd/config.toml"
	fi
	units="containerd"
	if [ -n "$has_buildkit" ]; then
		units="$units buildkit"
		if [ ! -e "$root/etc/buildkit/buildkitd.toml" ]; then
			mkdir -p "$root/etc/buildkit"
			cat >"$root/etc/buildkit/buildkitd.toml" <<EOF
[worker.oci]
  enabled = false

[worker.containerd]
  enabled = true
  namespace = "$CONTAINERD_NAMESPACE"
  snapshotter = "$CONTAINERD_SNAPSHOTTER"
EOF
			den_log "wrote /etc/buildkit/buildkitd.toml"
		fi
	fi
	if [ -n "$has_stargz" ]; then
		units="$units stargz-snapshotter"
	fi
	for unit in $units; do
		[ -f "$prefix/lib/systemd/system/$unit.service" ] || fail "the archive has no lib/systemd/system/$unit.service"
	done
	if den_real_guest; then
		# systemd reads units from /usr/local/lib/systemd/system; another prefix gets links in /etc/systemd/system.
		if [ "$guest_prefix" != /usr/local ]; then
			for unit in $units; do
				ln -sf "$prefix/lib/systemd/system/$unit.service" "/etc/systemd/system/$unit.service"
			done
		fi
		systemctl daemon-reload
		# shellcheck disable=SC2086 # one word per unit
		systemctl enable --now $units || fail "systemctl enable --now $units failed (journalctl -u containerd says why)"
		den_log "system containerd is running ($units)"
	fi
fi

# ---- rootless containerd for the user ---------------------------------------------------------------------------
if [ "$user_mode" = 1 ]; then
	if [ ! -e "$home/.config/containerd/config.toml" ]; then
		mkdir -p "$home/.config/containerd"
		cat >"$home/.config/containerd/config.toml" <<EOF
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
[proxy_plugins]
  [proxy_plugins."fuse-overlayfs"]
    type = "snapshot"
    address = "/run/user/$uid/containerd-fuse-overlayfs.sock"
  [proxy_plugins."stargz"]
    type = "snapshot"
    address = "/run/user/$uid/containerd-stargz-grpc/containerd-stargz-grpc.sock"
EOF
		if den_real_guest; then
			chown -R "$user" "$home/.config"
		fi
		den_log "wrote ${home#"$root"}/.config/containerd/config.toml"
	fi
	[ -x "$prefix/bin/containerd-rootless-setuptool.sh" ] || fail "the archive has no bin/containerd-rootless-setuptool.sh"
	den_real_guest || exit 0
	# Ubuntu 23.10 and later restrict unprivileged user namespaces through AppArmor; rootlesskit needs one.
	if [ ! -e /etc/apparmor.d/usr.local.bin.rootlesskit ] && [ -e /etc/apparmor.d/abi/4.0 ] && [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
		cat >/etc/apparmor.d/usr.local.bin.rootlesskit <<EOF
abi <abi/4.0>,
include <tunables/global>

$guest_prefix/bin/rootlesskit flags=(unconfined) {
  userns,

  include if exists <local/usr.local.bin.rootlesskit>
}
EOF
		systemctl restart apparmor.service || fail "cannot reload AppArmor for rootlesskit"
	fi
	if [ -e "$home/.config/systemd/user/containerd.service" ]; then
		den_log "rootless containerd is already set up for $user"
		exit 0
	fi
	waited=0
	until [ -e "/run/user/$uid/systemd/private" ]; do
		[ "$waited" -lt 120 ] || fail "the systemd user manager of $user did not come up in 120 s"
		sleep 1
		waited=$((waited + 1))
	done
	if [ "$(as_user systemctl --user show --property=RefuseManualStart --value dbus 2>/dev/null)" != yes ]; then
		as_user systemctl --user enable --now dbus >/dev/null 2>&1 || true
	fi
	as_user containerd-rootless-setuptool.sh install || fail "containerd-rootless-setuptool.sh install failed for $user"
	if [ -n "$has_buildkit" ]; then
		as_user containerd-rootless-setuptool.sh install-buildkit-containerd || fail "containerd-rootless-setuptool.sh install-buildkit-containerd failed for $user"
	fi
	if [ -n "$has_stargz" ]; then
		as_user containerd-rootless-setuptool.sh install-stargz || fail "containerd-rootless-setuptool.sh install-stargz failed for $user"
	fi
	den_log "rootless containerd is set up for $user"
fi
