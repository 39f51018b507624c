// The NoCloud `user-data` (#cloud-config). Built as a plain object and serialised by the `yaml` library, so a value
// (a user name, a path, a script) is always one YAML scalar and can never add keys or break the document.
// cloud-init reads it with PyYAML, a YAML 1.1 parser that differs from the `yaml` library's 1.2 output in ways that
// `cloudYaml` works around:
// - 1.1 resolves `yes`, `0755` and `52:55:55:…` (base 60) as non-strings: the document is written as YAML 1.1,
//   which makes the `yaml` library quote them;
// - PyYAML rejects the whole file on a C1 control or a non-character, and reads U+0085, U+2028 and U+2029 as line
//   breaks: such strings are written double-quoted with escapes;
// - PyYAML resolves a bare `=` and `<<` to tags its SafeLoader cannot build, and refuses tabs in plain scalars and
//   in the blank lines that set a block literal's indentation: those strings are double-quoted too.
import { Document, Scalar } from "yaml";
import type { ScalarTag } from "yaml";
import { paramLines } from "./env-files.ts";
import type { SeedArgs, SeedMount } from "./seed-args.ts";

/** Where the seed is mounted in the guest while boot.sh runs. */
export const GuestCidataMount = "/mnt/den-cidata";
/** The cloud-init per-boot hook that mounts the seed and hands over to boot.sh. */
export const BootHookPath = "/var/lib/cloud/scripts/per-boot/00-den.boot.sh";
export const CidataMountOptions = "ro,mode=0700,dmode=0700,overriderockperm,exec,uid=0";

const PasswordlessSudo = "ALL=(ALL) NOPASSWD:ALL";

/** Where boot.sh's exit code waits, after an early run, for the per-boot hook to report it. /run is emptied every boot. */
const EarlyExitFile = "/run/den-boot.early-rc";
/** Written by every run of the hook in this boot: an early run that comes after one is not needed. */
const RanMarker = "/run/den-boot.ran";
const BootLock = "/run/den-boot.lock";
/** The unit that runs boot.sh early; DEN_BOOT_EARLY=1 tells the hook and boot.sh they run under it. */
export const EarlyBootUnit = "den-boot.service";

/**
 * Written by boot.sh once cloud-init has applied a user-data (its sha256): a later boot with the same user-data finds
 * the guest's users, fstab, hostname and SSH settings already in place.
 */
export const CloudConfigAppliedMarker = "/var/lib/den/cloud-config-applied";
/** The den.env line of a seed whose boot scripts may run beside cloud-init's init stage on a later boot. */
export const BesideInitLine = "DEN_CIDATA_BOOT_BESIDE_INIT=1";

