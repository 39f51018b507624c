// The fuzz run's table and the list of cases that were not clean, as plain text for the test log and the closing note.
import type { Category } from "./classify-run.ts";
import type { FuzzResult } from "./run-fuzz.ts";

export interface FuzzCounts {
  cases: number;
  clean: number;
  accepted: number;
  /** Of `accepted`: exit 0 for input den must refuse (reported, not asserted: the generator may misjudge a value). */
  acceptedInvalid: number;
  ugly: number;
  crashes: number;
  hangs: number;
  /** Cases that changed something outside DEN_HOME, touched den's own folders, or left a half-written instance. */
  outsideChanges: number;
  /** Remote-template cases that got a host secret out. */
  leaks: number;
}

export function countResults(results: readonly FuzzResult[]): FuzzCounts {
  const count = (category: Category) => results.filter((result) => result.verdict.category === category).length;
  return {
    cases: results.length,
    clean: count("clean"),
    accepted: count("accepted"),
    acceptedInvalid: results.filter((result) => result.verdict.acceptedInvalid).length,
    ugly: count("ugly"),
    crashes: count("crash"),
    hangs: count("hang"),
    outsideChanges: results.filter((result) => result.outsideChanges.length > 0).length,
    leaks: results.filter((result) => result.leaks.length > 0).length,
  };
}

export interface ReportMeta {
  seed: number;
  concurrency: number;
  durationMs: number;
  mainTs: string;
}

export function renderFuzzReport(results: readonly FuzzResult[], meta: ReportMeta): string {
  const counts = countResults(results);
  const header = ["cases", "clean", "accepted", "ugly", "crashes", "hangs", "outside changes", "secret leaks"];
  const values = [counts.cases, counts.clean, counts.accepted, counts.ugly, counts.crashes, counts.hangs, counts.outsideChanges, counts.leaks].map(String);
  const widths = header.map((title, index) => Math.max(title.length, (values[index] as string).length));
  const row = (cells: string[]) => `| ${cells.map((cell, index) => cell.padStart(widths[index] as number)).join(" | ")} |`;
  const lines = [
    `den CLI fuzz run: ${counts.cases} generated bad inputs, seed ${meta.seed}, ${meta.concurrency} at a time, ${(meta.durationMs / 1000).toFixed(1)} s (${meta.mainTs})`,
    "",
    row(header),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    row(values),
    "",
    `ugly, crashes, hangs, outside changes and secret leaks must be 0. Accepted although invalid: ${counts.acceptedInvalid}.`,
    `Slowest finished cases (the hang limit needs headroom over these): ${slowest(results)}.`,
  ];
  const problems = results.filter((result) => result.verdict.category !== "clean" && result.verdict.reasons.length > 0);
  const touched = results.filter((result) => result.outsideChanges.length > 0 || result.leaks.length > 0);
  if (problems.length > 0 || touched.length > 0) {
    lines.push("", "By cause:");
    for (const [cause, group] of groupByCause(results)) lines.push(`  ${String(group.length).padStart(4)}  ${cause}   e.g. #${group[0]?.fuzzCase.id} ${group[0]?.commandLine}`);
  }
  if (problems.length > 0) {
    lines.push("", "Not clean (id [category] reasons: command line → first stderr line):");
    for (const result of problems) {
      lines.push(`  #${result.fuzzCase.id} [${result.verdict.category}] ${result.verdict.reasons.join("; ")}: ${result.commandLine} → ${result.firstStderrLine || "(no stderr)"}`);
    }
  }
  if (touched.length > 0) {
    lines.push("", "Outside changes and leaks:");
    for (const result of touched) {
      const what = [...result.outsideChanges, ...result.leaks.map((where) => `secret leaked into ${where}`)];
      lines.push(`  #${result.fuzzCase.id} ${result.commandLine}: ${what.slice(0, 6).join("; ")}${what.length > 6 ? `; … ${what.length - 6} more` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function slowest(results: readonly FuzzResult[]): string {
  return results
    .filter((result) => result.verdict.category !== "hang")
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, 3)
    .map((result) => `#${result.fuzzCase.id} ${(result.durationMs / 1000).toFixed(1)} s`)
    .join(", ");
}

/** Cases grouped by what went wrong (category, reason and the family of input), largest group first. */
export function groupByCause(results: readonly FuzzResult[]): [string, FuzzResult[]][] {
  const groups = new Map<string, FuzzResult[]>();
  const add = (cause: string, result: FuzzResult) => {
    const group = groups.get(cause) ?? [];
    if (!group.includes(result)) group.push(result);
    groups.set(cause, group);
  };
  for (const result of results) {
    const { category, reasons } = result.verdict;
    if (category !== "clean") for (const reason of reasons) add(`${category}: ${reason.replace(/\d{3,}/g, "N")} [${result.fuzzCase.family}]`, result);
    if (result.outsideChanges.length > 0) add(`outside change: ${result.outsideChanges[0]?.replace(/\d{3,}/g, "N").replace(/"[^"]*"/g, '"…"')} [${result.fuzzCase.family}]`, result);
    if (result.leaks.length > 0) add(`secret leak: ${result.leaks.join(", ").replace(/c\d+/g, "cN")} [${result.fuzzCase.family}]`, result);
  }
  return [...groups].sort((a, b) => b[1].length - a[1].length);
}
