#!/bin/bash
# Installs what den itself needs in the guest, and nothing when it is all there already: guests often have
# no route to a package mirror, and then merely calling `apt-get update` fails the boot. The user's
# `mode: dependency` scripts run first, so they can set up mirrors or install the packages themselves.
set -eu

code=0

# The user's scripts and the package manager must not run beside cloud-init's config stage (apt sources, debconf).
if [ -d "${DEN_CIDATA_MNT:?}/provision.dependency" ]; then
	den_after_cloud_config
	for f in "$DEN_CIDATA_MNT"/provision.dependency/*; do
		[ -f "$f" ] || continue
		den_log "running provision.dependency/$(basename "$f")"
		rc=0
		"$f" || rc=$?
		if [ "$rc" != 0 ]; then
			den_log "WARNING provision.dependency/$(basename "$f") failed (exit $rc)"
			code=1
		fi
	done
fi

if [ "${DEN_CIDATA_SKIP_DEFAULT_DEPENDENCY_RESOLUTION:-}" = 1 ]; then
	den_log "skipping default package installation (skipDefaultDependencyResolution)"
	exit "$code"
fi

# reverse-sshfs is the only mount type that needs guest packages: sshfs, and fuse3 for fusermount3.
reverse_sshfs=0
for ((i = 0; i < ${DEN_CIDATA_MOUNTS:-0}; i++)); do
	type_var="DEN_CIDATA_MOUNTS_${i}_TYPE"
	if [ "${!type_var:-}" = reverse-sshfs ]; then
		reverse_sshfs=1
	fi
done

need_sshfs=0
need_fuse=0
if [ "$reverse_sshfs" = 1 ]; then
	command -v sshfs >/dev/null 2>&1 || need_sshfs=1
	command -v fusermount3 >/dev/null 2>&1 || command -v fusermount >/dev/null 2>&1 || need_fuse=1
fi
# As Lima: containerd wants iptables (container networks), and the rootless one newuidmap/newgidmap (uidmap),
# fuse3 and the user's D-Bus session.
need_iptables=0
need_uidmap=0
if [ "${DEN_CIDATA_CONTAINERD_SYSTEM:-}" = 1 ] || [ "${DEN_CIDATA_CONTAINERD_USER:-}" = 1 ]; then
	command -v iptables >/dev/null 2>&1 || need_iptables=1
fi
if [ "${DEN_CIDATA_CONTAINERD_USER:-}" = 1 ]; then
	command -v newuidmap >/dev/null 2>&1 || need_uidmap=1
	command -v fusermount3 >/dev/null 2>&1 || need_fuse=1
fi
if [ "$need_sshfs" = 0 ] && [ "$need_fuse" = 0 ] && [ "$need_iptables" = 0 ] && [ "$need_uidmap" = 0 ]; then
	den_log "required packages are present"
	exit "$code"
fi

# zypper is tried before apt-get: openSUSE ships an `apt-get` wrapper script that does not take apt's options.
manager=""
for candidate in zypper apt-get dnf apk pacman; do
	if command -v "$candidate" >/dev/null 2>&1; then
		manager="$candidate"
		break
	fi
done

pkgs=()
if [ "$need_sshfs" = 1 ]; then
	# Fedora and EL name the package fuse-sshfs.
	if [ "$manager" = dnf ]; then pkgs+=(fuse-sshfs); else pkgs+=(sshfs); fi
fi
if [ "$need_fuse" = 1 ]; then
	pkgs+=(fuse3)
fi
if [ "$need_iptables" = 1 ]; then
	pkgs+=(iptables)
fi
if [ "$need_uidmap" = 1 ]; then
	# Fedora, EL and openSUSE ship newuidmap in shadow-utils / shadow; Alpine and Arch in shadow-uidmap / shadow.
	case "$manager" in
	dnf) pkgs+=(shadow-utils) ;;
	zypper | pacman) pkgs+=(shadow) ;;
	apk) pkgs+=(shadow-uidmap) ;;
	*) pkgs+=(uidmap dbus-user-session) ;;
	esac
fi

den_after_cloud_config
den_log "installing ${pkgs[*]} with ${manager:-no package manager}"
case "$manager" in
zypper)
	zypper --non-interactive install --no-recommends "${pkgs[@]}" || code=1
	;;
apt-get)
	export DEBIAN_FRONTEND=noninteractive
	if apt-get update -q; then
		apt-get install -y -q --no-upgrade --no-install-recommends "${pkgs[@]}" || code=1
	else
		code=1
	fi
	;;
dnf)
	# fuse-sshfs lives in EPEL on EL clones; Fedora has it in its main repository.
	if ! dnf install -y --setopt=install_weak_deps=False "${pkgs[@]}"; then
		dnf install -y --setopt=install_weak_deps=False --enablerepo=epel "${pkgs[@]}" || code=1
	fi
	;;
apk)
	if apk update; then
		apk add "${pkgs[@]}" || code=1
	else
		code=1
	fi
	;;
pacman)
	pacman -Sy --noconfirm --needed "${pkgs[@]}" || code=1
	;;
*)
	den_log "WARNING no known package manager (zypper, apt-get, dnf, apk, pacman); reverse-sshfs mounts will fail"
	code=1
	;;
esac
if [ "$code" != 0 ]; then
	den_log "WARNING package installation failed"
fi
exit "$code"
