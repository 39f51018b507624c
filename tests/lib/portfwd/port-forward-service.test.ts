import { afterEach, expect, test } from "bun:test";
import { createServer } from "node:net";
import type { FilledDenYaml, FilledPortForward } from "../../../lib/config/schema.ts";
import type { GuestAgentClient } from "../../../lib/guestagent/guest-agent-client.ts";
import type { GuestServiceContext, GuestServiceReport, RunningGuestService } from "../../../lib/hostagent/guest-service.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { defaultedRule } from "../../../lib/portfwd/effective-rules.ts";
import { portForwardService } from "../../../lib/portfwd/port-forward-service.ts";
import { PortForwardReportSchema } from "../../../lib/portfwd/port-forward-report.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";

const running: RunningGuestService[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
  for (const close of closers.splice(0)) await close();
});

async function listening(): Promise<number> {
  const server = createServer((socket) => socket.end("hi"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

function config(rules: Partial<FilledPortForward>[], plain = false): FilledDenYaml {
  return { plain, portForwards: rules.map(defaultedRule), user: { uid: 1000 } } as unknown as FilledDenYaml;
}

async function startService(rules: Partial<FilledPortForward>[], agent: GuestAgentClient | undefined, env: Record<string, string> = {}) {
  const reports: GuestServiceReport[] = [];
  const log = createMemoryLogger();
  const ctx = {
    instanceName: "vm",
    config: config(rules),
    ssh: { port: 60022 },
    driver: {},
    agent,
    env,
    log,
    report: (report: GuestServiceReport) => reports.push(report),
    signal: new AbortController().signal,
  } as unknown as GuestServiceContext;
  running.push(await portForwardService.start(ctx));
  return { reports, log };
}

test("the ports service reports the forwards of listeners that exist when it starts", async () => {
  const guestPort = await listening();
  const hostPort = await listening().then(async (port) => {
    await closers.pop()?.();
    return port;
  });
  const agent = standInGuestAgent();
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guestPort }]);
  const { reports } = await startService([{ guestPort, hostPort }], agent);
  const last = reports.at(-1) as GuestServiceReport;
  expect(last.state).toBe("ready");
  expect(PortForwardReportSchema.parse(last.data).forwards).toMatchObject([{ proto: "tcp", guest: `127.0.0.1:${guestPort}`, host: `127.0.0.1:${hostPort}` }]);
});

test("the ports service turns degraded with the failure's message when a host port is taken", async () => {
  const guestPort = await listening();
  const hostPort = await listening();
  const agent = standInGuestAgent();
  agent.setListeners([{ proto: "tcp", ip: "127.0.0.1", port: guestPort }]);
  const { reports } = await startService([{ guestPort, hostPort }], agent);
  expect(reports.at(-1)).toMatchObject({
    state: "degraded",
    message: `Cannot forward guest TCP 127.0.0.1:${guestPort} to host 127.0.0.1:${hostPort}: host port ${hostPort} is already in use`,
  });
});

test("the ports service is degraded without a guest agent", async () => {
  const { reports, log } = await startService([], undefined);
  expect(reports.at(-1)).toMatchObject({ state: "degraded", message: "Cannot forward guest ports: this instance runs without a guest agent" });
  expect(log.lines).toContainEqual({ level: "warn", message: "Cannot forward guest ports: this instance runs without a guest agent" });
});

test.each([
  { name: "a normal instance", config: config([]), want: true },
  { name: "a plain instance without rules", config: config([], true), want: false },
  { name: "a plain instance with a static rule", config: config([{ guestPort: 80, hostPort: 8080, static: true }], true), want: true },
])("the ports service is enabled for $name: $want", ({ config, want }) => {
  expect(portForwardService.enabled(config)).toBe(want);
});

test("the ports service refuses to start with a DEN_MAX_PORT_FORWARDS that is not a number", async () => {
  await expect(startService([], standInGuestAgent(), { DEN_MAX_PORT_FORWARDS: "lots" })).rejects.toThrow('Cannot use DEN_MAX_PORT_FORWARDS "lots": not a whole number from 0 to 131072');
});
