// Lima's built-in defaults (`FillDefault`), applied to one already-merged configuration. The layering of
// default.yaml / lima.yaml / override.yaml happens before this, in merge.ts; here every field that is
// still unset gets its built-in value, and the fields Lima treats as Go templates are expanded.
import { createHash } from "node:crypto";
import { isAbsolute, join, normalize } from "node:path";
import { DenError, formatPath } from "../errors.ts";
import { SocketDir } from "../store/filenames.ts";
import { expandGoTemplate } from "../gotemplate/expand-go-template.ts";
import { type HostInfo, macosAtLeast } from "./host-info.ts";
import { hostnameOf } from "./hostname.ts";
import type { DenYaml, FilledDenYaml, FilledMount, FilledPortForward, FilledProvision, MountType } from "./schema.ts";
import { formatSize } from "./units.ts";

export interface DefaultsContext {
  host: HostInfo;
  instanceName: string;
  /** The instance folder (`{{.Dir}}`, base of relative `hostSocket` paths). */
  instanceDir: string;
  /** DEN_HOME (`{{.LimaHome}}`, deprecated in Lima but still expanded). */
  denHome: string;
  /** Receives non-fatal problems, e.g. a template that cannot be expanded (the text is kept, as Lima does). */
  warn?: (message: string) => void;
  /** Receives the line saying why a default is not Lima's (vmType qemu where Lima picks vz), for create and start to print. */
  notice?: (line: string) => void;
}

const GiB = 2 ** 30;
const UserNamePattern = /^[a-z_][a-z0-9_-]*$/;
/**
 * Lima falls back to the guest user "lima" when the host user name is unusable; den uses "den".
 * The guest user is also never root: a host user `root` (or uid 0) gets this name and uid 1000.
 */
const FallbackUser = "den";
const FallbackUid = 1000;

/**
 * nerdctl-full archives installed when containerd is enabled and no archive is configured
 * (Lima's `pkg/limayaml/containerd.yaml`).
 */
export const DefaultContainerdArchives = [
  {
    location: "https://github.com/containerd/nerdctl/releases/download/v2.3.5/nerdctl-full-2.3.5-linux-amd64.tar.gz",
    arch: "x86_64",
    digest: "sha256:b697295c623639734aaab737523c808fd3cc8d3046039fd94fff1744e4c317aa",
  },
  {
    location: "https://github.com/containerd/nerdctl/releases/download/v2.3.5/nerdctl-full-2.3.5-linux-arm64.tar.gz",
    arch: "aarch64",
  },
] as const;

