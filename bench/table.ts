// Shared by the benchmarks: timing of repeated runs and a plain-text table.

export interface Sample {
  name: string;
  runs: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
}

/** Runs `fn` `runs` times after `warmup` runs and reports median, min and 90th percentile. */
export async function measure(name: string, fn: () => unknown | Promise<unknown>, options: { runs: number; warmup?: number }): Promise<Sample> {
  for (let i = 0; i < (options.warmup ?? 1); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] as number;
  return { name, runs: options.runs, medianMs: at(0.5), minMs: times[0] as number, p90Ms: at(0.9) };
}

/** Columns padded to the widest cell; numbers right-aligned. */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (typeof cell === "number" ? cell.toFixed(cell < 10 ? 2 : 1) : cell)))];
  const widths = header.map((_, col) => Math.max(...cells.map((row) => String(row[col] ?? "").length)));
  const line = (row: (string | number)[]) => row.map((cell, col) => (typeof rows[0]?.[col] === "number" ? String(cell).padStart(widths[col] as number) : String(cell).padEnd(widths[col] as number))).join("  ");
  return [line(cells[0] as string[]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}
