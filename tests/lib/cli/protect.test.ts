import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test("den protect writes an empty 0400 marker and warns when it is already there", async () => {
  const denHome = await makeDenHome();
  const dir = await makeInstance(denHome, "vm");
  expect((await runDen(["protect", "vm"], { denHome })).exitCode).toBe(0);
  expect((await stat(join(dir, "protected"))).mode & 0o777).toBe(0o400);
  expect(await readFile(join(dir, "protected"), "utf8")).toBe("");
  const again = await runDen(["protect", "vm"], { denHome });
  expect(again.exitCode).toBe(0);
  expect(again.stderr).toContain('warning: Instance "vm" is already protected');
  const list = await runDen(["list", "--format", "{{.Protected}}"], { denHome });
  expect(list.stdout).toBe("true\n");
});

test("den unprotect removes the marker and warns when there is none", async () => {
  const denHome = await makeDenHome();
  const dir = await makeInstance(denHome, "vm");
  await runDen(["protect", "vm"], { denHome });
  expect((await runDen(["unprotect", "vm"], { denHome })).exitCode).toBe(0);
  expect(existsSync(join(dir, "protected"))).toBe(false);
  const again = await runDen(["unprotect", "vm"], { denHome });
  expect(again.exitCode).toBe(0);
  expect(again.stderr).toContain('warning: Instance "vm" is not protected');
});

test("den protect fails for a missing instance", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["protect", "nope"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('error: Cannot find instance "nope"');
});
