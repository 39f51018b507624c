#!/bin/bash
# den per-boot driver. cloud-init's per-boot hook mounts the seed ISO and execs this file on every boot.
# Order and markers follow .notes/cidata-contract.md. Every value from den.env/param.env is data: it is
# only ever expanded inside double quotes, never evaluated.
#
# DEN_BOOT_ROOT (default empty) prefixes every guest path written here and in boot/**, so the tests can run
# the whole flow inside a temp dir; steps that need a real guest (chown, sudo, useradd, loginctl, mount)
# run only when we are root and DEN_BOOT_ROOT is empty. The `DEN| …` progress lines go to stdout, which cloud-init's
# final stage sends to the serial console (where the host agent reads them) and to cloud-init-output.log;
# DEN_BOOT_CONSOLE (default none) names one more place to copy them to, for a boot.sh run outside cloud-init.
set -eu

DEN_BOOT_ROOT="${DEN_BOOT_ROOT:-}"
DEN_BOOT_CONSOLE="${DEN_BOOT_CONSOLE:-}"
DEN_CIDATA_MNT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEN_BOOT_ROOT DEN_BOOT_CONSOLE DEN_CIDATA_MNT

den_log() {
	echo "DEN| $*"
	if [ -n "$DEN_BOOT_CONSOLE" ] && [ -w "$DEN_BOOT_CONSOLE" ]; then
		echo "DEN| $*" >>"$DEN_BOOT_CONSOLE" 2>/dev/null || true
	fi
}
# The boot/** scripts log through the same function.
export -f den_log

# Privileged guest-only steps (chown, sudo) are skipped when running relocated for tests.
den_real_guest() {
	[ "$(id -u)" = 0 ] && [ -z "$DEN_BOOT_ROOT" ]
}
export -f den_real_guest

# A guest whose C library is musl (Alpine): musl's dynamic loader is there and glibc's libc.so.6 is not. Not glibc's
# loader: gcompat (Alpine's glibc shim) installs ld-linux-*.so.* links to musl's, while a glibc distribution may
# carry musl's loader beside its own (Debian's musl package). Globs and tests only, no fork: this runs on the
# critical path. Such a guest runs the musl build of Bun's runtime.
den_musl_guest() {
	local file found=""
	for file in "$DEN_BOOT_ROOT"/lib/ld-musl-*.so.1; do
		[ -e "$file" ] && found=1
	done
	[ -n "$found" ] || return 1
	for file in "$DEN_BOOT_ROOT"/{usr/,}{lib,lib64}/{,*-linux-gnu*/}libc.so.6; do
		[ -e "$file" ] && return 1
	done
	return 0
}
export -f den_musl_guest

# Under den-boot.service (DEN_BOOT_EARLY=1, see cidata/user-data.ts) boot.sh runs beside cloud-init's config stage
# instead of after it. What Lima runs after that stage waits for it here: provisioning (which may use apt, the
# timezone…), package installation, and the end of the boot. Starting a unit whose start is queued or done only
# waits for it; the wait is logged once.
den_after_cloud_config() {
	if [ "${DEN_BOOT_EARLY:-}" != 1 ] || [ -e /run/den-cloud-config-waited ] || ! den_real_guest; then
		return 0
	fi
	den_log "waiting for cloud-init's config stage"
	systemctl start cloud-config.service >/dev/null 2>&1 || true
	: >/run/den-cloud-config-waited
}
export -f den_after_cloud_config

# Under den-boot-early.service (DEN_BOOT_BESIDE_INIT=1, a later boot with settings an earlier boot applied; see
# boot/linux/08-boot-beside-init.sh) boot.sh runs beside cloud-init's init stage, which brings up the network and may
# still rewrite what it manages (/etc/hosts where an image sets manage_etc_hosts). What needs either waits for that
# stage here; sshd starts only after it anyway, so the wait costs the boot nothing.
den_after_cloud_init() {
	if [ "${DEN_BOOT_BESIDE_INIT:-}" != 1 ] || [ -e /run/den-cloud-init-waited ] || ! den_real_guest; then
		return 0
	fi
	den_log "waiting for cloud-init's init stage"
	# cloud-init 24.3 renamed the unit of that stage; starting a unit that does not exist fails at once.
	systemctl start cloud-init-network.service >/dev/null 2>&1 || systemctl start cloud-init.service >/dev/null 2>&1 || true
	: >/run/den-cloud-init-waited
}
export -f den_after_cloud_init

