import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { appendFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatEvent } from "../../../lib/hostagent/events.ts";
import { forceStopInstance, stopInstance } from "../../../lib/instance/stop.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { serveStandInHostAgent } from "../hostagent/support/stand-in-host-agent.ts";
import { killAfterAll, type LiveProcess, makeHome, makeInstance, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";

const fast = { exitingTimeoutMs: 3000, stoppedTimeoutMs: 3000, pollMs: 20, requestTimeoutMs: 1000 };
const killLater = killAfterAll();

/** A live process that den takes for the owner of `file` in `dir` (the host agent or QEMU). */
function live(dir: string, file: string): LiveProcess {
  return killLater(ownerProcess(dir, file));
}

/** DEN_HOME with the instance "vm" whose host agent and QEMU pid files name live processes. */
async function runningInstance(): Promise<{ home: string; dir: string; ha: LiveProcess; qemu: LiveProcess }> {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  const ha = live(dir, "ha.pid");
  const qemu = live(dir, "qemu.pid");
  await writePid(dir, "ha.pid", ha.pid);
  await writePid(dir, "qemu.pid", qemu.pid);
  return { home, dir, ha, qemu };
}

function exitingLine(errors: string[] = []): string {
  return formatEvent({ running: false, degraded: false, exiting: true, errors }, new Date());
}

describe("stopInstance()", () => {
  test("asks the host agent over ha.sock and waits until Stopped", async () => {
    const { home, dir, ha, qemu } = await runningInstance();
    await writeFile(join(dir, "ha.stdout.log"), formatEvent({ running: true, degraded: false, exiting: false, errors: [] }, new Date()));
    const agent = serveStandInHostAgent(dir, {
      "GET /v1/info": () => Response.json({ sshLocalPort: 1, status: "Running" }),
      "POST /v1/stop": () => {
        // What the host agent does: stop the VM, write `exiting`, then exit.
        setTimeout(async () => {
          await qemu.kill();
          await appendFile(join(dir, "ha.stdout.log"), exitingLine(["QEMU did not power off in time"]));
          await agent.stop();
          await ha.kill();
        }, 50);
        return new Response(null, { status: 202 });
      },
    });
    const logger = createMemoryLogger();
    expect(await stopInstance(home, "vm", { logger, ...fast })).toBe("stopped");
    expect(agent.requests).toContain("POST /v1/stop");
    expect(logger.lines).toContainEqual({ level: "warn", message: "QEMU did not power off in time" });
    expect(existsSync(join(dir, "ha.pid"))).toBe(false);
    expect(existsSync(join(dir, "qemu.pid"))).toBe(false);
  });

  test("falls back to SIGINT when ha.sock does not answer", async () => {
    const home = await makeHome();
    const dir = await makeInstance(home, "vm");
    const qemu = live(dir, "qemu.pid");
    const event = exitingLine().trim();
    const script = `trap 'kill ${qemu.pid}; printf "%s\\n" '"'"'${event}'"'"' >> ha.stdout.log; exit 0' INT; while :; do sleep 0.05; done`;
    const ha = Bun.spawn(["sh", "-c", script, "den", "hostagent", "vm"], { cwd: dir, stdin: "ignore" });
    await writePid(dir, "ha.pid", ha.pid);
    await writePid(dir, "qemu.pid", qemu.pid);
    const logger = createMemoryLogger();
    try {
      expect(await stopInstance(home, "vm", { logger, ...fast })).toBe("stopped");
      expect(await ha.exited).toBe(0);
    } finally {
      ha.kill("SIGKILL");
    }
  });

  test("returns already-stopped for a stopped instance", async () => {
    const home = await makeHome();
    await makeInstance(home, "vm");
    expect(await stopInstance(home, "vm", { logger: createMemoryLogger(), ...fast })).toBe("already-stopped");
  });

  test("refuses a Broken instance without force and hints at -f", async () => {
    const home = await makeHome();
    const dir = await makeInstance(home, "vm");
    await writePid(dir, "qemu.pid", live(dir, "qemu.pid").pid);
    const error = await rejectedDenError(stopInstance(home, "vm", { logger: createMemoryLogger(), ...fast }));
    expect(error.code).toBe("INSTANCE_STATE");
    expect(error.message).toContain("it is Broken (the qemu process is running");
    expect(error.hint).toBe("force it: den stop -f vm");
  });

  test("gives up when the host agent never writes exiting", async () => {
    const { home, dir } = await runningInstance();
    await using _agent = serveStandInHostAgent(dir, {
      "GET /v1/info": () => Response.json({ sshLocalPort: 1, status: "Running" }),
      "POST /v1/stop": () => new Response(null, { status: 202 }),
    });
    const error = await rejectedDenError(stopInstance(home, "vm", { logger: createMemoryLogger(), ...fast, exitingTimeoutMs: 200 }));
    expect(error.code).toBe("STOP_TIMEOUT");
    expect(error.message).toBe('Cannot stop instance "vm": the host agent did not finish within 200 ms');
    expect(error.hint).toContain("den stop -f vm");
  });

  test("reports a missing instance", async () => {
    const home = await makeHome();
    const error = await rejectedDenError(stopInstance(home, "nope", { logger: createMemoryLogger(), ...fast }));
    expect(error.code).toBe("INSTANCE_NOT_FOUND");
  });

  test.each([
    { name: "a Broken instance (VM without host agent)", ha: false, qemu: true },
    { name: "a running instance", ha: true, qemu: true },
    { name: "a stopped instance with leftovers", ha: false, qemu: false },
  ])("with force kills $name and clears pid, sock and tmp files", async ({ ha, qemu }) => {
    const home = await makeHome();
    const dir = await makeInstance(home, "vm");
    const processes = [...(ha ? [["ha.pid", live(dir, "ha.pid")] as const] : []), ...(qemu ? [["qemu.pid", live(dir, "qemu.pid")] as const] : [])];
    for (const [file, process] of processes) await writePid(dir, file, process.pid);
    for (const file of ["ha.sock", "qmp.sock", "ssh.sock", "x.tmp", "serial.log", "disk"]) await writeFile(join(dir, file), "");
    const outcome = await stopInstance(home, "vm", { logger: createMemoryLogger(), force: true, ...fast });
    expect(outcome).toBe(ha || qemu ? "stopped" : "already-stopped");
    expect((await readdir(dir)).sort()).toEqual(["den-format", "den.yaml", "disk", "serial.log"]);
  });
});

test("forceStopInstance() kills the VM process before the host agent", async () => {
  const { dir, ha, qemu } = await runningInstance();
  const logger = createMemoryLogger();
  await forceStopInstance(dir, { logger });
  expect(logger.lines.map((line) => line.message)).toEqual([`Sending SIGKILL to process ${qemu.pid}`, `Sending SIGKILL to process ${ha.pid}`]);
  expect(await readdir(dir)).toEqual(["den.yaml"]);
});
