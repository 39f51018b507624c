// Issue 18, races: two `den start` of one instance at once, `den start` racing `den delete`, `den stop` during
// `den start`. Exactly one command wins; every other one gets a clear "busy" error that names the instance and the
// holder, and there is never a second QEMU. What "busy" means depends on where the winning start is:
//
// - preparing (it holds the instance lock `den.lock` while it fetches the image and creates the disk): every other
//   start, delete (with or without -f) and stop (with or without -f) is refused with `Cannot lock instance "NAME":
//   process PID (den start) has held it …`; a second start waits up to 10 s for the lock first, and if it gets the
//   lock only after the winner launched its host agent it is refused as in the next case instead.
// - booting (the lock is released; the host agent and QEMU run, the status is Starting): another start is refused
//   with `its host agent (PID N) is already running (status Starting)`, a delete without -f with `it is Starting`;
//   delete -f and stop -f kill QEMU and the host agent and leave nothing running, and the start that lost its VM says
//   so; a graceful stop powers the VM off, and the start says it was stopped.
//
// No guest boots: the image is a blank qcow2, so a real QEMU (TCG, SeaBIOS) sits in its firmware, and the graceful
// stop uses the QMP stand-in of the driver tests (a firmware answers no power button, and QEMU would wait 3 minutes).
// The image comes from a local HTTP server that holds its answer until the test opens a gate: that keeps the winning
// start inside its locked preparation for as long as the test needs.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { processesOfDenHome } from "../e2e/support/den-cli.ts";
import { firmwareOnlyTemplate } from "./support/firmware-only-template.ts";
import { diskIntact } from "./support/disk-intact.ts";
import { printFaultTableAfterAll, recordFault } from "./support/fault-table.ts";

const mainTs = resolve(import.meta.dir, "../../main.ts");
const fakeQemuTs = resolve(import.meta.dir, "../drivers/qemu/support/fake-qemu.ts");
const root = mkdtempSync(join(tmpdir(), "den-start-races-"));
const home = join(root, "home");
mkdirSync(home);
printFaultTableAfterAll("Start races (tests/faults/start-races.test.ts)");

// A blank disk: QEMU finds nothing to boot and stays in SeaBIOS.
const imagePath = join(root, "blank.qcow2");
expect(Bun.spawnSync(["qemu-img", "create", "-q", "-f", "qcow2", imagePath, "64M"]).exitCode).toBe(0);
const imageBytes = readFileSync(imagePath);

// The obedient QMP stand-in (it powers off on system_powerdown), behind the path QEMU_SYSTEM_X86_64 names.
const obedientQemu = join(root, "qemu-obedient");
writeFileSync(obedientQemu, `#!/bin/sh\nexec "${process.execPath}" "${fakeQemuTs}" obedient "$@"\n`, { mode: 0o755 });

let gate = Promise.withResolvers<void>();
let requests = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch() {
    requests++;
    await gate.promise;
    return new Response(imageBytes, { headers: { "content-type": "application/octet-stream" } });
  },
});
const imageUrl = `http://127.0.0.1:${server.port}/blank.qcow2`;

const running: Bun.Subprocess[] = [];
afterAll(async () => {
  gate.resolve();
  // Whatever a failed test left: kill -9 every process of this DEN_HOME (QEMU, host agents, den CLIs).
  for (const pid of await processesOfDenHome(home)) process.kill(pid, "SIGKILL");
  for (const child of running) child.kill("SIGKILL");
  server.stop(true);
  rmSync(root, { recursive: true, force: true });
});

