// The seed's environment files: den.env (DEN_CIDATA_* settings for the boot scripts), param.env (PARAM_* for
// provision scripts) and etc_environment (the block boot.sh merges into the guest's /etc/environment).
// den.env and param.env are sourced by /bin/sh, so every value is shell-quoted and every name checked: a value can
// hold anything, a name that is not a shell identifier is refused rather than written.
// etc_environment is read by pam_env, which has no quoting: one `KEY=VALUE` per line, so a line break cannot be
// carried and is refused.
import { ConfigError, type ConfigIssue, DenError } from "../lib/errors.ts";
import { envIssues } from "../lib/config/validate.ts";
import { guestDiskEnv } from "../lib/disks/guest-disks.ts";
import { shellQuote } from "../lib/shell/quote.ts";
import { provisionEnv } from "./provision-files.ts";
import { SlirpDns, SlirpGateway, SlirpIpAddress, VirtioPort, type SeedArgs } from "./seed-args.ts";

const ShellName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NameHint = 'use letters, digits and "_", not starting with a digit';

export const EtcEnvironmentStart = "#DEN-START";
export const EtcEnvironmentEnd = "#DEN-END";

/** den.env: `DEN_CIDATA_<KEY>=<value>` lines in the contract's order. */
export function denEnv(args: SeedArgs): string {
  const flag = (value: boolean) => (value ? "1" : "");
  const entries: [string, string][] = [
    ["NAME", args.name],
    ["HOSTNAME", args.hostname],
    ["IID", args.iid],
    ["USER", args.user.name],
    ["UID", String(args.user.uid)],
    ["COMMENT", args.user.comment],
    ["HOME", args.user.home],
    ["SHELL", args.user.shell],
    ["PASSWORDLESS_SUDO", flag(args.user.passwordlessSudo)],
    ["HOSTHOME_MOUNTPOINT", args.hostHomeMountPoint],
    ["MOUNTTYPE", args.mountType],
    ["MOUNTS", String(args.mounts.length)],
  ];
  args.mounts.forEach((mount, i) => {
    entries.push([`MOUNTS_${i}_MOUNTPOINT`, mount.mountPoint], [`MOUNTS_${i}_TYPE`, mount.type], [`MOUNTS_${i}_WRITABLE`, flag(mount.writable)]);
  });
  entries.push(...guestDiskEnv(args.disks));
  entries.push(
    ["PLAIN", flag(args.plain)],
    ["TIMEZONE", args.timezone],
    ["UPGRADE_PACKAGES", flag(args.upgradePackages)],
    // Package upgrades and `mode: boot` scripts run in cloud-init's stages, before the boot scripts (as in Lima).
    ["BOOT_BESIDE_INIT", flag(!args.upgradePackages && !args.provision.some((entry) => entry.mode === "boot"))],
    ["CONTAINERD_SYSTEM", flag(args.containerd.system)],
    ["CONTAINERD_USER", flag(args.containerd.user)],
    ["CONTAINERD_ARCHIVE", args.containerd.archive],
    ["CONTAINERD_ARCHIVE_SHA256", args.containerd.archiveSha256],
    ["GUEST_INSTALL_PREFIX", args.guestInstallPrefix],
    ["SKIP_DEFAULT_DEPENDENCY_RESOLUTION", flag(args.skipDefaultDependencyResolution)],
    ["VMTYPE", args.vmType],
    ["ROSETTA_ENABLED", flag(args.rosetta.enabled)],
    ["ROSETTA_BINFMT", flag(args.rosetta.binfmt)],
    ["VIRTIO_PORT", VirtioPort],
    ["SLIRP_GATEWAY", SlirpGateway],
    ["SLIRP_DNS", SlirpDns],
    ["SLIRP_IP_ADDRESS", SlirpIpAddress],
    ["DEBUG", flag(args.debug)],
    ...provisionEnv(args.provision),
  );
  const withNul = entries.find(([, value]) => value.includes("\0"));
  if (withNul) {
    throw new DenError("CONFIG_INVALID", `Cannot write DEN_CIDATA_${withNul[0]} to den.env: the value contains a NUL character`, {
      hint: "a shell variable cannot hold NUL; remove it from the configuration",
    });
  }
  return entries.map(([key, value]) => `DEN_CIDATA_${key}=${shellQuote(value)}\n`).join("");
}

/** param.env: `PARAM_<KEY>=<value>` lines. */
export function paramEnv(param: SeedArgs["param"]): string {
  return paramLines(param)
    .map((line) => `${line}\n`)
    .join("");
}

/** `PARAM_<KEY>=<quoted value>` for each param, sorted by key; throws ConfigError for a key that is no shell name. */
export function paramLines(param: SeedArgs["param"]): string[] {
  const issues: ConfigIssue[] = [];
  const keys = Object.keys(param).sort();
  for (const key of keys) {
    if (!ShellName.test(key)) issues.push({ path: ["param", key], message: `Invalid param name "${key}": it must be a shell variable name`, hint: NameHint });
    else if (param[key]?.includes("\0")) issues.push({ path: ["param", key], message: "Value contains a NUL character, which a shell variable cannot hold" });
  }
  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues);
  return keys.map((key) => `PARAM_${key}=${shellQuote(param[key] ?? "")}`);
}

/** etc_environment: the `#DEN-START` … `#DEN-END` block of `KEY=VALUE` lines, sorted by key. */
export function etcEnvironment(env: SeedArgs["env"]): string {
  const keys = Object.keys(env).sort();
  // The same rule create and validate apply to env: (the proxy variables join it here).
  const issues = envIssues(env);
  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues);
  const lines = keys.map((key) => `${key}=${env[key]}\n`).join("");
  return `${EtcEnvironmentStart}\n${lines}${EtcEnvironmentEnd}\n`;
}