// boot.sh runs once per boot, from whichever of its callers comes first:
// - den-boot-early.service (DEN_BOOT_BESIDE_INIT=1), which a first boot installs (boot/linux/08-boot-beside-init.sh)
//   and which starts on a later boot as soon as cloud-init-local is done, beside cloud-init's init stage; it runs
//   boot.sh only when the seed allows it (den.env) and an earlier boot applied the same user-data, else it leaves the
//   boot to the next caller;
// - den-boot.service (DEN_BOOT_EARLY=1), started by bootcmd as soon as cloud-init's init stage is done (users, network,
//   fstab and this file written), beside the config stage;
// - else cloud-init's per-boot stage, after config and final's first modules, as in Lima.
// The per-boot run after an early one waits for it (the lock) and exits with its code, so cloud-init's status still
// reports a failed boot.sh.
// set -eu: a seed that cannot be mounted must fail the hook loudly in cloud-init-output.log, not run a stale boot.sh;
// the marker of a run is written only once the seed is mounted, so the next caller tries again.
// The umount clears a mount left by an earlier run of the hook in the same boot (cloud-init re-run by hand, or a
// seed rebuilt under a running guest), which would otherwise make the mount fail with "already mounted".
const BootHook = `#!/bin/sh
set -eu
DEN_CIDATA_MNT=${GuestCidataMount}
DEN_CIDATA_DEV=/dev/disk/by-label/cidata
if command -v flock >/dev/null 2>&1; then
  exec 9>${BootLock}
  flock 9
fi
if [ "\${DEN_BOOT_EARLY:-}" = 1 ]; then
  [ ! -e ${RanMarker} ] || exit 0
elif [ -f ${EarlyExitFile} ]; then
  rc="$(cat ${EarlyExitFile})"
  rm -f ${EarlyExitFile}
  exit "$rc"
fi
mkdir -p -m 700 "$DEN_CIDATA_MNT"
if grep -qs " $DEN_CIDATA_MNT " /proc/mounts; then
  umount "$DEN_CIDATA_MNT" || umount -l "$DEN_CIDATA_MNT"
fi
mount -o ${CidataMountOptions} "$DEN_CIDATA_DEV" "$DEN_CIDATA_MNT"
if [ "\${DEN_BOOT_BESIDE_INIT:-}" = 1 ]; then
  applied=""
  [ ! -f ${CloudConfigAppliedMarker} ] || read -r applied <${CloudConfigAppliedMarker} || true
  sum="$(sha256sum "$DEN_CIDATA_MNT/user-data" 2>/dev/null)" || sum=""
  if ! grep -qx "${BesideInitLine}" "$DEN_CIDATA_MNT/den.env" || [ -z "$applied" ] || [ "\${sum%% *}" != "$applied" ]; then
    echo "den: the boot scripts wait for cloud-init's init stage (a new or changed configuration)"
    umount "$DEN_CIDATA_MNT" || true
    exit 0
  fi
fi
: >${RanMarker}
export DEN_CIDATA_MNT
cd "$DEN_CIDATA_MNT"
if [ "\${DEN_BOOT_EARLY:-}" != 1 ]; then
  exec "$DEN_CIDATA_MNT/boot.sh" 9>&-
fi
rc=0
"$DEN_CIDATA_MNT/boot.sh" 9>&- || rc=$?
echo "$rc" >${EarlyExitFile}
`;

// The last bootcmd entry: queues den-boot.service, ordered after cloud-init's init stage (cloud-init.service, named
// cloud-init-network.service since cloud-init 24.3; ordering after a unit that does not exist is a no-op), without
// waiting for it. A transient unit needs no unit file and no daemon-reload. Its output goes to the console (where the
// host agent reads the DEN| lines) and to cloud-init-output.log, as from cloud-init. The unit itself never fails: the
// hook keeps boot.sh's code for the per-boot stage. Guests without systemd or flock keep the per-boot path alone.
export const EarlyBootCommand = `if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 && command -v flock >/dev/null 2>&1; then
  systemd-run --no-block --unit=${EarlyBootUnit} --description="den boot scripts" --property=After=cloud-init.service --property=After=cloud-init-network.service --property=StandardOutput=journal+console --property=SyslogIdentifier=den-boot --setenv=DEN_BOOT_EARLY=1 /bin/sh -c '${BootHookPath} 2>&1 | tee -a /var/log/cloud-init-output.log' || true
fi`;

/** The user-data text: `#cloud-config` and the document. */
export function userData(args: SeedArgs): string {
  return `#cloud-config\n${cloudYaml(cloudConfig(args))}`;
}

/** The #cloud-config document as an object (what cloud-init will see after parsing). */
export function cloudConfig(args: SeedArgs): Record<string, unknown> {
  const config: Record<string, unknown> = {
    growpart: { mode: "auto", devices: ["/"] },
  };
  if (args.upgradePackages) {
    config.package_update = true;
    config.package_upgrade = true;
    config.package_reboot_if_required = true;
  }
  const fstabMounts = args.mounts.filter((mount) => mount.type === "9p" || mount.type === "virtiofs");
  if (fstabMounts.length > 0) config.mounts = fstabMounts.map(fstabEntry);
  if (args.timezone !== "") config.timezone = args.timezone;
  const { user } = args;
  config.users = [
    {
      name: user.name,
      uid: String(user.uid),
      gecos: user.comment,
      homedir: user.home,
      shell: user.shell,
      ...(user.passwordlessSudo && { sudo: PasswordlessSudo }),
      lock_passwd: true,
      ssh_authorized_keys: [...args.sshPublicKeys],
    },
  ];
  config.write_files = [{ path: BootHookPath, owner: "root:root", permissions: "0755", content: BootHook }];
  if (args.dnsAddresses.length > 0) {
    // No effect where systemd-resolved owns resolv.conf (the network-config carries the servers there); used by
    // e.g. Alpine on first boot.
    config.manage_resolv_conf = true;
    config.resolv_conf = { nameservers: [...args.dnsAddresses] };
  }
  if (args.caCerts.removeDefaults || args.caCerts.trusted.length > 0) {
    config.ca_certs = {
      ...(args.caCerts.removeDefaults && { remove_defaults: true }),
      ...(args.caCerts.trusted.length > 0 && { trusted: [...args.caCerts.trusted] }),
    };
  }
  // Package upgrades run in cloud-init's final stage, before the per-boot hook, and boot.sh must not install
  // packages beside them: boot.sh then waits for its per-boot turn.
  const bootCommands = [...bootCmds(args), ...(args.upgradePackages ? [] : [EarlyBootCommand])];
  if (bootCommands.length > 0) config.bootcmd = bootCommands;
  return config;
}

