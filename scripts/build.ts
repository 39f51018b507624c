// Builds den's single binaries, dist/den-<os>-<arch> for every host den ships on, and the guest agent's parts in
// dist/agent/ (lib/guestagent/ reads them from there when den runs from source):
//   den-guestagent.js                                the agent bundle (agent/main.ts, ~0.3 MB), which the guest runs
//                                                    with a plain Bun runtime: BUN_BE_BUN=1 <runtime> den-guestagent.js
//   den-guestagent-bundle.zst                        the same, compressed, embedded in every binary
//   den-guestagent-runtime-bun-<v>-linux-<arch>.zst  the plain Bun runtime of each guest arch, compressed; published
//                                                    with a release (scripts/release.ts) and fetched by den when it
//                                                    does not carry it
//   runtime-manifest.json                            their sha256s and sizes, defined into every binary
//                                                    (DEN_GUESTAGENT_RUNTIMES) so den checks what it unpacks or fetches
// No den embeds a runtime. A linux den is the runtime for guests of its own arch (BUN_BE_BUN=1); the other arch is
// fetched. A darwin den finds the linux runtime of its own arch beside it (share/den/ in its release tarball, as Lima
// keeps its guest agents in share/lima/), else fetches it: embedded, it would make den-darwin-x64 139 MiB (100 MiB of
// den + 38.5 MiB of runtime at zstd -19 --long=27), over the 130 MiB every binary must stay under.
// The darwin binaries also carry the VZ helper (drivers/vz/helper/, Swift): on a macOS build host it is compiled with
// `swift build` for the target's arch, signed ad hoc with the virtualization entitlement and embedded, found at run
// time by drivers/vz/embedded-helper.ts through the DEN_VZ_HELPER_SHA256 define. Elsewhere there is no Swift for
// Virtualization.framework, so darwin binaries built there have no helper (den falls back to QEMU on them).
// Usage: bun scripts/build.ts [--target linux-x64 ...] [--release-url URL]   (default: all four targets)
//        bun scripts/build.ts --agent-only   (the bundle and the runtimes a source checkout on this host needs;
//                                             scripts/test.sh runs this)
//   --release-url  where the release publishes the runtime files: den's default for fetching them
//   --musl         also the musl runtimes, for Alpine guests (Bun's linux-*-musl builds, fetched from npm once)
//
// The runtimes are compressed with zstd at level 19 with a 128 MiB long-distance window (--long=27), which Bun's
// zstdDecompress reads (its default window limit is 2^27). Measured on the 107 MiB linux runtimes: level 9 gives
// ~44 MiB, 19 with the long window ~38 MiB (xz -9e ~33 MiB, but den could not unpack it in-process). Level 19 takes a
// minute or two per runtime, paid once per Bun version: a runtime is recompressed only when its Bun version, size or
// the settings change (recorded in dist/agent/runtime-<target>.json).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, relative } from "node:path";
import zlib from "node:zlib";
import { AgentBundleName, EmbeddedBundleStem } from "../lib/guestagent/agent-bundle.ts";
import { type AgentTarget, AgentTargets, nativeAgentTarget, type RuntimeEntry, type RuntimeManifest, RuntimeManifestFile, runtimeFileName } from "../lib/guestagent/runtime-manifest.ts";

const root = join(import.meta.dir, "..");
const allTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
const agentDir = join(root, "dist", "agent");
const helperPackage = join(root, "drivers", "vz", "helper");
const helperEntitlements = join(helperPackage, "den-vz-helper.entitlements");
const helperDir = join(root, "dist", "vz-helper");
const zstdLevel = 19;
const zstdWindowLog = 27;
const compression = `zstd level ${zstdLevel} windowLog ${zstdWindowLog} long`;

const args = process.argv.slice(2);
const agentOnly = args.includes("--agent-only");
const requested = args.flatMap((arg, i, argv) => (argv[i - 1] === "--target" ? [arg] : []));
const releaseUrl = (args.flatMap((arg, i, argv) => (argv[i - 1] === "--release-url" ? [arg] : [])).at(-1) ?? "").replace(/\/+$/, "");
const targets = requested.length > 0 ? requested : [...allTargets];
for (const target of targets) {
  if (!(allTargets as readonly string[]).includes(target)) fail(`Cannot build target "${target}": unknown target`, `use one of ${allTargets.join(", ")}`);
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root }).stdout.toString().trim() || "unknown";
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root }).stdout.toString().trim() !== "";
const buildCommit = dirty ? `${commit}-dirty` : commit;

