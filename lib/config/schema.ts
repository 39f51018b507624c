// The schema of lima.yaml as den reads it: every key Lima knows, so an existing Lima file loads unchanged.
// Lima models every field as a pointer, so every key is optional and also accepts YAML `null`
// (templates write `cpus: null` to mean "use the default"). Objects are strict: an unknown key is a
// mistake worth reporting (`mountTyp:`), not something to ignore.
//
// Two schemas are built from the same pieces: `DenYamlSchema` for a file as written (and for the merged
// layers), and `FilledDenYamlSchema` for the configuration after `fillDefaults`, where every field the
// defaults always set is required and non-null.
import { z } from "zod";
import { excerpt } from "../errors.ts";

// --- closed sets ---------------------------------------------------------------------------------

export const VmTypes = ["qemu", "vz", "wsl2"] as const;
export const OsTypes = ["Linux", "Darwin", "FreeBSD", "Windows"] as const;
export const Arches = ["x86_64", "aarch64", "armv7l", "ppc64le", "riscv64", "s390x"] as const;
export const MountTypes = ["reverse-sshfs", "9p", "virtiofs", "wsl2"] as const;
export const ProvisionModes = ["system", "user", "boot", "dependency", "data", "yq", "ansible"] as const;
export const ProbeModes = ["readiness"] as const;
export const Protos = ["tcp", "udp", "any"] as const;
export const SftpDrivers = ["", "builtin", "openssh-sftp-server"] as const;
export const YqFormats = ["auto", "csv", "ini", "json", "props", "tsv", "toml", "xml", "yaml"] as const;
export const DiskImageFormats = ["raw", "asif"] as const;

export type VmType = (typeof VmTypes)[number];
export type OsType = (typeof OsTypes)[number];
export type Arch = (typeof Arches)[number];
export type MountType = (typeof MountTypes)[number];
export type ProvisionMode = (typeof ProvisionModes)[number];
export type Proto = (typeof Protos)[number];

// --- leaves --------------------------------------------------------------------------------------

/** A key that may be absent or `null`, as Lima's pointer fields are. */
function nullish<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

/** The same field once defaults are filled: present and non-null. */
function filled<T extends z.ZodType>(schema: z.ZodOptional<z.ZodNullable<T>>): T {
  return schema.unwrap().unwrap();
}

type FilledField<T> = T extends z.ZodOptional<z.ZodNullable<infer U>> ? U : never;

/** `schema` with the fields `keys` filled (see `filled`); its other fields as they are. */
function withFilled<Shape extends z.ZodRawShape, K extends keyof Shape & string>(schema: z.ZodObject<Shape>, keys: readonly K[]) {
  const shape = Object.fromEntries(keys.map((key) => [key, filled(schema.shape[key] as z.ZodOptional<z.ZodNullable<z.ZodType>>)]));
  // Each key's type follows from Shape; TypeScript cannot carry it through Object.fromEntries.
  return schema.extend(shape as unknown as { [P in K]: FilledField<Shape[P]> });
}

const Str = z.string();
const Bool = z.boolean();
const Int = z.int();

/**
 * A size such as `4GiB`. Lima's field is a string, but YAML turns `memory: 4294967296` into a number;
 * go-yaml accepts that too, so den keeps it as the same text.
 */
const SizeString = z.union([z.string(), z.number().transform((value) => String(value))]);

/**
 * Map values Lima declares as strings; YAML scalars such as `1` or `true` are kept as their text, and an
 * empty value (`KEY:`) is "" as go-yaml decodes it.
 */
const ScalarString = z.union([
  z.string(),
  z.number().transform(String),
  z.boolean().transform(String),
  z.null().transform(() => ""),
]);
const StringMap = z.record(z.string(), ScalarString);

function isIp(text: string): boolean {
  return z.ipv4().safeParse(text).success || z.ipv6().safeParse(text).success;
}
const IpString = z.string().refine(isIp, { error: (issue) => `Expected an IP address, got "${excerpt(String(issue.input))}"` });

const PortNumber = z.int().min(0).max(65535);
const PortRange = z.tuple([PortNumber, PortNumber]);

/** `{url, digest}` as used by `base:`, provision `file:` and probe `file:`. */
export const LocatorWithDigestSchema = z.strictObject({
  url: Str,
  digest: nullish(Str),
});
/** A locator may also be written as the plain URL string. */
const Locator = z.union([Str, LocatorWithDigestSchema]);

/** A downloadable file: image, kernel, firmware, containerd archive. */
export const FileSchema = z.strictObject({
  location: Str,
  arch: nullish(Str),
  digest: nullish(Str),
});

