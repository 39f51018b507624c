import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { builtinTemplates } from "../../../lib/config/builtin-templates.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

// _default/* are fragments (no images) meant only as bases; every other shipped file is a whole config.
const complete = [...builtinTemplates.keys()].filter((name) => !name.startsWith("_default/")).map((name) => ({ name }));

test.each(complete)("den validate accepts the shipped template $name", async ({ name }) => {
  const run = await runDen(["validate", `template:${name}`], { denHome: await makeDenHome() });
  expect(run.stderr).toContain(`"template:${name}": OK`);
  expect(run.exitCode).toBe(0);
});

test("den validate checks every file, reports each broken one at file:line:col, and exits 1", async () => {
  const denHome = await makeDenHome();
  await writeFile(join(denHome, "bad.yaml"), "images:\n- location: /x.img\nmountType: nfs\n");
  await writeFile(join(denHome, "worse.yaml"), "cpus: [\n");
  const run = await runDen(["validate", "bad.yaml", "template:debian", "worse.yaml"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`${join(denHome, "bad.yaml")}:3:12: mountType:`);
  expect(run.stderr).toContain('"template:debian": OK');
  expect(run.stderr).toContain(`${join(denHome, "worse.yaml")}:2:1: Cannot parse YAML`);
  expect(run.stdout).toBe("");
});

test("den validate --fill prints the configuration with defaults filled in", async () => {
  const run = await runDen(["validate", "--fill", "template:debian"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  const filled = parse(run.stdout);
  expect(filled.cpus).toBeGreaterThan(0);
  expect(filled.vmType).toBe("qemu");
  expect(filled.mounts[0].mountPoint).toBeTruthy();
});

test("den validate --fill separates several files with ---", async () => {
  const run = await runDen(["validate", "--fill", "template:debian", "template:fedora"], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  expect(run.stdout.match(/^---$/gm)).toHaveLength(2);
});
