import { expect, test } from "bun:test";
import { infoResponse } from "../hostagent/support/stand-in-host-agent.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { makeRunningInstance } from "./support/running-instance.ts";

const since = new Date(Date.now() - 5_000).toISOString();
const ports = {
  state: "degraded",
  message: "Cannot forward guest TCP 127.0.0.1:3000 to host 127.0.0.1:3000: host port 3000 is already in use",
  data: {
    forwards: [{ proto: "tcp", guest: "127.0.0.1:8000", host: "127.0.0.1:8000", since, connections: 2 }],
    failures: [{ reason: "port-in-use", proto: "tcp", guest: "127.0.0.1:3000", host: "127.0.0.1:3000", message: "Cannot forward guest TCP 127.0.0.1:3000 to host 127.0.0.1:3000: host port 3000 is already in use", hint: "free it", since }],
  },
};
const routes = { "GET /v1/info": () => infoResponse("Running", { degraded: true, services: { ports } }) };

test("den ports prints the active forwards and the failures", async () => {
  const denHome = await makeDenHome();
  await using _vm = await makeRunningInstance(denHome, "vm", { routes });
  const run = await runDen(["ports", "vm"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/^PROTO +GUEST +HOST +VIA +SINCE +CONNECTIONS\ntcp +127\.0\.0\.1:8000 +127\.0\.0\.1:8000 +- +\d+s ago +2\n\nFailures:\n/);
  expect(run.stdout).toContain("  port-in-use: Cannot forward guest TCP 127.0.0.1:3000 to host 127.0.0.1:3000: host port 3000 is already in use (");
  expect(run.stdout).toContain("    hint: free it\n");
});

test("den ports --json prints the state, message, forwards and failures", async () => {
  const denHome = await makeDenHome();
  await using _vm = await makeRunningInstance(denHome, "vm", { routes });
  const run = await runDen(["ports", "vm", "--json"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ state: "degraded", message: ports.message, ...ports.data });
});

test("den list --json carries the services the host agent reports", async () => {
  const denHome = await makeDenHome();
  await using _vm = await makeRunningInstance(denHome, "vm", { routes });
  const run = await runDen(["list", "--json"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout).services).toEqual({ ports });
});

test.each([
  { name: "a stopped instance", setup: "stopped", error: 'error: Cannot list the ports of instance "vm": it is Stopped', hint: "hint: start it first: den start vm" },
  { name: "a missing instance", setup: "none", error: 'error: Cannot list the ports of instance "vm": it does not exist', hint: "hint: see den list for the instances" },
])("den ports refuses $name", async ({ setup, error, hint }) => {
  const denHome = await makeDenHome();
  if (setup === "stopped") await makeInstance(denHome, "vm");
  const run = await runDen(["ports", "vm"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(error);
  expect(run.stderr).toContain(hint);
});

test("den ports says when the host agent runs no port forwarding", async () => {
  const denHome = await makeDenHome();
  await using _vm = await makeRunningInstance(denHome, "vm");
  const run = await runDen(["ports", "vm"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('error: Cannot list the ports of instance "vm": its host agent runs no port forwarding');
});
