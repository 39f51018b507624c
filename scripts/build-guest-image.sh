#!/usr/bin/env bash
# Builds den's end-to-end test guest: a cloud-image-like Debian system made only from Debian packages, booted by
# direct kernel boot. Output dir holds disk.qcow2 (ext4 on the whole disk, no partition table), vmlinuz, initrd.img,
# cmdline (the kernel command line), packages.txt and build.log.
#
# The result is cached by content: key = sha256(this script, ARCH, SUITE), published atomically (built in a temp dir
# beside it, renamed when complete) at ${DEN_TEST_CACHE:-/var/cache/den-test}/guest-<key>/. A cached run costs a hash
# and a stat. The last stdout line is always the image dir; progress goes to stderr.
#
# Usage: scripts/build-guest-image.sh            (as root: it needs chroot and bind mounts)
# Env:   ARCH=amd64|arm64 (arm64 goes through qemu-user-static and takes ~15 min)   DEN_TEST_CACHE=<cache root>
#        MIRROR=<Debian mirror URL> (default: the one in this host's apt sources)   SECURITY_MIRROR=<URL>
set -euo pipefail

ARCH=${ARCH:-amd64}
SUITE=bookworm
CACHE_ROOT=${DEN_TEST_CACHE:-/var/cache/den-test}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
KEY=$( { cat "$SELF"; printf '\n%s\n%s\n' "$ARCH" "$SUITE"; } | sha256sum | cut -d' ' -f1)
FINAL=$CACHE_ROOT/guest-$KEY

is_complete() { [[ -s $1/disk.qcow2 && -s $1/vmlinuz && -s $1/initrd.img && -s $1/cmdline ]]; }

# Fast path first: nothing below (root check, apt, locks) is needed to hand out an image that already exists.
if is_complete "$FINAL"; then
  echo "$FINAL"
  exit 0
fi

case $ARCH in
  amd64) KERNEL_PACKAGE=linux-image-amd64 CONSOLE=ttyS0 ;;
  arm64) KERNEL_PACKAGE=linux-image-arm64 CONSOLE=ttyAMA0 ;;
  *) echo "build-guest-image: unsupported ARCH \"$ARCH\" (use amd64 or arm64)" >&2; exit 2 ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "build-guest-image: must run as root (debootstrap, chroot and bind mounts); try: sudo $0" >&2
  exit 2
fi

# A private mount namespace makes leftover mounts impossible even on SIGKILL: they die with the namespace. The EXIT
# trap below still unmounts for the case where unshare is not permitted (some containers).
if [[ -z ${DEN_GUEST_BUILD_UNSHARED:-} ]] && unshare --mount --propagation private true 2>/dev/null; then
  exec env DEN_GUEST_BUILD_UNSHARED=1 unshare --mount --propagation private bash "$SELF" "$@"
fi

T0=$SECONDS
log() { echo "build-guest-image: [$((SECONDS - T0))s] $*" >&2; }

# ---- host tools --------------------------------------------------------------------------------------------------
host_packages=(debootstrap e2fsprogs qemu-utils util-linux coreutils)
[[ $ARCH == arm64 ]] && host_packages+=(qemu-user-static binfmt-support)
missing=()
for package in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  log "installing host packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- mirror: reuse what this host's apt already reaches -------------------------------------------------------------
# Prints the first URI serving suite $1, from deb822 *.sources files or one-line sources.list entries.
apt_mirror_for() {
  local suite=$1 file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    awk -v want="$suite" '
      function flush() { if (uris != "" && (" " suites " ") ~ (" " want " ")) { split(uris, u, " "); print u[1]; found = 1; exit } uris = ""; suites = "" }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "uris:" { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      END { if (!found) flush() }' "$file"
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    # "deb [options] URI suite components..."
    awk -v want="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == want) { print $i; exit } }' "$file"
  done
}
MIRROR=${MIRROR:-$(apt_mirror_for "$SUITE" | awk "NR == 1")}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(apt_mirror_for "$SUITE-security" | awk "NR == 1")}
if [[ -z $MIRROR ]]; then
  echo "build-guest-image: no Debian mirror for \"$SUITE\" in /etc/apt/sources*; set MIRROR=<url>" >&2
  exit 2
fi
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/}-security}

# ---- one builder per key; later arrivals wait and then reuse its result ----------------------------------------------
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/guest-$KEY.lock"
flock 9
if is_complete "$FINAL"; then
  echo "$FINAL"
  exit 0
fi

