import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inspectInstance } from "../../../lib/status/inspect.ts";
import { InstanceInfoSchema } from "../../../lib/status/instance-info.ts";
import { infoResponse, serveStandInHostAgent } from "../hostagent/support/stand-in-host-agent.ts";
import { deadPid, killAfterAll, makeHome, makeInstance, MinimalYaml, ownerProcess, writePid } from "../store/support/fake-instance.ts";

type Pid = "none" | "live" | "dead";
type Agent = "none" | "Starting" | "Running" | "Paused" | "Broken" | "silent";

const killLater = killAfterAll();

async function pidFile(dir: string, file: string, kind: Pid): Promise<void> {
  if (kind === "none") return;
  if (kind === "dead") return writePid(dir, file, deadPid());
  const live = killLater(ownerProcess(dir, file));
  await writePid(dir, file, live.pid);
}

test.each<{ name: string; ha: Pid; qemu: Pid; agent: Agent; status: string; error?: string; port?: number }>([
  { name: "no pid files", ha: "none", qemu: "none", agent: "none", status: "Stopped" },
  { name: "two dead pids", ha: "dead", qemu: "dead", agent: "none", status: "Stopped" },
  { name: "both alive, agent Running", ha: "live", qemu: "live", agent: "Running", status: "Running", port: 60022 },
  { name: "both alive, agent Paused", ha: "live", qemu: "live", agent: "Paused", status: "Paused" },
  { name: "both alive, agent Starting", ha: "live", qemu: "live", agent: "Starting", status: "Starting" },
  { name: "both alive, agent silent", ha: "live", qemu: "live", agent: "silent", status: "Running", error: "did not answer GET /v1/info" },
  { name: "both alive, no ha.sock", ha: "live", qemu: "live", agent: "none", status: "Running", error: "ha.sock\" does not exist" },
  { name: "agent alive and Starting, no VM yet", ha: "live", qemu: "none", agent: "Starting", status: "Starting" },
  { name: "agent alive and Running, VM dead", ha: "live", qemu: "dead", agent: "Running", status: "Broken", error: "the host agent is running" },
  { name: "agent alive but silent, no VM", ha: "live", qemu: "none", agent: "none", status: "Broken", error: "but the qemu process is not" },
  { name: "both alive, agent says Broken", ha: "live", qemu: "live", agent: "Broken", status: "Broken", error: "reports the qemu process as failed" },
  { name: "agent alive and Broken, VM dead", ha: "live", qemu: "dead", agent: "Broken", status: "Broken", error: "reports the qemu process as failed" },
  { name: "VM alive without agent", ha: "dead", qemu: "live", agent: "none", status: "Broken", error: "the qemu process is running" },
])("inspectInstance() with $name is $status", async ({ ha, qemu, agent, status, error, port }) => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await pidFile(dir, "ha.pid", ha);
  await pidFile(dir, "qemu.pid", qemu);
  const server =
    agent === "none"
      ? undefined
      : serveStandInHostAgent(dir, {
          "GET /v1/info": async () => {
            if (agent !== "silent") return infoResponse(agent);
            await Bun.sleep(1000);
            return infoResponse("Running");
          },
        });
  try {
    const info = await inspectInstance(home, "vm", { infoTimeoutMs: 200 });
    expect(info.status).toBe(status as typeof info.status);
    expect(InstanceInfoSchema.safeParse(info).success).toBe(true);
    if (error) expect(info.errors?.join("\n")).toContain(error);
    else expect(info.errors).toBeUndefined();
    if (port) expect(info.sshLocalPort).toBe(port);
    // PID files naming dead processes are cleaned up; live ones stay.
    expect(existsSync(join(dir, "ha.pid"))).toBe(ha === "live");
    expect(existsSync(join(dir, "qemu.pid"))).toBe(qemu === "live");
  } finally {
    await server?.stop();
  }
});

test("inspectInstance() reports the host agent's errors on a degraded instance", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await pidFile(dir, "ha.pid", "live");
  await pidFile(dir, "qemu.pid", "live");
  await using _agent = serveStandInHostAgent(dir, { "GET /v1/info": () => infoResponse("Running", { degraded: true, errors: ["mount /x failed"], sshLocalPort: 2222 }) });
  const info = await inspectInstance(home, "vm");
  expect(info.status).toBe("Running");
  expect(info.errors).toEqual(["mount /x failed"]);
  expect(info.sshLocalPort).toBe(2222);
});

test("inspectInstance() reads the SSH port from ssh.config while stopped", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await writeFile(join(dir, "ssh.config"), "Host den-vm\n  Hostname 127.0.0.1\n  Port 41234\n");
  expect((await inspectInstance(home, "vm")).sshLocalPort).toBe(41234);
});

test("inspectInstance() makes an instance with a broken den.yaml Broken with the reason", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm", "cpus: [\n");
  const info = await inspectInstance(home, "vm");
  expect(info.status).toBe("Broken");
  expect(info.errors?.length).toBe(1);
});

test("inspectInstance() sees the protected marker", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await writeFile(join(dir, "protected"), "");
  expect((await inspectInstance(home, "vm")).protected).toBe(true);
});

test("inspectInstance() carries the host agent's guest service reports as services", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await pidFile(dir, "ha.pid", "live");
  await pidFile(dir, "qemu.pid", "live");
  const ports = { state: "ready" as const, data: { forwards: [{ proto: "tcp", guest: "127.0.0.1:80", host: "127.0.0.1:8080", since: "2026-01-01T00:00:00.000Z", connections: 0 }], failures: [] } };
  await using _agent = serveStandInHostAgent(dir, { "GET /v1/info": () => infoResponse("Running", { services: { ports } }) });
  const info = await inspectInstance(home, "vm");
  expect(info.services).toEqual({ ports });
  expect(InstanceInfoSchema.safeParse(info).success).toBe(true);
});

test("inspectInstance() lists the forwarded sockets by engine under sockets", async () => {
  const home = await makeHome();
  const yaml = `${MinimalYaml}portForwards:\n- guestSocket: /run/user/{{.UID}}/docker.sock\n  hostSocket: "{{.Dir}}/sock/docker.sock"\n- guestSocket: /run/podman/podman.sock\n  hostSocket: podman.sock\n`;
  const dir = await makeInstance(home, "vm", yaml);
  expect((await inspectInstance(home, "vm")).sockets).toEqual({ docker: join(dir, "sock", "docker.sock"), podman: join(dir, "sock", "podman.sock") });
});
