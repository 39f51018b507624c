// Lima's cross-field rules (`pkg/limayaml/validate.go`, plus the guest-user rules of `pkg/cidata`), run on
// the filled configuration. Every problem is collected with the path of the offending field, so the caller
// can point at the line in the YAML that caused it.
import { isAbsolute as isHostAbsolute } from "node:path";
import { posix } from "node:path";
import { type ConfigIssue, excerpt } from "../errors.ts";
import { Arches, type FilledDenYaml, type FilledPortForward, OsTypes, Protos, VmTypes } from "./schema.ts";
import { parseSize } from "./units.ts";

/** The Lima release whose lima.yaml den reads; `minimumLimaVersion` is compared with it. */
export const CompatibleLimaVersion = "2.2.0";

export interface ValidateContext {
  /**
   * What is at a host path. A missing mount folder is only a warning (as in Lima, the folder may be
   * created later); a file where a folder is expected is an error.
   */
  pathKind?: (path: string) => "directory" | "other" | "missing";
  /** Simpler form of `pathKind`: anything that is not a directory is an error. */
  isDirectory?: (path: string) => boolean;
  /** Node's platform name of the host; sets the unix socket path limit (104 on darwin, 108 elsewhere). */
  hostOs?: string;
  /** Compared with `minimumLimaVersion`; defaults to CompatibleLimaVersion. */
  limaVersion?: string;
  warn?: (message: string) => void;
}

type Path = (string | number)[];

const SystemMountPoints = new Set(["/", "/bin", "/dev", "/etc", "/home", "/opt", "/sbin", "/tmp", "/usr", "/var"]);
const UserNamePattern = /^[a-z_][a-z0-9_-]*$/;
const ParamNamePattern = /^[A-Za-z][A-Za-z0-9_]*$/;
const IdentifierPattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const DigestLengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
/** QEMU's user-mode network interface; a den network may not take its name. */
const SlirpInterface = "eth0";

/** A value from the configuration as a message quotes it: escaped and short, since it may come from any file. */
function quoted(text: string): string {
  return `"${excerpt(text)}"`;
}

function quoteList(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

/** Every cross-field problem of a filled configuration; an empty list means valid. */
export function validateConfig(config: FilledDenYaml, ctx: ValidateContext = {}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: Path, message: string, hint?: string) => issues.push({ path, message, ...(hint !== undefined && { hint }) });

  if (config.base != null && (!Array.isArray(config.base) || config.base.length > 0)) {
    add(["base"], "Must be empty when the instance is loaded: bases are merged into lima.yaml at create time");
  }

  if (config.minimumLimaVersion != null) {
    const wanted = parseVersion(config.minimumLimaVersion);
    const running = ctx.limaVersion ?? CompatibleLimaVersion;
    if (!wanted) {
      add(["minimumLimaVersion"], `Invalid version ${quoted(config.minimumLimaVersion)}: expected a semantic version such as "1.1.0"`);
    } else if (compareVersions(parseVersion(running) ?? wanted, wanted) < 0) {
      add(["minimumLimaVersion"], `Template requires Lima version ${quoted(config.minimumLimaVersion)}; den reads files of Lima ${quoted(running)}`, "use a template written for an older Lima release");
    }
  }

  if (!(VmTypes as readonly string[]).includes(config.vmType)) {
    add(["vmType"], `Unknown VM type ${quoted(config.vmType)}: expected one of ${quoteList(VmTypes)}`, "den has no external drivers; use qemu or vz");
  }
  if (!(OsTypes as readonly string[]).includes(config.os)) {
    add(["os"], `Unknown OS ${quoted(config.os)}: expected one of ${quoteList(OsTypes)}`);
  }
  if (!(Arches as readonly string[]).includes(config.arch)) {
    add(["arch"], `Unknown architecture ${quoted(config.arch)}: expected one of ${quoteList(Arches)}`);
  }

  validateImages(config, add);

  if (!Number.isSafeInteger(config.cpus) || config.cpus < 1) add(["cpus"], `Must be at least 1, got ${config.cpus}`, CpusHint);
  for (const key of ["memory", "disk"] as const) {
    const problem = resourceSizeProblem(key, config[key]);
    if (problem) add([key], problem.message, problem.hint);
  }

  config.additionalDisks.forEach((disk, i) => {
    if (!IdentifierPattern.test(disk.name)) {
      add(["additionalDisks", i, "name"], `Invalid disk name ${quoted(disk.name)}: use letters and digits, separated by single ".", "_" or "-"`);
    }
  });

  validateMounts(config, ctx, add);

  if (config.mountTypesUnsupported.includes(config.mountType)) {
    add(["mountType"], `Mount type ${quoted(config.mountType)} is listed in mountTypesUnsupported`, "choose another mountType or remove it from mountTypesUnsupported");
  }

  validateProvision(config, add);

  if ((config.containerd.user || config.containerd.system) && config.containerd.archives.length === 0) {
    add(["containerd", "archives"], "Must list at least one archive when containerd is enabled");
  }
  config.containerd.archives.forEach((file, i) => validateFile(file, ["containerd", "archives", i], add));

  config.probes.forEach((probe, i) => {
    if (probe.file == null && !(probe.script ?? "").startsWith("#!")) {
      add(["probes", i, "script"], 'Probe script must start with a "#!" line', 'begin the script with an interpreter line such as "#!/bin/bash"');
    }
  });

  const socketLimit = ctx.hostOs === "darwin" ? 104 : 108;
  config.portForwards.forEach((rule, i) => validatePortForward(rule, ["portForwards", i], socketLimit, add));

  config.copyToHost.forEach((rule, i) => {
    if (rule.guest && !posix.isAbsolute(rule.guest)) add(["copyToHost", i, "guest"], `Must be an absolute path, got ${quoted(rule.guest)}`);
    if (rule.host && !isHostAbsolute(rule.host)) add(["copyToHost", i, "host"], `Must be an absolute path, got ${quoted(rule.host)}`);
  });

  if (config.hostResolver.enabled && config.dns.length > 0) {
    add(["dns"], "Must be empty when hostResolver.enabled is true", "set hostResolver.enabled: false to use your own DNS servers");
  }

  validateNetworks(config, add);
  validateUser(config, add);

  issues.push(...envIssues(config.env));

  for (const [name, value] of Object.entries(config.param)) {
    if (!ParamNamePattern.test(name)) {
      add(["param", name], `Invalid param name ${quoted(name)}: must start with a letter, then letters, digits or "_"`);
    }
    const bad = [...value].find((char) => char !== "\t" && char !== " " && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(char));
    if (bad !== undefined) add(["param", name], `Param ${quoted(name)} contains the unprintable character ${JSON.stringify(bad)}`);
  }
  return issues;
}

