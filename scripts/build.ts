// Builds den's single binaries: dist/den-<os>-<arch> for every host den ships on, each carrying the compressed guest
// agents for both guest arches (dist/agent/den-guestagent-linux-<arch>.zst, built first).
// The darwin binaries also carry the VZ helper (drivers/vz/helper/, Swift): on a macOS build host it is compiled with
// `swift build` for the target's arch, signed ad hoc with the virtualization entitlement and embedded, found at run
// time by drivers/vz/embedded-helper.ts through the DEN_VZ_HELPER_SHA256 define. Elsewhere there is no Swift for
// Virtualization.framework, so darwin binaries built there have no helper (den falls back to QEMU on them).
// Usage: bun scripts/build.ts [--target linux-x64 ...]   (default: all four)
//        bun scripts/build.ts --agent-only               (just the guest agents; scripts/test.sh runs this)
//
// The agents are compressed with zstd. Measured on the x64 agent (107 MiB, mostly Bun's runtime): level 19 gives
// 40 MiB but takes ~50 s per agent, level 9 gives 43 MiB in ~2 s, level 3 49 MiB in 0.5 s, gzip -9 49 MiB in 4 s;
// zstd decompresses any of them in ~0.35 s (gzip 0.35-0.9 s), once per agent version thanks to the cache in
// DEN_HOME/_cache. Level 9 keeps every build (and so every test run that changed the agent) fast for 3 MiB more.
// An agent is rebuilt only when its bundled code, the Bun version or the level changed
// (recorded in dist/agent/inputs-<target>.txt).
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const allTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
const agentTargets = ["linux-x64", "linux-arm64"] as const;
const agentDir = join(root, "dist", "agent");
const helperPackage = join(root, "drivers", "vz", "helper");
const helperEntitlements = join(helperPackage, "den-vz-helper.entitlements");
const helperDir = join(root, "dist", "vz-helper");
const zstdLevel = 9;

const args = process.argv.slice(2);
const agentOnly = args.includes("--agent-only");
const requested = args.flatMap((arg, i, argv) => (argv[i - 1] === "--target" ? [arg] : []));
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

await mkdir(agentDir, { recursive: true });
const agents = await buildAgents();
if (agentOnly) process.exit(0);

const darwinTargets = targets.filter((target) => target.startsWith("darwin-"));
if (darwinTargets.length > 0 && process.platform !== "darwin") {
  console.log(`building ${darwinTargets.join(", ")} without the VZ helper: it needs Swift and macOS (den uses QEMU there)`);
}

for (const target of targets) {
  const outfile = join(root, "dist", `den-${target}`);
  const started = performance.now();
  const helper = target.startsWith("darwin-") && process.platform === "darwin" ? await buildVzHelper(target) : undefined;
  const helperArgs = helper ? [helper.path, "--define", `DEN_VZ_HELPER_SHA256=${JSON.stringify(helper.sha256)}`] : [];
  // Extra entrypoints that are not code become embedded files (Bun.embeddedFiles), found by lib/guestagent/embedded-agent.ts
  // and drivers/vz/embedded-helper.ts.
  compile(["--format=esm", `--target=bun-${target}`, join(root, "main.ts"), ...agents, ...helperArgs, "--outfile", outfile], target);
  const size = Bun.file(outfile).size;
  console.log(`built ${outfile} (${mib(size)} MiB, ${seconds(started)} s)`);
}

/** Builds and compresses both guest agents unless their inputs are unchanged; returns the .zst paths. */
async function buildAgents(): Promise<string[]> {
  const outputs: string[] = [];
  for (const target of agentTargets) {
    const started = performance.now();
    const output = join(agentDir, `den-guestagent-${target}.zst`);
    const stamp = join(agentDir, `inputs-${target}.txt`);
    outputs.push(output);
    const inputs = await agentInputs(target);
    if (existsSync(output) && existsSync(stamp) && readFileSync(stamp, "utf8") === inputs) {
      console.log(`guest agent ${relative(root, output)} is up to date`);
      continue;
    }
    const binary = join(agentDir, `den-guestagent-${target}`);
    compile(["--format=esm", `--target=bun-${target}`, join(root, "agent", "main.ts"), "--outfile", binary], `guest agent ${target}`);
    const raw = await Bun.file(binary).bytes();
    const compressed = await Bun.zstdCompress(raw, { level: zstdLevel });
    await writeFile(`${output}.tmp`, compressed);
    await rename(`${output}.tmp`, output);
    await writeFile(stamp, inputs);
    console.log(`built ${relative(root, output)} (${mib(raw.byteLength)} MiB, ${mib(compressed.byteLength)} MiB compressed with zstd -${zstdLevel}, ${seconds(started)} s)`);
  }
  return outputs;
}

