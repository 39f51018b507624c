import { expect, test } from "bun:test";
import type { DiskInfo } from "../../../lib/disks/disk-info.ts";
import { DiskInfoSchema } from "../../../lib/disks/disk-info.ts";
import { renderDiskJson, renderDiskTable } from "../../../lib/disks/render-disks.ts";

const free: DiskInfo = { name: "data", size: 10 * 2 ** 30, format: "qcow2", dir: "/d/_disks/data", instance: "", instanceDir: "", mountPoint: "/mnt/lima-data" };
const held: DiskInfo = { name: "scratch-2", size: 512 * 2 ** 20, format: "raw", dir: "/d/_disks/scratch-2", instance: "dev", instanceDir: "/d/dev", mountPoint: "/mnt/lima-scratch-2" };

test.each([
  { name: "no disks", rows: [], want: "NAME    SIZE    FORMAT    DIR    IN-USE-BY\n" },
  {
    name: "a free and a held disk",
    rows: [free, held],
    want:
      "NAME         SIZE      FORMAT    DIR                    IN-USE-BY\n" +
      "data         10GiB     qcow2     /d/_disks/data         \n" +
      "scratch-2    512MiB    raw       /d/_disks/scratch-2    dev\n",
  },
])("renderDiskTable() prints Lima's columns for $name", ({ rows, want }) => {
  expect(renderDiskTable(rows)).toBe(want);
});

test("renderDiskJson() prints one object per line with Lima's keys in Lima's order", () => {
  const lines = renderDiskJson([free, held]).trimEnd().split("\n");
  expect(lines).toHaveLength(2);
  expect(Object.keys(JSON.parse(lines[0] as string))).toEqual(["name", "size", "format", "dir", "instance", "instanceDir", "mountPoint"]);
  expect(lines.map((line) => DiskInfoSchema.parse(JSON.parse(line)))).toEqual([free, held]);
});

test("renderDiskJson() prints nothing for no disks", () => {
  expect(renderDiskJson([])).toBe("");
});
