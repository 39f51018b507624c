// den's QEMU driver: binds the pure pieces (qemuArgs, accelerator choice, firmware search, qemu-img, QMP) to one
// instance folder and runs QEMU as a child of the calling process (the host agent), as Lima's qemu driver does.
// QEMU is not daemonized, so its exit is seen at once; it gets its own session, so a Ctrl-C meant for a
// foreground host agent reaches only the host agent, which then stops the guest gracefully.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { macAddress as deriveMacAddress } from "../../lib/config/defaults.ts";
import { limaArch, readHostInfo } from "../../lib/config/host-info.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import { parseSize } from "../../lib/config/units.ts";
import { DenError } from "../../lib/errors.ts";
import { isNoSpaceError, noSpaceError } from "../../lib/fs/no-space-error.ts";
import { isExecutableFileSync, isFileSync, quietStatSync } from "../../lib/fs/quiet-stat.ts";
import { run } from "../../lib/process/run.ts";
import { signalPid } from "../../lib/process/signal-pid.ts";
import { AccelCacheFile, CacheDir, Disk, EfiVarsFile, GuestAgentSock, HostAgentStderrLog, Image, Initrd, Iso, Kernel, KernelCmdline, QemuPid, QmpSock, SerialLog, SerialSock } from "../../lib/store/filenames.ts";
import { driverOwner, isProcessAlive, readOwnedPid, readPidFile } from "../../lib/store/pid-file.ts";
import { listenUnixSocket } from "../../lib/mounts/listen-unix-socket.ts";
import { mountInotifyWarnings } from "../../lib/mounts/inotify/mount-inotify-warnings.ts";
import { virtiofsdAccessCheck, virtiofsdCandidates, virtiofsdCommand, virtiofsdFlavour, virtiofsdLaunchPlan, type VirtiofsdBinary, type VirtiofsdLaunchPlan } from "../../lib/mounts/virtiofsd-command.ts";
import type { CallOptions, Driver, DriverContext, DriverFeatures, DriverInfo, DriverRegistration, GuestAgentConnection, HostForwarder, SnapshotManager, StartedVm, VmExit } from "../driver.ts";
import { type Accelerator, chooseAccelerator, resolveAccelerator } from "./accel.ts";
import { createEmptyDisk, createOverlay, detectImageFormat, growDisk, qemuImgInfo, snapshotDisk } from "./disk.ts";
import { dataDiskDrives } from "../../lib/disks/data-disk-drives.ts";
import { findFirmware, firmwareCandidates, firmwarePackageHint, type FirmwareFiles } from "./firmware.ts";
import { GuestAgentPortName, qemuArgs, qemuBinary, UserNetdevId, virtiofsdSock, type QemuArgsContext } from "./qemu-args.ts";
import { checkQemuVersion, parseQemuVersion, type QemuVersion } from "./qemu-version.ts";
import { connectQmp, type QmpClient, shutdownGracefully } from "./qmp-client.ts";
import { probeHostPort, slirpHostForwarder } from "./slirp-host-forwarder.ts";

/** The driver-neutral context plus what only QEMU needs; `env` also carries `QEMU_SYSTEM_<ARCH>` and `DEN_QEMU_ACCEL`. */
export interface QemuDriverContext extends DriverContext {
  /** Receives QEMU's stdout and stderr (appended); default `<instanceDir>/ha.stderr.log`. */
  qemuLogPath?: string;
  /**
   * MAC address of the user-mode NIC; the seed's network-config must name the same one. Default: Lima's
   * derivation, `macAddress(<host machine id>, instanceDir)` from lib/config/defaults.ts.
   */
  macAddress?: string;
  /** How long `stop()` gives the guest to power off before QEMU is told to quit; default 3 minutes (Lima's). */
  shutdownTimeoutMs?: number;
  /** How long `start()` waits for QEMU's QMP socket to answer; default 30 s. */
  qmpReadyTimeoutMs?: number;
  /** The host; default the running machine. */
  host?: { os: "Linux" | "Darwin"; arch: string; home: string };
  /** Whether a regular file exists (firmware search); default checks the real file system. */
  fileExists?: (path: string) => boolean;
}

/** The accelerator probe cache under DEN_HOME. */
export const AccelCachePath = join(CacheDir, AccelCacheFile);

const DefaultShutdownTimeoutMs = 3 * 60_000;
const DefaultQmpReadyTimeoutMs = 30_000;
/** How long a virtiofsd may take to create its socket (Lima waits 5 × 200 ms; TCG hosts are slower). */
const VirtiofsdReadyTimeoutMs = 10_000;
/** What virtiofsd logs once it accepts connections on its socket (the C daemon, and the Rust one too). */
const VirtiofsdWaitingLine = "Waiting for vhost-user socket connection";
/** After `quit` or SIGTERM, how long QEMU may take to exit before it is killed. */
const ExitGraceMs = 10_000;
const PollMs = 100;
const StderrTailLines = 20;
/** How long a savevm or loadvm of a running VM may take. */
const SnapshotMemoryTimeoutMs = 600_000;
/**
 * What an empty qcow2 (an overlay, or the install target of an ISO) takes before the guest writes anything: header,
 * L1 table, refcount table and one refcount block, a cluster each at qemu-img's default 64 KiB clusters.
 */
