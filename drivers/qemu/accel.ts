// Which QEMU accelerator to use: kvm on Linux and hvf on macOS for a guest of the host's arch, else tcg, unless
// DEN_QEMU_ACCEL (or the instance's vmOpts) forces one. Lima trusts /dev/kvm once it opens; den also runs a tiny
// guest under it, because on nested-virtualization hosts KVM can open and still run guests too slowly to boot
// (see probe-kernel.ts). That probe costs up to a few seconds, so its result is cached per host boot and QEMU
// binary (Lima has no such cache).
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DenError } from "../../lib/errors.ts";
import { run } from "../../lib/process/run.ts";
import { ensurePrivateDir } from "../../lib/store/dirs.ts";
import { ProbeDebugconPort, ProbeMarker, probeKernel } from "./probe-kernel.ts";

export const Accelerators = ["kvm", "hvf", "tcg"] as const;
export type Accelerator = (typeof Accelerators)[number];

/**
 * What a probe found: `usable`; `broken` (present, but a test guest did not run under it); `denied` (present but
 * the user may not open it); `absent` (not on this host).
 */
export type AccelState = "usable" | "broken" | "denied" | "absent";

export interface AccelRequest {
  hostOs: "Linux" | "Darwin";
  hostArch: string;
  guestArch: string;
  /** The DEN_QEMU_ACCEL environment variable; wins over `vmOptsAccel`. */
  envAccel?: string;
  /** An accelerator the instance configuration forces. */
  vmOptsAccel?: string | null;
}

export interface ChooseInput extends AccelRequest {
  kvm: AccelState;
  hvf: AccelState;
}

export interface AccelChoice {
  accel: Accelerator;
  /** One line for the user when den fell back to TCG although the host seemed to have an accelerator. */
  warning?: string;
}

export interface ProbeResult {
  state: AccelState;
  /** Why the state is not `usable`, for logs. */
  reason?: string;
}

export interface ProbeContext {
  /** Absolute path of qemu-system-x86_64 (the probe kernel is x86); part of the cache key. */
  qemuBinary: string;
  hostOs: "Linux" | "Darwin";
  hostArch: string;
  /** JSON cache file (den: `$DEN_HOME/_cache/accel.json`); no caching when absent. */
  cachePath?: string;
  /** How long the probe guest may take; default 3000 ms. */
  timeoutMs?: number;
  /** Where the probe's temporary files go; default the OS temp folder. */
  tmpDir?: string;
  /** Identifies the current host boot; default reads the kernel's boot id (macOS: kern.boottime). */
  bootId?: () => Promise<string>;
  /** Path of the KVM device; default /dev/kvm. */
  kvmDevice?: string;
}

export const BrokenKvmWarning =
  "KVM is present but a test guest did not run under it; falling back to TCG (slow). Set DEN_QEMU_ACCEL=kvm to force it.";
export const DeniedKvmWarning =
  "KVM is present but /dev/kvm cannot be opened (permission denied); falling back to TCG (slow). Add your user to the kvm group, or set DEN_QEMU_ACCEL=tcg.";

const EnvName = "DEN_QEMU_ACCEL";
const DefaultTimeoutMs = 3000;
const PollMs = 50;

/** The accelerator the user forces, if any; throws for an unknown name. */
export function forcedAccelerator(request: Pick<AccelRequest, "envAccel" | "vmOptsAccel">): Accelerator | undefined {
  const [value, source] = request.envAccel ? [request.envAccel, EnvName] : request.vmOptsAccel ? [request.vmOptsAccel, "vmOpts"] : [undefined, ""];
  if (value === undefined) return undefined;
  if (!(Accelerators as readonly string[]).includes(value)) {
    throw new DenError("CONFIG_INVALID", `Unknown accelerator "${value}" in ${source}: expected kvm, hvf or tcg`, {
      hint: `unset ${source} to let den choose, or set it to one of kvm, hvf, tcg`,
    });
  }
  return value as Accelerator;
}