type Add = (path: Path, message: string, hint?: string) => void;

function validateImages(config: FilledDenYaml, add: Add): void {
  if (config.images.length === 0) {
    add(["images"], "Must list at least one image", 'add an entry such as `images: [{location: "https://…/cloudimg.img", arch: "x86_64"}]`');
  }
  config.images.forEach((image, i) => {
    validateFile(image, ["images", i], add);
    if (image.kernel) {
      validateFile(image.kernel, ["images", i, "kernel"], add);
      if (image.kernel.arch != null && image.kernel.arch !== image.arch) {
        add(["images", i, "kernel", "arch"], `Kernel architecture ${quoted(image.kernel.arch)} differs from the image's ${quoted(image.arch)}`);
      }
    }
    if (image.initrd) {
      validateFile(image.initrd, ["images", i, "initrd"], add);
      if (image.initrd.arch != null && image.initrd.arch !== image.arch) {
        add(["images", i, "initrd", "arch"], `Initrd architecture ${quoted(image.initrd.arch)} differs from the image's ${quoted(image.arch)}`);
      }
    }
  });
}

function validateFile(file: { location: string; arch?: string | null; digest?: string | null }, path: Path, add: Add): void {
  if (file.location === "") add([...path, "location"], "Must not be empty");
  else if (!file.location.includes("://") && file.location.startsWith("~") && file.location !== "~" && !file.location.startsWith("~/")) {
    add([...path, "location"], `Cannot expand ${quoted(file.location)}: only "~" and "~/…" name the home folder`);
  }
  if (file.arch != null && !(Arches as readonly string[]).includes(file.arch)) {
    add([...path, "arch"], `Unknown architecture ${quoted(file.arch)}: expected one of ${quoteList(Arches)}`);
  }
  if (file.digest != null && file.digest !== "") {
    const [algorithm = "", hex = ""] = file.digest.split(":", 2);
    const length = DigestLengths[algorithm];
    if (length === undefined || !file.digest.includes(":") || hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
      add([...path, "digest"], `Invalid digest ${quoted(file.digest)}: expected "sha256:", "sha384:" or "sha512:" and the lowercase hex hash`);
    }
  }
}