/** Fills every unset field with Lima's built-in default and expands templates; pure apart from `ctx.warn`. */
export function fillDefaults(config: DenYaml, ctx: DefaultsContext): FilledDenYaml {
  const { host } = ctx;
  const warn = ctx.warn ?? (() => {});
  const param = stringMap(config.param);

  const os = resolveDefault(config.os) ?? "Linux";
  const arch = resolveDefault(config.arch) ?? host.arch;
  const chosenVmType = resolveDefault(config.vmType);
  const vmTypeDefault = defaultVmType(host, arch);
  const vmType = chosenVmType ?? vmTypeDefault.vmType;
  if (chosenVmType === undefined && vmTypeDefault.fallback !== undefined) ctx.notice?.(vmTypeFallbackLine(vmType, vmTypeDefault.fallback));

  // --- user (guest templates need it) ---
  const user = {
    name: config.user?.name ?? defaultUserName(host),
    comment: config.user?.comment ?? host.comment,
    uid: config.user?.uid ?? (host.uid > 0 ? host.uid : FallbackUid),
    home: config.user?.home ?? (os === "Darwin" ? "/Users/{{.User}}.guest" : "/home/{{.User}}.guest"),
    shell: config.user?.shell ?? defaultShell(os),
    passwordlessSudo: config.user?.passwordlessSudo ?? os !== "Darwin",
  };
  const guestData = (home: string) => ({
    Name: ctx.instanceName,
    Hostname: hostnameOf(ctx.instanceName),
    UID: user.uid,
    User: user.name,
    Home: home,
    Param: param,
  });
  const expand = (text: string, data: Record<string, unknown>, path: (string | number)[]): string => {
    try {
      return expandGoTemplate(text, data, { name: formatPath(path) });
    } catch (error) {
      // Lima keeps a field it cannot expand as written (scripts may contain `{{` for other tools).
      if (!(error instanceof DenError) || error.code !== "TEMPLATE_EXPR") throw error;
      warn(`${error.message}; the text is used as written`);
      return text;
    }
  };
  user.home = expand(user.home, guestData(user.home), ["user", "home"]);
  const guest = guestData(user.home);
  const hostData = {
    Dir: ctx.instanceDir,
    Name: ctx.instanceName,
    UID: String(host.uid),
    User: host.username,
    Home: host.home,
    Param: param,
    GlobalTempDir: "/tmp",
    TempDir: host.tempDir,
    Instance: ctx.instanceName,
    LimaHome: ctx.denHome,
  };

  // --- vmOpts (the deprecated top-level cpuType and rosetta move here) ---
  const cpuType: Record<string, string> = { ...config.vmOpts?.qemu?.cpuType };
  for (const [key, value] of Object.entries(config.cpuType ?? {})) {
    if (value !== "" && !cpuType[key]) cpuType[key] = value;
  }
  const rosetta = {
    enabled: config.vmOpts?.vz?.rosetta?.enabled ?? config.rosetta?.enabled ?? false,
    binfmt: config.vmOpts?.vz?.rosetta?.binfmt ?? config.rosetta?.binfmt ?? false,
  };
  const vmOpts = {
    qemu: { ...config.vmOpts?.qemu, cpuType },
    vz: { ...config.vmOpts?.vz, rosetta },
  };

  const images = (config.images ?? []).map((image) => {
    const imageArch = image.arch ?? arch;
    return {
      ...image,
      arch: imageArch,
      ...(image.kernel && { kernel: { ...image.kernel, arch: image.kernel.arch ?? imageArch } }),
      ...(image.initrd && { initrd: { ...image.initrd, arch: image.initrd.arch ?? imageArch } }),
    };
  });

  const additionalDisks = (config.additionalDisks ?? []).map((disk) => {
    const entry = typeof disk === "string" ? { name: disk } : disk;
    return { ...entry, format: entry.format ?? true, fsType: entry.fsType ?? "ext4", fsArgs: entry.fsArgs ?? [] };
  });

  const mountTypesUnsupported = config.mountTypesUnsupported ?? [];
  const mountType = resolveMountType(config.mountType, vmType, host.os, mountTypesUnsupported);

  const mounts = (config.mounts ?? []).map((mount, i): FilledMount => {
    const location = expandTilde(cleanPath(expand(mount.location, hostData, ["mounts", i, "location"])), host.home);
    const mountPoint = mount.mountPoint == null ? location : expand(mount.mountPoint, guest, ["mounts", i, "mountPoint"]);
    const writable = mount.writable ?? false;
    return {
      ...mount,
      location,
      mountPoint,
      writable,
      sshfs: {
        ...mount.sshfs,
        cache: mount.sshfs?.cache ?? true,
        followSymlinks: mount.sshfs?.followSymlinks ?? false,
        sftpDriver: mount.sshfs?.sftpDriver ?? "",
      },
      "9p": {
        ...mount["9p"],
        securityModel: mount["9p"]?.securityModel ?? "none",
        protocolVersion: mount["9p"]?.protocolVersion ?? "9p2000.L",
        msize: mount["9p"]?.msize ?? "128KiB",
        cache: mount["9p"]?.cache ?? (writable ? "mmap" : "fscache"),
      },
      virtiofs: { ...mount.virtiofs },
    };
  });

  const provision = (config.provision ?? []).map((entry, i): FilledProvision => {
    const at = (key: string) => ["provision", i, key];
    const mode = entry.mode ?? "system";
    const out: FilledProvision = { ...entry, mode };
    if (mode === "dependency") out.skipDefaultDependencyResolution = entry.skipDefaultDependencyResolution ?? false;
    if (mode === "data") {
      out.content = entry.content == null ? "" : expand(entry.content, guest, at("content"));
      out.overwrite = entry.overwrite ?? true;
    }
    if (mode === "yq") {
      if (entry.expression != null) out.expression = expand(entry.expression, guest, at("expression"));
      out.format = entry.format ?? "auto";
    }
    if (mode === "data" || mode === "yq") {
      out.owner = entry.owner == null ? (os === "Darwin" || os === "FreeBSD" ? "root:wheel" : "root:root") : expand(entry.owner, guest, at("owner"));
      if (entry.path != null) out.path = expand(entry.path, guest, at("path"));
      out.permissions = entry.permissions ?? "644";
    }
    if (entry.script != null && entry.script !== "") out.script = expand(entry.script, guest, at("script"));
    return out;
  });

  const containerdArchives = config.containerd?.archives?.length ? config.containerd.archives : DefaultContainerdArchives;
  const containerd = {
    ...config.containerd,
    system: config.containerd?.system ?? false,
    user: config.containerd?.user ?? (os === "Linux" && (arch === "x86_64" || arch === "aarch64")),
    archives: containerdArchives.map((file) => ({ ...file, arch: file.arch ?? arch })),
  };

  const probes = (config.probes ?? []).map((probe, i, all) => ({
    ...probe,
    mode: probe.mode ?? "readiness",
    description: probe.description || `user probe ${i + 1}/${all.length}`,
    script: expand(probe.script ?? "", guest, ["probes", i, "script"]),
  }));

  let portForwards = (config.portForwards ?? []).map((rule, i) =>
    fillPortForward(rule, { ctx, expand: (text, kind, key) => expand(text, kind === "guest" ? guest : hostData, ["portForwards", i, key]) }),
  );

  const copyToHost = (config.copyToHost ?? []).map((rule, i) => ({
    ...rule,
    ...(rule.guest && { guest: expand(rule.guest, guest, ["copyToHost", i, "guest"]) }),
    ...(rule.host && { host: expand(rule.host, hostData, ["copyToHost", i, "host"]) }),
    skipIfMissing: rule.skipIfMissing ?? false,
    deleteOnStop: rule.deleteOnStop ?? false,
  }));

  const instanceFile = join(ctx.instanceDir, "lima.yaml");
  const networks = (config.networks ?? []).map((network, i) => ({
    ...network,
    macAddress: network.macAddress || macAddress(host.machineId, `${instanceFile}#${i}`),
    interface: network.interface || `lima${i}`,
    metric: network.metric ?? 100,
  }));

  const plain = config.plain ?? false;
  let filledMounts = mounts;
  let timezone = config.timezone ?? host.timezone;
  if (plain) {
    // Plain mode: no mounts, no dynamic forwards, no containerd, no timezone (as Lima's fixUpForPlainMode).
    filledMounts = [];
    portForwards = portForwards.filter((rule) => rule.static);
    containerd.system = false;
    containerd.user = false;
    timezone = "";
  }

  // The deprecated top-level `cpuType` and `rosetta` were folded into vmOpts above.
  const { cpuType: _cpuType, rosetta: _rosetta, ...rest } = config;
  return {
    ...rest,
    vmType,
    vmOpts,
    os,
    arch,
    images,
    cpus: config.cpus || Math.min(4, host.cpus),
    memory: config.memory || formatSize(Math.min(4 * GiB, Math.floor(host.memoryBytes / 2))),
    disk: config.disk || "100GiB",
    additionalDisks,
    mounts: filledMounts,
    mountTypesUnsupported,
    mountType,
    mountInotify: config.mountInotify ?? false,
    ssh: {
      ...config.ssh,
      localPort: config.ssh?.localPort ?? 0,
      loadDotSSHPubKeys: config.ssh?.loadDotSSHPubKeys ?? false,
      forwardAgent: config.ssh?.forwardAgent ?? false,
      forwardX11: config.ssh?.forwardX11 ?? false,
      forwardX11Trusted: config.ssh?.forwardX11Trusted ?? false,
      overVsock: config.ssh?.overVsock ?? (vmType === "vz" && os === "Linux"),
    },
    firmware: {
      ...config.firmware,
      legacyBIOS: config.firmware?.legacyBIOS ?? false,
      images: (config.firmware?.images ?? []).map((file) => ({ ...file, arch: file.arch ?? arch })),
    },
    audio: { ...config.audio, device: config.audio?.device ?? "" },
    video: {
      ...config.video,
      display: config.video?.display || "none",
      vnc: { ...config.video?.vnc, display: config.video?.vnc?.display ?? "127.0.0.1:0,to=9" },
    },
    provision,
    upgradePackages: config.upgradePackages ?? false,
    containerd,
    guestInstallPrefix: config.guestInstallPrefix ?? "/usr/local",
    probes,
    portForwards,
    copyToHost,
    message: config.message ?? "",
    networks,
    env: stringMap(config.env),
    param,
    dns: config.dns ?? [],
    hostResolver: {
      ...config.hostResolver,
      enabled: config.hostResolver?.enabled ?? true,
      ipv6: config.hostResolver?.ipv6 ?? false,
      hosts: stringMap(config.hostResolver?.hosts),
    },
    propagateProxyEnv: config.propagateProxyEnv ?? true,
    caCerts: {
      ...config.caCerts,
      removeDefaults: config.caCerts?.removeDefaults ?? false,
      files: unique(config.caCerts?.files ?? []),
      certs: unique(config.caCerts?.certs ?? []),
    },
    plain,
    timezone,
    nestedVirtualization: config.nestedVirtualization ?? false,
    tpm: config.tpm ?? false,
    user,
  };
}