interface DenRun {
  child: Bun.Subprocess;
  done: Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** Starts the den CLI from source with the test's DEN_HOME, as a user runs it; `done` resolves once it exits. */
function spawnDen(args: string[], env: Record<string, string> = {}): DenRun {
  const child = Bun.spawn([process.execPath, mainTs, ...args], {
    cwd: root,
    env: { ...process.env, DEN_HOME: home, DEN_CACHE_DIR: join(home, "_cache"), DEN_QEMU_ACCEL: "tcg", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  running.push(child);
  const done = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]).then(([stdout, stderr, exitCode]) => ({ exitCode, stdout, stderr }));
  return { child, done };
}

async function den(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return await spawnDen(args, env).done;
}

async function createInstance(name: string, extra = ""): Promise<string> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, `${firmwareOnlyTemplate(imageUrl)}${extra}`);
  const created = await den(["create", "--name", name, file]);
  expect(created.stderr).not.toContain("error:");
  return join(home, name);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** This DEN_HOME's QEMU processes (real or stand-in) and host agents, by their command lines. */
async function denProcesses(): Promise<{ qemu: number[]; hostAgents: number[]; all: number[] }> {
  const all = await processesOfDenHome(home);
  const argv = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  const qemu: number[] = [];
  const hostAgents: number[] = [];
  for (const pid of all) {
    const args = await argv(pid);
    if (args.includes("-qmp")) qemu.push(pid);
    else if (args.includes("hostagent")) hostAgents.push(pid);
  }
  return { qemu, hostAgents, all };
}

function firstError(stderr: string): string {
  return stderr.split("\n").find((line) => line.startsWith("error:"))?.slice("error: ".length) ?? `(no error) ${stderr.trim()}`;
}

async function status(name: string): Promise<string> {
  const listed = await den(["list", "--format", "{{.Name}} {{.Status}}"]);
  return listed.stdout.split("\n").find((line) => line.startsWith(`${name} `))?.slice(name.length + 1) ?? "(not listed)";
}

/**
 * This DEN_HOME's processes still alive 10 s after the command that stopped them returned. A host agent removes its
 * ha.pid last, and the instance reads Stopped a moment before that process has exited.
 */
async function lingering(): Promise<number> {
  const deadline = Date.now() + 10_000;
  while ((await denProcesses()).all.length > 0 && Date.now() < deadline) await Bun.sleep(100);
  return (await denProcesses()).all.length;
}

/** Waits until the instance's QEMU runs under its host agent: den start launched it and now follows the boot. */
async function waitUntilBooting(dir: string): Promise<{ qemu: number[]; hostAgents: number[] }> {
  return await waitFor("QEMU and the host agent", async () => {
    const found = await denProcesses();
    return existsSync(join(dir, "qmp.sock")) && found.qemu.length > 0 && found.hostAgents.length > 0 ? found : undefined;
  });
}

describe("den start races", () => {
  let winner: DenRun;

  test("two den start at once: one prepares, delete and stop meanwhile are refused as busy, and the other start launches nothing", async () => {
    const dir = await createInstance("race");
    const starts = [spawnDen(["start", "race", "--timeout", "5m"]), spawnDen(["start", "race", "--timeout", "5m"])];
    // The winner holds den.lock while it waits for the image.
    const holder = await waitFor("the instance lock", async () => {
      const text = await readFile(join(dir, "den.lock"), "utf8").catch(() => undefined);
      return text && requests > 0 ? (JSON.parse(text) as { pid: number; owner: string }) : undefined;
    });
    expect(holder.owner).toBe("den start");
    const busy = `Cannot lock instance "race": process ${holder.pid} (den start) has held it`;
    try {
      const others = await Promise.all([["delete", "race"], ["delete", "-f", "race"], ["stop", "race"], ["stop", "-f", "race"]].map(async (args) => ({ args, ...(await den(args)) })));
      for (const other of others) {
        expect({ args: other.args, exitCode: other.exitCode, error: firstError(other.stderr) }).toEqual({ args: other.args, exitCode: 1, error: expect.stringContaining(busy) });
        recordFault({ fault: `den ${other.args.join(" ")} while den start prepares`, state: `refused: ${firstError(other.stderr)}`, diskIntact: true, leaked: 0, silent: other.exitCode === 0 });
      }
    } finally {
      // The winner's image arrives; the other start meanwhile waits for the lock, or already gave up.
      gate.resolve();
    }
    const first = await Promise.race(starts.map(async (start) => ({ start, result: await start.done })));
    winner = starts.find((start) => start !== first.start) as DenRun;
    expect(first.start.child.pid).not.toBe(holder.pid);
    expect(first.result.exitCode).toBe(1);
    const lost = firstError(first.result.stderr);
    expect(lost).toMatch(new RegExp(`^Cannot lock instance "race": process ${holder.pid} \\(den start\\) has held it|^Cannot start instance "race": its host agent \\(PID \\d+\\) is already running \\(status \\w+\\)$`));
    const booting = await waitUntilBooting(dir);
    expect({ qemu: booting.qemu.length, hostAgents: booting.hostAgents.length }).toEqual({ qemu: 1, hostAgents: 1 });
    expect(winner.child.exitCode).toBeNull();
    recordFault({ fault: "two den start at once", state: `one boots (Starting), the other: ${lost}`, diskIntact: true, leaked: 0, silent: false });
  }, 60_000);

  test("while the winner boots, another den start and a den delete are refused as busy, naming the host agent", async () => {
    const { hostAgents, qemu } = await denProcesses();
    const [again, deleted] = await Promise.all([den(["start", "race", "--timeout", "5m"]), den(["delete", "race"])]);
    expect(again.exitCode).toBe(1);
    expect(firstError(again.stderr)).toBe(`Cannot start instance "race": its host agent (PID ${hostAgents[0]}) is already running (status Starting)`);
    expect(deleted.exitCode).toBe(1);
    expect(firstError(deleted.stderr)).toBe('Cannot delete instance "race": it is Starting');
    const after = await denProcesses();
    expect({ qemu: after.qemu, hostAgents: after.hostAgents }).toEqual({ qemu, hostAgents });
    recordFault({ fault: "den start while another den start boots", state: `refused: ${firstError(again.stderr)}`, diskIntact: true, leaked: 0, silent: false });
    recordFault({ fault: "den delete while den start boots", state: `refused: ${firstError(deleted.stderr)}`, diskIntact: true, leaked: 0, silent: false });
  }, 30_000);

  test("den delete -f while den start boots kills QEMU and the host agent, deletes the instance, and the start says what happened", async () => {
    const deleted = await den(["delete", "-f", "race"]);
    expect(deleted.exitCode).toBe(0);
    const result = await winner.done;
    expect(result.exitCode).toBe(1);
    const error = firstError(result.stderr);
    // den delete -f kills QEMU, then the host agent: on a busy host the host agent may see QEMU die and report it first,
    // before or after the folder is gone.
    expect(error).toMatch(
      /^Cannot start instance "race" \(stage "[a-z-]+"\): (the host agent \(PID \d+\) was killed by SIGKILL before the guest was ready; the instance was deleted$|(the instance was deleted while it booted: )?the VM exited unexpectedly \(exit code none, signal SIGKILL\))/,
    );
    expect(existsSync(join(home, "race"))).toBe(false);
    const leaked = await lingering();
    expect(leaked).toBe(0);
    recordFault({ fault: "den delete -f while den start boots", state: `deleted; den start: ${error}`, diskIntact: true, leaked, silent: false });
  }, 30_000);

  test("den stop -f while den start boots leaves nothing running, a Stopped instance with an intact disk, and the start says what happened", async () => {
    const dir = await createInstance("race2");
    const start = spawnDen(["start", "race2", "--timeout", "5m"]);
    await waitUntilBooting(dir);
    const stopped = await den(["stop", "-f", "race2"]);
    expect(stopped.exitCode).toBe(0);
    const result = await start.done;
    expect(result.exitCode).toBe(1);
    const error = firstError(result.stderr);
    expect(error).toMatch(/^Cannot start instance "race2" \(stage "[a-z-]+"\): (the host agent \(PID \d+\) was killed by SIGKILL before the guest was ready$|the VM exited unexpectedly \(exit code none, signal SIGKILL\))/);
    const state = await status("race2");
    expect(state).toBe("Stopped");
    const intact = diskIntact(join(dir, "disk"));
    expect(intact).toBe(true);
    const leaked = await lingering();
    expect(leaked).toBe(0);
    recordFault({ fault: "den stop -f while den start boots", state: `${state}; den start: ${error}`, diskIntact: intact, leaked, silent: false });
  }, 30_000);

  test("a graceful den stop while den start boots powers the VM off, and the start says it was stopped", async () => {
    const env = { QEMU_SYSTEM_X86_64: obedientQemu };
    const dir = await createInstance("race3");
    const start = spawnDen(["start", "race3", "--timeout", "5m"], env);
    await waitUntilBooting(dir);
    const stopped = await den(["stop", "race3"], env);
    expect({ exitCode: stopped.exitCode, stderr: stopped.stderr }).toEqual({ exitCode: 0, stderr: expect.stringContaining('Stopped instance "race3"') });
    const result = await start.done;
    expect(result.exitCode).toBe(1);
    const error = firstError(result.stderr);
    expect(error).toMatch(/^Cannot start instance "race3" \(stage "[a-z-]+"\): the instance was stopped \(den stop or a signal to its host agent, PID \d+\) before the guest was ready$/);
    const state = await status("race3");
    expect(state).toBe("Stopped");
    const leaked = await lingering();
    expect(leaked).toBe(0);
    const intact = diskIntact(join(dir, "disk"));
    recordFault({ fault: "den stop while den start boots", state: `${state}; den start: ${error}`, diskIntact: intact, leaked, silent: false });
  }, 30_000);
  test("kill -9 of the host agent while QEMU runs: Broken with the reason, den start refuses to boot a second VM, den stop -f cleans up", async () => {
    const dir = await createInstance("orphan");
    const start = spawnDen(["start", "orphan", "--timeout", "5m"]);
    const { hostAgents, qemu } = await waitUntilBooting(dir);
    process.kill(hostAgents[0] as number, "SIGKILL");
    const result = await start.done;
    expect(result.exitCode).toBe(1);
    const broken = await waitFor("Broken", async () => ((await status("orphan")) === "Broken" ? "Broken" : undefined));
    const listed = JSON.parse((await den(["list", "--json", "orphan"])).stdout) as { errors?: string[] };
    expect(listed.errors?.join("; ")).toContain(`(PID ${qemu[0]}) but the host agent is not`);
    const again = await den(["start", "orphan", "--timeout", "5m"]);
    expect({ exitCode: again.exitCode, error: firstError(again.stderr) }).toEqual({ exitCode: 1, error: `Cannot start instance "orphan": its VM (PID ${qemu[0]}) still runs without a host agent` });
    expect(again.stderr).toContain('hint: run "den stop -f orphan" to stop that VM, then start again');
    expect((await denProcesses()).qemu).toEqual(qemu);
    expect((await den(["stop", "-f", "orphan"])).exitCode).toBe(0);
    const state = await status("orphan");
    expect(state).toBe("Stopped");
    const leaked = await lingering();
    expect(leaked).toBe(0);
    const intact = diskIntact(join(dir, "disk"));
    recordFault({
      fault: "kill -9 host agent while QEMU runs",
      state: `${broken} (${listed.errors?.join("; ")}); den start: ${firstError(again.stderr)}; den stop -f: ${state}`,
      diskIntact: intact,
      leaked,
      silent: false,
    });
  }, 60_000);
  test("kill -9 of den start while it downloads the image: Stopped, nothing half-written, and the next den start takes over its lock and boots from a whole image", async () => {
    gate = Promise.withResolvers<void>();
    const name = "killed";
    const file = join(root, `${name}.yaml`);
    // A URL of its own, so the image is not in the cache yet.
    const url = `http://127.0.0.1:${server.port}/killed-download.qcow2`;
    writeFileSync(file, firmwareOnlyTemplate(url));
    expect((await den(["create", "--name", name, file])).exitCode).toBe(0);
    const dir = join(home, name);
    const asked = requests;
    const start = spawnDen(["start", name, "--timeout", "5m"]);
    await waitFor("the download", () => (requests > asked ? true : undefined));
    start.child.kill("SIGKILL");
    await start.done;
    const killedState = await status(name);
    expect(killedState).toBe("Stopped");
    expect({ image: existsSync(join(dir, "image")), disk: existsSync(join(dir, "disk")) }).toEqual({ image: false, disk: false });
    gate.resolve();
    const again = spawnDen(["start", name, "--timeout", "5m"]);
    const booting = await waitUntilBooting(dir);
    expect({ qemu: booting.qemu.length, hostAgents: booting.hostAgents.length }).toEqual({ qemu: 1, hostAgents: 1 });
    expect(Buffer.compare(readFileSync(join(dir, "image")), imageBytes)).toBe(0);
    expect((await den(["stop", "-f", name])).exitCode).toBe(0);
    await again.done;
    const state = await status(name);
    expect(state).toBe("Stopped");
    const leaked = await lingering();
    expect(leaked).toBe(0);
    const intact = diskIntact(join(dir, "disk"));
    recordFault({
      fault: "kill -9 den start while it downloads the image",
      state: `${killedState}, no image or disk in the instance; the next den start took over the dead start's lock and booted from the whole image`,
      diskIntact: intact,
      leaked,
      silent: false,
    });
  }, 60_000);
});
