import { expect, test } from "bun:test";
import { join } from "node:path";
import { version } from "../../../lib/version.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test("den info prints version, templates, the filled default template and the host as JSON", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["info"], { denHome });
  expect(run.exitCode).toBe(0);
  const info = JSON.parse(run.stdout);
  expect(Object.keys(info)).toEqual(["version", "templates", "defaultTemplate", "denHome", "vmTypes", "vmTypesEx", "hostOS", "hostArch", "identityFile"]);
  expect(info.version).toBe(version);
  expect(info.templates).toContainEqual({ name: "default", location: "(built-in)" });
  expect(info.defaultTemplate.images.length).toBeGreaterThan(0);
  expect(info.defaultTemplate.vmType).toBeTruthy();
  expect(info.denHome).toBe(denHome);
  expect(info.vmTypes).toEqual(["qemu"]);
  expect(info.identityFile).toBe(join(denHome, "_config", "user"));
});

test.each([
  { expr: ".version", want: `${version}\n` },
  { expr: ".defaultTemplate.os", want: "Linux\n" },
  { expr: ".vmTypes | length > 0", want: "true\n" },
])("den info --yq $expr prints the selected value", async ({ expr, want }) => {
  const run = await runDen(["info", "--yq", expr], { denHome: await makeDenHome() });
  expect(run.stdout).toBe(want);
});

test("den info lists the registered drivers with whether each runs on this host", async () => {
  const run = await runDen(["info", "--yq", ".vmTypesEx"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ qemu: { location: "internal", displayName: "QEMU", available: true } });
});
