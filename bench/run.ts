// Runs every bench/*.bench.ts in turn (by hand: `bun run bench`; never part of the tests).
// Pass names to run some: `bun run bench cli-startup`.
import { Glob } from "bun";
import { basename, join } from "node:path";

const wanted = process.argv.slice(2);
const files = [...new Glob("*.bench.ts").scanSync(import.meta.dir)].sort();
for (const file of files) {
  const name = basename(file, ".bench.ts");
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n## ${name}\n`);
  const child = Bun.spawnSync([process.execPath, join(import.meta.dir, file)], { stdout: "inherit", stderr: "inherit" });
  if (!child.success) process.exitCode = 1;
}
