import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EditFlags } from "../../../lib/config/edit-flags.ts";
import { macAddress } from "../../../lib/config/defaults.ts";
import { hostnameOf } from "../../../lib/config/hostname.ts";
import { cloneInstance, isCloned, sharedSettingWarnings } from "../../../lib/instance/clone.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { killAfterAll, makeInstance, MinimalYaml, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { backingOf, makeStandIn, qemuImg } from "./support/stand-in-instance.ts";

const killLater = killAfterAll();
const defer = deferredCleanups();
const ctx = { cwd: "/", home: "/home/u", logger: createMemoryLogger() };
const Yaml = `# my instance\n${MinimalYaml}cpus: 2\nmemory: 2GiB\n`;

test.each([
  { path: "den.yaml", cloned: true },
  { path: "lima-version", cloned: true },
  { path: "disk", cloned: true },
  { path: "image", cloned: true },
  { path: "efi-vars.fd", cloned: true },
  { path: "copied-from-guest/etc/hosts", cloned: true },
  { path: "protected", cloned: false },
  { path: "vz-identifier", cloned: false },
  { path: "cidata.iso", cloned: false },
  { path: "cloud-config.yaml", cloned: false },
  { path: "ssh.config", cloned: false },
  { path: "sock", cloned: false },
  { path: "den.lock", cloned: false },
  { path: "den.lock.takeover-0123", cloned: false },
  { path: "den.yaml.REJECTED", cloned: false },
  { path: "ha.stdout.log", cloned: false },
  { path: "serial.log", cloned: false },
  { path: "swtpm", cloned: false },
  { path: "qemu.pid", cloned: false },
  { path: "qmp.sock", cloned: false },
  { path: "disk.1234.tmp", cloned: false },
  { path: "copied-from-guest/run/x.sock", cloned: false },
  { path: "copied-from-guest/app.log", cloned: true },
])("isCloned() says $cloned for $path", ({ path, cloned }) => {
  expect(isCloned(path)).toBe(cloned);
});

test.each([
  { name: "no network and no fixed port", yaml: "cpus: 2\n", count: 0 },
  { name: "an empty document", yaml: "", count: 0 },
  { name: "a derived MAC address", yaml: "networks:\n- lima: shared\n", count: 0 },
  { name: "a fixed MAC address", yaml: 'networks:\n- lima: shared\n  macAddress: "52:55:55:12:34:56"\n', count: 1 },
  { name: "a fixed ssh port", yaml: "ssh:\n  localPort: 60022\n", count: 1 },
  { name: "ssh port 0", yaml: "ssh:\n  localPort: 0\n", count: 0 },
])("sharedSettingWarnings() warns $count times for $name", ({ yaml, count }) => {
  expect(sharedSettingWarnings(yaml)).toHaveLength(count);
});

test("cloneInstance() copies the instance with the edits, a disk of its own and none of the old run's files", async () => {
  const home = await tempDir(defer);
  const source = await makeStandIn(home, "vm", Yaml);
  await writeFile(join(source, "protected"), "");
  const { dir, warnings } = await cloneInstance(home, { from: "vm", to: "vm2" }, { ...ctx, flags: { cpus: "3" } });
  expect(dir).toBe(join(home, "vm2"));
  expect(warnings).toEqual([]);
  expect((await readdir(home)).sort()).toEqual(["vm", "vm2"]);
  // den-format is there when the source's folder has one (existingInstanceDir writes it).
  const format = existsSync(join(source, "den-format")) ? ["den-format"] : [];
  expect((await readdir(dir)).sort()).toEqual([...format, "den.yaml", "disk", "efi-vars.fd", "image", "lima-version"]);
  expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe(Yaml.replace("cpus: 2", "cpus: 3"));
  expect(await readFile(join(source, "den.yaml"), "utf8")).toBe(Yaml);
  // The copy's overlay reads the copy's image; the original still reads its own.
  expect(backingOf(join(dir, "disk"))).toBe(join(dir, "image"));
  expect(backingOf(join(source, "disk"))).toBe(join(source, "image"));
  qemuImg("check", "-q", join(dir, "disk"));
  expect((await stat(join(dir, "disk"))).mode & 0o777).toBe((await stat(join(source, "disk"))).mode & 0o777);
  expect(existsSync(join(source, "protected"))).toBe(true);
});