const CpusHint = "give a positive number of CPUs, or remove cpus: to use the default (at most 4, and no more than the host has)";

/** Below this QEMU gets `-m 0`: it takes memory in MiB. */
const MinMemoryBytes = 2 ** 20;

/**
 * memory and disk must be sizes QEMU can use: more than nothing (`"0"` is a size, so defaults do not replace it)
 * and an exact byte count (beyond 2^53 bytes the number is not one; no host has that much anyway).
 */
function resourceSizeProblem(key: "memory" | "disk", text: string): { message: string; hint: string } | undefined {
  const hint = `give a size such as "4GiB", or remove ${key}: to use the default`;
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch (error) {
    return { message: (error as Error).message, hint };
  }
  if (!Number.isSafeInteger(bytes)) return { message: `Size ${quoted(text)} is too large`, hint };
  if (bytes === 0) return { message: `Must be larger than 0, got ${quoted(text)}`, hint };
  if (key === "memory" && bytes < MinMemoryBytes) return { message: `Must be at least 1MiB, got ${quoted(text)}`, hint };
  return undefined;
}

const EnvNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The rule for `env:` entries. The seed (cidata/env-files.ts) writes them into the guest's /etc/environment,
 * which pam_env reads as one unquoted `KEY=VALUE` per line: a name must be a shell identifier and a value cannot
 * carry a line break or NUL. create and validate apply the same function, so a bad entry is refused with its
 * line before an instance exists rather than when the seed is built at start.
 */
export function envIssues(env: Readonly<Record<string, string>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(env)) {
    const value = env[key] ?? "";
    if (!EnvNamePattern.test(key)) {
      issues.push({ path: ["env", key], message: `Invalid environment variable name ${quoted(key)}`, hint: 'use letters, digits and "_", not starting with a digit' });
    } else if (/[\n\r]/.test(value)) {
      issues.push({ path: ["env", key], message: "Value contains a line break, which /etc/environment cannot hold", hint: "put multi-line values into a file with a `mode: data` provision entry" });
    } else if (value.includes("\0")) {
      issues.push({ path: ["env", key], message: "Value contains a NUL character", hint: "remove the NUL character from the value" });
    }
  }
  return issues;
}