/** Pure choice from the host, the guest and what the probes found. */
export function chooseAccelerator(input: ChooseInput): AccelChoice {
  const native = input.guestArch === input.hostArch;
  const hardware: Accelerator = input.hostOs === "Darwin" ? "hvf" : "kvm";
  const forced = forcedAccelerator(input);
  if (forced) {
    if (forced !== "tcg" && forced !== hardware) {
      throw new DenError("CONFIG_INVALID", `Cannot use accelerator "${forced}" on ${input.hostOs}: it only exists on ${forced === "kvm" ? "Linux" : "macOS"}`, {
        hint: `use ${hardware} or tcg`,
      });
    }
    if (forced !== "tcg" && !native) {
      throw new DenError("CONFIG_INVALID", `Cannot use accelerator "${forced}" for an ${input.guestArch} guest on an ${input.hostArch} host`, {
        hint: "a hardware accelerator runs only guests of the host's arch; use tcg",
      });
    }
    return { accel: forced };
  }
  if (!native) return { accel: "tcg" };
  const state = hardware === "kvm" ? input.kvm : input.hvf;
  if (state === "usable") return { accel: hardware };
  if (hardware === "kvm" && state === "broken") return { accel: "tcg", warning: BrokenKvmWarning };
  if (hardware === "kvm" && state === "denied") return { accel: "tcg", warning: DeniedKvmWarning };
  return { accel: "tcg" };
}

/** Forced choice, or probe the host's accelerator and choose; the entry point for `den start`. */
export async function resolveAccelerator(request: AccelRequest, ctx: ProbeContext): Promise<AccelChoice> {
  const base = { ...request, kvm: "absent" as AccelState, hvf: "absent" as AccelState };
  if (forcedAccelerator(request) || request.guestArch !== request.hostArch) return chooseAccelerator(base);
  if (request.hostOs === "Linux") base.kvm = (await probeAccelerator("kvm", ctx)).state;
  else base.hvf = (await probeAccelerator("hvf", ctx)).state;
  return chooseAccelerator(base);
}

/**
 * Whether `accel` works on this host. kvm: /dev/kvm must open read-write and, on x86_64 hosts, the probe kernel
 * must finish under it in time (on other arches there is no probe guest yet, so an openable device counts as
 * usable). hvf: `sysctl kern.hv_support` is 1. tcg: the probe kernel runs under TCG. Guest-run results are cached.
 */
export async function probeAccelerator(accel: Accelerator, ctx: ProbeContext): Promise<ProbeResult> {
  if (accel === "hvf") return probeHvf(ctx);
  if (accel === "kvm") {
    if (ctx.hostOs !== "Linux") return { state: "absent", reason: "KVM exists only on Linux" };
    const device = await openDevice(ctx.kvmDevice ?? "/dev/kvm");
    if (device.state !== "usable" || ctx.hostArch !== "x86_64") return device;
  }
  return cachedGuestProbe(accel, ctx);
}

async function probeHvf(ctx: ProbeContext): Promise<ProbeResult> {
  if (ctx.hostOs !== "Darwin") return { state: "absent", reason: "HVF exists only on macOS" };
  // A host where sysctl cannot even run has no usable HVF either.
  const { stdout, code } = await run(["sysctl", "-n", "kern.hv_support"]).catch(() => ({ stdout: "", code: null }));
  return code === 0 && stdout.trim() === "1" ? { state: "usable" } : { state: "absent", reason: "kern.hv_support is not 1" };
}

async function openDevice(path: string): Promise<ProbeResult> {
  try {
    const handle = await open(path, constants.O_RDWR);
    await handle.close();
    return { state: "usable" };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return { state: "denied", reason: `cannot open ${path}: permission denied` };
    return { state: "absent", reason: `cannot open ${path}: ${code ?? String(error)}` };
  }
}

// --- cache ---------------------------------------------------------------------------------------

interface CacheEntry {
  bootId: string;
  qemuBinary: string;
  qemuMtimeMs: number;
  result: ProbeResult;
}

interface CacheFile {
  entries: Partial<Record<Accelerator, CacheEntry>>;
}

/** The probe cache as stored; a missing or unreadable file is an empty cache. */
export async function readAccelCache(path: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<CacheFile>;
    return { entries: typeof parsed.entries === "object" && parsed.entries !== null ? parsed.entries : {} };
  } catch {
    return { entries: {} };
  }
}