const EmptyQcow2Bytes = 4 * 64 * 1024;
const SnapshotTagPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A running QEMU that this driver object launched. */
interface Run {
  child: ChildProcess;
  pid: number;
  exit: VmExit | undefined;
  exited: Promise<VmExit>;
  /** Set once `stop()` began, so the exit that follows is not reported as a crash. */
  stopping: boolean;
}

/** One virtiofsd serving one virtiofs mount; it lives exactly as long as the QEMU it serves. */
interface VirtiofsdRun {
  child: ChildProcess;
  location: string;
  exited: Promise<void>;
  stopping: boolean;
}

/** Creates the QEMU driver for one instance; nothing is read or started until a method is called. */
export function createQemuDriver(ctx: QemuDriverContext): Driver & { warnings(): string[]; snapshots: SnapshotManager; hostForwarder: HostForwarder } {
  return new QemuDriver(ctx);
}

const QemuFeatures: DriverFeatures = {
  canRunGui: false,
  canRunGuestAgentOverVirtioPort: true,
  dynamicSshAddress: false,
  staticSshPort: false,
  skipSocketForwarding: false,
  noCloudInit: false,
  supportedImageFormats: ["qcow2", "raw"],
};

/** The QEMU driver for `vmType: qemu`, listed in drivers/all-drivers.ts. */
export const QemuRegistration: DriverRegistration = {
  vmType: "qemu",
  displayName: "QEMU",
  features: QemuFeatures,
  // The accelerator, binaries and their versions are validate()'s: a host without KVM still runs QEMU under TCG.
  availability: (host) =>
    host.os === "linux" || host.os === "darwin" ? { available: true } : { available: false, reason: "den's QEMU driver runs on Linux and macOS hosts only" },
  create: (context: DriverContext) => createQemuDriver(context),
};

class QemuDriver implements Driver {
  readonly snapshots: SnapshotManager;
  readonly hostForwarder: HostForwarder;
  readonly #ctx: QemuDriverContext;
  readonly #dir: string;
  readonly #warnings: string[] = [];
  #run: Run | undefined;
  #version: QemuVersion | undefined;
  #virtiofsds: VirtiofsdRun[] = [];

