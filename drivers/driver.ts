// The contract between den's host agent and a VM backend (QEMU now, VZ later), shaped after Lima's
// `pkg/driver/driver.go`: a driver is assembled from small interfaces, and the host agent branches on the
// features a driver declares in `info()`, never on its name. Types only; each driver implements them, and
// drivers/registry.ts picks the one an instance's `vmType` names.
import type { FilledDenYaml, VmType } from "../lib/config/schema.ts";
import type { Logger } from "../lib/log.ts";

/** Disk image formats a driver may boot from or convert to. */
export type DiskImageFormat = "qcow2" | "raw" | "vmdk" | "vhdx" | "asif";

/** What a driver can do; the host agent reads these instead of asking "is this QEMU?". */
export interface DriverFeatures {
  /** The driver can open a graphical console (`runGui`). */
  canRunGui: boolean;
  /** The guest agent can be reached over a virtio-serial port without SSH (see `guestAgentConnection`). */
  canRunGuestAgentOverVirtioPort: boolean;
  /** SSH is not at 127.0.0.1:<ssh.localPort>; the host agent must ask `sshAddress()` after start. */
  dynamicSshAddress: boolean;
  /** The SSH port cannot be chosen: `ssh.localPort` is fixed by the driver (e.g. WSL2's 22). */
  staticSshPort: boolean;
  /** The host agent must not forward the guest's unix sockets (the platform shares them itself). */
  skipSocketForwarding: boolean;
  /** The guest is not provisioned through a cidata seed. */
  noCloudInit: boolean;
  /** Formats `createDisk` accepts for the base image, in the driver's order of preference. */
  supportedImageFormats: readonly DiskImageFormat[];
}

/** Static facts about one driver bound to one instance. */
export interface DriverInfo {
  /** The `vmType` this driver serves, e.g. "qemu". */
  name: string;
  instanceDir: string;
  /** Guest agent vsock port, 0 when the driver has no vsock. */
  vsockPort: number;
  /** Name of the virtio-serial port reserved for the guest agent, "" when there is none. */
  virtioPort: string;
  /**
   * File name, in the instance folder, of the guest's serial console as the driver records it (QEMU: serial.log,
   * VZ: serialv.log): the host agent reads the boot stages from it and shows its end when a boot fails.
   */
  serialLog: string;
  features: DriverFeatures;
}

/** What every driver is given for one instance; a driver's own extras go in its own context type. */
export interface DriverContext {
  instanceName: string;
  instanceDir: string;
  denHome: string;
  config: FilledDenYaml;
  /** Host port forwarded to the guest's port 22 (0 when only disks are prepared and no VM is started). */
  sshLocalPort: number;
  /** The environment den runs in: PATH lookups and a driver's overrides (e.g. `DEN_QEMU_ACCEL`). */
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /**
   * The guest agent's runtime disk (absolute path of a read-only ISO image, lib/guestagent/runtime-disk.ts), attached
   * read-only after the seed; absent for plain instances and when den has no agent for the guest.
   */
  runtimeDisk?: string;
  /**
   * The containerd archive's disk (absolute path of a read-only ISO image, lib/containerd/archive-disk.ts), attached
   * read-only after the runtime disk; absent when containerd is off.
   */
  containerdDisk?: string;
}

/** The host facts that decide whether a driver can run at all, in HostInfo's words (`linux`, `x86_64`). */
export interface DriverHost {
  os: string;
  arch: string;
  /** The macOS product version ("14.5") on darwin; absent elsewhere or when it could not be read. */
  macosVersion?: string;
  /** What den found of the VZ helper (drivers/vz/vz-helper-location.ts); absent when nobody looked. */
  vzHelper?: HelperFacts;
}

/** A helper executable a driver launches, as found before any instance runs it. */
export interface HelperFacts {
  /**
   * Where it was found: named by the environment (DEN_VZ_HELPER), beside den's executable, or embedded in den's
   * binary (extracted on first use); null when den has none.
   */
  source: "env" | "beside" | "embedded" | null;
  /** Its path; for an embedded helper, where it is (or will be) extracted; null when there is none. */
  path: string | null;
  /** Whether `path` is an executable regular file (an embedded helper counts as one). */
  executable: boolean;
  /**
   * Whether it is signed with the entitlement the platform demands (macOS: com.apple.security.virtualization);
   * null when not checked: not on macOS, an embedded helper (the build signed it), or no `codesign` to ask.
   */
  entitled: boolean | null;
}

export type DriverAvailability = { available: true } | { available: false; reason: string };

/** One VM backend as den knows it before any instance exists; drivers/registry.ts holds one per `vmType`. */
export interface DriverRegistration {
  vmType: VmType;
  /** The backend's name for users, e.g. "QEMU": the first boot stage reads "waiting for QEMU to start". */
  displayName: string;
  /** The same flags `info().features` returns, readable without an instance. */
  features: DriverFeatures;
  /** Whether this host can run the driver at all (OS, CPU); pure and cheap: tools and versions are `validate()`'s. */
  availability(host: DriverHost): DriverAvailability;
  /** Binds the driver to one instance; nothing is read or started until a method is called. */
  create(context: DriverContext): Driver;
}

/** Options every driver call accepts; an aborted signal asks the call to give up promptly. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** How a started VM ended. */
export interface VmExit {
  /** Exit code of the VM process, or null when it died from a signal (or the driver has no process). */
  code: number | null;
  signal: string | null;
}

/** A VM whose boot has been initiated. */
export interface StartedVm {
  /**
   * Runtime failures after start (the VM process crashed, a helper such as virtiofsd died). The iterator
   * ends when the VM has exited; it never throws, so a consumer can always drain it.
   */
  errors: AsyncIterable<Error>;
  /** Settles once the VM is gone, whether it was stopped, powered off from inside or crashed. */
  exited: Promise<VmExit>;
}