await mkdir(agentDir, { recursive: true });
removeOldAgentFiles();
const bundleZst = await buildBundle();
const hostNative = nativeAgentTarget(process.platform, process.arch);
// A source checkout runs its own arch's guests with the bun running den; every other runtime must be in dist/agent.
// The musl runtimes (Alpine guests) only with --musl: compressing each costs a minute or two, and the builds of every
// test run would pay it; a later build without --musl keeps in the manifest the ones an earlier one left current.
const withMusl = args.includes("--musl");
const runtimeTargets = (agentOnly ? AgentTargets.filter((target) => target !== hostNative) : [...AgentTargets]).filter((target) => withMusl || !target.endsWith("-musl"));
const runtimes = new Map<AgentTarget, RuntimeEntry>();
for (const target of AgentTargets) {
  // A runtime this run does not need stays in the manifest when an earlier build left it current: --agent-only
  // (scripts/test.sh) must not drop what a release with --no-build publishes.
  const entry = runtimeTargets.includes(target) ? await buildRuntime(target, { optional: agentOnly }) : currentRuntime(target);
  if (entry) runtimes.set(target, entry);
}
const manifest: RuntimeManifest = { bunVersion: Bun.version, baseUrl: releaseUrl, runtimes: Object.fromEntries(runtimes) };
await writeIfChanged(join(agentDir, RuntimeManifestFile), `${JSON.stringify(manifest, null, 2)}\n`);
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
  // Extra entrypoints that are not code become embedded files (Bun.embeddedFiles), found by lib/guestagent/ and
  // drivers/vz/embedded-helper.ts.
  const runtimeArgs = [bundleZst, "--define", `DEN_GUESTAGENT_RUNTIMES=${JSON.stringify(JSON.stringify(manifest))}`];
  // --splitting: without it the one bundle imports every Node module any command uses (node:crypto, node:net…) before
  // main.ts runs, and `den --version` took 3-4× as long as a compiled hello (bun run bench cli-startup) for it.
  compile(["--bytecode", "--format=esm", "--splitting", `--target=bun-${target}`, join(root, "main.ts"), ...runtimeArgs, ...helperArgs, "--outfile", outfile], target);
  console.log(`built ${relative(root, outfile)} (${mib(Bun.file(outfile).size)} MiB, ${seconds(started)} s)`);
}

/** Bundles the agent into dist/agent/den-guestagent.js (and its .zst for embedding); files are rewritten only when changed. */
async function buildBundle(): Promise<string> {
  const bundle = await Bun.build({
    entrypoints: [join(root, "agent", "main.ts")],
    target: "bun",
    format: "esm",
    minify: true,
    define: { DEN_BUILD_COMMIT: JSON.stringify(buildCommit) },
  });
  const output = bundle.outputs[0];
  if (!bundle.success || !output || bundle.outputs.length !== 1) {
    console.error(bundle.logs.map(String).join("\n"));
    fail("Cannot bundle the guest agent", "see bun build's messages above");
  }
  const bytes = new Uint8Array(await output.arrayBuffer());
  const path = join(agentDir, AgentBundleName);
  const zst = join(agentDir, `${EmbeddedBundleStem}.zst`);
  if ((await writeIfChanged(path, bytes)) || !existsSync(zst)) {
    await writeAtomic(zst, Bun.zstdCompressSync(bytes, { level: zstdLevel }));
    console.log(`built ${relative(root, path)} (${(bytes.byteLength / 1024).toFixed(0)} KiB)`);
  } else {
    console.log(`guest agent ${relative(root, path)} is up to date`);
  }
  return zst;
}

/**
 * Compresses the plain Bun runtime of `target` into dist/agent/ unless the same runtime was compressed with the same
 * settings before; its manifest entry. `optional`: a runtime that cannot be had is reported and skipped.
 */
