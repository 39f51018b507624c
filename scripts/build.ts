// Builds den's single binaries: dist/den-<os>-<arch> for every host den ships on.
// Usage: bun scripts/build.ts [--target linux-x64 ...]   (default: all four)
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const allTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;

const requested = process.argv.flatMap((arg, i, argv) => (argv[i - 1] === "--target" ? [arg] : []));
const targets = requested.length > 0 ? requested : [...allTargets];
for (const target of targets) {
  if (!(allTargets as readonly string[]).includes(target)) {
    console.error(`error: Cannot build target "${target}": unknown target\nhint: use one of ${allTargets.join(", ")}`);
    process.exit(1);
  }
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root }).stdout.toString().trim() || "unknown";
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root }).stdout.toString().trim() !== "";
const buildCommit = dirty ? `${commit}-dirty` : commit;

await mkdir(join(root, "dist"), { recursive: true });
for (const target of targets) {
  const outfile = join(root, "dist", `den-${target}`);
  const started = performance.now();
  const result = Bun.spawnSync(
    [
      process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm",
      `--target=bun-${target}`,
      `--define`, `DEN_BUILD_COMMIT=${JSON.stringify(buildCommit)}`,
      join(root, "main.ts"), "--outfile", outfile,
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  if (!result.success) {
    console.error(result.stdout.toString() + result.stderr.toString());
    console.error(`error: Cannot build ${target}: bun build failed`);
    process.exit(1);
  }
  const size = Bun.file(outfile).size;
  console.log(`built ${outfile} (${(size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
