// Runs the den CLI from source in a test's own DEN_HOME, as a user would from a shell. Always TCG (DEN_QEMU_ACCEL):
// end-to-end results must not depend on a host's /dev/kvm.
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type InstanceInfo, InstanceInfoSchema } from "../../../lib/status/instance-info.ts";
import type { GuestImage } from "./guest-image.ts";

const mainTs = resolve(import.meta.dir, "../../../main.ts");

export interface DenResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function den(denHome: string, args: string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<DenResult> {
  const started = performance.now();
  const child = spawnDen(denHome, args, options);
  // Past den start's own 10 min timeout, so that its report of what it waited for is read rather than cut off.
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 660_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr, ms: performance.now() - started };
}

/** `den ARGS` as a child process with piped output, for a test that reads its progress as it comes (and may kill it). */
export function spawnDen(denHome: string, args: string[], options: { cwd?: string } = {}) {
  return Bun.spawn([process.execPath, mainTs, ...args], {
    cwd: options.cwd ?? denHome,
    // Downloads go to a cache inside the test's DEN_HOME, never the user's ~/.cache/den.
    env: { DEN_CACHE_DIR: join(denHome, "_cache"), ...process.env, DEN_HOME: denHome, DEN_QEMU_ACCEL: "tcg" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** `den list --json NAME`, checked against the schema of its rows (a Broken row must carry its errors). */
export async function listInstance(denHome: string, name: string): Promise<InstanceInfo> {
  const listed = await den(denHome, ["list", "--json", name]);
  const line = listed.stdout.trim().split("\n")[0];
  if (listed.exitCode !== 0 || !line) throw new Error(`den list --json ${name} exited with ${listed.exitCode}: ${listed.stderr.trim()}`);
  return InstanceInfoSchema.parse(JSON.parse(line));
}

/** Where a test serves the guest's files over HTTP. */
export interface GuestImageUrls {
  disk: string;
  kernel: string;
  initrd: string;
}

/**
 * A den template for the Debian test guest (direct kernel boot), as YAML text. `mounts: []` keeps the host's home
 * out of test guests; pass `{ mounts: false }` to leave the key out when `extra` brings its own `mounts:`, and
 * `urls` to fetch the disk, kernel and initrd over HTTP (e.g. from image-server.ts) instead of reading the files.
 * containerd is off unless `extra` sets `containerd:`: its default archive (nerdctl-full from GitHub) cannot be
 * downloaded here, and tests/e2e/containerd.test.ts brings its own.
 */
export function guestTemplate(image: GuestImage, extra = "", options: { mounts?: boolean; urls?: GuestImageUrls } = {}): string {
  return [
    "images:",
    `- location: ${options.urls?.disk ?? image.disk}`,
    "  arch: x86_64",
    "  kernel:",
    `    location: ${options.urls?.kernel ?? image.kernel}`,
    `    cmdline: ${JSON.stringify(image.cmdline)}`,
    "  initrd:",
    `    location: ${options.urls?.initrd ?? image.initrd}`,
    "cpus: 2",
    "memory: 1GiB",
    ...(options.mounts === false ? [] : ["mounts: []"]),
    ...(/^containerd:/m.test(extra) ? [] : ["containerd: {system: false, user: false}"]),
    extra,
  ].join("\n");
}

/** PIDs of live processes whose command line contains `text` (a leaked QEMU or host agent names its DEN_HOME). */
export async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const state = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(text) && !/^\d+ \(.*\) Z/.test(state)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * PIDs of live processes started with DEN_HOME=`denHome`: the host agents and CLIs of a test's instances, whose command
 * lines name only the instance (`den hostagent NAME`).
 */
export async function processesOfDenHome(denHome: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    const state = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (environ.split("\0").includes(`DEN_HOME=${denHome}`) && !/^\d+ \(.*\) Z/.test(state)) pids.push(Number(entry));
  }
  return pids;
}

export function instanceFile(denHome: string, name: string, file: string): string {
  return join(denHome, name, file);
}

/**
 * What to read when a `den start` failed: the ends of the host agent's log and of the serial console, and the guest's
 * `DEN|` progress lines. Printed on stderr, where CI keeps the lines above a failed test, so a boot that timed out in CI
 * can be explained from CI's output alone; kept short for that reason.
 */
export async function bootFailureReport(denHome: string, name: string, start?: DenResult): Promise<string> {
  const dir = join(denHome, name);
  const tail = async (file: string, lines: number, keep: (line: string) => boolean = () => true): Promise<string[]> => {
    const text = await readFile(join(dir, file), "utf8").catch(() => "");
    // The serial console carries carriage returns and escape sequences; one printable line each is enough here.
    const clean = text.split(/\r?\n/).map((line) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/[^\x20-\x7e]/g, "").slice(0, 240));
    return clean.filter((line) => line.trim() !== "" && keep(line)).slice(-lines);
  };
  const serial = await tail("serial.log", 200);
  const progress = serial.filter((line) => line.includes("DEN|")).slice(-8);
  return [
    `--- den start of "${name}" failed${start ? ` (exit ${start.exitCode} after ${(start.ms / 1000).toFixed(1)} s)` : ""}; its stderr ends:`,
    ...(start?.stderr ?? "").trim().split("\n").slice(-6),
    "--- ha.stderr.log ends:",
    ...(await tail("ha.stderr.log", 8)),
    "--- serial.log, DEN| lines:",
    ...progress,
    "--- serial.log ends:",
    ...serial.slice(-6),
    "---",
  ].join("\n");
}
