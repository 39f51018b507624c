// `den ports NAME` as text (pure): the active forwards as a table padded like `den list` (VIA: which path carries
// them), then each failure with its hint, so a port that does not work is never just missing from the list.
import type { PortForwardReport } from "./port-forward-report.ts";

const Columns = ["PROTO", "GUEST", "HOST", "VIA", "SINCE", "CONNECTIONS"] as const;

export function renderPortForwards(report: PortForwardReport, options: { now: Date }): string {
  const rows = report.forwards.map((forward) => [
    forward.proto + (forward.reverse ? " (reverse)" : "") + (forward.static ? " (static)" : ""),
    forward.guest,
    forward.host,
    forward.via ?? "-",
    ago(forward.since, options.now),
    // QEMU carries those connections without den seeing them.
    forward.via === "qemu-hostfwd" ? "-" : String(forward.connections),
  ]);
  const lines: string[] = [];
  if (rows.length === 0) lines.push("No active port forwards.");
  else {
    const all = [[...Columns], ...rows];
    const widths = Columns.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
    for (const row of all) lines.push(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] as number) + 3))).join(""));
  }
  if (report.failures.length > 0) {
    lines.push("", "Failures:");
    for (const failure of report.failures) {
      lines.push(`  ${failure.reason}${failure.negligible ? " (negligible)" : ""}: ${failure.message} (${ago(failure.since, options.now)})`);
      if (failure.hint) lines.push(`    hint: ${failure.hint}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** `45s ago`, `12m ago`, `3h ago`, `2d ago`. */
function ago(iso: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}
