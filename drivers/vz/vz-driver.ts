// den's VZ driver: the instance's VM runs in a helper process (den-vz-helper, Swift, Virtualization.framework) that the
// host agent starts, one per instance, and drives over the control protocol of drivers/vz/helper/PROTOCOL.md. The
// helper also listens for the guest agent (unix socket ga.sock) and SSH (127.0.0.1:<ssh.localPort>) and connects
// each connection to the guest's vsock ports, so the host agent reaches the guest exactly as it does under QEMU.
// VZ boots raw disks only: the downloaded qcow2 image is converted to raw once, into the image cache, and each
// instance's disk is a copy of it (a clone where the file system can), grown to `disk:`.
import { createHash } from "node:crypto";
import { constants, createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { macAddress as deriveMacAddress } from "../../lib/config/defaults.ts";
import { limaArch, readHostInfo } from "../../lib/config/host-info.ts";
import { parseSize } from "../../lib/config/units.ts";
import { DenError } from "../../lib/errors.ts";
import { denCacheDir } from "../../lib/images/cache-dir.ts";
import { run } from "../../lib/process/run.ts";
import { signalPid } from "../../lib/process/signal-pid.ts";
import { Disk, driverPidFile, GuestAgentSock, Image, Initrd, Kernel, KernelCmdline, SerialVirtioLog, VzHelperStderrLog } from "../../lib/store/filenames.ts";
import { driverOwner, isProcessAlive, readOwnedPid } from "../../lib/store/pid-file.ts";
import type { CallOptions, Driver, DriverContext, DriverFeatures, DriverInfo, DriverRegistration, GuestAgentConnection, StartedVm, VmExit } from "../driver.ts";
import { detectImageFormat } from "../qemu/disk.ts";
import { type HelperClient, spawnHelper } from "./helper-client.ts";
import { HelperProtocolVersion } from "./helper-protocol.ts";
import { vzAvailability } from "./vz-availability.ts";
import { vzConfig, GuestAgentVsockPort } from "./vz-config.ts";
import { findVzHelper, vzHelperPath } from "./vz-helper-location.ts";

export interface VzDriverContext extends DriverContext {
  /** MAC address of the NAT NIC; default Lima's derivation, as the seed's network-config uses. */
  macAddress?: string;
  /** How long `stop()` gives the guest to power off before the helper stops it hard; default 3 minutes (Lima's). */
  shutdownTimeoutMs?: number;
  /** How long the helper may take to answer hello/create/pause/resume; default 30 s (start: twice that). */
  requestTimeoutMs?: number;
  /** The helper executable; default from vz-helper-location.ts (DEN_VZ_HELPER, beside den, embedded). */
  helperPath?: string;
}

const VmType = "vz";
const DefaultShutdownTimeoutMs = 3 * 60_000;
const DefaultRequestTimeoutMs = 30_000;
/** After the VM stopped (or on a hard stop), how long the helper may take to exit once its stdin is closed. */
const ExitGraceMs = 10_000;
const PollMs = 100;
const StderrTailLines = 20;
/** In the image cache: raw copies of qcow2 images, named by the image's SHA-256. */
const RawImagesDir = "vz-raw";

const VzFeatures: DriverFeatures = {
  canRunGui: false,
  // The guest agent is reached over vsock through the helper's unix socket, not a virtio-serial port.
  canRunGuestAgentOverVirtioPort: false,
  dynamicSshAddress: false,
  staticSshPort: false,
  skipSocketForwarding: false,
  noCloudInit: false,
  supportedImageFormats: ["raw"],
};

/** The VZ driver for `vmType: vz`, listed in drivers/all-drivers.ts. */
export const VzRegistration: DriverRegistration = {
  vmType: VmType,
  displayName: "VZ",
  features: VzFeatures,
  availability: (host) => vzAvailability(host),
  create: (context: DriverContext) => createVzDriver(context),
};

/** Creates the VZ driver for one instance; nothing is read or started until a method is called. */
export function createVzDriver(ctx: VzDriverContext): Driver & { warnings(): string[] } {
  return new VzDriver(ctx);
}

/** The helper this driver object launched. */
interface Run {
  client: HelperClient;
  exit: VmExit | undefined;
  exited: Promise<VmExit>;
  /** Set once `stop()` began, so the exit that follows is not reported as a failure. */
  stopping: boolean;
}

class VzDriver implements Driver {
  readonly #ctx: VzDriverContext;
  readonly #dir: string;
  readonly #warnings: string[] = [];
  #run: Run | undefined;

  constructor(ctx: VzDriverContext) {
    this.#ctx = ctx;
    this.#dir = ctx.instanceDir;
  }

  info(): DriverInfo {
    return { name: VmType, instanceDir: this.#dir, vsockPort: GuestAgentVsockPort, virtioPort: "", serialLog: SerialVirtioLog, features: VzFeatures };
  }

  warnings(): string[] {
    return [...this.#warnings];
  }

  async validate(): Promise<void> {
    const { config } = this.#ctx;
    // Only looks: the embedded helper is extracted by start().
    const helper = this.#ctx.helperPath ?? findVzHelper({ env: this.#ctx.env, denHome: this.#ctx.denHome }).path;
    if (helper === null) {
      throw new DenError("DRIVER_UNAVAILABLE", "Cannot find the VZ helper: this den was built without it", {
        hint: "install den from Homebrew or a release tarball, or set DEN_VZ_HELPER to a den-vz-helper",
      });
    }
    const hostArch = limaArch(process.arch);
    if (config.arch !== hostArch) {
      throw new DenError("CONFIG_INVALID", `Cannot run an ${config.arch} guest with vmType "vz" on this ${hostArch} host: Virtualization.framework runs native guests only`, {
        hint: `set \`vmType: qemu\` to emulate ${config.arch}, or \`arch: ${hostArch}\``,
      });
    }
    if (config.mountType === "9p") {
      throw new DenError("CONFIG_INVALID", 'Cannot use mountType "9p" with vmType "vz": Virtualization.framework shares folders with virtio-fs only', {
        hint: "set `mountType: virtiofs` (the default for vz) or `mountType: reverse-sshfs`",
      });
    }
    if (config.vmOpts.vz.diskImageFormat && config.vmOpts.vz.diskImageFormat !== "raw") {
      throw new DenError("CONFIG_INVALID", `Cannot use vmOpts.vz.diskImageFormat "${config.vmOpts.vz.diskImageFormat}": den's VZ driver makes raw disks only`, {
        hint: "remove vmOpts.vz.diskImageFormat or set it to raw",
      });
    }
    // The converter is needed only until the disk exists; an instance that has one boots without it.
    if (!existsSync(join(this.#dir, Disk))) requireQemuImg(this.#ctx.env);
  }

  async create(): Promise<void> {}

  async createDisk(options: CallOptions = {}): Promise<void> {
    const disk = join(this.#dir, Disk);
    const image = join(this.#dir, Image);
    const sizeBytes = parseSize(this.#ctx.config.disk);
    if (existsSync(disk)) {
      if (await growRawDisk(disk, sizeBytes)) this.#ctx.logger.info("Grew the disk", { disk, size: this.#ctx.config.disk });
      return;
    }
    if (!existsSync(image)) {
      throw new DenError("IO", `Cannot create the disk of instance "${this.#ctx.instanceName}": the image "${image}" is missing`, {
        hint: "the image is copied from the instance's images[] when it starts; check that images[] has an entry for its arch",
      });
    }
    options.signal?.throwIfAborted();
    const format = await detectImageFormat(image);
    if (format === "iso") {
      throw new DenError("CONFIG_INVALID", `Cannot boot the installer ISO "${image}" with vmType "vz": den's VZ driver boots disk images only`, {
        hint: "use a cloud image (qcow2 or raw) in images[], or `vmType: qemu` for an ISO",
      });
    }
    const source = format === "raw" ? image : await this.#rawImage(image, options);
    const temporary = `${disk}.${process.pid}.tmp`;
    try {
      // A clone (APFS clonefile, Btrfs/XFS reflink) where the file system has one: the cached raw image is shared.
      await copyFile(source, temporary, constants.COPYFILE_FICLONE);
      const imageBytes = (await stat(temporary)).size;
      if (imageBytes > sizeBytes) this.#warn(`disk: ${this.#ctx.config.disk} is smaller than the image (${imageBytes} bytes); the disk keeps the image's size`);
      await growRawDisk(temporary, sizeBytes);
      // The disk appears only once complete: a crash above leaves no half-made disk a later start would trust.
      await rename(temporary, disk);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async start(options: CallOptions = {}): Promise<StartedVm> {
    const pidFile = join(this.#dir, driverPidFile(VmType));
    const running = await this.#livePid();
    if (running !== undefined) {
      throw new DenError("VZ_HELPER", `Cannot start the VZ helper for instance "${this.#ctx.instanceName}": it already runs (pid ${running})`, {
        hint: `stop it first with \`den stop ${this.#ctx.instanceName}\``,
      });
    }
    const helper = await this.#helperPath();
    const { config, logger } = this.#ctx;
    const mac = this.#ctx.macAddress ?? deriveMacAddress((await readHostInfo()).machineId, this.#dir);
    const vmConfig = vzConfig(config, { instanceDir: this.#dir, macAddress: mac, sshLocalPort: this.#ctx.sshLocalPort, kernel: await this.#kernel(), runtimeDisk: this.#ctx.runtimeDisk, containerdDisk: this.#ctx.containerdDisk });
    // As Lima: create the shared folders; the helper refuses a share whose folder does not exist.
    for (const share of vmConfig.shares) await mkdir(share.hostPath, { recursive: true });
    await rm(join(this.#dir, GuestAgentSock), { force: true });
    const stderrPath = join(this.#dir, VzHelperStderrLog);
    const stderrOffset = fileSize(stderrPath);
    // `-pidfile PATH` is how den recognises the helper behind vz.pid (driverOwner in lib/store/pid-file.ts).
    const argv = [helper, "serve", "-pidfile", pidFile];
    logger.info("Starting the VZ helper", { command: argv.join(" ") });
    const client = spawnHelper(argv, { stderrPath, env: this.#ctx.env, what: "the VZ helper" });
    // The VM counts as gone once its pid file is: a caller that saw `exited` must not find a stale vz.pid.
    const exited = client.exited.then(async (exit) => {
      run.exit = exit;
      const recorded = await readFile(pidFile, "utf8").catch(() => "");
      if (Number.parseInt(recorded.trim(), 10) === client.pid) await rm(pidFile, { force: true });
      return exit;
    });
    const run: Run = { client, exit: undefined, exited, stopping: false };
    this.#run = run;
    await writeFile(pidFile, `${client.pid}\n`, { mode: 0o600 });

    const errors = errorChannel();
    const timeoutMs = this.#ctx.requestTimeoutMs ?? DefaultRequestTimeoutMs;
    try {
      const hello = await client.request("hello", { protocolVersion: HelperProtocolVersion }, { timeoutMs, signal: options.signal });
      if (hello.protocolVersion !== HelperProtocolVersion) {
        throw new DenError("VZ_HELPER", `The VZ helper ${hello.helperVersion} speaks protocol ${hello.protocolVersion}, and this den speaks ${HelperProtocolVersion}`, {
          hint: "use the helper that came with this den (unset DEN_VZ_HELPER)",
        });
      }
      logger.info("VZ helper", { helperVersion: hello.helperVersion, macosVersion: hello.macosVersion, ...hello.capabilities });
      await client.request("create", { config: vmConfig }, { timeoutMs, signal: options.signal });
      await client.request("start", {}, { timeoutMs: 2 * timeoutMs, signal: options.signal });
    } catch (error) {
      run.stopping = true;
      await client.close({ timeoutMs: ExitGraceMs });
      await exited;
      const tail = await readTail(stderrPath, stderrOffset);
      if (error instanceof DenError) throw new DenError(error.code, withTail(error.message, tail), { hint: error.hint ?? `see ${stderrPath}`, cause: error.cause, details: error.details });
      throw error;
    }

    void (async () => {
      let failed = false;
      for await (const event of client.events) {
        if (event.event === "error") {
          failed = true;
          errors.push(new DenError("VZ_HELPER", `The VM failed: ${event.message} (${event.code})`, { hint: `see ${stderrPath} and the guest's ${SerialVirtioLog} in ${this.#dir}` }));
        } else if (event.state === "error" && !failed) {
          // An error state without its error event still says something went wrong; after one it adds nothing.
          failed = true;
          errors.push(new DenError("VZ_HELPER", `The VM stopped with an error${event.reason ? `: ${event.reason}` : ""}`, { hint: `see ${stderrPath}` }));
        } else {
          logger.info("VM state", { state: event.state, ...(event.reason && { reason: event.reason }) });
        }
        // The VM is over (the guest powered off, or it failed): end the helper too, whether or not it exits by itself,
        // so that `exited` settles and the host agent learns the VM is gone.
        if (event.event === "error" || event.state === "stopped" || event.state === "error") void client.close({ timeoutMs: ExitGraceMs });
      }
      const exit = await exited;
      // A helper den could not understand was told to stop (stdin closed), so even its clean exit is a failure.
      const breach = client.fault()?.details?.fault === "protocol" ? client.fault() : undefined;
      if (!run.stopping && (breach || exit.code !== 0 || exit.signal !== null)) {
        const message = breach?.message ?? `The VZ helper ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} while the VM was running`;
        errors.push(new DenError("VZ_HELPER", withTail(message, await readTail(stderrPath, stderrOffset)), { hint: `see ${stderrPath}`, details: { ...exit } }));
      } else if (!run.stopping) {
        logger.info("The guest powered off", { instance: this.#ctx.instanceName });
      }
      errors.close();
    })();
    return { errors: errors.iterable, exited };
  }

  async stop(options: CallOptions = {}): Promise<void> {
    const run = this.#run;
    if (run && !run.exit) {
      run.stopping = true;
      const shutdownTimeoutMs = this.#ctx.shutdownTimeoutMs ?? DefaultShutdownTimeoutMs;
      try {
        // A paused guest cannot see the power button.
        const { state } = await run.client.request("state", {}, { timeoutMs: DefaultRequestTimeoutMs });
        if (state === "paused") await run.client.request("resume", {}, { timeoutMs: DefaultRequestTimeoutMs });
        const graceful = !options.signal?.aborted;
        const answer = await run.client.request("stop", { graceful, timeoutMs: graceful ? shutdownTimeoutMs : 0 }, { timeoutMs: shutdownTimeoutMs + DefaultRequestTimeoutMs, signal: options.signal });
        if (answer.forced && graceful) this.#ctx.logger.warn("The guest did not power off in time; the VM was stopped hard");
      } catch (error) {
        if (!run.exit) this.#ctx.logger.warn("Graceful shutdown failed; ending the VZ helper", { error: error instanceof Error ? error.message : String(error) });
      }
      // stdin EOF: the helper stops what is left of the VM hard and exits; close() kills it if it does not.
      await run.client.close({ timeoutMs: ExitGraceMs });
      await run.exited;
      return;
    }
    // A helper started by another process (a host agent that died): it has already heard EOF; make sure it is gone.
    const pid = await this.#livePid();
    if (pid === undefined) return;
    signalPid(pid, "SIGTERM");
    if (await waitGone(pid, ExitGraceMs)) return;
    signalPid(pid, "SIGKILL");
    if (!(await waitGone(pid, ExitGraceMs))) {
      throw new DenError("VZ_HELPER", `Cannot stop the VZ helper (pid ${pid}): it is still alive after SIGKILL`, { hint: "the process may be stuck in the kernel; check it with ps" });
    }
  }

  async delete(): Promise<void> {}

  async pause(): Promise<void> {
    const client = this.#client("pause");
    const { state } = await client.request("state", {}, { timeoutMs: this.#timeout() });
    if (state !== "paused") await client.request("pause", {}, { timeoutMs: this.#timeout() });
  }

  async resume(): Promise<void> {
    const client = this.#client("resume");
    const { state } = await client.request("state", {}, { timeoutMs: this.#timeout() });
    if (state === "paused") await client.request("resume", {}, { timeoutMs: this.#timeout() });
  }

  async sshAddress(): Promise<{ host: string; port: number }> {
    return { host: "127.0.0.1", port: this.#ctx.sshLocalPort };
  }

  async guestAgentConnection(): Promise<GuestAgentConnection> {
    return { transport: "unix", path: join(this.#dir, GuestAgentSock) };
  }

  // --- helpers ---------------------------------------------------------------------------------

  #timeout(): number {
    return this.#ctx.requestTimeoutMs ?? DefaultRequestTimeoutMs;
  }

  #client(action: string): HelperClient {
    const run = this.#run;
    if (!run || run.exit) {
      throw new DenError("INSTANCE_STATE", `Cannot ${action} instance "${this.#ctx.instanceName}": its VM is not running`, { hint: `start it with \`den start ${this.#ctx.instanceName}\`` });
    }
    return run.client;
  }

  /** The helper to launch; the embedded one is extracted on first use. */
  async #helperPath(): Promise<string> {
    return this.#ctx.helperPath ?? vzHelperPath({ env: this.#ctx.env, denHome: this.#ctx.denHome });
  }

  #warn(message: string): void {
    if (this.#warnings.includes(message)) return;
    this.#warnings.push(message);
    this.#ctx.logger.warn(message);
  }

  /** The image's kernel when prepare-instance-image put one into the instance folder: then the VM boots it directly. */
  async #kernel(): Promise<{ commandLine: string; initrd: boolean } | undefined> {
    if (!existsSync(join(this.#dir, Kernel))) return undefined;
    const commandLine = (await readFile(join(this.#dir, KernelCmdline), "utf8").catch(() => "")).trim();
    return { commandLine, initrd: existsSync(join(this.#dir, Initrd)) };
  }

  async #livePid(): Promise<number | undefined> {
    if (this.#run && !this.#run.exit) return this.#run.client.pid;
    const pidFile = join(this.#dir, driverPidFile(VmType));
    return (await readOwnedPid(pidFile, { expect: driverOwner(pidFile) })).pid;
  }

  /** The raw copy of the qcow2 `image` in the image cache, converted the first time any instance needs it. */
  async #rawImage(image: string, options: CallOptions): Promise<string> {
    const { env } = this.#ctx;
    const qemuImg = requireQemuImg(env);
    const cacheDir = denCacheDir({ env, platform: process.platform, home: env.HOME ?? homedir() });
    const folder = join(cacheDir, RawImagesDir);
    const raw = join(folder, `${await sha256File(image)}.raw`);
    if (existsSync(raw)) return raw;
    await mkdir(folder, { recursive: true });
    const temporary = `${raw}.${process.pid}.tmp`;
    this.#ctx.logger.info("Converting the image to raw for VZ", { image, raw });
    try {
      const { code, stderrTail } = await run([qemuImg, "convert", "-f", "qcow2", "-O", "raw", image, temporary], { signal: options.signal });
      if (code !== 0) {
        throw new DenError("QEMU_IMG", `Cannot convert "${image}" to raw: ${stderrTail.trim().split("\n").at(-1) || `qemu-img exited with ${code}`}`, {
          hint: `the command was: ${qemuImg} convert -f qcow2 -O raw ${image} ${temporary}`,
        });
      }
      // Another den converting the same image at once renames an identical file over it: either is complete.
      await rename(temporary, raw);
    } finally {
      await rm(temporary, { force: true });
    }
    return raw;
  }
}


function requireQemuImg(env: Readonly<Record<string, string | undefined>>): string {
  const found = Bun.which("qemu-img", { PATH: env.PATH ?? process.env.PATH ?? "" });
  if (!found) {
    throw new DenError("HOST_TOOL_MISSING", 'Cannot find "qemu-img", which converts the qcow2 image to the raw disk VZ boots', {
      hint: "install it once (macOS: brew install qemu; Debian: apt-get install qemu-utils); instances whose disk exists do not need it",
    });
  }
  return found;
}

/** Grows a raw disk to `sizeBytes` (sparse); returns whether it did. A disk is never shrunk. */
async function growRawDisk(path: string, sizeBytes: number): Promise<boolean> {
  if ((await stat(path)).size >= sizeBytes) return false;
  await truncate(path, sizeBytes);
  return true;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await Bun.sleep(PollMs);
  }
  return !isProcessAlive(pid);
}

function fileSize(path: string): number {
  try {
    return Bun.file(path).size;
  } catch {
    return 0;
  }
}

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
  return tail ? `${message}; the helper's last output:\n${tail.replace(/^/gm, "  ")}` : message;
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
