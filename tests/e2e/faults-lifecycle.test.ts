// Issue 18, the faults that need a real guest, on one instance booted twice: kill -9 of the `den start` CLI before the
// disk exists and during cloud-init, a 9p mount the guest user cannot read (degraded, not READY), host sleep (SIGSTOP
// of QEMU for 60 s: the clock is corrected, SSH and forwards recover), a guest clock set back, kill -9 of QEMU and of
// the host agent after READY. kill -9 of virtiofsd is in nonroot.test.ts, whose guest has a virtiofs mount.
// After each: den list tells the truth, the disk passes `qemu-img check`, and once stopped no process of this DEN_HOME
// is left. The table of faults is printed at the end (tests/faults/support/fault-table.ts).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printFaultTableAfterAll, recordFault } from "../faults/support/fault-table.ts";
import { den, guestTemplate, processesMentioning, processesOfDenHome } from "./support/den-cli.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";

const Name = "faults";
let image: GuestImage;
let home: string;
let closedShare: string;
const timings: Record<string, number> = {};

printFaultTableAfterAll("faults with a real guest");

beforeAll(async () => {
  image = await ensureGuestImage();
  home = await mkdtemp(join(tmpdir(), "den-faults-"));
  await chmod(home, 0o755);
  // A folder of another uid, mode 0700: through 9p the guest sees its owner and mode, so the guest user cannot list it
  // (QEMU, root here, can). With virtiofs, whose daemon runs unprivileged, den start fails naming the folder instead.
  closedShare = join(home, "closed share");
  await mkdir(closedShare, { mode: 0o700 });
  await writeFile(join(closedShare, "secret.txt"), "not for the guest user\n");
  await chown(closedShare, 12345, 12345);
  const extra = ["mountType: 9p", "mounts:", `- location: ${JSON.stringify(closedShare)}`, "  writable: false"].join("\n");
  await writeFile(join(home, "guest.yaml"), guestTemplate(image, extra, { mounts: false }));
  expect((await den(home, ["create", join(home, "guest.yaml"), "--name", Name])).exitCode).toBe(0);
}, 900_000);

afterAll(async () => {
  await den(home, ["stop", "-f", Name]);
  console.log(`faults e2e timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number((v / 1000).toFixed(1))])))}`);
  await rm(home, { recursive: true, force: true });
}, 120_000);

interface Listed {
  status: string;
  errors?: string[];
  sshLocalPort?: number;
  hostAgentPID?: number;
  driverPID?: number;
  services?: Record<string, { state: string; message?: string }>;
}