mounts_under() { awk -v prefix="$1/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }

# Unmounts everything below $1; returns non-zero if something stays mounted, so callers never rm -rf through /dev.
unmount_all() {
  local target
  for target in $(mounts_under "$1"); do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
  done
  [[ -z $(mounts_under "$1") ]]
}

# Leftovers of an interrupted build of this key (the lock says nobody else is building it).
for stale in "$CACHE_ROOT"/.guest-"$KEY".tmp-*; do
  [[ -d $stale ]] || continue
  unmount_all "$stale" && rm -rf "$stale"
done

WORK=$(mktemp -d "$CACHE_ROOT/.guest-$KEY.tmp-XXXXXX")
ROOT=$WORK/rootfs
OUT=$WORK/image
BUILD_LOG=$OUT/build.log
mkdir -p "$ROOT" "$OUT"
: >"$BUILD_LOG"

cleanup() {
  local status=$?
  if ! unmount_all "$WORK"; then
    echo "build-guest-image: could not unmount everything under $WORK; leaving it for inspection" >&2
    return
  fi
  if ((status != 0)) && [[ -s $BUILD_LOG ]]; then
    cp "$BUILD_LOG" "$CACHE_ROOT/guest-$KEY.failed.log" 2>/dev/null || true
    echo "build-guest-image: failed; last lines of the build log (kept at $CACHE_ROOT/guest-$KEY.failed.log):" >&2
    tail -n 30 "$BUILD_LOG" >&2 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command with its output in build.log; the EXIT trap shows the log's tail if it fails.
logged() { "$@" >>"$BUILD_LOG" 2>&1; }
in_root() { logged chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# ---- 1. base system ------------------------------------------------------------------------------------------------
DEB_CACHE=$CACHE_ROOT/debs/$SUITE-$ARCH
mkdir -p "$DEB_CACHE"
log "debootstrap $SUITE/$ARCH from $MIRROR"
if [[ $ARCH == amd64 ]]; then
  logged debootstrap --variant=minbase --cache-dir="$DEB_CACHE" "$SUITE" "$ROOT" "$MIRROR"
else
  # binfmt entries with the F flag keep the emulator open, so nothing has to be copied into the chroot.
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
  logged debootstrap --arch="$ARCH" --foreign --variant=minbase --cache-dir="$DEB_CACHE" "$SUITE" "$ROOT" "$MIRROR"
  logged chroot "$ROOT" /debootstrap/debootstrap --second-stage
fi

# ---- 2. package configuration ----------------------------------------------------------------------------------------
# debootstrap only knows "$SUITE main"; without updates and security the kernel stays at the release version.
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/01-den-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
cat >"$ROOT/etc/apt/apt.conf.d/01-den-norecommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
# No daemon may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"

# MODULES=dep would inspect the build host, so list what finding root and the seed CD needs. The modules are in the
# initrd so the devices exist before ds-identify (a systemd generator) looks for the NoCloud seed.
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
echo "MODULES=list" >"$ROOT/etc/initramfs-tools/conf.d/den-modules"
echo "COMPRESS=gzip" >"$ROOT/etc/initramfs-tools/conf.d/den-compress"
cat >"$ROOT/etc/initramfs-tools/modules" <<'EOF'
virtio_pci
virtio_mmio
virtio_blk
virtio_scsi
virtio_net
virtio_console
virtio_rng
ext4
crc32c_generic
sr_mod
isofs
ata_piix
ahci
EOF

mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
# apt's downloads persist in the cache root, so a rebuild after a script edit does not fetch them again.
APT_CACHE=$CACHE_ROOT/apt-archives/$SUITE-$ARCH
mkdir -p "$APT_CACHE/partial" "$ROOT/var/cache/apt/archives"
mount --bind "$APT_CACHE" "$ROOT/var/cache/apt/archives"
# systemd-resolved replaces resolv.conf with a symlink into /run; apt in the chroot needs the host's resolver now.
rm -f "$ROOT/etc/resolv.conf"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

guest_packages=(
  systemd-sysv udev dbus "$KERNEL_PACKAGE" kmod
  cloud-init python3 openssh-server openssh-sftp-server sudo
  systemd-resolved iproute2 ca-certificates
  sshfs fuse3 e2fsprogs procps netcat-openbsd
  # As on a real cloud image: logind sessions start the user's systemd (den's user provisioning waits for it),
  # and inotify-tools lets the file-event tests watch from inside the guest.
  libpam-systemd dbus-user-session inotify-tools
)
log "apt-get install ${#guest_packages[@]} packages"
in_root apt-get update -q
in_root apt-get install -y -q "${guest_packages[@]}"

# ---- 3. kernel and initrd ------------------------------------------------------------------------------------------
KVER=$(find "$ROOT/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
[[ -n $KVER ]] || { echo "build-guest-image: no kernel modules in the rootfs" >&2; exit 1; }
log "prune kernel $KVER and build the initrd"
# Hardware a QEMU guest never has; this is most of the generic kernel's module weight.
modules=$ROOT/lib/modules/$KVER/kernel
prune=(
  sound
  drivers/{gpu,media,infiniband,net/wireless,net/ethernet,staging,bluetooth,isdn,iio,hwmon,mmc,usb/serial,usb/gadget}
  drivers/{input/touchscreen,input/joystick,input/misc,platform/x86,nfc,thunderbolt,fpga,misc,mtd,w1,leds}
  drivers/{power/supply,comedi,net/can,net/usb,watchdog,spi,i2c,pinctrl,regulator,video,hid}
  net/{wireless,mac80211,bluetooth,nfc,can}
  fs/{ocfs2,gfs2,nilfs2,ubifs,jfs,reiserfs,f2fs,btrfs,xfs,ntfs3,cifs,smbfs,nfs,nfsd,ceph,afs,coda,dlm,orangefs}
  fs/{hfs,hfsplus,ufs,jffs2,erofs}
)
for dir in "${prune[@]}"; do rm -rf "${modules:?}/$dir"; done
in_root depmod -a "$KVER"
in_root update-initramfs -u -k "$KVER"
initrd_listing=$(chroot "$ROOT" lsinitramfs "/boot/initrd.img-$KVER")
for module in virtio_blk virtio_scsi virtio_pci sr_mod isofs ext4; do
  grep -q "/$module\.ko" <<<"$initrd_listing" || { echo "build-guest-image: initrd lacks $module.ko" >&2; exit 1; }
done

# ---- 4. guest configuration ------------------------------------------------------------------------------------------
log "configure the guest"
echo "LABEL=rootfs / ext4 defaults,discard,errors=remount-ro 0 1" >"$ROOT/etc/fstab"
echo "LANG=C.UTF-8" >"$ROOT/etc/default/locale"
echo localhost >"$ROOT/etc/hostname"

mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-den-test-guest.cfg" <<'EOF'
# den test guest: the seed is always a NoCloud "cidata" volume.
datasource_list: [NoCloud, None]
locale: C.UTF-8
# Every extra host key type costs seconds of emulated CPU at first boot; den's ssh needs only ed25519.
ssh_genkeytypes: [ed25519]
# Each module is paid for under TCG, so only what a den guest uses stays.
cloud_init_modules:
 - migrator
 - seed_random
 - bootcmd
 - write-files
 - growpart
 - resizefs
 - disk_setup
 - mounts
 - set_hostname
 - update_hostname
 - update_etc_hosts
 - ca-certs
 - users-groups
 - ssh
cloud_config_modules:
 - locale
 - set-passwords
 - apt-configure
 - timezone
 - runcmd
cloud_final_modules:
 - package-update-upgrade-install
 - write-files-deferred
 - scripts-vendor
 - scripts-per-once
 - scripts-per-boot
 - scripts-per-instance
 - scripts-user
 - final-message
 - power-state-change
EOF
# A seed device that shows up after the generator ran must not leave cloud-init disabled for the whole boot.
cat >"$ROOT/etc/cloud/ds-identify.cfg" <<'EOF'
policy: search,found=all,maybe=all,notfound=enabled
EOF

# Neither ifupdown nor netplan is installed, so cloud-init renders systemd-networkd files.
in_root systemctl enable systemd-networkd.service systemd-resolved.service
cat >"$ROOT/etc/systemd/network/99-den-default-dhcp.network" <<'EOF'
# Used only when the seed carries no network-config.
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
mkdir -p "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d/den-any.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30
EOF
# LLMNR and mDNS listeners would show up in /proc/net/tcp as ports to forward.
mkdir -p "$ROOT/etc/systemd/resolved.conf.d"
printf '[Resolve]\nLLMNR=no\nMulticastDNS=no\n' >"$ROOT/etc/systemd/resolved.conf.d/den.conf"
mkdir -p "$ROOT/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$ROOT/etc/systemd/journald.conf.d/den-volatile.conf"
# Units that only cost boot time in a throw-away guest.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  dpkg-db-backup.timer getty@tty1.service systemd-timesyncd.service; do
  in_root systemctl mask "$unit"
done

# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n' >"$OUT/packages.txt"
python_version=$(chroot "$ROOT" python3 --version)
cloud_init_version=$(chroot "$ROOT" cloud-init --version 2>&1)
log "guest has $python_version, $cloud_init_version"

# ---- 5. make it a golden image: no identity, no caches ---------------------------------------------------------------
cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$OUT/initrd.img"
unmount_all "$ROOT" || { echo "build-guest-image: cannot unmount the chroot's mounts" >&2; exit 1; }
rm -rf "$ROOT"/var/cache/apt/archives/* "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/debconf/*-old \
  "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/etc/ssh/ssh_host_* "$ROOT"/usr/sbin/policy-rc.d \
  "$ROOT"/var/lib/cloud/* "$ROOT"/usr/bin/qemu-aarch64-static "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/var/cache/*/*.bin
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$ROOT/etc/resolv.conf"

# ---- 6. disk image, without loop devices -----------------------------------------------------------------------------
log "mkfs.ext4 and qemu-img convert"
# The whole disk is the filesystem, so cloud-init's resizefs grows it to the overlay's size with no partition to move.
logged mkfs.ext4 -q -F -L rootfs -E root_owner=0:0 -d "$ROOT" "$WORK/disk.raw" 2G
logged qemu-img convert -c -O qcow2 "$WORK/disk.raw" "$OUT/disk.qcow2"
rm -f "$WORK/disk.raw"
echo "root=/dev/vda rw console=$CONSOLE" >"$OUT/cmdline"
rm -rf "$ROOT"

is_complete "$OUT" || { echo "build-guest-image: incomplete output in $OUT" >&2; exit 1; }
mv -T "$OUT" "$FINAL"
log "done: $(du -sh "$FINAL/disk.qcow2" | cut -f1) disk.qcow2 (kernel $KVER)"
echo "$FINAL"
