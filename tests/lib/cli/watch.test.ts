import { describe, expect, test } from "bun:test";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { watchInstances } from "../../../lib/cli/watch.ts";
import { formatEvent, type HostAgentStatus } from "../../../lib/hostagent/events.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome } from "./support/run-den.ts";

const mainTs = join(import.meta.dir, "../../../main.ts");
const base: HostAgentStatus = { running: false, degraded: false, exiting: false, errors: [] };

async function append(dir: string, status: HostAgentStatus, time = new Date()): Promise<void> {
  await appendFile(join(dir, "ha.stdout.log"), formatEvent(status, time));
}

/** Waits until `lines()` holds `count` lines (or 5 s passed). */
async function until(lines: () => string[], count: number): Promise<void> {
  for (const deadline = Date.now() + 5000; lines().length < count && Date.now() < deadline; ) await Bun.sleep(20);
}

describe("watchInstances()", () => {
  test.each([
    { name: "shows only what happens after it started", history: false, want: ["vm | boot stage: kernel", "vm | running"] },
    { name: "shows the logged events too with history", history: true, want: ["vm | boot stage: qemu", "vm | ssh available on port 60022", "vm | boot stage: kernel", "vm | running"] },
  ])("watchInstances() $name", async ({ history, want }) => {
    const denHome = await makeDenHome();
    const dir = await makeInstance(denHome, "vm");
    await append(dir, { ...base, sshLocalPort: 60022, stage: "qemu" }, new Date(Date.now() - 60_000));
    const out: string[] = [];
    const stop = new AbortController();
    const watching = watchInstances(["vm"], { json: false, history }, {
      denHome,
      logger: createMemoryLogger(),
      signal: stop.signal,
      now: () => new Date(),
      pollMs: 20,
      write: (text) => out.push(...text.trimEnd().split("\n")),
    });
    await Bun.sleep(100);
    await append(dir, { ...base, sshLocalPort: 60022, stage: "kernel" });
    await append(dir, { ...base, sshLocalPort: 60022, running: true });
    await until(() => out, want.length);
    stop.abort();
    await watching;
    expect(out.map((line) => line.slice(20))).toEqual([...want]);
  });

  test("watchInstances() without names picks up an instance created later and writes JSON", async () => {
    const denHome = await makeDenHome();
    const out: string[] = [];
    const stop = new AbortController();
    const logger = createMemoryLogger();
    const watching = watchInstances([], { json: true, history: false }, { denHome, logger, signal: stop.signal, now: () => new Date(), pollMs: 20, listMs: 50, write: (text) => out.push(...text.trimEnd().split("\n")) });
    await Bun.sleep(100);
    const dir = await makeInstance(denHome, "later");
    await Bun.sleep(200);
    await append(dir, { ...base, sshLocalPort: 60022, stage: "qemu" });
    await until(() => out, 1);
    stop.abort();
    await watching;
    expect(out.map((line) => JSON.parse(line))).toEqual([{ instance: "later", event: { time: expect.any(String), status: { ...base, sshLocalPort: 60022, stage: "qemu" } } }]);
    expect(logger.lines.map((line) => line.message)).toContain("No instances found. Waiting for one to be created...");
  });

  test("watchInstances() refuses a name that is not an instance", async () => {
    const denHome = await makeDenHome();
    const run = watchInstances(["nope"], { json: false, history: false }, { denHome, logger: createMemoryLogger(), signal: new AbortController().signal, now: () => new Date(), write: () => {} });
    await expect(run).rejects.toThrow('Cannot watch instance "nope"');
  });
});

describe("den watch", () => {
  test.each([{ signal: "SIGINT" as const }, { signal: "SIGTERM" as const }])("den watch ends cleanly on $signal", async ({ signal }) => {
    const denHome = await makeDenHome();
    const dir = await makeInstance(denHome, "vm");
    const child = Bun.spawn([process.execPath, mainTs, "watch", "vm", "--json"], { env: { ...process.env, DEN_HOME: denHome }, stdout: "pipe", stderr: "pipe" });
    const stdout = new Response(child.stdout).text();
    await Bun.sleep(1500);
    await append(dir, { ...base, running: true, sshLocalPort: 60022 });
    await Bun.sleep(800);
    child.kill(signal);
    expect(await child.exited).toBe(0);
    expect(JSON.parse((await stdout).trim())).toMatchObject({ instance: "vm", event: { status: { running: true, sshLocalPort: 60022 } } });
  }, 20_000);

  test("den watch ends when its reader goes away", async () => {
    const denHome = await makeDenHome();
    const dir = await makeInstance(denHome, "vm");
    for (let port = 1; port <= 3; port++) await append(dir, { ...base, sshLocalPort: port });
    const child = Bun.spawn(["sh", "-c", '"$0" "$1" watch --history vm | head -n 1', process.execPath, mainTs], {
      env: { ...process.env, DEN_HOME: denHome },
      stdout: "pipe",
      stderr: "pipe",
    });
    // head has left after the first line; den learns it on its next write.
    void Bun.sleep(2500).then(() => append(dir, { ...base, sshLocalPort: 4 }));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(killer);
    expect(code).toBe(0);
    expect(stdout).toContain("vm | ssh available on port 1");
    expect(stderr).not.toContain("error:");
  }, 20_000);
});
