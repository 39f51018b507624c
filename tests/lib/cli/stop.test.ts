import { expect, test } from "bun:test";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { killAfterAll, makeInstance, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

const killLater = killAfterAll();

test("den stop of a stopped instance warns and succeeds", async () => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "default");
  const run = await runDen(["stop"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toContain('warning: Instance "default" is already stopped');
});

test("den stop -f recovers a Broken instance", async () => {
  const denHome = await makeDenHome();
  const dir = await makeInstance(denHome, "vm");
  const qemu = killLater(ownerProcess(dir, "qemu.pid"));
  await writePid(dir, "qemu.pid", qemu.pid);
  await writeFile(join(dir, "qmp.sock"), "");
  expect((await runDen(["stop", "vm"], { denHome })).stderr).toContain("hint: force it: den stop -f vm");
  const run = await runDen(["stop", "-f", "vm"], { denHome });
  expect(run.exitCode).toBe(0);
  expect((await readdir(dir)).sort()).toEqual(["den-format", "den.yaml"]);
  const list = await runDen(["list", "--format", "{{.Name}} {{.Status}}"], { denHome });
  expect(list.stdout).toBe("vm Stopped\n");
});

test("den stop of a missing instance fails", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["stop", "nope"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('error: Cannot find instance "nope"');
});