// --- objects -------------------------------------------------------------------------------------

export const ImageSchema = FileSchema.extend({
  variant: nullish(Str),
  archVariant: nullish(Str),
  kernel: nullish(FileSchema.extend({ cmdline: nullish(Str) })),
  initrd: nullish(FileSchema),
});

export const RosettaSchema = z.strictObject({
  enabled: nullish(Bool),
  binfmt: nullish(Bool),
});

export const CpuTypeSchema = z.record(z.string(), ScalarString);

/** Accelerators `vmOpts.qemu.accel` may force (den's field; Lima has none). DEN_QEMU_ACCEL wins over it. */
export const QemuAccels = ["kvm", "hvf", "tcg"] as const;

export const QemuOptsSchema = z.strictObject({
  minimumVersion: nullish(Str),
  cpuType: nullish(CpuTypeSchema),
  accel: nullish(z.enum(QemuAccels)),
});

export const VzOptsSchema = z.strictObject({
  diskImageFormat: nullish(z.enum(DiskImageFormats)),
  rosetta: nullish(RosettaSchema),
});

export const VmOptsSchema = z.strictObject({
  qemu: nullish(QemuOptsSchema),
  vz: nullish(VzOptsSchema),
});

export const OsOptsSchema = z.strictObject({
  Windows: nullish(z.strictObject({ virtioWin: nullish(z.array(FileSchema)) })),
});

export const DiskObjectSchema = z.strictObject({
  name: Str,
  format: nullish(Bool),
  fsType: nullish(Str),
  fsArgs: nullish(z.array(Str)),
});
/** `additionalDisks` entries are a disk name or an object. */
export const AdditionalDiskSchema = z.union([Str, DiskObjectSchema]);

export const SshfsSchema = z.strictObject({
  cache: nullish(Bool),
  followSymlinks: nullish(Bool),
  sftpDriver: nullish(z.enum(SftpDrivers)),
});

export const NinePSchema = z.strictObject({
  securityModel: nullish(Str),
  protocolVersion: nullish(Str),
  msize: nullish(Str),
  cache: nullish(Str),
});

export const VirtiofsSchema = z.strictObject({
  queueSize: nullish(Int),
});

export const MountSchema = z.strictObject({
  location: Str,
  mountPoint: nullish(Str),
  writable: nullish(Bool),
  sshfs: nullish(SshfsSchema),
  "9p": nullish(NinePSchema),
  virtiofs: nullish(VirtiofsSchema),
});

export const SshSchema = z.strictObject({
  localPort: nullish(PortNumber),
  loadDotSSHPubKeys: nullish(Bool),
  forwardAgent: nullish(Bool),
  forwardX11: nullish(Bool),
  forwardX11Trusted: nullish(Bool),
  overVsock: nullish(Bool),
});

export const FirmwareImageSchema = FileSchema.extend({ vmType: nullish(Str) });

export const FirmwareSchema = z.strictObject({
  legacyBIOS: nullish(Bool),
  images: nullish(z.array(FirmwareImageSchema)),
});

export const AudioSchema = z.strictObject({
  device: nullish(Str),
  interface: nullish(Str),
});

export const VncSchema = z.strictObject({
  display: nullish(Str),
});

export const VideoSchema = z.strictObject({
  display: nullish(Str),
  vnc: nullish(VncSchema),
});

export const ProvisionSchema = z.strictObject({
  mode: nullish(z.enum(ProvisionModes)),
  skipDefaultDependencyResolution: nullish(Bool),
  script: nullish(Str),
  file: nullish(Locator),
  playbook: nullish(Str),
  // data (and yq, which borrows owner, path and permissions)
  path: nullish(Str),
  content: nullish(Str),
  owner: nullish(Str),
  permissions: nullish(z.union([Str, Int.transform((value) => String(value))])),
  overwrite: nullish(Bool),
  // yq
  expression: nullish(Str),
  format: nullish(z.enum(YqFormats)),
});

export const ContainerdSchema = z.strictObject({
  system: nullish(Bool),
  user: nullish(Bool),
  archives: nullish(z.array(FileSchema)),
});

export const ProbeSchema = z.strictObject({
  mode: nullish(z.enum(ProbeModes)),
  description: nullish(Str),
  script: nullish(Str),
  file: nullish(Locator),
  hint: nullish(Str),
});