/** Compiles, signs and copies the VZ helper for a darwin target to dist/vz-helper/den-vz-helper-<target>. */
async function buildVzHelper(target: string): Promise<{ path: string; sha256: string }> {
  const started = performance.now();
  const arch = target === "darwin-arm64" ? "arm64" : "x86_64";
  // --disable-sandbox: SwiftPM's own sandbox cannot start inside another one (Homebrew builds in a sandbox).
  const swift = ["swift", "build", "-c", "release", "--disable-sandbox", "--arch", arch, "--package-path", helperPackage];
  run([...swift], `the VZ helper for ${target}`, "install Xcode or the Command Line Tools (xcode-select --install) for swift");
  const binPath = run([...swift, "--show-bin-path"], `the VZ helper for ${target}`).trim();
  await mkdir(helperDir, { recursive: true });
  const output = join(helperDir, `den-vz-helper-${target}`);
  await writeFile(`${output}.tmp`, await Bun.file(join(binPath, "den-vz-helper")).bytes(), { mode: 0o755 });
  // Ad hoc: Virtualization.framework needs the entitlement, not a Developer ID; the signature also makes the binary
  // runnable on Apple silicon, which refuses unsigned arm64 code.
  run(["codesign", "--sign", "-", "--entitlements", helperEntitlements, "--force", `${output}.tmp`], `the VZ helper for ${target}`, "codesign comes with Xcode or the Command Line Tools");
  await rename(`${output}.tmp`, output);
  const sha256 = new Bun.CryptoHasher("sha256").update(await Bun.file(output).bytes()).digest("hex");
  console.log(`built ${relative(root, output)} (signed, ${seconds(started)} s)`);
  return { path: output, sha256 };
}

/** Runs a build tool; its stdout on success, else exits with its output and `hint`. */
function run(argv: string[], what: string, hint?: string): string {
  if (Bun.which(argv[0] ?? "") === null) {
    console.error(`error: Cannot build ${what}: ${argv[0]} is not installed${hint ? `\nhint: ${hint}` : ""}`);
    process.exit(1);
  }
  const result = Bun.spawnSync(argv, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (!result.success) {
    console.error(result.stdout.toString() + result.stderr.toString());
    console.error(`error: Cannot build ${what}: ${argv[0]} failed${hint ? `\nhint: ${hint}` : ""}`);
    process.exit(1);
  }
  return result.stdout.toString();
}

/** What an agent build depends on: its bundled code (exactly the modules it imports), Bun, the level. */
async function agentInputs(target: string): Promise<string> {
  const bundle = await Bun.build({
    entrypoints: [join(root, "agent", "main.ts")],
    target: "bun",
    format: "esm",
    define: { DEN_BUILD_COMMIT: JSON.stringify(buildCommit) },
  });
  if (!bundle.success) {
    console.error(bundle.logs.map(String).join("\n"));
    console.error("error: Cannot bundle the guest agent");
    process.exit(1);
  }
  const hasher = new Bun.CryptoHasher("sha256");
  for (const output of bundle.outputs) hasher.update(await output.arrayBuffer());
  return `target ${target}\nbun ${Bun.version}\nbundle ${hasher.digest("hex")}\nzstd ${zstdLevel}\n`;
}

function compile(extra: string[], what: string): void {
  const result = Bun.spawnSync(
    [process.execPath, "build", "--compile", "--minify", "--bytecode", "--define", `DEN_BUILD_COMMIT=${JSON.stringify(buildCommit)}`, ...extra],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  if (!result.success) {
    console.error(result.stdout.toString() + result.stderr.toString());
    console.error(`error: Cannot build ${what}: bun build failed`);
    process.exit(1);
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}
