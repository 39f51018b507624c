import { expect, test } from "bun:test";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { makeRunningInstance } from "./support/running-instance.ts";

test.each([
  { verb: "pause", status: "Running" as const, path: "POST /v1/pause", message: 'Instance "vm" is paused' },
  { verb: "resume", status: "Paused" as const, path: "POST /v1/resume", message: 'Instance "vm" is running' },
])("den $verb asks the host agent", async ({ verb, status, path, message }) => {
  const denHome = await makeDenHome();
  await using vm = await makeRunningInstance(denHome, "vm", { status, routes: { [path]: () => Response.json({ status: "x" }) } });
  const run = await runDen([verb, "vm"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain(message);
  expect(vm.agent.requests).toContain(path);
});

test.each([
  { verb: "pause", hint: "hint: start it first: den start vm" },
  { verb: "resume", hint: "hint: start it first: den start vm" },
])("den $verb refuses a stopped instance", async ({ verb, hint }) => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "vm");
  const run = await runDen([verb, "vm"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`error: Cannot ${verb} instance "vm": it is Stopped`);
  expect(run.stderr).toContain(hint);
});

test("den pause of a paused instance warns and succeeds", async () => {
  const denHome = await makeDenHome();
  await using vm = await makeRunningInstance(denHome, "vm", { status: "Paused" });
  const run = await runDen(["pause", "vm"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain('warning: Instance "vm" is already paused');
  expect(vm.agent.requests).not.toContain("POST /v1/pause");
});