/**
 * One bootcmd entry per `mode: boot` provision script, each preceded by the params as exported shell variables.
 * bootcmd runs before the per-boot hook mounts the seed, so param.env cannot be sourced yet.
 */
export function bootCmds(args: Pick<SeedArgs, "provision" | "param">): string[] {
  const boots = args.provision.filter((entry) => entry.mode === "boot");
  if (boots.length === 0) return [];
  const exports = paramLines(args.param).map((line) => `export ${line}\n`).join("");
  return boots.map((entry) => `${exports}${entry.script ?? ""}`);
}

/** `[tag, mountPoint, type, options, "0", "0"]`; the mount point is fstab-escaped because cloud-init copies it
 *  into /etc/fstab verbatim, where a space or tab would split the field. */
function fstabEntry(mount: SeedMount): string[] {
  return [mount.tag, escapeFstab(mount.mountPoint), mount.type, mount.options, "0", "0"];
}

/** fstab(5) octal escapes for the characters that separate fields or lines, and for the backslash itself. */
export function escapeFstab(field: string): string {
  return field.replace(/[\\ \t\n]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

// Characters PyYAML's reader refuses, or reads as a line break, in any scalar style but an escaped double-quoted one.
// Also \r (a line break everywhere) and lone surrogates (not encodable as UTF-8).
// With the u flag a valid surrogate pair is one code point, so the surrogate range matches only lone halves.
const NeedsEscape = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]/u;
// Plain scalars PyYAML's SafeLoader resolves to tags it cannot construct.
const PyYamlSpecial = new Set(["=", "<<"]);
// PyYAML refuses a tab in a plain scalar, which YAML 1.2 (and so the `yaml` library) allows. Multi-line strings are
// written as block literals, where PyYAML accepts tabs except in the blank lines it reads to detect the indentation.
const PlainWithTab = /^[^\n]*\t[^\n]*$/;
const TabBeforeIndentation = /^[ \n]*\t/;
// The `yaml` library writes a multi-line string of only blanks as a block literal that loses its spaces.
const BlankLines = /^[ \t\n]*\n[ \t\n]*$/;

function needsOwnQuoting(value: string): boolean {
  return NeedsEscape.test(value) || PyYamlSpecial.has(value) || PlainWithTab.test(value) || TabBeforeIndentation.test(value) || BlankLines.test(value);
}

const escapedString: ScalarTag = {
  tag: "tag:yaml.org,2002:str",
  default: true,
  identify: (value) => typeof value === "string" && needsOwnQuoting(value),
  // Never matches, so parsing is unaffected; having a `test` also makes the stringifier prefer this tag over the
  // plain string tag when both identify a value (cloudYaml lists it first for the same reason).
  test: /(?!)/,
  resolve: (text) => text,
  stringify: (item) => doubleQuoted(String((item as Scalar).value)),
};

/** YAML 1.1 text of `value`, safe for PyYAML: every string reads back as exactly the same string. */
export function cloudYaml(value: unknown): string {
  const doc = new Document(value, { version: "1.1", customTags: (tags) => [escapedString, ...tags] });
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}

/** A double-quoted scalar; escapes quotes, backslashes and every character PyYAML could refuse or misread. */
function doubleQuoted(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const char = text[i]!;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      out += text.slice(i, i + 2);
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else if (code === 0x2028 || code === 0x2029 || code === 0xfeff || code === 0xfffe || code === 0xffff) out += `\\u${code.toString(16)}`;
    else out += char;
  }
  return `${out}"`;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
