// Every file and folder name under DEN_HOME and inside an instance folder.
// Lima's names are kept where Lima has one, so a reader of Lima's docs finds the same files.
// Non-test code uses these constants instead of spelling the names.

// --- DEN_HOME ---
/** Folder with den-wide configuration (keys, default.yaml, override.yaml). */
export const ConfigDir = "_config";
/** Folder of user templates, searched after DEN_TEMPLATES_PATH. */
export const TemplatesDir = "_templates";
/** Folder of named additional disks. */
export const DisksDir = "_disks";
/** Folder of den-managed networks. */
export const NetworksDir = "_networks";
/** Folder of den's own caches, safe to delete (Lima reserves `_cache` and leaves it empty). */
export const CacheDir = "_cache";
/** In CacheDir: what the accelerator probe found, so each start need not run QEMU to ask. */
export const AccelCacheFile = "accel.json";
/** Default configuration merged under every instance (lowest priority). */
export const DefaultYaml = "default.yaml";
/** Configuration merged over every instance (highest priority). */
export const OverrideYaml = "override.yaml";
/** Base template prepended to every instance's `base:` at create time. */
export const BaseYaml = "base.yaml";
/** The private SSH key den uses for every guest; `user.pub` beside it. */
export const UserPrivateKey = "user";
export const UserPublicKey = "user.pub";

// --- instance folder ---
/** The instance configuration as written at create time, in Lima's lima.yaml format. */
export const InstanceYaml = "den.yaml";
/** den version that created the instance (Lima writes its version here). */
export const LimaVersion = "lima-version";
/** Reference rendering of user-data, for the curious. */
export const CloudConfig = "cloud-config.yaml";
/** The NoCloud seed, rebuilt on every start. */
export const CidataIso = "cidata.iso";
/** Downloaded image before it becomes `disk` or `iso`. */
export const Image = "image";
export const Disk = "disk";
export const Iso = "iso";
export const Kernel = "kernel";
export const KernelCmdline = "kernel.cmdline";
export const Initrd = "initrd";
export const HostAgentPid = "ha.pid";
export const HostAgentSock = "ha.sock";
export const HostAgentStdoutLog = "ha.stdout.log";
export const HostAgentStderrLog = "ha.stderr.log";
export const QemuPid = "qemu.pid";
/** The PID file of the VM process a driver runs (`qemu.pid` for vmType qemu, as Lima names it). */
export function driverPidFile(vmType: string): string {
  return `${vmType}.pid`;
}
export const QmpSock = "qmp.sock";
/** vmType vz (Lima's names): the EFI variable store, and the VZGenericMachineIdentifier the guest sees on every boot. */
export const VzEfiFile = "vz-efi";
export const VzIdentifierFile = "vz-identifier";
/** vmType vz: the helper's stderr, appended (its control channel is stdin/stdout). */
export const VzHelperStderrLog = "vz-helper.stderr.log";
export const SerialLog = "serial.log";
export const SerialSock = "serial.sock";
export const SerialVirtioLog = "serialv.log";
export const SerialVirtioSock = "serialv.sock";
export const SshSock = "ssh.sock";
export const SshConfig = "ssh.config";
export const GuestAgentSock = "ga.sock";
/** Default folder for relative `hostSocket` paths. */
export const SocketDir = "sock";
/** Empty marker that blocks delete and factory-reset. */
export const Protected = "protected";
/** The guest's writable UEFI variable store, copied from the firmware's template on the first UEFI boot. */
export const EfiVarsFile = "efi-vars.fd";
/**
 * The lock that keeps two den processes from changing one instance at once (see instance-lock.ts). Its temporaries
 * start with this name too. Image cache entries are locked with the same file.
 */
export const InstanceLockFile = "den.lock";

/**
 * The longest socket name den puts in an instance folder, with the suffix OpenSSH adds while it
 * creates a ControlMaster socket. Unix socket paths are limited to 104 bytes on macOS and 108 on
 * Linux, so an instance folder whose path makes this too long cannot be used.
 */
export const LongestSock = `${SshSock}.1234567890123456`;

/** Temporary files left by a crash; removed on `stop --force`. */
export const TmpFileSuffixes = [".pid", ".sock", ".tmp"] as const;

// --- the guest agent's runtime (lib/guestagent/) ---
/** In CacheDir: the guest agent's unpacked runtimes, their sha256 stamps and the runtime disks. */
export const GuestAgentCacheDir = "guestagent";
/** In GuestAgentCacheDir: one read-only ISO image per runtime, `<sha256>.iso`, attached to every non-plain guest. */
export const RuntimeDisksDir = "runtime-disks";

// --- den list (lib/status/config-cache.ts) ---
/** In CacheDir: each instance's filled configuration, `NAME.json`, reused by `den list` while its inputs are unchanged. */
export const ListCacheDir = "list";

// --- $DEN_HOME/_disks/NAME (Lima's names; see lib/disks/) ---
/** The disk image of a named additional disk, qcow2 or raw. */
export const DataDisk = "datadisk";
/** A symbolic link to the folder of the instance that holds the disk: the lock that keeps it to one instance. */
export const InUseBy = "in_use_by";

// --- den edit (lib/instance/edit.ts) ---
/** Beside den.yaml: the text of an edit that did not validate, kept so the user's work is never lost. */
export const InstanceYamlRejected = `${InstanceYaml}.REJECTED`;

// --- den start-at-login on macOS (lib/autostart/; Lima's names) ---
/** In the instance folder: what the launchd agent's `den start --foreground` prints. */
export const LaunchdStdoutLog = "launchd.stdout.log";
export const LaunchdStderrLog = "launchd.stderr.log";

// --- instance folder format (lib/store/instance-format.ts) ---
/** The instance folder's format version, one integer; a folder without it was written by a den before versions. */
export const InstanceFormatFile = "den-format";
/** The instance configuration's name before den had its own (den of the first releases wrote Lima's name). */
export const LegacyInstanceYaml = "lima.yaml";

// --- the containerd archive's disk (lib/containerd/archive-disk.ts) ---
/** In CacheDir: the nerdctl-full archives' disks and the sha256 stamps of archives configured without a sha256 digest. */
export const ContainerdCacheDir = "containerd";
/** In ContainerdCacheDir: one read-only ISO image per archive content, `<sha256>.iso`, attached to guests with containerd. */
export const ContainerdArchiveDisksDir = "archive-disks";
/** In ContainerdCacheDir: `<sha256 of the archive's path>.json`, the stamp recording that archive's own sha256. */
export const ContainerdArchiveStampsDir = "archive-stamps";

// --- den tunnel (lib/cli/tunnel.ts) ---
/** In the instance folder: what the background `ssh -D` of `den tunnel` says (never den's own stdout or stderr). */
export const TunnelLog = "tunnel.log";
