import { expect, test } from "bun:test";
import { filterRows } from "../../../lib/cli/list.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

const rows = [
  { name: "a", status: "Running", vmType: "qemu", cpus: 4 },
  { name: "b", status: "Stopped", vmType: "qemu", cpus: 2 },
  { name: "c", status: "Running", vmType: "vz", cpus: 2 },
];

test.each([
  { filters: ['.status == "Running"'], want: ["a", "c"] },
  { filters: ['.status == "Running"', '.vmType == "vz"'], want: ["c"] },
  { filters: [".cpus > 2"], want: ["a"] },
  { filters: ['.name == "a" or .name == "b"'], want: ["a", "b"] },
  { filters: ['.status == "Paused"'], want: [] },
])("filterRows() keeps the rows for which $filters all hold", async ({ filters, want }) => {
  expect((await filterRows(rows, filters)).map((row) => row.name)).toEqual([...want]);
});

test.each([
  { args: ["list", "-q", "--filter", '.name == "two"'], want: "two\n" },
  { args: ["list", "-l", '.status == "Stopped"', "-l", '.name != "one"', "--format", "{{.Name}}"], want: "two\n" },
  { args: ["list", "--filter", '.status == "Running"', "--json"], want: "" },
])("den $args filters before printing", async ({ args, want }) => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "one");
  await makeInstance(denHome, "two");
  const run = await runDen(args, { denHome });
  expect(run.stderr).toBe("");
  expect(run.stdout).toBe(want);
});

test("den list --all-fields prints every column", async () => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "one");
  const run = await runDen(["list", "--all-fields"], { denHome });
  expect(run.stdout.split("\n")[0]).toMatch(/^NAME +STATUS +SSH +VMTYPE +ARCH +CPUS +MEMORY +DISK +DIR$/);
});

test("den list refuses --list-fields with --filter, as Lima does", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["list", "--list-fields", "--filter", ".a"], { denHome });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain("Cannot combine --list-fields with --filter");
});
