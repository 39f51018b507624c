#!/bin/bash
# Installs den-boot-early.service, which on a later boot runs den's boot scripts beside cloud-init's init stage instead
# of after it. den gives every start a new instance-id (as Lima does), so cloud-init's init stage runs in full on every
# boot: under TCG it takes another 11-13 s after cloud-init-local, and sshd starts only after it. den-boot.service
# (bootcmd, see cidata/user-data.ts) can only start once that stage is done; this unit starts as soon as
# cloud-init-local has read the seed, so the scripts are done by the time sshd listens.
# The unit runs cloud-init's per-boot hook, which runs boot.sh only when the seed carries DEN_CIDATA_BOOT_BESIDE_INIT=1
# (den leaves it out when packages are upgraded at boot or `mode: boot` scripts must run first, as both do in
# cloud-init's stages) and an earlier boot applied the same user-data (so users, fstab, hostname and SSH are already as
# cloud-init will set them); otherwise it leaves the boot to den-boot.service or the per-boot stage. boot.sh then waits
# for the init stage where something needs it (den_after_cloud_init).
# Ordering: After=cloud-init-local.service, not beside it, because that stage mounts the seed itself and renders the
# network from it. No ordering against cloud-init.service and DefaultDependencies=no (no sysinit.target): boot.sh waits
# for cloud-init's stages by starting them, which would deadlock if a stage waited for this unit. Type=exec: nothing
# waits for the scripts through this unit; the host agent reads their markers.
# The unit is linked into multi-user.target.wants by hand (`systemctl enable` is slow under TCG) and only read at the
# next boot, so no daemon-reload is needed. A seed without the line removes the unit again. systemd guests only.
set -eu

root="${DEN_BOOT_ROOT:-}"
unit="$root/etc/systemd/system/den-boot-early.service"
wants="$root/etc/systemd/system/multi-user.target.wants/den-boot-early.service"
hook=/var/lib/cloud/scripts/per-boot/00-den.boot.sh

[ -d "$root/run/systemd/system" ] || exit 0

if [ "${DEN_CIDATA_BOOT_BESIDE_INIT:-}" != 1 ] || ! command -v flock >/dev/null 2>&1; then
	if [ -e "$unit" ] || [ -L "$wants" ]; then
		rm -f "$unit" "$wants"
		den_log "removed den-boot-early.service (this configuration runs the boot scripts after cloud-init's init stage)"
	fi
	exit 0
fi

wanted="[Unit]
Description=den boot scripts, beside cloud-init's init stage (written by den's boot script 08-boot-beside-init.sh)
DefaultDependencies=no
After=local-fs.target cloud-init-local.service
Before=shutdown.target
Conflicts=shutdown.target
ConditionPathExists=$hook

[Service]
Type=exec
Environment=DEN_BOOT_EARLY=1 DEN_BOOT_BESIDE_INIT=1
ExecStart=/bin/sh -c '$hook 2>&1 | tee -a /var/log/cloud-init-output.log'
StandardOutput=journal+console
SyslogIdentifier=den-boot

[Install]
WantedBy=multi-user.target
"
if den_write_if_changed "$unit" "$wanted"; then
	den_log "wrote /etc/systemd/system/den-boot-early.service (the next boot runs these scripts beside cloud-init)"
fi
if [ ! -L "$wants" ]; then
	mkdir -p "${wants%/*}"
	ln -sfn ../den-boot-early.service "$wants"
fi