  constructor(ctx: QemuDriverContext) {
    this.#ctx = ctx;
    this.#dir = ctx.instanceDir;
    this.snapshots = {
      create: async (tag, options) => void (await this.#snapshot("create", tag, options)),
      apply: async (tag, options) => void (await this.#snapshot("apply", tag, options)),
      delete: async (tag, options) => void (await this.#snapshot("delete", tag, options)),
      list: (options) => this.#snapshot("list", undefined, options),
    };
    this.hostForwarder = slirpHostForwarder({
      netdevId: UserNetdevId,
      monitor: (commandLine) => this.#withQmp("forward a port of", (client) => client.humanMonitorCommand(commandLine)),
      probeHostPort,
    });
  }

  info(): DriverInfo {
    return {
      name: "qemu",
      instanceDir: this.#dir,
      vsockPort: 0,
      virtioPort: GuestAgentPortName,
      serialLog: SerialLog,
      features: QemuFeatures,
    };
  }

  warnings(): string[] {
    return [...this.#warnings];
  }

  async validate(options: CallOptions = {}): Promise<void> {
    const { config, env } = this.#ctx;
    const host = this.#host();
    const binary = this.#qemuBinaryPath();
    const version = await this.#qemuVersion(binary, options);
    const check = checkQemuVersion(version, { hostOs: host.os, hostArch: host.arch, minimumVersion: config.vmOpts.qemu.minimumVersion });
    if (check.warning) this.#warn(check.warning);
    requireTool("qemu-img", env, "install qemu-img (Debian: apt-get install qemu-utils; macOS: brew install qemu)");
    // An ordinary user without what an unprivileged virtiofsd needs is told now, not after QEMU failed to start.
    // So is a shared folder the daemon could not open (the host agent checks again before it starts each daemon).
    if (this.#virtiofsMounts().length > 0 && host.os === "Linux") {
      const { binary, plan } = await this.#virtiofsdLaunch(options);
      const { uid } = config.user;
      for (const [i, mount] of this.#virtiofsMounts().entries()) {
        const argv = virtiofsdCommand({ binary, socketPath: join(this.#dir, virtiofsdSock(i)), location: mount.location, guest: { uid, gid: uid }, ...plan });
        if (existsSync(mount.location)) await this.#checkVirtiofsdAccess(argv, mount.location, uid, options);
      }
    }
    // A forced accelerator this host cannot have fails here rather than at start; nothing is probed.
    chooseAccelerator({ hostOs: host.os, hostArch: host.arch, guestArch: config.arch, envAccel: env.DEN_QEMU_ACCEL, vmOptsAccel: config.vmOpts.qemu.accel, kvm: "absent", hvf: "absent" });
    // Once the image is in place, what it brought decides (den may have fallen back to a later images[] entry).
    const prepared = existsSync(join(this.#dir, Image)) || existsSync(join(this.#dir, Disk));
    const plan = this.#bootPlan({ kernelExpected: !prepared && selectedImageHasKernel(config) });
    // The whole command line once with placeholder facts, so configuration QEMU cannot run is refused now.
    const boot: PreparedBoot = plan.kind === "kernel" ? { kernel: { kernel: join(this.#dir, Kernel), cmdline: "" } } : plan.kind === "uefi" ? { firmware: plan.firmware } : {};
    qemuArgs(config, this.#argsContext({ accel: "tcg", version, mac: "52:55:55:00:00:00", boot }));
  }

  async create(): Promise<void> {}

  async createDisk(options: CallOptions = {}): Promise<void> {
    const disk = join(this.#dir, Disk);
    const image = join(this.#dir, Image);
    const sizeBytes = parseSize(this.#ctx.config.disk);
    if (existsSync(disk)) {
      if (await growDisk(disk, sizeBytes)) this.#ctx.logger.info("Grew the disk", { disk, size: this.#ctx.config.disk });
      return;
    }
    if (!existsSync(image)) {
      throw new DenError("IO", `Cannot create the disk of instance "${this.#ctx.instanceName}": the image "${image}" is missing`, {
        hint: "the image is copied from the instance's images[] when it starts; check that images[] has an entry for its arch",
      });
    }
    options.signal?.throwIfAborted();
    const format = await detectImageFormat(image);
    const temporary = `${disk}.${process.pid}.tmp`;
    try {
      if (format === "iso") {
        // As Lima: an installer ISO stays as it is and the guest installs onto an empty disk.
        await createEmptyDisk(temporary, sizeBytes);
        await rename(image, join(this.#dir, Iso));
      } else {
        const info = await qemuImgInfo(image);
        if (info.format !== format) {
          throw new DenError("QEMU_IMG", `Cannot use image "${image}": its format is "${info.format}", and den's QEMU driver boots qcow2 and raw images`, {
            hint: `convert it first, e.g. qemu-img convert -O qcow2 ${image} ${image}.qcow2, and point images[].location at the result`,
          });
        }
        if (info["backing-filename"]) {
          throw new DenError("QEMU_IMG", `Cannot use image "${image}": it is an overlay of "${info["backing-filename"]}"`, {
            hint: "use a self-contained image (qemu-img convert -O qcow2 flattens an overlay)",
          });
        }
        if (info["virtual-size"] > sizeBytes) {
          this.#warn(`disk: ${this.#ctx.config.disk} is smaller than the image (${info["virtual-size"]} bytes); the disk keeps the image's size`);
        }
        await createOverlay({ base: image, overlay: temporary, sizeBytes: Math.max(sizeBytes, info["virtual-size"]), baseFormat: format });
      }
      // The disk appears only once complete: a crash above leaves no half-made disk a later start would trust.
      await rename(temporary, disk);
    } catch (error) {
      if (!isNoSpaceError(error)) throw error;
      await rm(temporary, { force: true });
      throw noSpaceError(disk, { what: "the disk", neededBytes: EmptyQcow2Bytes, atLeast: true, cause: error });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async start(options: CallOptions = {}): Promise<StartedVm> {
    const running = await this.#livePid();
    if (running !== undefined) {
      throw new DenError("QEMU_FAILED", `Cannot start QEMU for instance "${this.#ctx.instanceName}": it already runs (pid ${running})`, {
        hint: `stop it first with \`den stop ${this.#ctx.instanceName}\``,
      });
    }
    const { config, env, logger } = this.#ctx;
    const host = this.#host();
    const binary = this.#qemuBinaryPath();
    const version = await this.#qemuVersion(binary, options);
    const check = checkQemuVersion(version, { hostOs: host.os, hostArch: host.arch, minimumVersion: config.vmOpts.qemu.minimumVersion });
    if (check.warning) this.#warn(check.warning);
    const choice = await resolveAccelerator(
      { hostOs: host.os, hostArch: host.arch, guestArch: config.arch, envAccel: env.DEN_QEMU_ACCEL, vmOptsAccel: config.vmOpts.qemu.accel },
      { qemuBinary: binary, hostOs: host.os, hostArch: host.arch, cachePath: join(this.#ctx.denHome, AccelCachePath) },
    );
    if (choice.warning) this.#warn(choice.warning);
    const boot = await this.#prepareBoot();
    const mac = this.#ctx.macAddress ?? deriveMacAddress((await readHostInfo()).machineId, this.#dir);
    const command = qemuArgs(config, this.#argsContext({ accel: choice.accel, version, mac, boot }));

    // QEMU unlinks a stale socket itself; removing the QMP one here also keeps the readiness check below from
    // talking to a leftover of an earlier run.
    await Promise.all([QmpSock, SerialSock, GuestAgentSock].map((name) => rm(join(this.#dir, name), { force: true })));
    const logPath = this.#ctx.qemuLogPath ?? join(this.#dir, HostAgentStderrLog);
    const logOffset = fileSize(logPath);
    const errors = errorChannel();
    // QEMU refuses a -virtfs path that does not exist, and virtiofsd a missing source: as Lima, create the folders.
    for (const mount of config.mountType === "9p" || config.mountType === "virtiofs" ? config.mounts : []) await mkdir(mount.location, { recursive: true });
    await this.#startVirtiofsds(logPath, errors, options);
    // The 9p transport this driver gives the guest has a kernel limit file events cannot get around, so the user hears
    // it at boot. Here rather than in validate(), which den start also runs in its own process and would print twice.
    for (const warning of mountInotifyWarnings(this.#ctx.config)) this.#warn(warning);
    const logFd = openSync(logPath, "a");
    logger.info("Starting QEMU", { accel: choice.accel, command: [binary, ...command.args].join(" ") });
    let child: ChildProcess;
    try {
      child = spawn(binary, command.args, { stdio: ["ignore", logFd, logFd], detached: true });
    } catch (error) {
      await this.#stopVirtiofsds();
      throw error;
    } finally {
      closeSync(logFd);
    }
    const run = this.#track(child);
    void run.exited.then(async (exit) => {
      if (!run.stopping && (exit.code !== 0 || exit.signal !== null)) {
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        errors.push(new DenError("QEMU_FAILED", withTail(`QEMU ${how} while the VM was running`, await readTail(logPath, logOffset)), {
          hint: `see ${logPath} and the guest's serial.log in ${this.#dir}`,
          details: { ...exit },
        }));
      } else if (!run.stopping) {
        logger.info("The guest powered off", { instance: this.#ctx.instanceName });
      }
      await this.#stopVirtiofsds();
      errors.close();
    });

    try {
      await this.#waitForQmp(run, { timeoutMs: this.#ctx.qmpReadyTimeoutMs ?? DefaultQmpReadyTimeoutMs, signal: options.signal, tail: () => readTail(logPath, logOffset), logPath });
    } catch (error) {
      run.stopping = true;
      if (!run.exit) child.kill("SIGKILL");
      await run.exited;
      await this.#stopVirtiofsds();
      throw error;
    }
    return { errors: errors.iterable, exited: run.exited };
  }

  async stop(options: CallOptions = {}): Promise<void> {
    const pid = await this.#livePid();
    if (pid === undefined) return;
    if (this.#run && this.#run.pid === pid) this.#run.stopping = true;
    const { logger } = this.#ctx;
    let client: QmpClient | undefined;
    try {
      client = await connectQmp(join(this.#dir, QmpSock), { timeoutMs: 5000 });
    } catch (error) {
      logger.warn("Cannot reach QEMU's QMP socket; terminating QEMU", { error: String(error) });
    }
    if (client) {
      try {
        // A paused guest cannot see the power button.
        const status = await client.queryStatus();
        if (status.status === "paused") await client.cont();
        const outcome = await abortable(shutdownGracefully(client, { timeoutMs: this.#ctx.shutdownTimeoutMs ?? DefaultShutdownTimeoutMs }), options.signal);
        if (outcome === "quit") logger.warn("The guest did not power off in time; QEMU was told to quit");
      } catch (error) {
        logger.warn("Graceful shutdown failed", { error: String(error) });
      } finally {
        client.destroy();
      }
    } else {
      signalPid(pid, "SIGTERM");
    }
    if (options.signal?.aborted) signalPid(pid, "SIGKILL");
    if (await this.#waitGone(pid, ExitGraceMs)) return this.#cleanUp();
    logger.warn("QEMU did not exit; killing it", { pid });
    signalPid(pid, "SIGKILL");
    if (!(await this.#waitGone(pid, ExitGraceMs))) {
      throw new DenError("QEMU_FAILED", `Cannot stop QEMU (pid ${pid}): it is still alive after SIGKILL`, { hint: "the process may be stuck in the kernel; check it with ps" });
    }
    await this.#cleanUp();
  }

  async delete(): Promise<void> {}

  async pause(): Promise<void> {
    await this.#withQmp("pause", (client) => client.stop());
  }

  async resume(): Promise<void> {
    await this.#withQmp("resume", (client) => client.cont());
  }

  async sshAddress(): Promise<{ host: string; port: number }> {
    return { host: "127.0.0.1", port: this.#ctx.sshLocalPort };
  }

  async guestAgentConnection(): Promise<GuestAgentConnection> {
    return { transport: "unix", path: join(this.#dir, GuestAgentSock) };
  }

  // --- helpers ---------------------------------------------------------------------------------

  #warn(message: string): void {
    if (this.#warnings.includes(message)) return;
    this.#warnings.push(message);
    this.#ctx.logger.warn(message);
  }

  #host(): { os: "Linux" | "Darwin"; arch: string; home: string } {
    if (this.#ctx.host) return this.#ctx.host;
    if (process.platform !== "linux" && process.platform !== "darwin") {
      throw new DenError("CONFIG_INVALID", `Cannot run QEMU guests on ${process.platform}: den's QEMU driver supports Linux and macOS hosts`, {
        hint: "run den on a Linux or macOS host",
      });
    }
    return { os: process.platform === "linux" ? "Linux" : "Darwin", arch: limaArch(process.arch), home: homedir() };
  }

  /** The absolute path of qemu-system-<arch>, honouring `QEMU_SYSTEM_<ARCH>`. */
  #qemuBinaryPath(): string {
    const arch = this.#ctx.config.arch;
    const name = qemuBinary(arch, this.#ctx.env);
    const overridden = Boolean(this.#ctx.env[`QEMU_SYSTEM_${arch.toUpperCase()}`]);
    const packageName = arch === "aarch64" ? "qemu-system-arm" : "qemu-system-x86";
    return requireTool(name, this.#ctx.env, overridden
      ? `QEMU_SYSTEM_${arch.toUpperCase()} names "${name}", which is not an executable; fix or unset it`
      : `install QEMU (Debian: apt-get install ${packageName}; macOS: brew install qemu), or point QEMU_SYSTEM_${arch.toUpperCase()} at the binary`);
  }

  async #qemuVersion(binary: string, options: CallOptions): Promise<QemuVersion> {
    if (this.#version) return this.#version;
    const { stdout, stderrTail, code } = await run([binary, "--version"], { signal: options.signal });
    if (code !== 0) {
      throw new DenError("QEMU_VERSION", `Cannot read the QEMU version: "${binary} --version" exited with ${code}: ${stderrTail.trim().split("\n").at(-1) ?? ""}`, {
        hint: "check that the QEMU binary works: run it with --version",
      });
    }
    this.#version = parseQemuVersion(stdout);
    return this.#version;
  }

  /** How the guest boots: its own kernel, UEFI firmware, or (x86_64 with legacyBIOS) QEMU's SeaBIOS. */
  #bootPlan(options: { kernelExpected: boolean }): BootPlan {
    const { config } = this.#ctx;
    const kernel = join(this.#dir, Kernel);
    if (options.kernelExpected || existsSync(kernel)) return { kind: "kernel" };
    if (config.arch === "x86_64" && config.firmware.legacyBIOS) return { kind: "bios" };
    const host = this.#host();
    const search = { qemuBinary: this.#qemuBinaryPath(), home: host.home };
    const firmware = findFirmware(config.arch, { ...search, exists: this.#ctx.fileExists ?? isFileSync });
    if (!firmware) {
      const searched = firmwareCandidates(config.arch, search).map((candidate) => candidate.code);
      throw new DenError("HOST_TOOL_MISSING", `Cannot find UEFI firmware for an ${config.arch} guest`, {
        hint: firmwarePackageHint(config.arch),
        details: { searched },
      });
    }
    return { kind: "uefi", firmware };
  }

  /** The boot plan with the files start needs in place: kernel files read, the UEFI vars store copied. */
  async #prepareBoot(): Promise<PreparedBoot> {
    const plan = this.#bootPlan({ kernelExpected: false });
    const iso = existsSync(join(this.#dir, Iso)) ? join(this.#dir, Iso) : undefined;
    if (plan.kind === "kernel") {
      const initrd = join(this.#dir, Initrd);
      const cmdline = await readFile(join(this.#dir, KernelCmdline), "utf8").catch(() => "");
      return { kernel: { kernel: join(this.#dir, Kernel), ...(existsSync(initrd) && { initrd }), cmdline: cmdline.trim() }, iso };
    }
    if (plan.kind === "bios") return { iso };
    const { code, vars } = plan.firmware;
    if (!vars) return { firmware: { code }, iso };
    const store = join(this.#dir, EfiVarsFile);
    if (!existsSync(store)) {
      await copyFile(vars, `${store}.tmp`);
      await rename(`${store}.tmp`, store);
    }
    return { firmware: { code, vars: store }, iso };
  }

  #argsContext(facts: { accel: Accelerator; version: QemuVersion; mac: string; boot: PreparedBoot }): QemuArgsContext {
    const host = this.#host();
    const prepared = facts.boot;
    return {
      instanceName: this.#ctx.instanceName,
      instanceDir: this.#dir,
      host: { os: host.os, arch: host.arch },
      accel: facts.accel,
      ...(prepared.firmware && { firmware: prepared.firmware }),
      ...(prepared.kernel && { kernel: prepared.kernel }),
      ...(prepared.iso && { iso: prepared.iso }),
      sshLocalPort: this.#ctx.sshLocalPort,
      macAddress: facts.mac,
      qemuVersion: facts.version,
      env: { ...this.#ctx.env },
      ...(this.#ctx.runtimeDisk && { runtimeDisk: this.#ctx.runtimeDisk }),
      ...(this.#ctx.containerdDisk && { containerdDisk: this.#ctx.containerdDisk }),
      additionalDisks: dataDiskDrives(this.#ctx.denHome, this.#ctx.config.additionalDisks, { instance: this.#ctx.instanceName }),
    };
  }

  #track(child: ChildProcess): Run {
    let settle: (exit: VmExit) => void = () => {};
    const exited = new Promise<VmExit>((resolve) => {
      settle = resolve;
    });
    const run: Run = { child, pid: child.pid ?? -1, exit: undefined, exited, stopping: false };
    const finish = (exit: VmExit) => {
      if (run.exit) return;
      run.exit = exit;
      settle(exit);
    };
    child.once("exit", (code, signal) => finish({ code, signal }));
    child.once("error", (error: NodeJS.ErrnoException) => {
      this.#ctx.logger.error("Cannot run QEMU", { error: error.message });
      finish({ code: null, signal: null });
    });
    // A pid file QEMU could not remove (it was killed) must not outlive it.
    void exited.then(async () => {
      const pidFile = join(this.#dir, QemuPid);
      const recorded = await readFile(pidFile, "utf8").catch(() => "");
      if (Number.parseInt(recorded.trim(), 10) === run.pid) await rm(pidFile, { force: true });
    });
    this.#run = run;
    return run;
  }

  async #waitForQmp(run: Run, options: { timeoutMs: number; signal: AbortSignal | undefined; tail: () => Promise<string>; logPath: string }): Promise<void> {
    const qmpSock = join(this.#dir, QmpSock);
    const deadline = Date.now() + options.timeoutMs;
    const hint = `see ${options.logPath} for QEMU's messages`;
    while (true) {
      if (run.exit) {
        const how = run.exit.signal ? `was killed by ${run.exit.signal}` : run.exit.code === null ? "could not be run" : `exited with code ${run.exit.code}`;
        throw new DenError("QEMU_FAILED", withTail(`QEMU ${how} before its QMP socket answered`, await options.tail()), { hint, details: { ...run.exit } });
      }
      if (options.signal?.aborted) throw new DenError("QEMU_FAILED", "QEMU start was cancelled", { hint, cause: options.signal.reason });
      if (Date.now() > deadline) {
        throw new DenError("QEMU_FAILED", withTail(`QEMU's QMP socket did not answer within ${Math.round(options.timeoutMs / 1000)} s`, await options.tail()), {
          hint: `the host may be overloaded; ${hint}`,
        });
      }
      if (existsSync(qmpSock)) {
        try {
          const client = await connectQmp(qmpSock, { timeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())) });
          client.destroy();
          return;
        } catch {
          // Not listening yet, or QEMU is about to fail: the next round tells which.
        }
      }
      await Bun.sleep(PollMs);
    }
  }

  /** The PID of this instance's QEMU when it is alive: the child this driver started, else `qemu.pid`. */
  async #livePid(): Promise<number | undefined> {
    if (this.#run && !this.#run.exit) return this.#run.pid;
    const pidFile = join(this.#dir, QemuPid);
    return (await readOwnedPid(pidFile, { expect: driverOwner(pidFile) })).pid;
  }

  async #waitGone(pid: number, timeoutMs: number): Promise<boolean> {
    const run = this.#run && this.#run.pid === pid ? this.#run : undefined;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (run ? run.exit !== undefined : !isProcessAlive(pid)) return true;
      await Bun.sleep(PollMs);
    }
    return run ? run.exit !== undefined : !isProcessAlive(pid);
  }

  async #cleanUp(): Promise<void> {
    if (this.#run) await this.#run.exited;
    await readPidFile(join(this.#dir, QemuPid));
    await this.#stopVirtiofsds();
  }

  #virtiofsMounts(): FilledDenYaml["mounts"] {
    return this.#ctx.config.mountType === "virtiofs" ? this.#ctx.config.mounts : [];
  }

  /** The virtiofsd to run, with its flavour (the Rust and C daemons take different flags). */
  async #findVirtiofsd(options: CallOptions): Promise<VirtiofsdBinary> {
    const path = virtiofsdCandidates(this.#ctx.env).find((candidate) => isExecutableFileSync(candidate));
    if (!path) {
      throw new DenError("HOST_TOOL_MISSING", 'Cannot find virtiofsd, which mountType "virtiofs" needs on a Linux host', {
        hint: "install it (Debian 13/Ubuntu: apt-get install virtiofsd; Debian 12: apt-get install qemu-system-common), or use `mountType: 9p`",
        details: { searched: virtiofsdCandidates(this.#ctx.env) },
      });
    }
    const { stdout, stderrTail } = await run([path, "--version"], { signal: options.signal });
    return { path, flavour: virtiofsdFlavour(`${stdout}${stderrTail}`) };
  }

  /** The daemon and how this host user can run it; refuses what cannot work (see virtiofsdLaunchPlan). */
  async #virtiofsdLaunch(options: CallOptions): Promise<{ binary: VirtiofsdBinary; plan: VirtiofsdLaunchPlan }> {
    const binary = await this.#findVirtiofsd(options);
    const PATH = this.#ctx.env.PATH ?? process.env.PATH ?? "";
    const uid = process.geteuid?.() ?? 0;
    const unshare = Bun.which("unshare", { PATH }) ?? undefined;
    const ordinaryUser = uid !== 0 && unshare !== undefined;
    // The passwd name, which /etc/subgid uses: os.userInfo() answers "unknown" in an environment without USER.
    const userName = uid === 0 ? "root" : (await run(["id", "-un"], { signal: options.signal })).stdout.trim() || String(uid);
    const plan = virtiofsdLaunchPlan({
      flavour: binary.flavour,
      uid,
      userName,
      unshare,
      unshareHelp: ordinaryUser ? (await run([unshare, "--help"], { signal: options.signal })).stdout : "",
      newgidmap: Bun.which("newgidmap", { PATH }) ?? undefined,
      subgid: ordinaryUser ? await readFile("/etc/subgid", "utf8").catch(() => undefined) : undefined,
    });
    return { binary, plan };
  }

  /**
   * Starts one virtiofsd per virtiofs mount and waits for each socket, before QEMU (which connects at once). A
   * daemon that dies while the VM runs is reported on `errors`: the guest's mount then hangs or fails.
   */
  async #startVirtiofsds(logPath: string, errors: ReturnType<typeof errorChannel>, options: CallOptions): Promise<void> {
    const mounts = this.#virtiofsMounts();
    if (mounts.length === 0) return;
    const { binary, plan } = await this.#virtiofsdLaunch(options);
    const { uid } = this.#ctx.config.user;
    try {
      for (const [i, mount] of mounts.entries()) {
        const socketPath = join(this.#dir, virtiofsdSock(i));
        await rm(socketPath, { force: true });
        // The guest user's group is assumed to share its uid (useradd's default for a new user group).
        const argv = virtiofsdCommand({ binary, socketPath, location: mount.location, guest: { uid, gid: uid }, ...plan });
        await this.#checkVirtiofsdAccess(argv, mount.location, uid, options);
        const offset = fileSize(logPath);
        const logFd = openSync(logPath, "a");
        // The socket den listens on for the daemon, when it cannot create its own (see virtiofsd-command.ts); den's
        // copy is closed at once, so the socket lives exactly as long as the daemon.
        const listenFd = plan.listenFd === undefined ? undefined : listenUnixSocket(socketPath);
        let child: ChildProcess;
        try {
          this.#ctx.logger.info("Starting virtiofsd", { mount: mount.location, command: argv.join(" ") });
          child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", logFd, logFd, ...(listenFd === undefined ? [] : [listenFd])], detached: true });
        } finally {
          closeSync(logFd);
          if (listenFd !== undefined) closeSync(listenFd);
        }
        const entry: VirtiofsdRun = { child, location: mount.location, stopping: false, exited: new Promise((resolve) => child.once("exit", () => resolve())) };
        child.once("error", () => {});
        this.#virtiofsds.push(entry);
        void entry.exited.then(async () => {
          if (entry.stopping || this.#run?.stopping) return;
          const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
          errors.push(new DenError("QEMU_FAILED", withTail(`virtiofsd for mount "${mount.location}" ${how}; the guest can no longer use that mount`, await readTail(logPath, offset)), {
            hint: `see ${logPath}; restart the instance to get the mount back`,
          }));
        });
        const deadline = Date.now() + VirtiofsdReadyTimeoutMs;
        // A handed-over socket exists from the start; such a daemon is ready once it says it waits for QEMU.
        const ready = async () => (listenFd === undefined ? existsSync(socketPath) : (await readTail(logPath, offset)).includes(VirtiofsdWaitingLine));
        while (!(await ready())) {
          if (child.exitCode !== null || child.signalCode !== null) {
            entry.stopping = true;
            throw new DenError("QEMU_FAILED", withTail(`virtiofsd for mount "${mount.location}" exited before it was ready`, await readTail(logPath, offset)), {
              hint: `see ${logPath}; virtiofsd needs root or user namespaces (unshare), and the folder must be readable`,
            });
          }
          if (Date.now() > deadline) throw new DenError("QEMU_FAILED", `virtiofsd for mount "${mount.location}" did not create ${socketPath} within ${VirtiofsdReadyTimeoutMs / 1000} s`, { hint: `see ${logPath}` });
          await Bun.sleep(PollMs);
        }
      }
    } catch (error) {
      await this.#stopVirtiofsds();
      throw error;
    }
  }

  /** Refuses a folder the daemon could not open, naming it, before QEMU fails on it with a protocol error. */
  async #checkVirtiofsdAccess(daemonArgv: readonly string[], location: string, guestUid: number, options: CallOptions): Promise<void> {
    const check = virtiofsdAccessCheck(daemonArgv, location);
    if (!check) return;
    const result = await run(check, { signal: options.signal, timeoutMs: 10_000 });
    if (result.code === 0) return;
    const owner = quietStatSync(location);
    const shown = owner ? ` (owner uid ${owner.uid}, mode ${(owner.mode & 0o7777).toString(8).padStart(4, "0")})` : "";
    throw new DenError("QEMU_FAILED", `Cannot share "${location}" through virtiofs: virtiofsd, which runs as the guest user (uid ${guestUid}) in a user namespace, cannot list it${shown}`, {
      hint: "let others read the folder (chmod o+rx), share one you own, use mountType: 9p, or remove the mount",
    });
  }

  /** Ends the virtiofsd processes (they usually exit by themselves when QEMU closes their socket). */
  async #stopVirtiofsds(): Promise<void> {
    const running = this.#virtiofsds;
    this.#virtiofsds = [];
    for (const entry of running) {
      entry.stopping = true;
      if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill("SIGTERM");
    }
    await Promise.all(
      running.map(async (entry) => {
        if (await Promise.race([entry.exited.then(() => true), Bun.sleep(ExitGraceMs).then(() => false)])) return;
        entry.child.kill("SIGKILL");
        await entry.exited;
      }),
    );
  }

  async #withQmp<T>(action: string, use: (client: QmpClient) => Promise<T>): Promise<T> {
    if ((await this.#livePid()) === undefined) {
      throw new DenError("INSTANCE_STATE", `Cannot ${action} instance "${this.#ctx.instanceName}": its QEMU is not running`, {
        hint: `start it with \`den start ${this.#ctx.instanceName}\``,
      });
    }
    const client = await connectQmp(join(this.#dir, QmpSock));
    try {
      return await use(client);
    } finally {
      client.destroy();
    }
  }

  /** qemu-img on the disk of a stopped VM; HMP savevm/loadvm/delvm/info snapshots on a running one (as Lima). */
  async #snapshot(action: "create" | "apply" | "delete" | "list", tag: string | undefined, options: CallOptions = {}): Promise<string> {
    if (action !== "list" && !SnapshotTagPattern.test(tag ?? "")) {
      throw new DenError("USAGE", `Invalid snapshot tag "${tag}": use letters, digits, ".", "_" and "-"`, { hint: "pick a tag such as before-upgrade" });
    }
    options.signal?.throwIfAborted();
    const running = (await this.#livePid()) !== undefined;
    if (!running) {
      const output = await snapshotDisk(join(this.#dir, Disk), action, tag === undefined ? {} : { tag });
      return action === "list" ? output.replace("Snapshot list:\n", "") : output;
    }
    const hmp = { create: "savevm", apply: "loadvm", delete: "delvm", list: "info snapshots" }[action];
    // savevm/loadvm write or read the guest's whole memory: minutes for a large guest under TCG, not QMP's 10 s.
    const timeoutMs = action === "create" || action === "apply" ? SnapshotMemoryTimeoutMs : undefined;
    const output = (await this.#withQmp("snapshot", (client) => client.humanMonitorCommand(tag === undefined ? hmp : `${hmp} ${tag}`, timeoutMs === undefined ? {} : { timeoutMs }))).replaceAll("\r", "");
    // HMP reports failures as text, not as a QMP error.
    const failure = /^Error: (.*)$/m.exec(output);
    if (failure) {
      throw new DenError("QMP", `Cannot ${hmp} "${tag}": ${failure[1]}`, {
        hint: "a running VM can be snapshotted only when all its disks are qcow2 and no device blocks migration (virtiofs does); stop it and snapshot its disk instead",
      });
    }
    return output.replace("List of snapshots present on all disks:\n", "").replace("There is no snapshot available.\n", "");
  }
}

type BootPlan = { kind: "kernel" } | { kind: "bios" } | { kind: "uefi"; firmware: FirmwareFiles };

interface PreparedBoot {
  kernel?: NonNullable<QemuArgsContext["kernel"]>;
  firmware?: FirmwareFiles;
  iso?: string | undefined;
}

function selectedImageHasKernel(config: FilledDenYaml): boolean {
  return Boolean(config.images.find((image) => image.arch === config.arch)?.kernel);
}

/** The absolute path of `name` (a bare command name is looked up in PATH); throws HOST_TOOL_MISSING with `hint`. */
function requireTool(name: string, env: Readonly<Record<string, string | undefined>>, hint: string): string {
  const found = name.includes("/") ? (isExecutableFileSync(name) ? name : null) : Bun.which(name, { PATH: env.PATH ?? process.env.PATH ?? "" });
  if (!found) throw new DenError("HOST_TOOL_MISSING", name.includes("/") ? `Cannot run "${name}": no such executable` : `Cannot find "${name}" in PATH`, { hint });
  return found;
}

function fileSize(path: string): number {
  return quietStatSync(path)?.size ?? 0;
}

/** The last lines QEMU wrote to its log since `offset`. */
async function readTail(path: string, offset: number): Promise<string> {
  try {
    const size = (await stat(path)).size;
    const start = Math.max(offset, size - 16_384);
    const handle = await open(path, "r");
    try {
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString("utf8").trimEnd().split("\n").slice(-StderrTailLines).join("\n");
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}

function withTail(message: string, tail: string): string {
  return tail ? `${message}; its last output:\n${tail.replace(/^/gm, "  ")}` : `${message} (it printed nothing)`;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DenError("QEMU_FAILED", "Graceful shutdown was cancelled", { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** An AsyncIterable of errors any number of readers can drain; each sees every error, and it ends on close. */
function errorChannel(): { push(error: Error): void; close(): void; iterable: AsyncIterable<Error> } {
  const items: Error[] = [];
  let closed = false;
  let wake: (() => void)[] = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const resolve of waiting) resolve();
  };
  return {
    push(error) {
      if (closed) return;
      items.push(error);
      notify();
    },
    close() {
      closed = true;
      notify();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        let index = 0;
        while (true) {
          if (index < items.length) {
            yield items[index++]!;
            continue;
          }
          if (closed) return;
          await new Promise<void>((resolve) => wake.push(resolve));
        }
      },
    },
  };
}
