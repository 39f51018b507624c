// How `den list` prints instances (pure: rows in, text out). The table follows limactl's columns.
import { formatSize } from "../config/units.ts";
import type { InstanceInfo } from "./instance-info.ts";

const columns = ["NAME", "STATUS", "SSH", "VMTYPE", "ARCH", "CPUS", "MEMORY", "DISK", "DIR"] as const;

/** The table, with the user's home folder shown as `~` in DIR, columns padded like Go's tabwriter (padding 4). */
export function renderInstanceTable(rows: readonly InstanceInfo[], options: { home: string }): string {
  const cells = rows.map((row) => [
    row.name,
    row.status,
    row.sshAddress && row.sshLocalPort !== undefined ? `${row.sshAddress}:${row.sshLocalPort}` : "",
    row.vmType ?? "",
    row.arch ?? "",
    row.cpus === undefined ? "" : String(row.cpus),
    row.memory === undefined ? "" : formatSize(row.memory),
    row.disk === undefined ? "" : formatSize(row.disk),
    tildeHome(row.dir, options.home),
  ]);
  const all = [[...columns], ...cells];
  const widths = columns.map((_, i) => Math.max(...all.map((line) => (line[i] ?? "").length)));
  return all
    .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd((widths[i] as number) + 4))).join(""))
    .join("\n")
    .concat("\n");
}

function tildeHome(path: string, home: string): string {
  if (home !== "" && home !== "/" && (path === home || path.startsWith(`${home}/`))) return `~${path.slice(home.length)}`;
  return path;
}

/** One compact JSON object per line, as `limactl list --json` prints it. */
export function renderInstanceJson(rows: readonly InstanceInfo[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
}
