// The fault suite's proof table (issue 18): every case records what it injected and what it found, and each file
// prints its rows when it ends. The columns are the issue's: the state reached, whether the disks are intact (must be
// all), processes leaked (must be 0) and whether the fault went unreported (silent, must be never).
import { afterAll, expect } from "bun:test";

export interface FaultRow {
  /** What was injected, e.g. `kill -9 QEMU after READY`. */
  fault: string;
  /** The state den reported afterwards, e.g. `Broken: QEMU exited (signal 9)`, or the error the user got. */
  state: string;
  /** true when every disk of the instance passed `qemu-img check` (or there was none yet, and nothing half-written). */
  diskIntact: boolean;
  /** den's processes (QEMU, host agent, virtiofsd…) still running for the instance after cleanup. */
  leaked: number;
  /** true when the user was told nothing: no error, no state change, no event. */
  silent: boolean;
}

// bun runs every test file in one process, one file after the other, so this module is shared: each file's
// printFaultTableAfterAll() starts that file's own table.
let rows: FaultRow[] = [];

/** Adds a row to this file's table and fails the test when the row breaks one of the suite's rules. */
export function recordFault(row: FaultRow): void {
  rows.push(row);
  expect({ fault: row.fault, diskIntact: row.diskIntact, leaked: row.leaked, silent: row.silent }).toEqual({ fault: row.fault, diskIntact: true, leaked: 0, silent: false });
}

/** The rows as a markdown table, the closing note's format. */
export function faultTable(list: readonly FaultRow[]): string {
  const header = ["fault", "state reached", "disk intact", "processes leaked", "silent"];
  const body = list.map((row) => [row.fault, row.state.replaceAll("|", "\\|").replaceAll("\n", " "), row.diskIntact ? "yes" : "NO", String(row.leaked), row.silent ? "YES" : "no"]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

/** Prints this file's table once its tests end (to stdout, which CI shows). */
export function printFaultTableAfterAll(title: string): void {
  const own: FaultRow[] = [];
  rows = own;
  afterAll(() => {
    if (own.length === 0) return;
    console.log(`\n${title}: ${own.length} faults injected\n${faultTable(own)}\n`);
  });
}