test("cloneInstance() gives the clone its own identity: the hostname and MAC address follow the name and folder", async () => {
  const home = await tempDir(defer);
  const source = await makeStandIn(home, "vm");
  const { dir } = await cloneInstance(home, { from: "vm", to: "vm2" }, ctx);
  expect(hostnameOf("vm2")).not.toBe(hostnameOf("vm"));
  expect(macAddress("machine", dir)).not.toBe(macAddress("machine", source));
  expect(existsSync(join(dir, "vz-identifier"))).toBe(false);
  expect(existsSync(join(dir, "cidata.iso"))).toBe(false);
});

test("cloneInstance() warns about a fixed MAC address the clone shares", async () => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm", `${MinimalYaml}networks:\n- socket: /tmp/x.sock\n  macAddress: "52:55:55:12:34:56"\n`);
  const { warnings } = await cloneInstance(home, { from: "vm", to: "vm2" }, ctx);
  expect(warnings).toEqual([`networks[0].macAddress "52:55:55:12:34:56" is copied to the clone: the two cannot share a network while both run; change it with --set '.networks[0].macAddress = "…"'`]);
});

test.each([
  { name: "a missing source", from: "nope", to: "vm2", code: "INSTANCE_NOT_FOUND", message: 'Cannot clone instance "nope": it does not exist' },
  { name: "a target with a path", from: "vm", to: "../x", code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "../x": must not contain "/" or "\\"' },
  { name: "den's own folder as target", from: "vm", to: "_config", code: "INSTANCE_NAME_INVALID", message: `Invalid instance name "_config": names starting with "_" or "." are den's own folders` },
  { name: "a source with a path", from: "../vm", to: "vm2", code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "../vm": must not contain "/" or "\\"' },
  { name: "a target named .yaml", from: "vm", to: "vm2.yaml", code: "INSTANCE_NAME_INVALID", message: 'Invalid instance name "vm2.yaml": must not end with ".yaml" or ".yml"' },
  { name: "the same name", from: "vm", to: "vm", code: "USAGE", message: 'Cannot clone instance "vm" to itself' },
  { name: "an existing target", from: "vm", to: "other", code: "INSTANCE_EXISTS", message: "" },
])("cloneInstance() refuses $name", async ({ from, to, code, message }) => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm");
  await makeInstance(home, "other");
  const error = await rejectedDenError(cloneInstance(home, { from, to }, ctx));
  expect(error.code).toBe(code as typeof error.code);
  expect(error.message).toBe(message || `Cannot clone instance "vm" to "other": "${join(home, "other")}" already exists`);
  expect(error.hint).toBeTruthy();
  expect((await readdir(home)).sort()).toEqual(["other", "vm"]);
});

test("cloneInstance() refuses a running instance", async () => {
  const home = await tempDir(defer);
  const source = await makeStandIn(home, "vm");
  const qemu = killLater(ownerProcess(source, "qemu.pid"));
  const agent = killLater(ownerProcess(source, "ha.pid"));
  await writePid(source, "qemu.pid", qemu.pid);
  await writePid(source, "ha.pid", agent.pid);
  const error = await rejectedDenError(cloneInstance(home, { from: "vm", to: "vm2" }, ctx));
  expect(error.code).toBe("INSTANCE_STATE");
  expect(error.message).toMatch(/^Cannot clone instance "vm": it is (Running|Broken)$/);
  expect(await readdir(home)).toEqual(["vm"]);
});

test.each<{ name: string; flags: EditFlags | undefined; qemuImg: string | undefined; code: string }>([
  { name: "an edit flag that does not validate", flags: { set: [".cpus = -1"] }, qemuImg: undefined, code: "CONFIG_INVALID" },
  { name: "an edit flag that is no yq expression", flags: { set: ["cpus ="] }, qemuImg: undefined, code: "YQ_EXPR" },
  { name: "qemu-img failing", flags: undefined, qemuImg: "/nonexistent/qemu-img", code: "QEMU_IMG" },
])("cloneInstance() leaves nothing behind after $name", async ({ flags, qemuImg: binary, code }) => {
  const home = await tempDir(defer);
  await makeStandIn(home, "vm");
  const error = await rejectedDenError(cloneInstance(home, { from: "vm", to: "vm2" }, { ...ctx, flags, qemuImg: binary }));
  expect(error.code).toBe(code as typeof error.code);
  expect(await readdir(home)).toEqual(["vm"]);
  expect(existsSync(join(home, "vm", "den.lock"))).toBe(false);
});
