// Cold start of the den binary: `den --version` and `den list` on a DEN_HOME with 20 stopped instances, against a
// compiled "hello world" of the same Bun runtime and the same build flags (the floor any Bun binary pays), measured in
// the same run. The den measured is dist/den-<host>, built by scripts/build.ts as it ships.
import { rmSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { measure, renderTable, type Sample } from "./table.ts";

const RUNS = 30;
const INSTANCES = 20;
const root = join(import.meta.dir, "..");
const target = `${process.platform}-${process.arch}`;
const den = join(root, "dist", `den-${target}`);
/**
 * The flags scripts/build.ts compiles den with (its compile()), so that hello pays the same runtime floor. --bytecode
 * matters most: without it Bun parses den's whole ~1 MB bundle at every start, whatever the command loads.
 */
const buildFlags = ["--compile", "--minify", "--bytecode", "--format=esm", "--splitting", `--target=bun-${target}`];

const built = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts"), "--target", target], { stdout: "inherit", stderr: "inherit" });
if (!built.success) throw new Error("build failed");

const dir = await mkdtemp(join(tmpdir(), "den-startup-bench-"));
try {
  await writeFile(join(dir, "hello.ts"), 'console.log("den version 0.0.0");\n');
  const compile = (entry: string, outfile: string) => {
    const result = Bun.spawnSync([process.execPath, "build", ...buildFlags, entry, "--outfile", outfile], { cwd: root, stdout: "ignore", stderr: "inherit" });
    if (!result.success) throw new Error(`bun build ${entry} failed`);
    return outfile;
  };
  const hello = compile(join(dir, "hello.ts"), join(dir, "hello"));

  // Stopped instances as `den create` writes them (the default template, embedded): one created, the rest copies,
  // since den.yaml does not name its instance.
  const home = join(dir, "home");
  const env = { ...process.env, DEN_HOME: home, DEN_TEMPLATES_PATH: "" };
  const created = Bun.spawnSync([den, "create", "--name", "vm0", "--tty=false"], { env, stdout: "pipe", stderr: "pipe" });
  if (!created.success) throw new Error(`den create failed: ${created.stderr.toString()}`);
  for (let i = 1; i < INSTANCES; i++) await cp(join(home, "vm0"), join(home, `vm${i}`), { recursive: true });

  let expectedList: string | undefined;
  // The child's user + system CPU time besides the wall time: on a loaded machine the wall time mostly measures the
  // wait for a core, the CPU time still what den itself does.
  let cpuMs: number[] = [];
  const run = (argv: string[], options: { fresh?: boolean } = {}) => () => {
    // The filled configurations `den list` keeps (lib/status/config-cache.ts) are dropped first: the run after an edit
    // or an update of den. Removing 20 small files is inside the timing and costs well under a millisecond.
    if (options.fresh) rmSync(join(home, "_cache", "list"), { recursive: true, force: true });
    const child = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
    if (!child.success) throw new Error(`${argv.join(" ")} failed: ${child.stderr.toString()}`);
    cpuMs.push(Number(child.resourceUsage?.cpuTime.total ?? 0) / 1000);
    if (argv[1] === "list" && argv.length === 2 && !options.fresh) {
      // Every den prints the same table: a faster list that printed less would not count.
      const text = child.stdout.toString();
      expectedList ??= text;
      if (text !== expectedList || text.split("\n").length !== INSTANCES + 2) throw new Error(`${argv.join(" ")} printed another table:\n${text}`);
    }
  };
  const cases: [string, () => void][] = [
    ["hello (same flags, baseline)", run([hello])],
    ["den --version", run([den, "--version"])],
    [`den list (${INSTANCES} instances)`, run([den, "list"])],
    [`den list --json (${INSTANCES} instances)`, run([den, "list", "--json"])],
    [`den list, every configuration filled afresh`, run([den, "list"], { fresh: true })],
  ];
  const samples: Sample[] = [];
  const cpuMedians: number[] = [];
  for (const [name, runCase] of cases) {
    cpuMs = [];
    samples.push(await measure(name, runCase, { runs: RUNS, warmup: 3 }));
    const measured = cpuMs.slice(-RUNS).sort((a, b) => a - b);
    cpuMedians.push(measured[Math.floor(measured.length / 2)] as number);
  }
  const helloSample = samples[0] as Sample;
  const helloCpu = cpuMedians[0] as number;
  console.log(
    renderTable(
      ["case", "runs", "median ms", "min ms", "p90 ms", "x hello", "cpu ms", "cpu x hello"],
      samples.map((s, i) => [
        s.name,
        String(s.runs),
        s.medianMs,
        s.minMs,
        s.p90Ms,
        s.medianMs / helloSample.medianMs,
        cpuMedians[i] as number,
        (cpuMedians[i] as number) / helloCpu,
      ]),
    ),
  );
  console.log(`\ncpu ms: median user + system time of the process; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores.`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