# Writes TEXT to PATH unless PATH already holds exactly TEXT, through PATH.new and a rename (a process reading the old
# file keeps its inode), and gives the new file MODE when one is named. Returns 0 when it wrote, 1 when PATH was up to
# date; a failed write ends the calling script with 1, as errexit would have. read -d '' stops at the first NUL, so a
# comparison with a binary (an older den's ~100 MiB agent where the agent's wrapper goes) reads a few bytes.
# shellcheck disable=SC2317 # called only by the boot/** scripts, through the export below
den_write_if_changed() {
	local path="$1" text="$2" mode="${3:-}" current=""
	if [ -f "$path" ]; then
		IFS= read -r -d '' current <"$path" || true
	fi
	[ "$current" != "$text" ] || return 1
	mkdir -p "${path%/*}" || exit 1
	printf '%s' "$text" >"$path.new" || exit 1
	if [ -n "$mode" ]; then
		chmod "$mode" "$path.new" || exit 1
	fi
	mv -f "$path.new" "$path" || exit 1
}
export -f den_write_if_changed

code=0
warn() {
	den_log "WARNING $*"
	code=1
}

root="$DEN_BOOT_ROOT"
mkdir -p "$root/run"
rm -f "$root/run/den-boot-done" "$root/run/den-ssh-ready" "$root/run/den-mounts-ready" "$root/run/den-fuse-ready"

set -a
# shellcheck source=/dev/null
. "$DEN_CIDATA_MNT/den.env"
if [ -f "$DEN_CIDATA_MNT/param.env" ]; then
	# shellcheck source=/dev/null
	. "$DEN_CIDATA_MNT/param.env"
fi
set +a

den_log "boot.sh start ${DEN_CIDATA_IID:-}"

# Proxy settings and the like from `env:` must reach the package manager too (pam_env format: KEY=VALUE, no
# quoting), so each such line is exported as one literal word.
if [ -f "$DEN_CIDATA_MNT/etc_environment" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
			export "${line?}"
		fi
	done <"$DEN_CIDATA_MNT/etc_environment"
fi

# Runs the files of one boot or provisioning folder of the seed in name order, each logged; a failure is warned about
# and does not stop the others. A case rather than a command in a variable, so shellcheck can follow the calls.
run_folder() {
	local kind="$1" dir="$DEN_CIDATA_MNT/$2" f name rc
	[ -d "$dir" ] || return 0
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		name="${f#"$DEN_CIDATA_MNT"/}"
		rc=0
		case "$kind" in
		boot)
			[[ "$f" == *.sh ]] || continue
			den_log "running $name"
			bash "$f" || rc=$?
			;;
		system)
			den_log "running $name"
			"$f" || rc=$?
			;;
		user)
			den_log "running $name as $DEN_CIDATA_USER"
			run_user_script "$f" || rc=$?
			;;
		esac
		if [ "$rc" != 0 ]; then
			warn "$name failed (exit $rc)"
		fi
	done
}

run_folder boot boot/essential
if [ "${DEN_CIDATA_PLAIN:-}" = 1 ]; then
	den_log "plain mode: skipping boot/linux"
else
	run_folder boot boot/linux
	# cloud-init's init stage may have rewritten /etc/hosts while boot/linux ran beside it: name the host again.
	if [ "${DEN_BOOT_BESIDE_INIT:-}" = 1 ] && [ -f "$DEN_CIDATA_MNT/boot/linux/06-etc-hosts.sh" ]; then
		den_after_cloud_init
		rc=0
		bash "$DEN_CIDATA_MNT/boot/linux/06-etc-hosts.sh" || rc=$?
		if [ "$rc" != 0 ]; then
			warn "boot/linux/06-etc-hosts.sh failed after cloud-init's init stage (exit $rc)"
		fi
	fi
fi

# Indirect expansion reads DEN_CIDATA_<KIND>_<index>_<FIELD> without evaluating anything.
field() {
	local name="DEN_CIDATA_$1_$2_$3"
	printf '%s' "${!name:-}"
}

# The owner is applied only in a real guest, where the user exists.
set_owner_and_mode() {
	local dest="$1" owner="$2" permissions="$3"
	if [ -n "$owner" ] && den_real_guest; then
		chown "$owner" "$dest" || return 1
	fi
	if [ -n "$permissions" ]; then
		chmod "$permissions" "$dest" || return 1
	fi
}

