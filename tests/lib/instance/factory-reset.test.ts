import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { factoryResetInstance, isKeptOnReset } from "../../../lib/instance/factory-reset.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { killAfterAll, MinimalYaml, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { makeStandIn } from "./support/stand-in-instance.ts";

const killLater = killAfterAll();
const defer = deferredCleanups();
const options = { logger: createMemoryLogger() };

test.each([
  { name: "den.yaml", kept: true },
  { name: "lima.yaml", kept: true },
  { name: "notes.yml", kept: true },
  { name: "den.yaml.REJECTED", kept: true },
  { name: "lima-version", kept: true },
  { name: "den-format", kept: true },
  { name: "protected", kept: true },
  { name: "vz-identifier", kept: true },
  { name: "den.lock", kept: true },
  { name: "cloud-config.yaml", kept: false },
  { name: "disk", kept: false },
  { name: "image", kept: false },
  { name: "iso", kept: false },
  { name: "cidata.iso", kept: false },
  { name: "ssh.config", kept: false },
  { name: "efi-vars.fd", kept: false },
  { name: "vz-efi", kept: false },
  { name: "serial.log", kept: false },
  { name: "sock", kept: false },
  { name: "kernel", kept: false },
])("isKeptOnReset() says $kept for $name", ({ name, kept }) => {
  expect(isKeptOnReset(name)).toBe(kept);
});

test("factoryResetInstance() removes the disk and everything generated, keeping den.yaml", async () => {
  const home = await tempDir(defer);
  const yaml = `${MinimalYaml}cpus: 2\n`;
  const dir = await makeStandIn(home, "vm", yaml);
  const { removed } = await factoryResetInstance(home, "vm", options);
  expect(removed).toContain("disk");
  expect(removed).toContain("image");
  const format = existsSync(join(dir, "den-format")) ? ["den-format"] : [];
  expect((await readdir(dir)).sort()).toEqual([...format, "den.yaml", "den.yaml.REJECTED", "lima-version", "vz-identifier"]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(yaml);
});

test.each([
  { name: "a missing instance", instance: "nope", setup: async () => {}, code: "INSTANCE_NOT_FOUND", message: 'Cannot factory-reset instance "nope": it does not exist' },
  { name: "a name with a path", instance: "../vm", setup: async () => {}, code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "../vm": must not contain "/" or "\\"' },
  { name: "den's own folder", instance: "_config", setup: async () => {}, code: "INSTANCE_NAME_INVALID", message: `Invalid instance name "_config": names starting with "_" or "." are den's own folders` },
  {
    name: "a protected instance",
    instance: "vm",
    setup: async (dir: string) => writeFile(join(dir, "protected"), ""),
    code: "INSTANCE_PROTECTED",
    message: 'Cannot factory-reset instance "vm": it is protected',
  },
  {
    name: "a running instance",
    instance: "vm",
    setup: async (dir: string) => writePid(dir, "qemu.pid", killLater(ownerProcess(dir, "qemu.pid")).pid),
    code: "INSTANCE_STATE",
    message: /^Cannot factory-reset instance "vm": it is \w+$/,
  },
])("factoryResetInstance() refuses $name and removes nothing", async ({ instance, setup, code, message }) => {
  const home = await tempDir(defer);
  const dir = await makeStandIn(home, "vm");
  await setup(dir);
  const error = await rejectedDenError(factoryResetInstance(home, instance, options));
  expect(error.code).toBe(code as typeof error.code);
  if (typeof message === "string") expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  expect(error.hint).toBeTruthy();
  expect(existsSync(join(dir, "disk"))).toBe(true);
  expect(existsSync(join(dir, "image"))).toBe(true);
});
