// Everything the seed files are rendered from, gathered once from the filled configuration and the facts only the
// caller knows (instance id, keys, MAC, host environment). Renderers take SeedArgs and stay pure; the proxy
// rewriting and mount options are decided here so every file agrees on them.
import { createHash } from "node:crypto";
import { hostnameOf } from "../lib/config/hostname.ts";
import type { FilledDenYaml, FilledMount, FilledProvision, FilledUser, MountType } from "../lib/config/schema.ts";
import { parseSize } from "../lib/config/units.ts";
import { type GuestDisk, guestDisks } from "../lib/disks/guest-disks.ts";
import { ContainerdArchiveName } from "../lib/containerd/archive-disk.ts";

/** QEMU's user-mode network: den's guests keep QEMU's default addresses. */
export const SlirpGateway = "10.0.2.2";
export const SlirpDns = "10.0.2.3";
export const SlirpIpAddress = "10.0.2.15";
/** The user-mode NIC; its route metric loses against any extra network (metric 100). */
export const SlirpNicName = "eth0";
export const SlirpRouteMetric = 200;
/** The virtio-serial port the guest agent listens on. */
export const VirtioPort = "io.den.agent.0";

export interface SeedFacts {
  instanceName: string;
  instanceDir: string;
  /** `iid-<unix seconds>`: new on every start, so cloud-init re-applies the network and user config. */
  iid: string;
  sshPublicKeys: string[];
  /** MAC address of the user-mode NIC (eth0). */
  macAddress: string;
  /** The host user's home folder; the mount of exactly this folder is the guest's HOSTHOME_MOUNTPOINT. */
  hostHome: string;
  /** Contents of `caCerts.files`, read by the caller, in the same order. */
  caCertFiles?: string[];
  /** The den process environment; its proxy variables reach the guest when `propagateProxyEnv` is on. */
  hostEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * sha256 (hex) of the containerd archive on the disk labelled DENCONTAINERD (lib/containerd/archive-disk.ts); only
   * with it do the boot scripts install containerd.
   */
  containerdArchiveSha256?: string;
  debug?: boolean;
}

export interface SeedMount {
  /** The 9p/virtiofs tag the VM driver exports the folder under. */
  tag: string;
  location: string;
  mountPoint: string;
  type: MountType;
  writable: boolean;
  /** fstab options for 9p and virtiofs; "" for types the guest does not mount through fstab. */
  options: string;
}

export interface SeedNetwork {
  interface: FilledDenYaml["networks"][number]["interface"];
  macAddress: FilledDenYaml["networks"][number]["macAddress"];
  metric: FilledDenYaml["networks"][number]["metric"];
}

export interface SeedArgs {
  name: string;
  hostname: string;
  iid: string;
  os: FilledDenYaml["os"];
  vmType: FilledDenYaml["vmType"];
  user: FilledUser;
  sshPublicKeys: string[];
  mountType: FilledDenYaml["mountType"];
  mounts: SeedMount[];
  /** Guest path of the mount whose location is the host home, or "". */
  hostHomeMountPoint: string;
  /** `additionalDisks`, for the boot script that formats and mounts them. */
  disks: GuestDisk[];
  /** eth0 first, then the configured extra networks. */
  networks: SeedNetwork[];
  /** Name servers written into the guest; empty when the host resolver serves DNS. */
  dnsAddresses: FilledDenYaml["dns"];
  /** `env:` plus the propagated proxy variables: what the guest's /etc/environment gets. */
  env: FilledDenYaml["env"];
  param: FilledDenYaml["param"];
  /** The filled provision list; an entry's index names its seed files and env keys. */
  provision: FilledProvision[];
  caCerts: { removeDefaults: FilledDenYaml["caCerts"]["removeDefaults"]; trusted: string[] };
  timezone: FilledDenYaml["timezone"];
  upgradePackages: FilledDenYaml["upgradePackages"];
  plain: FilledDenYaml["plain"];
  /** `archive` is the seed file's name (nerdctl-full.tgz), or "" when the seed carries none. */
  /**
   * `archive` is the archive's name on the DENCONTAINERD disk (nerdctl-full.tgz) and `archiveSha256` its sha256, both
   * "" when no archive is attached.
   */
  containerd: Pick<FilledDenYaml["containerd"], "system" | "user"> & { archive: string; archiveSha256: string };
  /** Where guest-side programs den installs go (Lima's guestInstallPrefix, /usr/local). */
  guestInstallPrefix: string;
  skipDefaultDependencyResolution: boolean;
  /** Rosetta for x86_64 binaries (`vmOpts.vz.rosetta`): only a VZ guest gets the share the boot script mounts. */
  rosetta: { enabled: boolean; binfmt: boolean };
  debug: boolean;
}