/** `null`, "" and `default` all mean "pick for me". */
function resolveDefault(value: string | null | undefined): string | undefined {
  return value == null || value === "" || value === "default" ? undefined : value;
}

/** Lima picks vz by default only from macOS 13.5: Virtualization.framework before it cannot boot Linux 6.2 on Intel. */
export const VzDefaultMinimumMacos = "13.5";

export interface VmTypeDefault {
  vmType: string;
  /** Set when Lima would have picked vz (a native guest on a Mac) and den does not: why, for the user. */
  fallback?: string;
}

/**
 * Lima's default, vz on macOS for a native guest and qemu otherwise (including Windows since Lima 2.2), but never a
 * vz this host cannot run: then qemu, with the reason the VZ driver gave (macOS too old, no signed helper).
 */
export function defaultVmType(host: Pick<HostInfo, "os" | "arch" | "macosVersion" | "driverAvailability">, arch: string): VmTypeDefault {
  if (host.os !== "darwin" || arch !== host.arch) return { vmType: "qemu" };
  const vz = host.driverAvailability.vz ?? { available: false, reason: "this den has no VZ driver" };
  if (!vz.available) return { vmType: "qemu", fallback: vz.reason };
  if (host.macosVersion === null || !macosAtLeast(host.macosVersion, VzDefaultMinimumMacos)) {
    const version = host.macosVersion === null ? "" : ` (this is macOS ${host.macosVersion})`;
    return { vmType: "qemu", fallback: `vz is the default only from macOS ${VzDefaultMinimumMacos}, whose Virtualization.framework boots Linux 6.2 and later${version}; set vmType: vz to use it anyway` };
  }
  return { vmType: "vz" };
}