export const PortForwardSchema = z.strictObject({
  guestIPMustBeZero: nullish(Bool),
  guestIP: nullish(IpString),
  guestPort: nullish(PortNumber),
  guestPortRange: nullish(PortRange),
  guestSocket: nullish(Str),
  hostIP: nullish(IpString),
  hostPort: nullish(PortNumber),
  hostPortRange: nullish(PortRange),
  hostSocket: nullish(Str),
  proto: nullish(z.enum(Protos)),
  reverse: nullish(Bool),
  ignore: nullish(Bool),
  static: nullish(Bool),
});

export const CopyToHostSchema = z.strictObject({
  guest: nullish(Str),
  host: nullish(Str),
  skipIfMissing: nullish(Bool),
  deleteOnStop: nullish(Bool),
});

export const NetworkSchema = z.strictObject({
  lima: nullish(Str),
  socket: nullish(Str),
  vzNAT: nullish(Bool),
  macAddress: nullish(Str),
  interface: nullish(Str),
  metric: nullish(z.int().min(0).max(0xffffffff)),
});

export const HostResolverSchema = z.strictObject({
  enabled: nullish(Bool),
  ipv6: nullish(Bool),
  hosts: nullish(StringMap),
});

export const CaCertsSchema = z.strictObject({
  removeDefaults: nullish(Bool),
  files: nullish(z.array(Str)),
  certs: nullish(z.array(Str)),
});

export const UserSchema = z.strictObject({
  name: nullish(Str),
  comment: nullish(Str),
  uid: nullish(z.int().min(0).max(0xffffffff)),
  home: nullish(Str),
  shell: nullish(Str),
  passwordlessSudo: nullish(Bool),
});

/** `base:` is one locator or a list of them. */
export const BaseSchema = z.union([Locator, z.array(Locator)]);

// --- the whole file ------------------------------------------------------------------------------

export const DenYamlSchema = z.strictObject({
  minimumLimaVersion: nullish(Str),
  base: nullish(BaseSchema),
  vmType: nullish(Str),
  vmOpts: nullish(VmOptsSchema),
  os: nullish(Str),
  arch: nullish(Str),
  images: nullish(z.array(ImageSchema)),
  // 0 would be replaced by the default without a word (Lima fills a zero like an absent key); refuse it instead.
  cpus: nullish(z.int().min(1)),
  memory: nullish(SizeString),
  disk: nullish(SizeString),
  additionalDisks: nullish(z.array(AdditionalDiskSchema)),
  mounts: nullish(z.array(MountSchema)),
  mountTypesUnsupported: nullish(z.array(Str)),
  mountType: nullish(z.enum([...MountTypes, "default"])),
  mountInotify: nullish(Bool),
  ssh: nullish(SshSchema),
  firmware: nullish(FirmwareSchema),
  audio: nullish(AudioSchema),
  video: nullish(VideoSchema),
  provision: nullish(z.array(ProvisionSchema)),
  upgradePackages: nullish(Bool),
  containerd: nullish(ContainerdSchema),
  guestInstallPrefix: nullish(Str),
  probes: nullish(z.array(ProbeSchema)),
  portForwards: nullish(z.array(PortForwardSchema)),
  copyToHost: nullish(z.array(CopyToHostSchema)),
  message: nullish(Str),
  networks: nullish(z.array(NetworkSchema)),
  env: nullish(StringMap),
  param: nullish(StringMap),
  dns: nullish(z.array(IpString)),
  hostResolver: nullish(HostResolverSchema),
  propagateProxyEnv: nullish(Bool),
  caCerts: nullish(CaCertsSchema),
  /** Deprecated: moved to `vmOpts.vz.rosetta`. */
  rosetta: nullish(RosettaSchema),
  /** Deprecated: moved to `vmOpts.qemu.cpuType`. */
  cpuType: nullish(CpuTypeSchema),
  plain: nullish(Bool),
  timezone: nullish(Str),
  nestedVirtualization: nullish(Bool),
  tpm: nullish(Bool),
  user: nullish(UserSchema),
  osOpts: nullish(OsOptsSchema),
});

/** The file after parsing, before defaults. */
export type DenYaml = z.output<typeof DenYamlSchema>;
/** The file as the user may write it. */
export type DenYamlInput = z.input<typeof DenYamlSchema>;

// --- after fillDefaults --------------------------------------------------------------------------

export const FilledRosettaSchema = withFilled(RosettaSchema, ["enabled", "binfmt"]);

export const FilledVmOptsSchema = VmOptsSchema.extend({
  qemu: withFilled(QemuOptsSchema, ["cpuType"]),
  vz: VzOptsSchema.extend({ rosetta: FilledRosettaSchema }),
});

