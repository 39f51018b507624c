import { expect, test } from "bun:test";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FilledDenYaml } from "../../../lib/config/schema.ts";
import { entryKey, hostKey, openConfigCache } from "../../../lib/status/config-cache.ts";
import { inspectInstance } from "../../../lib/status/inspect.ts";
import { makeHome, makeInstance, MinimalYaml } from "../store/support/fake-instance.ts";

const listCache = (home: string) => join(home, "_cache", "list");

/** What `den list` does: one cache for the run, a row per instance. */
async function listRow(home: string, name = "vm") {
  return inspectInstance(home, name, { configCache: openConfigCache(home) });
}

test("den list fills an instance once and then reuses the filled configuration", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: 3\n`);
  const first = await listRow(home);
  expect(first.cpus).toBe(3);
  expect(await readdir(listCache(home))).toEqual(["vm.json"]);
  expect((await stat(join(listCache(home), "vm.json"))).mode & 0o777).toBe(0o600);
  const cache = openConfigCache(home);
  expect((await cache.lookup("vm"))?.cpus).toBe(3);
  expect(await listRow(home)).toEqual(first);
});

test.each([
  { change: "den.yaml is edited", file: "vm/den.yaml", text: `${MinimalYaml}cpus: 5\n`, cpus: 5 },
  { change: "default.yaml appears", file: "_config/default.yaml", text: "cpus: 6\n", cpus: 3 },
  { change: "override.yaml appears", file: "_config/override.yaml", text: "cpus: 7\n", cpus: 7 },
])("den list fills again when $change", async ({ file, text, cpus }) => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: 3\n`);
  expect((await listRow(home)).cpus).toBe(3);
  await mkdir(join(home, "_config"), { recursive: true });
  await writeFile(join(home, file), text);
  expect(await openConfigCache(home).lookup("vm")).toBeUndefined();
  expect((await listRow(home)).cpus).toBe(cpus);
});

test("an entry of another den, another host or another DEN_HOME is not reused", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm");
  const host = hostKey({});
  const keys = new Set([
    entryKey(home, "vm", { den: "0.1.0 aaaa", host }),
    entryKey(home, "vm", { den: "0.1.0 bbbb", host }),
    entryKey(home, "vm", { den: "0.1.0 aaaa", host: hostKey({ TZ: "Europe/Berlin" }) }),
    entryKey(`${home}/other`, "vm", { den: "0.1.0 aaaa", host }),
    entryKey(home, "vm2", { den: "0.1.0 aaaa", host }),
  ]);
  expect(keys.size).toBe(5);
});

test("a mount location that is no longer a directory makes den list fill again and show the instance Broken", async () => {
  const home = await makeHome();
  const shared = join(home, "shared");
  await mkdir(shared);
  await makeInstance(home, "vm", `${MinimalYaml}mounts:\n- location: ${shared}\n`);
  expect((await listRow(home)).status).toBe("Stopped");
  await rm(shared, { recursive: true });
  await writeFile(shared, "now a file");
  const row = await listRow(home);
  expect(row.status).toBe("Broken");
  expect(row.errors?.join("\n")).toContain("is not an existing directory");
});

test.each([
  { name: "not JSON", text: "{not json" },
  { name: "JSON without a config", text: '{"key":"x"}' },
  { name: "null", text: "null" },
])("an entry that is $name is filled again, not trusted", async ({ text }) => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: 3\n`);
  await mkdir(listCache(home), { recursive: true });
  await writeFile(join(listCache(home), "vm.json"), text);
  expect((await listRow(home)).cpus).toBe(3);
  expect((await openConfigCache(home).lookup("vm"))?.cpus).toBe(3);
});

test("den list serves a valid entry as it is, without filling den.yaml again", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: 3\n`);
  const cache = openConfigCache(home);
  const row = await listRow(home);
  await cache.store("vm", cache.keyOf("vm"), { ...(row.config as FilledDenYaml), cpus: 9 });
  expect((await listRow(home)).cpus).toBe(9);
});

test("an invalid den.yaml is never cached: each den list shows the error", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: many\n`);
  expect((await listRow(home)).status).toBe("Broken");
  expect((await listRow(home)).status).toBe("Broken");
  expect(await readdir(listCache(home)).catch(() => [])).toEqual([]);
});

test("start, stop and delete never read the cache: inspectInstance without one fills from the files", async () => {
  const home = await makeHome();
  await makeInstance(home, "vm", `${MinimalYaml}cpus: 3\n`);
  const cache = openConfigCache(home);
  const row = await listRow(home);
  await cache.store("vm", cache.keyOf("vm"), { ...(row.config as FilledDenYaml), cpus: 9 });
  expect((await inspectInstance(home, "vm")).cpus).toBe(3);
});