/** Create, boot, stop and remove one VM. */
export interface Lifecycle {
  /**
   * Checks that this host can run the instance as configured (binaries present and new enough, accelerator,
   * mount types, image format). MUST NOT change anything on disk. Throws a DenError with a hint.
   */
  validate(options?: CallOptions): Promise<void>;
  /**
   * Prepares driver-owned files that are not disks (e.g. a machine identifier). MUST succeed without change when
   * called against an existing instance.
   */
  create(options?: CallOptions): Promise<void>;
  /**
   * Turns the downloaded `image` into the boot `disk` (or keeps an ISO as `iso` and makes an empty disk) and grows
   * the disk to the configured size. MUST be a no-op when the disk already exists and is large enough; MUST never
   * shrink a disk.
   */
  createDisk(options?: CallOptions): Promise<void>;
  /**
   * Launches the VM and resolves once the boot has been initiated (the process is up and its control socket
   * answers), not once the guest is ready. Rejects if the VM could not be launched at all.
   */
  start(options?: CallOptions): Promise<StartedVm>;
  /**
   * Shuts the VM down: first a guest-visible power-off, after a grace period a hard stop. Resolves when the VM is
   * gone. MUST succeed when the VM is already stopped.
   */
  stop(options?: CallOptions): Promise<void>;
  /** Removes driver-owned state outside the instance folder (the folder itself is removed by the caller). */
  delete(options?: CallOptions): Promise<void>;
}

/** Freeze and thaw a running VM (`den pause` / `den resume`). */
export interface Pauser {
  /** Stops the guest's vCPUs; the VM keeps its memory. MUST succeed when already paused. */
  pause(options?: CallOptions): Promise<void>;
  /** Lets a paused guest run again. MUST succeed when already running. */
  resume(options?: CallOptions): Promise<void>;
}

/** Where the host agent reaches the guest agent. */
export type GuestAgentConnection =
  /** A unix socket on the host that the driver connects to the guest (e.g. a virtio-serial chardev). */
  | { transport: "unix"; path: string }
  /** The guest agent is reached through SSH port forwarding; the host agent sets that up itself. */
  | { transport: "ssh" };

/** How the host agent talks to the in-guest agent. */
export interface GuestAgent {
  /** Where to connect. Only valid after `start()` resolved. */
  guestAgentConnection(options?: CallOptions): Promise<GuestAgentConnection>;
}

/** Disk snapshots of a stopped or paused VM (optional: callers check `driver.snapshots`). */
export interface SnapshotManager {
  create(tag: string, options?: CallOptions): Promise<void>;
  apply(tag: string, options?: CallOptions): Promise<void>;
  delete(tag: string, options?: CallOptions): Promise<void>;
  /** One line per snapshot, as the backend lists them. */
  list(options?: CallOptions): Promise<string>;
}

/** One forward from a host address to a guest port, done by the VM's own network stack. */
export interface HostForward {
  /** Only TCP: slirp can forward UDP too, but den keeps UDP on the guest agent, which also counts its peers. */
  proto: "tcp";
  /** An IPv4 address of the host (usually 127.0.0.1): QEMU 7.2's hostfwd_add rejects IPv6 host addresses. */
  hostIP: string;
  hostPort: number;
  guestPort: number;
}

/** How `HostForwarder.add` went; a failure is never swallowed, the caller reports or works around it. */
export type HostForwardResult =
  | { ok: true }
  | {
      ok: false;
      /** port-in-use: the host port is taken, and no other path would do better. listen-failed: anything else. */
      reason: "port-in-use" | "listen-failed";
      /** Completes "…: <detail>", e.g. `QEMU answered "Could not set up host forwarding rule 'tcp:…'"`. */
      detail: string;
    };

/**
 * Port forwards the VM's network stack carries itself, without a hop through the guest agent (QEMU: slirp's
 * `hostfwd_add`). It is several times faster than any tunnel, but the VM's network can only reach the guest's NIC
 * address, so it serves only guest listeners on 0.0.0.0 or :: (a dual-stack :: socket accepts IPv4); a listener on
 * 127.0.0.1 alone is unreachable that way and stays on the guest agent. The host agent also sees neither the
 * connections nor their errors: a connection the guest refuses is simply reset.
 */
export interface HostForwarder {
  /** Opens the host listener. Resolves with a failure instead of rejecting, so that the caller decides. */
  add(forward: HostForward, options?: CallOptions): Promise<HostForwardResult>;
  /** Closes the host listener; MUST succeed when the forward is already gone (or the VM has stopped). */
  remove(forward: HostForward, options?: CallOptions): Promise<void>;
}

/** A VM backend bound to one instance. */
export interface Driver extends Lifecycle, Pauser, GuestAgent {
  /** Static facts and feature flags; cheap and safe to call at any time, also concurrently. */
  info(): DriverInfo;
  /**
   * The SSH endpoint once the VM runs. Drivers without `dynamicSshAddress` return 127.0.0.1 and the configured
   * `ssh.localPort`.
   */
  sshAddress(options?: CallOptions): Promise<{ host: string; port: number }>;
  /** Present only when the backend supports snapshots. */
  snapshots?: SnapshotManager;
  /** Present only when the backend can forward host ports to the guest itself (see HostForwarder). */
  hostForwarder?: HostForwarder;
  /**
   * Non-fatal findings for the user, e.g. "KVM is broken, falling back to TCG" or "QEMU is older than
   * recommended", gathered by `validate()`, `createDisk()` and `start()`. The host agent emits each one once; the
   * list only grows. Optional: a driver with nothing to say may leave it out.
   */
  warnings?(): string[];
}