export const FilledImageSchema = withFilled(ImageSchema, ["arch"]);
export const FilledFileSchema = withFilled(FileSchema, ["arch"]);
export const FilledFirmwareImageSchema = withFilled(FirmwareImageSchema, ["arch"]);

export const FilledDiskSchema = withFilled(DiskObjectSchema, ["format", "fsType", "fsArgs"]);

export const FilledMountSchema = withFilled(MountSchema, ["mountPoint", "writable"]).extend({
  sshfs: withFilled(SshfsSchema, ["cache", "followSymlinks", "sftpDriver"]),
  "9p": withFilled(NinePSchema, ["securityModel", "protocolVersion", "msize", "cache"]),
  virtiofs: VirtiofsSchema,
});

export const FilledSshSchema = withFilled(SshSchema, [
  "localPort",
  "loadDotSSHPubKeys",
  "forwardAgent",
  "forwardX11",
  "forwardX11Trusted",
  "overVsock",
]);

export const FilledFirmwareSchema = withFilled(FirmwareSchema, ["legacyBIOS"]).extend({
  images: z.array(FilledFirmwareImageSchema),
});

export const FilledAudioSchema = withFilled(AudioSchema, ["device"]);

export const FilledVideoSchema = withFilled(VideoSchema, ["display"]).extend({
  vnc: withFilled(VncSchema, ["display"]),
});

export const FilledProvisionSchema = withFilled(ProvisionSchema, ["mode"]);

export const FilledContainerdSchema = withFilled(ContainerdSchema, ["system", "user"]).extend({
  archives: z.array(FilledFileSchema),
});

export const FilledProbeSchema = withFilled(ProbeSchema, ["mode", "description"]);

export const FilledCopyToHostSchema = withFilled(CopyToHostSchema, ["skipIfMissing", "deleteOnStop"]);

export const FilledPortForwardSchema = withFilled(PortForwardSchema, [
  "guestIPMustBeZero",
  "guestIP",
  "guestPortRange",
  "hostIP",
  "hostPortRange",
  "proto",
  "reverse",
  "ignore",
  "static",
]);

export const FilledNetworkSchema = withFilled(NetworkSchema, ["macAddress", "interface", "metric"]);

export const FilledHostResolverSchema = withFilled(HostResolverSchema, ["enabled", "ipv6", "hosts"]);

export const FilledCaCertsSchema = withFilled(CaCertsSchema, ["removeDefaults", "files", "certs"]);

export const FilledUserSchema = withFilled(UserSchema, ["name", "comment", "uid", "home", "shell", "passwordlessSudo"]);

export const FilledDenYamlSchema = withFilled(DenYamlSchema, [
  "vmType",
  "os",
  "arch",
  "cpus",
  "memory",
  "disk",
  "mountTypesUnsupported",
  "mountInotify",
  "upgradePackages",
  "guestInstallPrefix",
  "message",
  "env",
  "param",
  "dns",
  "propagateProxyEnv",
  "plain",
  "timezone",
  "nestedVirtualization",
  "tpm",
]).extend({
  vmOpts: FilledVmOptsSchema,
  images: z.array(FilledImageSchema),
  additionalDisks: z.array(FilledDiskSchema),
  mounts: z.array(FilledMountSchema),
  mountType: z.enum(MountTypes),
  ssh: FilledSshSchema,
  firmware: FilledFirmwareSchema,
  audio: FilledAudioSchema,
  video: FilledVideoSchema,
  provision: z.array(FilledProvisionSchema),
  containerd: FilledContainerdSchema,
  probes: z.array(FilledProbeSchema),
  portForwards: z.array(FilledPortForwardSchema),
  copyToHost: z.array(FilledCopyToHostSchema),
  networks: z.array(FilledNetworkSchema),
  hostResolver: FilledHostResolverSchema,
  caCerts: FilledCaCertsSchema,
  user: FilledUserSchema,
});

/** The configuration after `fillDefaults`: what drivers, cidata and the host agent read. */
export type FilledDenYaml = z.output<typeof FilledDenYamlSchema>;
export type FilledMount = FilledDenYaml["mounts"][number];
export type FilledPortForward = FilledDenYaml["portForwards"][number];
export type FilledProvision = FilledDenYaml["provision"][number];
export type FilledProbe = FilledDenYaml["probes"][number];
export type FilledNetwork = FilledDenYaml["networks"][number];
export type FilledUser = FilledDenYaml["user"];
export type FilledDisk = FilledDenYaml["additionalDisks"][number];
export type FilledImage = FilledDenYaml["images"][number];
export type FilledCopyToHost = FilledDenYaml["copyToHost"][number];