/** The one line create and start print when vmType falls back: `vmType: using "qemu": VZ needs macOS 13 or later (…)`. */
export function vmTypeFallbackLine(vmType: string, reason: string): string {
  return `vmType: using "${vmType}": ${reason}`;
}

/** The host user's name when it is a valid guest user name, else den's fallback. */
export function defaultUserName(host: Pick<HostInfo, "username" | "uid">): string {
  const name = host.username;
  if (host.uid === 0 || name === "root" || name === "admin" || !UserNamePattern.test(name)) return FallbackUser;
  return name;
}

function defaultShell(os: string): string {
  if (os === "FreeBSD") return "/bin/sh";
  if (os === "Darwin") return "/bin/zsh";
  if (os === "Windows") return "cmd.exe";
  return "/bin/bash";
}

/**
 * qemu mounts with 9p, vz with virtiofs, wsl2 natively; a type listed in `mountTypesUnsupported`
 * (or 9p on a Windows host, where QEMU lacks virtfs) falls back to reverse-sshfs.
 */
export function resolveMountType(value: string | null | undefined, vmType: string, hostOs: string, unsupported: readonly string[]): MountType {
  const chosen = resolveDefault(value);
  if (chosen) return chosen as MountType;
  let type: MountType = vmType === "vz" ? "virtiofs" : vmType === "wsl2" ? "wsl2" : "9p";
  if (type === "9p" && hostOs === "win32") type = "reverse-sshfs";
  if (unsupported.includes(type)) type = "reverse-sshfs";
  return type;
}

