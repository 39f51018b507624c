import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EditFlags } from "../../../lib/config/edit-flags.ts";
import { renameInstance } from "../../../lib/instance/rename.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { killAfterAll, makeInstance, MinimalYaml, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { backingOf, makeStandIn, qemuImg } from "./support/stand-in-instance.ts";

const killLater = killAfterAll();
const defer = deferredCleanups();
const ctx = { cwd: "/", home: "/home/u", logger: createMemoryLogger() };
const Yaml = `${MinimalYaml}cpus: 2\n`;

test("renameInstance() moves the folder, points the disk at its image and drops the files that name the old instance", async () => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm", Yaml);
  await writeFile(join(home, "vm", "protected"), "");
  const { dir, warnings } = await renameInstance(home, { from: "vm", to: "box" }, ctx);
  expect(dir).toBe(join(home, "box"));
  expect(warnings).toEqual([]);
  expect(await readdir(home)).toEqual(["box"]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
  expect(backingOf(join(dir, "disk"))).toBe(join(dir, "image"));
  qemuImg("check", "-q", join(dir, "disk"));
  for (const gone of ["ssh.config", "cidata.iso", "cloud-config.yaml", "den.lock"]) expect(existsSync(join(dir, gone))).toBe(false);
  // Unlike a clone, the renamed instance is the same one: protection and its other files stay.
  for (const kept of ["protected", "lima-version", "efi-vars.fd", "vz-identifier", "serial.log"]) expect(existsSync(join(dir, kept))).toBe(true);
});

test("renameInstance() applies the edit flags to the renamed instance", async () => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm", Yaml);
  await renameInstance(home, { from: "vm", to: "box" }, { ...ctx, flags: { cpus: "4" } });
  expect(await readFile(join(home, "box", "den.yaml"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 4"));
});

test("renameInstance() renames an instance without a disk", async () => {
  const home = await tempDir(defer);
  await makeInstance(home, "vm", Yaml);
  await renameInstance(home, { from: "vm", to: "box" }, ctx);
  expect(await readFile(join(home, "box", "den.yaml"), "utf8")).toBe(Yaml);
});

test.each([
  { name: "a missing instance", from: "nope", to: "box", code: "INSTANCE_NOT_FOUND", message: 'Cannot rename instance "nope": it does not exist' },
  { name: "a new name with a path", from: "vm", to: "../x", code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "../x": must not contain "/" or "\\"' },
  { name: "den's own folder as new name", from: "vm", to: "_config", code: "INSTANCE_NAME_INVALID", message: `Invalid instance name "_config": names starting with "_" or "." are den's own folders` },
  { name: "an old name with a path", from: "../vm", to: "box", code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "../vm": must not contain "/" or "\\"' },
  { name: "the same name", from: "vm", to: "vm", code: "USAGE", message: 'Cannot rename instance "vm" to its own name' },
  { name: "an existing new name", from: "vm", to: "other", code: "INSTANCE_EXISTS", message: "" },
])("renameInstance() refuses $name", async ({ from, to, code, message }) => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm", Yaml);
  await makeInstance(home, "other");
  const error = await rejectedDenError(renameInstance(home, { from, to }, ctx));
  expect(error.code).toBe(code as typeof error.code);
  expect(error.message).toBe(message || `Cannot rename instance "vm" to "other": "${join(home, "other")}" already exists`);
  expect(error.hint).toBeTruthy();
  expect((await readdir(home)).sort()).toEqual(["other", "vm"]);
  expect(backingOf(join(home, "vm", "disk"))).toBe(join(home, "vm", "image"));
});

test("renameInstance() refuses a running instance", async () => {
  const home = await tempDir(defer);
  const dir = await makeStandIn(home, "vm");
  const qemu = killLater(ownerProcess(dir, "qemu.pid"));
  await writePid(dir, "qemu.pid", qemu.pid);
  const error = await rejectedDenError(renameInstance(home, { from: "vm", to: "box" }, ctx));
  expect(error.code).toBe("INSTANCE_STATE");
  expect(error.message).toMatch(/^Cannot rename instance "vm": it is \w+$/);
  expect(await readdir(home)).toEqual(["vm"]);
});

test.each<{ name: string; flags: EditFlags; qemuImg: string | undefined; code: string }>([
  { name: "an edit flag that does not validate", flags: { set: [".cpus = -1"] }, qemuImg: undefined, code: "CONFIG_INVALID" },
  { name: "qemu-img failing after the folder moved", flags: { cpus: "4" }, qemuImg: "/nonexistent/qemu-img", code: "QEMU_IMG" },
])("renameInstance() leaves the instance as it was after $name", async ({ flags, qemuImg: binary, code }) => {
  const home = await tempDir(defer);
  const dir = await makeStandIn(home, "vm", Yaml);
  const before = (await readdir(dir)).sort();
  const error = await rejectedDenError(renameInstance(home, { from: "vm", to: "box" }, { ...ctx, flags, qemuImg: binary }));
  expect(error.code).toBe(code as typeof error.code);
  expect(await readdir(home)).toEqual(["vm"]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml);
  // The stale qemu.pid of the stand-in is the one file the state check removes; den-format is written on first use.
  expect((await readdir(dir)).filter((file) => file !== "den-format").sort()).toEqual(before.filter((file) => file !== "qemu.pid"));
  expect(backingOf(join(dir, "disk"))).toBe(join(dir, "image"));
});
