// Cold start of the den binary: `den --version` and `den list` on a DEN_HOME with 20 dummy instances, against a
// compiled "hello world" of the same Bun runtime (the floor any Bun binary pays), measured in the same run.
// Builds dist/den-<host> first when it is missing or older than the sources.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, renderTable, type Sample } from "./table.ts";

const RUNS = 20;
const INSTANCES = 20;
const root = join(import.meta.dir, "..");
const target = `${process.platform}-${process.arch}`;
const den = join(root, "dist", `den-${target}`);

const built = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts"), "--target", target], { stdout: "inherit", stderr: "inherit" });
if (!built.success) throw new Error("build failed");

const dir = await mkdtemp(join(tmpdir(), "den-startup-bench-"));
try {
  const hello = join(dir, "hello");
  await writeFile(join(dir, "hello.ts"), 'console.log("den version 0.0.0");\n');
  const compiled = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", join(dir, "hello.ts"), "--outfile", hello], { stdout: "ignore", stderr: "inherit" });
  if (!compiled.success) throw new Error("hello build failed");

  const home = join(dir, "home");
  for (let i = 0; i < INSTANCES; i++) {
    const instance = join(home, `vm${i}`);
    await mkdir(instance, { recursive: true, mode: 0o700 });
    await writeFile(join(instance, "den.yaml"), `images:\n- location: /var/tmp/image-${i}.qcow2\n  arch: x86_64\ncpus: 2\nmemory: 2GiB\nmounts: []\n`);
    await writeFile(join(instance, "lima-version"), "0.1.0\n");
  }
  const env = { ...process.env, DEN_HOME: home };
  const run = (argv: string[]) => () => {
    const child = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
    if (!child.success) throw new Error(`${argv.join(" ")} failed: ${child.stderr.toString()}`);
  };
  const samples: Sample[] = [];
  samples.push(await measure("hello (bun --compile, baseline)", run([hello]), { runs: RUNS, warmup: 2 }));
  samples.push(await measure("den --version", run([den, "--version"]), { runs: RUNS, warmup: 2 }));
  samples.push(await measure(`den list (${INSTANCES} instances)`, run([den, "list"]), { runs: RUNS, warmup: 2 }));
  samples.push(await measure(`den list --json (${INSTANCES} instances)`, run([den, "list", "--json"]), { runs: RUNS, warmup: 2 }));
  const baseline = samples[0] as Sample;
  console.log(
    renderTable(
      ["case", "runs", "median ms", "min ms", "p90 ms", "x baseline"],
      samples.map((s) => [s.name, String(s.runs), s.medianMs, s.minMs, s.p90Ms, s.medianMs / baseline.medianMs]),
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