async function buildRuntime(target: AgentTarget, options: { optional: boolean }): Promise<RuntimeEntry | undefined> {
  const started = performance.now();
  const file = runtimeFileName(Bun.version, target);
  const output = join(agentDir, file);
  const stampPath = join(agentDir, `runtime-${target}.json`);
  const source = plainRuntime(target, options);
  if (!source) return undefined;
  const inputs = `target ${target}\nbun ${Bun.version}\nsize ${Bun.file(source).size}\n${compression}\n`;
  const stamp = readStamp(stampPath);
  if (stamp?.inputs === inputs && existsSync(output) && Bun.file(output).size === stamp.entry.compressedSize) {
    console.log(`guest agent runtime ${relative(root, output)} is up to date`);
    return stamp.entry;
  }
  const raw = await Bun.file(source).bytes();
  const reused = reuseCompressedRuntime(raw, file);
  if (reused) {
    await writeAtomic(output, reused.compressed);
    await writeAtomic(stampPath, `${JSON.stringify({ inputs, entry: reused.entry }, null, 2)}\n`);
    removeOtherRuntimes(target, file);
    console.log(`guest agent runtime ${relative(root, output)} taken from ${reused.from} (${seconds(started)} s)`);
    return reused.entry;
  }
  // node:zlib's zstd (Bun has it; the installed @types/node predates it) takes the window and long-distance
  // parameters that Bun.zstdCompress has no options for.
  const zstd = zlib as unknown as { zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Uint8Array; constants: Record<string, number | undefined> };
  const parameter = (name: string): number => zstd.constants[name] ?? fail(`Cannot compress the guest agent runtime: this Bun has no zstd parameter ${name}`);
  const compressed = zstd.zstdCompressSync(raw, {
    params: {
      [parameter("ZSTD_c_compressionLevel")]: zstdLevel,
      [parameter("ZSTD_c_windowLog")]: zstdWindowLog,
      [parameter("ZSTD_c_enableLongDistanceMatching")]: 1,
    },
  });
  const entry: RuntimeEntry = {
    file,
    sha256: sha256Hex(raw),
    size: raw.byteLength,
    compressedSha256: sha256Hex(compressed),
    compressedSize: compressed.byteLength,
  };
  await writeAtomic(output, compressed);
  await writeAtomic(stampPath, `${JSON.stringify({ inputs, entry }, null, 2)}\n`);
  removeOtherRuntimes(target, file);
  keepCompressedRuntime(compressed, entry);
  console.log(`built ${relative(root, output)} (${mib(raw.byteLength)} MiB, ${mib(compressed.byteLength)} MiB compressed, ${seconds(started)} s)`);
  return entry;
}

function removeOtherRuntimes(target: AgentTarget, file: string): void {
  for (const name of readdirSync(agentDir)) {
    if (name !== file && name.startsWith("den-guestagent-runtime-bun-") && name.endsWith(`-${target}.zst`)) rmSync(join(agentDir, name), { force: true });
  }
}

/**
 * Compressed runtimes outlive a checkout: they are kept beside Bun's own download cache, named by the digest of the
 * runtime they compress and the compression settings, so a fresh clone (every CI run) copies them instead of spending
 * a minute or more per runtime at zstd level 19. Each is checked against its recorded digest before it is used.
 */
function compressedRuntimeCache(): string {
  return join(bunCacheDir(), "den-guestagent-runtimes");
}

function compressedRuntimeKey(rawSha256: string): string {
  return `${rawSha256}-zstd${zstdLevel}-w${zstdWindowLog}-long`;
}