function sizeError(text: string): string | undefined {
  try {
    parseSize(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function validateMounts(config: FilledDenYaml, ctx: ValidateContext, add: Add): void {
  config.mounts.forEach((mount, i) => {
    const at = (key: string): Path => ["mounts", i, key];
    if (!isHostAbsolute(mount.location)) {
      add(at("location"), `Mount location must be an absolute path, got ${quoted(mount.location)}`, 'use an absolute path or one starting with "~/"');
    } else {
      const kind = ctx.pathKind ? ctx.pathKind(mount.location) : ctx.isDirectory && !ctx.isDirectory(mount.location) ? "other" : "directory";
      if (kind === "missing") ctx.warn?.(`Mount location ${quoted(mount.location)} does not exist`);
      else if (kind === "other") {
        add(at("location"), `Mount location ${quoted(mount.location)} is not an existing directory`, "create the folder or fix the path");
      }
    }

    const point = mount.mountPoint;
    if (point.startsWith("~")) {
      add(at("mountPoint"), `Mount point must not start with "~", got ${quoted(point)}`, "the guest does not expand ~; write the absolute guest path");
    } else if (!posix.isAbsolute(point)) {
      add(at("mountPoint"), `Mount point must be an absolute path, got ${quoted(point)}`);
    } else if (SystemMountPoints.has(posix.normalize(point).replace(/(.)\/$/, "$1"))) {
      add(at("mountPoint"), `Mount point must not be a system path such as /etc or /usr, got ${quoted(point)}`);
    } else if (point === config.user.home) {
      add(at("mountPoint"), `Mount point ${quoted(point)} is the guest user's home, which den manages`, "mount the folder somewhere else, e.g. under /mnt");
    }

    const msize = sizeError(mount["9p"].msize);
    if (msize) add(["mounts", i, "9p", "msize"], msize);
  });
}

function validateProvision(config: FilledDenYaml, add: Add): void {
  config.provision.forEach((entry, i) => {
    const at = (key: string): Path => ["provision", i, key];
    const mode = entry.mode;
    if (mode !== "dependency" && entry.skipDefaultDependencyResolution != null) {
      add(at("skipDefaultDependencyResolution"), 'Only allowed when mode is "dependency"');
    }
    if (mode === "data" || mode === "yq") {
      if (entry.path == null || entry.path === "") {
        add(at("path"), `Path is required when mode is ${quoted(mode)}`, "give the absolute guest path of the file to write");
      } else if (!posix.isAbsolute(entry.path)) {
        add(at("path"), `Must be an absolute path, got ${quoted(entry.path)}`);
      }
      if (mode === "yq" && (entry.expression == null || entry.expression === "")) {
        add(at("expression"), 'Expression is required when mode is "yq"');
      }
      if (entry.permissions != null && !/^[0-7]+$/.test(entry.permissions)) {
        add(at("permissions"), `Permissions must be an octal number such as "644", got ${quoted(entry.permissions)}`);
      }
      if (mode === "data" && entry.format != null) add(at("format"), 'Only allowed when mode is "yq"');
      if (mode === "yq" && entry.content != null) add(at("content"), 'Only allowed when mode is "data"');
      if (mode === "yq" && entry.overwrite != null) add(at("overwrite"), 'Only allowed when mode is "data"');
    } else {
      const hasScript = entry.script != null && entry.script !== "";
      if (!hasScript && entry.file == null && mode !== "ansible") add(at("script"), "Script must not be empty");
      if (entry.content != null) add(at("content"), 'Only allowed when mode is "data"');
      if (entry.overwrite != null) add(at("overwrite"), 'Only allowed when mode is "data"');
      if (entry.owner != null) add(at("owner"), 'Only allowed when mode is "data" or "yq"');
      if (entry.path != null) add(at("path"), 'Only allowed when mode is "data" or "yq"');
      if (entry.permissions != null) add(at("permissions"), 'Only allowed when mode is "data" or "yq"');
      if (entry.format != null) add(at("format"), 'Only allowed when mode is "yq"');
      if (entry.expression != null) add(at("expression"), 'Only allowed when mode is "yq"');
    }
    if (entry.playbook != null && entry.playbook !== "") {
      if (mode !== "ansible") add(at("playbook"), 'Only allowed when mode is "ansible"');
      if (entry.script != null && entry.script !== "") add(at("script"), "Script must be empty when playbook is set");
    }
  });
}

function validatePortForward(rule: FilledPortForward, path: Path, socketLimit: number, add: Add): void {
  const at = (key: string): Path => [...path, key];
  const [guestLow, guestHigh] = rule.guestPortRange;
  const [hostLow, hostHigh] = rule.hostPortRange;

  if (rule.guestIPMustBeZero && rule.guestIP !== "0.0.0.0") {
    add(at("guestIPMustBeZero"), `Can only be true when guestIP is 0.0.0.0, got guestIP ${quoted(rule.guestIP)}`);
  }
  if (rule.guestPort) {
    if (rule.guestSocket) add(at("guestPort"), "Must not be set together with guestSocket");
    if (rule.guestPort !== guestLow) add(at("guestPort"), `Must equal guestPortRange[0] (${guestLow}), got ${rule.guestPort}`);
  }
  if (rule.hostPort) {
    if (rule.hostSocket) add(at("hostPort"), "Must not be set together with hostSocket");
    if (rule.hostPort !== hostLow) add(at("hostPort"), `Must equal hostPortRange[0] (${hostLow}), got ${rule.hostPort}`);
  }
  const checkPort = (key: "guestPortRange" | "hostPortRange", port: number) => {
    if (port < 1 || port > 65535) add(at(key), `Ports must be between 1 and 65535, got ${port}`);
  };
  checkPort("guestPortRange", guestLow);
  if (guestHigh !== guestLow) checkPort("guestPortRange", guestHigh);
  if (!rule.hostSocket) {
    checkPort("hostPortRange", hostLow);
    if (hostHigh !== hostLow) checkPort("hostPortRange", hostHigh);
  }
  if (guestLow > guestHigh) add(at("guestPortRange"), `The range must not end before it starts, got [${guestLow}, ${guestHigh}]`);
  if (hostLow > hostHigh) add(at("hostPortRange"), `The range must not end before it starts, got [${hostLow}, ${hostHigh}]`);

  if (rule.guestSocket) {
    if (!posix.isAbsolute(rule.guestSocket)) add(at("guestSocket"), `Must be an absolute path, got ${quoted(rule.guestSocket)}`);
    if (!rule.hostSocket && hostHigh - hostLow > 0) {
      add(at("guestSocket"), "A guest socket can only be forwarded to a single port or socket, not a range");
    }
  }
  if (rule.hostSocket) {
    if (!isHostAbsolute(rule.hostSocket)) add(at("hostSocket"), `Must be an absolute path, got ${quoted(rule.hostSocket)}`);
    if (!rule.guestSocket && guestHigh - guestLow > 0) {
      add(at("hostSocket"), "A host socket can only be forwarded from a single port or socket, not a range");
    }
    const length = Buffer.byteLength(rule.hostSocket);
    if (length >= socketLimit) {
      add(at("hostSocket"), `Socket path is ${length} bytes long; the limit is ${socketLimit - 1}`, "use a shorter hostSocket path");
    }
  } else if (guestHigh - guestLow !== hostHigh - hostLow) {
    add(at("hostPortRange"), `Must cover as many ports as guestPortRange (${guestHigh - guestLow + 1}), got ${hostHigh - hostLow + 1}`);
  }
  if (!(Protos as readonly string[]).includes(rule.proto)) {
    add(at("proto"), `Unknown protocol ${quoted(rule.proto)}: expected one of ${quoteList(Protos)}`);
  }
  if (rule.reverse && (!rule.guestSocket || !rule.hostSocket)) {
    add(at("reverse"), "Can only be true when both guestSocket and hostSocket are set");
  }
}

function validateNetworks(config: FilledDenYaml, add: Add): void {
  const seen = new Map<string, number>();
  config.networks.forEach((network, i) => {
    const at = (key: string): Path => ["networks", i, key];
    const kinds = [network.lima ? "lima" : "", network.socket ? "socket" : "", network.vzNAT ? "vzNAT" : ""].filter((kind) => kind !== "");
    if (kinds.length === 0) add(["networks", i], 'One of "lima", "socket" or "vzNAT" must be set');
    if (kinds.length > 1) add(at(kinds[1]!), `"${kinds[0]}" and "${kinds[1]}" are mutually exclusive`);
    if (!/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(network.macAddress)) {
      add(at("macAddress"), `Invalid MAC address ${quoted(network.macAddress)}: expected six hex bytes such as "52:55:55:12:34:56"`);
    }
    const name = network.interface;
    if (Buffer.byteLength(name) >= 16) add(at("interface"), `Must be shorter than 16 bytes, got ${quoted(name)} (${Buffer.byteLength(name)} bytes)`);
    if (/[\s/]/.test(name)) add(at("interface"), `Must not contain whitespace or slashes, got ${quoted(name)}`);
    if (name === SlirpInterface) add(at("interface"), `${quoted(SlirpInterface)} is reserved for the default user-mode network`);
    const previous = seen.get(name);
    if (previous !== undefined) add(at("interface"), `Interface ${quoted(name)} is already used by networks[${previous}]`);
    else seen.set(name, i);
  });
}

function validateUser(config: FilledDenYaml, add: Add): void {
  const { name, uid } = config.user;
  if (name === "root") {
    add(["user", "name"], "The guest user must not be root", 'remove user.name to use your own name, or pick another, e.g. "den"');
  } else if (!UserNamePattern.test(name)) {
    add(["user", "name"], `Invalid user name ${quoted(name)}: must match ${UserNamePattern.source}`);
  }
  if (uid === 0) add(["user", "uid"], "The guest user's uid must not be 0", "remove user.uid to use your own uid, or pick one such as 1000");
  // These go into /etc/passwd (":" separates its fields) and into the seed's line-based files (den.env).
  for (const field of ["home", "shell"] as const) {
    const path = config.user[field];
    if (!path.startsWith("/")) add(["user", field], `Must be an absolute path in the guest, got ${quoted(path)}`, field === "shell" ? 'e.g. "/bin/bash"' : 'e.g. "/home/{{.User}}.guest"');
    else if (/[:\p{Cc}]/u.test(path)) add(["user", field], `Must not contain ":" or control characters, got ${quoted(path)}`);
  }
  if (/\p{Cc}/u.test(config.user.comment)) add(["user", "comment"], `Must not contain control characters such as a line break, got ${quoted(config.user.comment)}`);
}

interface Version {
  parts: [number, number, number];
  prerelease: string;
}

/** `1`, `1.2`, `1.2.3`, optionally `v`-prefixed, with an optional `-pre` and `+build` (as Lima's semver parser). */
function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!match) return undefined;
  return { parts: [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)], prerelease: match[4] ?? "" };
}

function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const diff = a.parts[i]! - b.parts[i]!;
    if (diff !== 0) return diff;
  }
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === "") return 1;
  if (b.prerelease === "") return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}
