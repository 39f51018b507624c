// Runs the ISO9660 property check (tests/cidata/iso9660-property.ts) on many random trees and prints a summary.
// Usage: bun scripts/iso-property-check.ts [trees=10000] [--seed N] [--concurrency N]
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderTable } from "../bench/table.ts";
import { DEFAULT_PROPERTY_SEED, runIsoPropertyCheck } from "../tests/cidata/iso9660-property.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  args.splice(at, 2);
  return value;
};
const seed = option("--seed", DEFAULT_PROPERTY_SEED);
const concurrency = option("--concurrency", 2);
const trees = Number(args[0] ?? 10_000);

const summary = await runIsoPropertyCheck({ trees, seed, concurrency, workDir: join(tmpdir(), `den-iso-property-${process.pid}`) });
console.log(
  renderTable(
    ["trees", "files", "dirs", "symlinks", "MB of file data", "mismatches", "seconds"],
    [[summary.trees, summary.files, summary.dirs, summary.symlinks, summary.bytes / 1e6, summary.mismatches.length, summary.seconds]],
  ),
);
console.log(`seed ${seed}`);
for (const mismatch of summary.mismatches.slice(0, 50)) console.log(mismatch);
if (summary.mismatches.length > 50) console.log(`… and ${summary.mismatches.length - 50} more`);
process.exitCode = summary.mismatches.length === 0 ? 0 : 1;