async function writeAccelCache(path: string, cache: CacheFile): Promise<void> {
  await ensurePrivateDir(dirname(path));
  // Two `den start` may probe at once; rename keeps readers from seeing half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cache, null, 2)}\n`);
  await rename(tmp, path);
}

async function cachedGuestProbe(accel: Accelerator, ctx: ProbeContext): Promise<ProbeResult> {
  if (!ctx.cachePath) return runProbeGuest(accel, ctx);
  const key = { bootId: await (ctx.bootId ?? defaultBootId(ctx.hostOs))(), qemuBinary: ctx.qemuBinary, qemuMtimeMs: await mtimeOf(ctx.qemuBinary) };
  const cache = await readAccelCache(ctx.cachePath);
  const hit = cache.entries[accel];
  if (hit && hit.bootId === key.bootId && hit.qemuBinary === key.qemuBinary && hit.qemuMtimeMs === key.qemuMtimeMs) return hit.result;
  const result = await runProbeGuest(accel, ctx);
  cache.entries[accel] = { ...key, result };
  await writeAccelCache(ctx.cachePath, cache);
  return result;
}

async function mtimeOf(binary: string): Promise<number> {
  try {
    return (await stat(binary)).mtimeMs;
  } catch (error) {
    throw new DenError("IO", `Cannot probe the QEMU accelerator: "${binary}" is missing`, {
      hint: "install QEMU (Debian: apt-get install qemu-system-x86; macOS: brew install qemu)",
      cause: error,
    });
  }
}

function defaultBootId(hostOs: "Linux" | "Darwin"): () => Promise<string> {
  if (hostOs === "Linux") return async () => (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  // A boot time that cannot be read must not fail the probe: the cache is then keyed on "".
  return async () => (await run(["sysctl", "-n", "kern.boottime"]).catch(() => ({ stdout: "" }))).stdout.trim();
}

// --- the probe guest -----------------------------------------------------------------------------

async function runProbeGuest(accel: Accelerator, ctx: ProbeContext): Promise<ProbeResult> {
  const dir = await mkdtemp(join(ctx.tmpDir ?? tmpdir(), "den-accel-"));
  try {
    const kernelPath = join(dir, "probe.bin");
    const debugcon = join(dir, "debugcon.log");
    await writeFile(kernelPath, probeKernel());
    // The same CPU model den will boot with, so a `-cpu host` QEMU rejects shows up here rather than at start.
    const cpu = accel === "tcg" ? "max" : "host";
    const args = ["-accel", accel, "-machine", "q35", "-cpu", cpu, "-nodefaults", "-display", "none", "-m", "64", "-no-reboot"];
    args.push("-kernel", kernelPath, "-debugcon", `file:${debugcon}`, "-global", `isa-debugcon.iobase=0x${ProbeDebugconPort.toString(16)}`);
    const child = spawn(ctx.qemuBinary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.on("close", () => {
        exited = true;
        resolve();
      });
      child.on("error", (error) => {
        stderr += String(error);
        exited = true;
        resolve();
      });
    });
    const deadline = Date.now() + (ctx.timeoutMs ?? DefaultTimeoutMs);
    let found = false;
    while (!exited && Date.now() < deadline) {
      await Bun.sleep(PollMs);
      found = await fileContains(debugcon, ProbeMarker);
      if (found) break;
    }
    if (!exited) child.kill("SIGKILL");
    await exit;
    if (found || (await fileContains(debugcon, ProbeMarker))) return { state: "usable" };
    const lastError = stderr.trim().split("\n").filter(Boolean).at(-1);
    const reason = lastError
      ? `QEMU failed under ${accel}: ${lastError}`
      : `a test guest did not finish under ${accel} within ${ctx.timeoutMs ?? DefaultTimeoutMs} ms`;
    return { state: "broken", reason };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fileContains(path: string, text: string): Promise<boolean> {
  try {
    return (await readFile(path, "latin1")).includes(text);
  } catch {
    return false;
  }
}