# Applies each file of the seed folder provision.KIND (data or yq) with its index; a failed entry is warned about and
# the others still apply.
each_provision_file() {
	local kind="$1" f
	[ -d "$DEN_CIDATA_MNT/provision.$kind" ] || return 0
	for f in "$DEN_CIDATA_MNT/provision.$kind"/*; do
		[ -f "$f" ] || continue
		if ! apply_provision_file "$kind" "$f" "$(basename "$f")"; then
			warn "provision.$kind/$(basename "$f") failed"
		fi
	done
}

# A case rather than a function name in a variable, so shellcheck (and a reader) can follow the calls.
apply_provision_file() {
	case "$1" in
	data) copy_data_file "$2" "$3" ;;
	yq) apply_yq_provision "$2" "$3" ;;
	esac
}

# Called in an `if`, where errexit is off, so every step returns on failure explicitly.
copy_data_file() {
	local src="$1" index="$2" path owner permissions overwrite dest
	path="$(field DATAFILE "$index" PATH)"
	owner="$(field DATAFILE "$index" OWNER)"
	permissions="$(field DATAFILE "$index" PERMISSIONS)"
	overwrite="$(field DATAFILE "$index" OVERWRITE)"
	if [ -z "$path" ]; then
		den_log "WARNING provision.data/$index has no DEN_CIDATA_DATAFILE_${index}_PATH"
		return 1
	fi
	dest="$root$path"
	if [ -e "$dest" ] && [ -z "$overwrite" ]; then
		den_log "keeping existing $path (overwrite is off)"
		return 0
	fi
	den_log "writing data file $path"
	mkdir -p "$(dirname "$dest")" || return 1
	cp "$src" "$dest" || return 1
	set_owner_and_mode "$dest" "$owner" "$permissions"
}

# Each of data, yq, system and user provisioning waits for cloud-init's config stage first, when the seed has one.
if compgen -G "$DEN_CIDATA_MNT/provision.*/*" >/dev/null; then
	den_after_cloud_config
fi

each_provision_file data

# Each den-guestagent output line (errors, the unknown-extension warning) is logged, so it reaches the console.
log_lines() {
	local line
	while IFS= read -r line; do
		den_log "$line"
	done <<<"$1"
}

# The guest agent's `yq` command evaluates the expression: it edits the file in place keeping comments, or creates it
# from null input, writing atomically; then owner and permissions are applied as for data. It runs as the wrapper
# /usr/local/bin/den-guestagent does (BUN_BE_BUN=1 <runtime> <bundle>) but with the seed's bundle, this den's even if
# installing it failed; the runtime is the one on the DENRUNTIME disk, which boot/linux/25-guestagent.sh mounts at
# /run/den/runtime (the seed carries none; DEN_RUNTIME_MNT stands in for it in tests), which is why provisioning must
# run after boot/linux. Plain mode skips boot/linux, and its seed carries no agent either.
apply_yq_provision() {
	local src="$1" index="$2" path owner permissions format dest user out rc=0
	local bundle="$DEN_CIDATA_MNT/den-guestagent.js" runtime="${DEN_RUNTIME_MNT:-$root/run/den/runtime}/bun"
	path="$(field YQ_PROVISION "$index" PATH)"
	owner="$(field YQ_PROVISION "$index" OWNER)"
	permissions="$(field YQ_PROVISION "$index" PERMISSIONS)"
	format="$(field YQ_PROVISION "$index" FORMAT)"
	if [ -z "$path" ]; then
		den_log "WARNING provision.yq/$index has no DEN_CIDATA_YQ_PROVISION_${index}_PATH"
		return 1
	fi
	if [ ! -f "$bundle" ]; then
		den_log "WARNING yq provisioning needs the den guest agent, which this seed does not carry; skipped $path"
		return 1
	fi
	# A musl guest's runtime is the disk's musl build (boot/linux/25-guestagent.sh checked it against the seed).
	if [ -x "$runtime-musl" ] && den_musl_guest; then
		runtime="$runtime-musl"
	fi
	if [ ! -x "$runtime" ]; then
		den_log "WARNING yq provisioning needs the den guest agent's runtime, which boot/linux/25-guestagent.sh did not install; skipped $path"
		return 1
	fi
	dest="$root$path"
	user="${owner%%:*}"
	if [ -e "$dest" ]; then
		# As in Lima: an entry owned by a user may only change a file that user can already write.
		if den_real_guest && [ -n "$user" ] && ! sudo -n -u "$user" test -w "$dest"; then
			den_log "WARNING $path is not writable by $user, the entry's owner"
			return 1
		fi
		den_log "updating $path with provision.yq/$index"
	else
		# Folders are made as the owner, so a new file under the user's home does not leave root-owned folders
		# there; where the owner may not create them (a user's file under /etc), root makes them.
		if den_real_guest && [ -n "$user" ]; then
			sudo -n -u "$user" mkdir -p "$(dirname "$dest")" 2>/dev/null || mkdir -p "$(dirname "$dest")" || return 1
		fi
		den_log "creating $path with provision.yq/$index"
	fi
	out="$(BUN_BE_BUN=1 "$runtime" "$bundle" yq --expression-file "$src" --format "${format:-auto}" --in-place "$dest" 2>&1)" || rc=$?
	if [ -n "$out" ]; then
		log_lines "$out"
	fi
	[ "$rc" = 0 ] || return 1
	set_owner_and_mode "$dest" "$owner" "$permissions"
}

each_provision_file yq

run_folder system provision.system

# User scripts need the user's systemd manager (for `systemctl --user`) when the guest runs systemd.
wait_for_user_manager() {
	local socket="$root/run/user/$DEN_CIDATA_UID/systemd/private" waited=0
	[ -d "$root/run/systemd/system" ] || return 0
	while [ ! -e "$socket" ]; do
		if [ "$waited" -ge 60 ]; then
			den_log "WARNING user systemd manager not up after 60s (${socket#"$root"}); running user scripts anyway"
			return 0
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

run_user_script() {
	local src="$1" home tmp rc=0 preserve names=()
	home="$root${DEN_CIDATA_HOME:-/home/$DEN_CIDATA_USER}"
	tmp="$(mktemp "$home/.den-user-script.XXXXXX")" || return 1
	cp "$src" "$tmp" || { rm -f "$tmp"; return 1; }
	chmod 700 "$tmp" || { rm -f "$tmp"; return 1; }
	if den_real_guest; then
		chown "$DEN_CIDATA_USER" "$tmp" || { rm -f "$tmp"; return 1; }
		mapfile -t names < <(compgen -v PARAM_ || true)
		preserve="$(IFS=,; printf '%s' "${names[*]}")"
		if [ -n "$preserve" ]; then
			sudo -iu "$DEN_CIDATA_USER" "--preserve-env=$preserve" "XDG_RUNTIME_DIR=/run/user/$DEN_CIDATA_UID" "$tmp" || rc=$?
		else
			sudo -iu "$DEN_CIDATA_USER" "XDG_RUNTIME_DIR=/run/user/$DEN_CIDATA_UID" "$tmp" || rc=$?
		fi
	else
		XDG_RUNTIME_DIR="$root/run/user/$DEN_CIDATA_UID" "$tmp" || rc=$?
	fi
	rm -f "$tmp"
	return "$rc"
}

if [ -d "$DEN_CIDATA_MNT/provision.user" ] && [ -n "$(ls -A "$DEN_CIDATA_MNT/provision.user")" ]; then
	wait_for_user_manager
	run_folder user provision.user
fi

# The end of the boot waits for cloud-init's config stage only when the guest has not applied this seed's
# cloud-config before (a first boot, or a changed configuration). On a later boot with the same user-data the stage
# only applies again what the guest already has (user, passwords, apt settings, timezone), and under TCG it ends
# 30-45 s after den's own scripts, mostly Python starting: it then finishes in the background. user-data carries no
# per-boot value (the instance id is in meta-data), so its digest names the settings.
applied_marker="$root/var/lib/den/cloud-config-applied"
if [ "${DEN_BOOT_EARLY:-}" = 1 ] && [ -f "$DEN_CIDATA_MNT/user-data" ]; then
	user_data_sum=""
	read -r user_data_sum _ < <(sha256sum "$DEN_CIDATA_MNT/user-data") || true
	applied=""
	if [ -f "$applied_marker" ]; then
		IFS= read -r applied <"$applied_marker" || true
	fi
	if [ -n "$user_data_sum" ] && [ "$applied" = "$user_data_sum" ] && [ ! -e "$root/run/den-cloud-config-waited" ]; then
		den_log "cloud-init's config stage applies the same settings as on an earlier boot: not waited for"
	else
		den_after_cloud_config
		if [ -n "$user_data_sum" ] && [ "$applied" != "$user_data_sum" ]; then
			mkdir -p "${applied_marker%/*}"
			printf '%s\n' "$user_data_sum" >"$applied_marker"
		fi
	fi
else
	den_after_cloud_config
fi
den_after_cloud_init
printf '%s\n' "${DEN_CIDATA_IID:-}" >"$root/run/den-boot-done"
den_log "boot done ${DEN_CIDATA_IID:-}"
if [ "$code" != 0 ]; then
	den_log "boot.sh exits 1: see the WARNING lines above"
fi
exit "$code"