async function listed(): Promise<Listed> {
  const result = await den(home, ["list", "--json", Name]);
  return JSON.parse(result.stdout.trim().split("\n")[0] ?? "{}") as Listed;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s; last: ${JSON.stringify(value)}`);
    await Bun.sleep(500);
  }
}

/** `qemu-img check` of the instance's disk (it refuses a disk QEMU holds, so only for a stopped instance). */
function diskIntact(): boolean {
  const check = Bun.spawnSync(["qemu-img", "check", join(home, Name, "disk")], { stdout: "pipe", stderr: "pipe" });
  if (check.exitCode !== 0) console.log(`qemu-img check: ${check.stdout.toString()}${check.stderr.toString()}`);
  return check.exitCode === 0;
}

/** den's processes left for this DEN_HOME: host agents and CLIs by environment, QEMU by path. */
async function leaked(): Promise<number> {
  const pids = new Set([...(await processesOfDenHome(home)), ...(await processesMentioning(join(home, Name)))]);
  return pids.size;
}

/** Starts `den start` and kills it with SIGKILL once its progress output matches `when`. */
async function killStartWhen(when: RegExp): Promise<{ output: string }> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "../../main.ts"), "start", Name], {
    env: { ...process.env, DEN_HOME: home },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    output += decoder.decode(chunk, { stream: true });
    if (when.test(output)) break;
  }
  child.kill("SIGKILL");
  await child.exited;
  return { output };
}

test(
  "kill -9 of den start before the disk exists leaves the instance Stopped, with nothing half-written and nothing running",
  async () => {
    const { output } = await killStartWhen(/Starting "faults"/);
    expect(output).toContain('Starting "faults"');
    // A host agent may not have been launched yet; give a launched one a moment to be seen.
    await Bun.sleep(1_000);
    const state = await listed();
    const diskExists = await Bun.file(join(home, Name, "disk")).exists();
    if (state.status !== "Stopped") await den(home, ["stop", "-f", Name]);
    recordFault({
      fault: "kill -9 den start before the disk exists",
      state: state.status,
      diskIntact: !diskExists || diskIntact(),
      leaked: await leaked(),
      silent: false,
    });
    expect(state.status).toBe("Stopped");
  },
  { timeout: 120_000 },
);

test(
  "kill -9 of den start during cloud-init leaves the boot to the host agent; the unreadable mount makes it degraded, not READY",
  async () => {
    const started = Date.now();
    await killStartWhen(/waiting for cloud-init/);
    // The host agent goes on booting: the instance is honestly Starting or Running, never Stopped or Broken.
    const during = await listed();
    expect(["Starting", "Running"]).toContain(during.status);
    const mounts = await until("the mounts service settles", async () => (await listed()).services?.mounts, (report) => report !== undefined && report.state !== "starting", 600_000);
    timings.firstBoot = Date.now() - started;
    expect(mounts?.state).toBe("degraded");
    expect(mounts?.message ?? "").toContain("the guest user cannot list it");
    // The readiness checks end after the services are up.
    const after = await until("Running", listed, (value) => value.status === "Running", 300_000);
    expect(mounts?.message ?? "").toContain(`mount "${closedShare}" (9p)`);
    recordFault({ fault: "kill -9 den start during cloud-init", state: `${after.status} (the host agent finished the boot)`, diskIntact: true, leaked: 0, silent: false });
    recordFault({ fault: "9p share of another uid, mode 0700", state: `${after.status}, mounts degraded: ${mounts?.message ?? ""}`, diskIntact: true, leaked: 0, silent: false });
  },
  { timeout: 660_000 },
);

/** The host's 127.0.0.1:port answers an HTTP request. */
async function answers(port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 3_000);
    socket.once("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
    socket.once("data", (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data.toString().startsWith("HTTP/"));
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function guestClockOffsetSeconds(): Promise<number> {
  const result = await den(home, ["shell", "--workdir", "/", Name, "--", "date", "+%s.%N"]);
  expect(result.exitCode).toBe(0);
  return Number(result.stdout.trim()) - Date.now() / 1000;
}

test(
  "SIGSTOP of QEMU for 60 s (host sleep): afterwards the guest clock is corrected within seconds and SSH and forwards work",
  async () => {
    const port = 20_000 + Math.floor(Math.random() * 9_000);
    const serve = await den(home, ["shell", "--workdir", "/tmp", Name, "--", "sh", "-c", `(setsid nohup python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 &)`]);
    expect(serve.exitCode).toBe(0);
    await until("the forward", () => answers(port), Boolean, 60_000);
    expect(Math.abs(await guestClockOffsetSeconds())).toBeLessThan(5);
    const qemuPid = Number((await readFile(join(home, Name, "qemu.pid"), "utf8")).trim());
    process.kill(qemuPid, "SIGSTOP");
    try {
      await Bun.sleep(60_000);
    } finally {
      process.kill(qemuPid, "SIGCONT");
    }
    const resumed = Date.now();
    // The first look may still see the stalled clock; it must be right within seconds.
    const offset = await until("the guest clock", guestClockOffsetSeconds, (value) => Math.abs(value) < 2, 30_000);
    timings.clockCorrected = Date.now() - resumed;
    await until("the forward after the stall", () => answers(port), Boolean, 30_000);
    timings.forwardBack = Date.now() - resumed;
    const state = await listed();
    recordFault({
      fault: "SIGSTOP QEMU 60 s, then SIGCONT",
      state: `${state.status}; clock off by ${offset.toFixed(1)} s after ${(timings.clockCorrected / 1000).toFixed(1)} s; forward back after ${(timings.forwardBack / 1000).toFixed(1)} s`,
      diskIntact: true,
      leaked: 0,
      silent: false,
    });
    expect(state.status).toBe("Running");
  },
  { timeout: 240_000 },
);

test(
  "a guest clock set an hour back is put right by the guest agent within seconds, and den reports the step",
  async () => {
    const set = await den(home, ["shell", "--workdir", "/", Name, "--", "sh", "-c", "sudo date -s @$(( $(date +%s) - 3600 )) >/dev/null"]);
    expect(set.exitCode).toBe(0);
    const changed = Date.now();
    const offset = await until("the guest clock", guestClockOffsetSeconds, (value) => Math.abs(value) < 2, 30_000);
    timings.hourBackCorrected = Date.now() - changed;
    const clock = await until("the clock report", async () => (await listed()).services?.clock, (report) => (report?.message ?? "").includes("behind"), 30_000);
    recordFault({
      fault: "guest clock set 1 h back",
      state: `clock off by ${offset.toFixed(1)} s after ${(timings.hourBackCorrected / 1000).toFixed(1)} s; den list: ${clock?.message ?? ""}`,
      diskIntact: true,
      leaked: 0,
      silent: false,
    });
  },
  { timeout: 120_000 },
);

test(
  "kill -9 of QEMU after READY: Broken with the reason, and den start recovers without -f; the disk is intact",
  async () => {
    const qemuPid = Number((await readFile(join(home, Name, "qemu.pid"), "utf8")).trim());
    process.kill(qemuPid, "SIGKILL");
    // The host agent stays to show why (Lima's Broken: one of the two processes lives).
    const broken = await until("Broken", listed, (value) => value.status === "Broken", 30_000);
    expect((broken.errors ?? []).join(" ")).toMatch(/QEMU was killed by SIGKILL/);
    // The disk is checked while nothing holds it: the host agent has no image open.
    const intact = diskIntact();
    // The share is fixed before the next boot, so the restart can be READY.
    await chmod(closedShare, 0o755);
    await chmod(join(closedShare, "secret.txt"), 0o644);
    const start = await den(home, ["start", Name]);
    timings.secondBoot = start.ms;
    expect({ exitCode: start.exitCode, stderr: start.stderr }).toMatchObject({ exitCode: 0 });
    expect(start.stderr).toMatch(new RegExp(`The VM of instance "${Name}" is gone \\(.*SIGKILL.*\\); stopping its host agent first`));
    const running = await listed();
    expect(running.status).toBe("Running");
    // Exactly one QEMU and one host agent: the old host agent went, nothing doubled.
    const qemus = (await processesMentioning(join(home, Name, "qmp.sock"))).length;
    expect(qemus).toBe(1);
    recordFault({
      fault: "kill -9 QEMU after READY",
      state: `${broken.status} (${(broken.errors ?? [])[0]?.split("\n")[0]}); den start without -f: ${running.status}`,
      diskIntact: intact,
      leaked: qemus - 1,
      silent: false,
    });
    expect((await den(home, ["shell", "--workdir", "/", Name, "--", "cat", join(closedShare, "secret.txt")])).stdout).toBe("not for the guest user\n");
  },
  { timeout: 660_000 },
);

test(
  "kill -9 of the host agent after READY: den list says so, den start refuses with a hint, den stop -f cleans up",
  async () => {
    const before = await listed();
    expect(before.hostAgentPID).toBeGreaterThan(0);
    process.kill(before.hostAgentPID as number, "SIGKILL");
    const broken = await until("Broken", listed, (value) => value.status === "Broken", 30_000);
    expect((broken.errors ?? []).join(" ")).toMatch(/host agent/i);
    const start = await den(home, ["start", Name]);
    expect(start.exitCode).not.toBe(0);
    expect(start.stderr).toMatch(/hint: .*den stop -f/);
    expect((await den(home, ["stop", "-f", Name])).exitCode).toBe(0);
    const after = await listed();
    recordFault({
      fault: "kill -9 host agent after READY",
      state: `${broken.status} (${(broken.errors ?? []).join("; ")}); den start refused; den stop -f: ${after.status}`,
      diskIntact: diskIntact(),
      leaked: await leaked(),
      silent: false,
    });
    expect(after.status).toBe("Stopped");
  },
  { timeout: 120_000 },
);