function reuseCompressedRuntime(raw: Uint8Array, file: string): { compressed: Uint8Array; entry: RuntimeEntry; from: string } | undefined {
  const key = compressedRuntimeKey(sha256Hex(raw));
  const dir = compressedRuntimeCache();
  const entryPath = join(dir, `${key}.json`);
  const zstPath = join(dir, `${key}.zst`);
  if (!existsSync(entryPath) || !existsSync(zstPath)) return undefined;
  try {
    const cached = JSON.parse(readFileSync(entryPath, "utf8")) as RuntimeEntry;
    const compressed = readFileSync(zstPath);
    if (cached.size !== raw.byteLength || compressed.byteLength !== cached.compressedSize || sha256Hex(compressed) !== cached.compressedSha256) return undefined;
    return { compressed, entry: { ...cached, file }, from: zstPath };
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written costs the next clone a compression, nothing else. */
function keepCompressedRuntime(compressed: Uint8Array, entry: RuntimeEntry): void {
  try {
    const dir = compressedRuntimeCache();
    mkdirSync(dir, { recursive: true });
    const key = compressedRuntimeKey(entry.sha256);
    const temp = join(dir, `.${key}.${process.pid}.tmp`);
    writeFileSync(temp, compressed);
    renameSync(temp, join(dir, `${key}.zst`));
    writeFileSync(temp, `${JSON.stringify(entry, null, 2)}\n`);
    renameSync(temp, join(dir, `${key}.json`));
  } catch (error) {
    console.error(`warning: cannot keep the compressed runtime in ${compressedRuntimeCache()}: ${(error as Error).message}`);
  }
}

/** The entry of a runtime an earlier build compressed for this Bun version, if its file is still there. */
function currentRuntime(target: AgentTarget): RuntimeEntry | undefined {
  const stamp = readStamp(join(agentDir, `runtime-${target}.json`));
  if (!stamp?.inputs.includes(`\nbun ${Bun.version}\n`) || !stamp.inputs.includes(`\n${compression}\n`)) return undefined;
  const output = join(agentDir, stamp.entry.file);
  return existsSync(output) && Bun.file(output).size === stamp.entry.compressedSize ? stamp.entry : undefined;
}

/** The plain Bun executable for `target`: the bun running this build when it is one, else Bun's download cache. */
function plainRuntime(target: AgentTarget, options: { optional: boolean }): string | undefined {
  if (target === nativeAgentTarget(process.platform, process.arch)) return process.execPath;
  // Bun's names: bun-linux-x64-v1.4.5, bun-linux-aarch64-musl-v1.4.5.
  const cached = join(bunCacheDir(), `bun-${target.replace("arm64", "aarch64")}-v${Bun.version}`);
  // Cross-compiling anything for the target makes bun download its runtime into that cache.
  if (!existsSync(cached)) crossCompileOnce(target, options);
  if (existsSync(cached)) return cached;
  const message = `Cannot find the Bun ${Bun.version} runtime for ${target} at ${cached}`;
  const hint = "bun build --compile --target=bun-<target> downloads it; check the network";
  if (!options.optional) fail(message, hint);
  console.error(`warning: ${message}: den run from source cannot start ${target} guests until it is there\nhint: ${hint}`);
  return undefined;
}

function bunCacheDir(): string {
  const result = Bun.spawnSync([process.execPath, "pm", "cache"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  const dir = result.success ? result.stdout.toString().trim() : "";
  return dir !== "" ? dir : join(homedir(), ".bun", "install", "cache");
}

function crossCompileOnce(target: AgentTarget, options: { optional: boolean }): void {
  const scratch = join(tmpdir(), `den-build-${process.pid}-${target}`);
  try {
    const result = Bun.spawnSync([process.execPath, "build", "--compile", `--target=bun-${target}`, join(root, "agent", "main.ts"), "--outfile", scratch], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if (!result.success && !options.optional) console.error(result.stderr.toString());
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Removes what older builds left in dist/agent/: the compiled agents and their stamps. */
function removeOldAgentFiles(): void {
  for (const name of readdirSync(agentDir)) {
    if (/^den-guestagent-linux-(x64|arm64)(\.zst)?$/.test(name) || /^inputs-linux-(x64|arm64)\.txt$/.test(name)) rmSync(join(agentDir, name), { force: true });
  }
}

function readStamp(path: string): { inputs: string; entry: RuntimeEntry } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { inputs: string; entry: RuntimeEntry };
  } catch {
    return undefined;
  }
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
  const sha256 = sha256Hex(await Bun.file(output).bytes());
  console.log(`built ${relative(root, output)} (signed, ${seconds(started)} s)`);
  return { path: output, sha256 };
}

/** Runs a build tool; its stdout on success, else exits with its output and `hint`. */
function run(argv: string[], what: string, hint?: string): string {
  if (Bun.which(argv[0] ?? "") === null) fail(`Cannot build ${what}: ${argv[0]} is not installed`, hint);
  const result = Bun.spawnSync(argv, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (!result.success) {
    console.error(result.stdout.toString() + result.stderr.toString());
    fail(`Cannot build ${what}: ${argv[0]} failed`, hint);
  }
  return result.stdout.toString();
}

function compile(extra: string[], what: string): void {
  const result = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--define", `DEN_BUILD_COMMIT=${JSON.stringify(buildCommit)}`, ...extra], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (!result.success) {
    console.error(result.stdout.toString() + result.stderr.toString());
    fail(`Cannot build ${what}: bun build failed`);
  }
}

/** Writes `path` (atomically) unless it already holds exactly `content`; whether it wrote. */
async function writeIfChanged(path: string, content: string | Uint8Array): Promise<boolean> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const file = Bun.file(path);
  if ((await file.exists()) && file.size === bytes.byteLength && Buffer.from(await file.bytes()).equals(bytes)) return false;
  await writeAtomic(path, bytes);
  return true;
}

async function writeAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

function fail(message: string, hint?: string): never {
  console.error(`error: ${message}${hint ? `\nhint: ${hint}` : ""}`);
  process.exit(1);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}