interface PortForwardHelpers {
  ctx: DefaultsContext;
  expand: (text: string, kind: "guest" | "host", key: string) => string;
}

type RawPortForward = NonNullable<DenYaml["portForwards"]>[number];

/** Lima's `FillPortForwardDefaults` (docs: config/port.md). */
function fillPortForward(rule: RawPortForward, { ctx, expand }: PortForwardHelpers): FilledPortForward {
  const guestIP = rule.guestIP ?? (rule.guestIPMustBeZero ? "0.0.0.0" : "127.0.0.1");
  const guestPortRange: [number, number] = rule.guestPortRange ?? (rule.guestPort ? [rule.guestPort, rule.guestPort] : [1, 65535]);
  const out: FilledPortForward = {
    ...rule,
    guestIP,
    guestIPMustBeZero: rule.guestIPMustBeZero ?? guestIP === "0.0.0.0",
    guestPortRange,
    hostIP: rule.hostIP ?? "127.0.0.1",
    hostPortRange: rule.hostPortRange ?? [0, 0],
    proto: rule.proto ?? "any",
    reverse: rule.reverse ?? false,
    ignore: rule.ignore ?? false,
    static: rule.static ?? false,
  };
  if (rule.guestSocket) out.guestSocket = expand(rule.guestSocket, "guest", "guestSocket");
  if (rule.hostSocket) {
    const socket = expand(rule.hostSocket, "host", "hostSocket");
    out.hostSocket = isAbsolute(socket) ? socket : join(ctx.instanceDir, SocketDir, socket);
  } else if (!rule.hostPortRange || (rule.hostPortRange[0] === 0 && rule.hostPortRange[1] === 0)) {
    out.hostPortRange = rule.hostPort ? [rule.hostPort, rule.hostPort] : [...guestPortRange];
  }
  return out;
}

/** `52:55:55:` + the first three bytes of sha256(machine id + unique id), as Lima derives it. */
export function macAddress(machineId: string, uniqueId: string): string {
  const hash = createHash("sha256").update(machineId + uniqueId).digest();
  return [0x52, 0x55, 0x55, hash[0]!, hash[1]!, hash[2]!].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

/** Go's filepath.Clean for the cases that matter here: no `.`/`..` segments, no trailing slash. */
function cleanPath(path: string): string {
  if (path === "") return ".";
  const cleaned = normalize(path);
  return cleaned.length > 1 && cleaned.endsWith("/") ? cleaned.slice(0, -1) : cleaned;
}

/** `~` and `~/x` become the host home; other paths (including relative ones, rejected later) stay. */
function expandTilde(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return join(home, path.slice(2));
  return path;
}

function stringMap(map: Record<string, string> | null | undefined): Record<string, string> {
  return { ...map };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