/** Gathers the seed's inputs; pure (the caller reads CA files and the environment). */
export function seedArgsFrom(config: FilledDenYaml, facts: SeedFacts): SeedArgs {
  const mounts = config.mounts.map((mount) => seedMount(mount, config.mountType));
  return {
    name: facts.instanceName,
    hostname: hostnameOf(facts.instanceName),
    iid: facts.iid,
    os: config.os,
    vmType: config.vmType,
    user: { ...config.user },
    sshPublicKeys: [...facts.sshPublicKeys],
    mountType: config.mountType,
    mounts,
    hostHomeMountPoint: mounts.find((mount) => mount.location === facts.hostHome)?.mountPoint ?? "",
    disks: guestDisks(config.additionalDisks),
    networks: [
      { interface: SlirpNicName, macAddress: facts.macAddress, metric: SlirpRouteMetric },
      ...config.networks.map((network) => ({ interface: network.interface, macAddress: network.macAddress, metric: network.metric })),
    ],
    dnsAddresses: config.hostResolver.enabled ? [] : [...config.dns],
    env: guestEnvironment(config, facts.hostEnv ?? {}),
    param: { ...config.param },
    provision: config.provision.map((entry) => ({ ...entry })),
    caCerts: {
      removeDefaults: config.caCerts.removeDefaults,
      trusted: [...(facts.caCertFiles ?? []), ...config.caCerts.certs].map(normalizeCertificate),
    },
    timezone: config.timezone,
    upgradePackages: config.upgradePackages,
    plain: config.plain,
    containerd: {
      system: config.containerd.system,
      user: config.containerd.user,
      ...containerdArchiveArgs(config, facts.containerdArchiveSha256),
    },
    guestInstallPrefix: config.guestInstallPrefix,
    skipDefaultDependencyResolution: config.provision.some((entry) => entry.mode === "dependency" && entry.skipDefaultDependencyResolution === true),
    rosetta: rosettaArgs(config),
    debug: facts.debug ?? false,
  };
}

function containerdArchiveArgs(config: FilledDenYaml, sha256: string | undefined): Pick<SeedArgs["containerd"], "archive" | "archiveSha256"> {
  const wanted = sha256 !== undefined && !config.plain && (config.containerd.system || config.containerd.user);
  return wanted ? { archive: ContainerdArchiveName, archiveSha256: sha256 } : { archive: "", archiveSha256: "" };
}

function rosettaArgs(config: FilledDenYaml): SeedArgs["rosetta"] {
  const enabled = config.vmType === "vz" && config.vmOpts.vz.rosetta.enabled;
  return { enabled, binfmt: enabled && config.vmOpts.vz.rosetta.binfmt };
}

/** `den-` + the first 8 hex digits of sha256(`location:mountPoint`): stable across starts and short enough for
 *  QEMU's 31-byte 9p tag limit. The VM driver must export the folder under this same tag. */
export function mountTag(location: string, mountPoint: string): string {
  return `den-${createHash("sha256").update(`${location}:${mountPoint}`).digest("hex").slice(0, 8)}`;
}

function seedMount(mount: FilledMount, type: MountType): SeedMount {
  return {
    tag: mountTag(mount.location, mount.mountPoint),
    location: mount.location,
    mountPoint: mount.mountPoint,
    type,
    writable: mount.writable,
    options: mountOptions(mount, type),
  };
}

function mountOptions(mount: FilledMount, type: MountType): string {
  const access = mount.writable ? "rw" : "ro";
  if (type === "virtiofs") return `${access},nofail`;
  if (type !== "9p") return "";
  const ninep = mount["9p"];
  // nofail: a guest kernel without 9p must still boot (and report the missing mount) instead of hanging in fstab.
  return `${access},trans=virtio,version=${ninep.protocolVersion},msize=${parseSize(ninep.msize)},cache=${ninep.cache},nofail`;
}

const LowerProxyVariables = ["ftp_proxy", "http_proxy", "https_proxy", "no_proxy"] as const;

/**
 * `env:` with the proxy variables of the den process laid over it (as Lima does), empty proxy values dropped so a
 * user can blank out a host setting, loopback proxies pointed at the gateway (the guest's own loopback has no
 * proxy), and each lower/upper-case pair made equal with the lower-case value winning.
 */
function guestEnvironment(config: FilledDenYaml, hostEnv: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = { ...config.env };
  const proxyNames = LowerProxyVariables.flatMap((name) => [name, name.toUpperCase()]);
  if (config.propagateProxyEnv) {
    for (const name of proxyNames) {
      const value = hostEnv[name];
      if (value !== undefined) env[name] = value;
    }
  }
  for (const name of proxyNames) {
    const value = env[name];
    if (value === undefined) continue;
    if (value === "") delete env[name];
    else if (name.toLowerCase() !== "no_proxy") env[name] = proxyViaGateway(value);
  }
  for (const lower of LowerProxyVariables) {
    const upper = lower.toUpperCase();
    const value = env[lower] ?? env[upper];
    if (value !== undefined) {
      env[lower] = value;
      env[upper] = value;
    }
  }
  return env;
}

const ProxyUrl = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(.*)$/s;

/** `http://localhost:3128` → `http://10.0.2.2:3128`; the rest of the URL is kept byte for byte. */
export function proxyViaGateway(value: string): string {
  const match = ProxyUrl.exec(value);
  if (!match) return value;
  const [, scheme = "", auth = "", host = "", rest = ""] = match;
  return isLoopbackHost(host) ? `${scheme}${auth}${SlirpGateway}${rest}` : value;
}

function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost") || name === "[::1]") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Lima's rendering of a certificate: each line trimmed, blank lines dropped. */
function normalizeCertificate(pem: string): string {
  const lines = pem
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return `${lines.join("\n")}\n`;
}
