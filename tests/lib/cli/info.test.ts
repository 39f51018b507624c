import { expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DriverAvailability, DriverRegistration } from "../../../drivers/driver.ts";
import { QemuRegistration } from "../../../drivers/qemu/qemu-driver.ts";
import { driverRegistry } from "../../../drivers/registry.ts";
import { vmTypeFields } from "../../../lib/cli/info.ts";
import type { VmType } from "../../../lib/config/schema.ts";
import { version } from "../../../lib/version.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test("den info prints version, templates, the filled default template and the host as JSON", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["info"], { denHome });
  expect(run.exitCode).toBe(0);
  const info = JSON.parse(run.stdout);
  expect(Object.keys(info)).toEqual(["version", "templates", "defaultTemplate", "denHome", "vmTypes", "vmTypesEx", "vmTypesUnavailable", "hostOS", "hostArch", "identityFile", "plugins"]);
  expect(info.version).toBe(version);
  expect(info.templates).toContainEqual({ name: "default", location: "(built-in)" });
  expect(info.defaultTemplate.images.length).toBeGreaterThan(0);
  expect(info.defaultTemplate.vmType).toBeTruthy();
  expect(info.denHome).toBe(denHome);
  expect(info.vmTypes).toEqual(["qemu"]);
  expect(info.identityFile).toBe(join(denHome, "_config", "user"));
});

test("den info lists the command plugins on PATH as Lima does, {name, path}", async () => {
  const denHome = await makeDenHome();
  const bin = join(denHome, "_plugins");
  await mkdir(bin);
  await writeFile(join(bin, "den-hello"), "#!/bin/sh\n# <den-desc>Say hello</den-desc>\necho hello\n", { mode: 0o755 });
  const run = await runDen(["info", "--yq", ".plugins"], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout)).toContainEqual({ name: "hello", path: join(bin, "den-hello") });
});

test.each([
  { expr: ".version", want: `${version}\n` },
  { expr: ".defaultTemplate.os", want: "Linux\n" },
  { expr: ".vmTypes | length > 0", want: "true\n" },
])("den info --yq $expr prints the selected value", async ({ expr, want }) => {
  const run = await runDen(["info", "--yq", expr], { denHome: await makeDenHome() });
  expect(run.stdout).toBe(want);
});

test("den info lists the drivers this host runs, and the others apart with their reasons", async () => {
  const run = await runDen(["info", "--yq", "[.vmTypesEx, .vmTypesUnavailable]"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  const [runnable, unavailable] = JSON.parse(run.stdout) as [Record<string, unknown>, Record<string, unknown>];
  expect(runnable).toEqual({ qemu: { location: "internal", displayName: "QEMU" } });
  for (const reason of Object.values(unavailable)) expect(typeof reason).toBe("string");
  expect(Object.keys(unavailable)).not.toContain("qemu");
});

function fake(vmType: VmType, displayName: string, availability: DriverAvailability): DriverRegistration {
  return { vmType, displayName, features: QemuRegistration.features, availability: () => availability, create: QemuRegistration.create };
}

const vzReason = "VZ needs macOS 13 or later (this is macOS 12.7)";

test.each([
  {
    name: "both drivers when both run",
    registrations: [fake("qemu", "QEMU", { available: true }), fake("vz", "VZ", { available: true })],
    want: {
      vmTypes: ["qemu", "vz"],
      vmTypesEx: { qemu: { location: "internal", displayName: "QEMU" }, vz: { location: "internal", displayName: "VZ" } },
      vmTypesUnavailable: {},
    },
  },
  {
    name: "vz apart with its reason on macOS 12",
    registrations: [fake("qemu", "QEMU", { available: true }), fake("vz", "VZ", { available: false, reason: vzReason })],
    want: { vmTypes: ["qemu"], vmTypesEx: { qemu: { location: "internal", displayName: "QEMU" } }, vmTypesUnavailable: { vz: vzReason } },
  },
  {
    name: "nothing runnable on a host no driver supports",
    registrations: [fake("qemu", "QEMU", { available: false, reason: "QEMU runs on Linux and macOS only" }), fake("vz", "VZ", { available: false, reason: "VZ needs macOS" })],
    want: { vmTypes: [], vmTypesEx: {}, vmTypesUnavailable: { qemu: "QEMU runs on Linux and macOS only", vz: "VZ needs macOS" } },
  },
])("vmTypeFields() lists $name", ({ registrations, want }) => {
  expect<unknown>(vmTypeFields(driverRegistry(registrations, { host: { os: "darwin", arch: "aarch64" } }))).toEqual(want);
});
