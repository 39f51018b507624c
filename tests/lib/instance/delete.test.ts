import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { deleteInstance } from "../../../lib/instance/delete.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { openConfigCache } from "../../../lib/status/config-cache.ts";
import { inspectInstance } from "../../../lib/status/inspect.ts";
import { isProcessAlive } from "../../../lib/store/pid-file.ts";
import { killAfterAll, makeHome, makeInstance, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";

const killLater = killAfterAll();

test("deleteInstance() removes a stopped instance and leaves nothing behind in DEN_HOME", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm");
  await makeInstance(home, "other");
  await deleteInstance(home, "vm", { logger: createMemoryLogger() });
  expect(await readdir(home)).toEqual(["other"]);
});

test("deleteInstance() removes den list's cached configuration of the instance and keeps the others'", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm");
  await makeInstance(home, "other");
  const cache = openConfigCache(home);
  await Promise.all(["vm", "other"].map((name) => inspectInstance(home, name, { configCache: cache })));
  expect((await readdir(join(home, "_cache", "list"))).sort()).toEqual(["other.json", "vm.json"]);
  await deleteInstance(home, "vm", { logger: createMemoryLogger() });
  expect(await readdir(join(home, "_cache", "list"))).toEqual(["other.json"]);
});

test.each([
  { name: "a missing instance", setup: async () => {}, code: "INSTANCE_NOT_FOUND", message: 'Cannot delete instance "vm": it does not exist', hint: "see den list for the instances" },
  {
    name: "a protected instance",
    setup: async (dir: string) => {
      await writeFile(join(dir, "protected"), "");
    },
    code: "INSTANCE_PROTECTED",
    message: 'Cannot delete instance "vm": it is protected',
    hint: "unprotect it first: den unprotect vm",
  },
  {
    name: "a Broken instance without force",
    setup: async (dir: string) => {
      const process = killLater(ownerProcess(dir, "qemu.pid"));
      await writePid(dir, "qemu.pid", process.pid);
    },
    code: "INSTANCE_STATE",
    message: 'Cannot delete instance "vm": it is Broken',
    hint: "stop it first (den stop vm), or kill and delete it with den delete -f vm",
  },
])("deleteInstance() refuses $name", async ({ name, setup, code, message, hint }) => {
  const home = await makeHome();
  const dir = name === "a missing instance" ? join(home, "vm") : await makeInstance(home, "vm");
  await setup(dir);
  const error = await rejectedDenError(deleteInstance(home, "vm", { logger: createMemoryLogger() }));
  expect(error.code).toBe(code as DenError["code"]);
  expect(error.message).toBe(message);
  expect(error.hint).toBe(hint);
  if (name !== "a missing instance") expect(existsSync(join(dir, "den.yaml"))).toBe(true);
});

test("deleteInstance() with force kills the instance's processes first", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  const process = killLater(ownerProcess(dir, "qemu.pid"));
  await writePid(dir, "qemu.pid", process.pid);
  await deleteInstance(home, "vm", { logger: createMemoryLogger(), force: true });
  expect(isProcessAlive(process.pid)).toBe(false);
  expect(await readdir(home)).toEqual([]);
});

test("deleteInstance() refuses while another den command holds the instance lock", async () => {
  const home = await makeHome();
  const dir = await makeInstance(home, "vm");
  await writeFile(join(dir, "den.lock"), JSON.stringify({ pid: globalThis.process.pid, owner: "den start" }));
  const error = await rejectedDenError(deleteInstance(home, "vm", { logger: createMemoryLogger() }));
  expect(error.code).toBe("INSTANCE_LOCKED");
  expect(existsSync(join(dir, "den.yaml"))).toBe(true);
});
