// How `den disk list` prints disks (pure: rows in, text out): limactl's table `NAME SIZE FORMAT DIR IN-USE-BY`
// (Go's tabwriter, padding 4) and its JSON, one compact object per line.
import { formatSize } from "../config/units.ts";
import type { DiskInfo } from "./disk-info.ts";

const Columns = ["NAME", "SIZE", "FORMAT", "DIR", "IN-USE-BY"] as const;
const Padding = 4;

/** The table; the header is printed even when there are no disks, as Lima does. */
export function renderDiskTable(rows: readonly DiskInfo[]): string {
  const cells = rows.map((row) => [row.name, formatSize(row.size), row.format, row.dir, row.instance]);
  const all = [[...Columns], ...cells];
  const widths = Columns.map((_, i) => Math.max(...all.map((line) => (line[i] ?? "").length)));
  return all.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + Padding))).join("")).join("\n") + "\n";
}

/** `den disk list --json`: one object per line with Lima's keys. */
export function renderDiskJson(rows: readonly DiskInfo[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
}
