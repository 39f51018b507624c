// Packs a release into one folder (default dist/release):
//   den-VERSION-<os>-<arch>.tar.gz  one top folder: bin/den, share/{bash-completion,zsh,fish}/… completions, LICENSE, README.md;
//                                   a darwin tarball also holds share/den/<the linux runtime of its arch>, so a Mac's
//                                   guests of its own arch need no download (a linux den is that runtime itself)
//   den-VERSION.tar.gz              the source at HEAD (git archive), which the Homebrew formula builds from
//   den-guestagent-runtime-bun-<v>-linux-<arch>.zst
//                                   the guest agent's runtimes (dist/agent/), which a den fetches for guests of an arch
//                                   it does not carry, from --url (Lima's "additional guest agents")
//   SHA256SUMS                      `sha256sum -c` format, covering the tarballs and the runtime files
//   install.sh                      packaging/install.sh, defaulting to --url when given
//   den.rb                          packaging/homebrew/den.rb filled in (only with --url: the formula needs the URL)
// Usage: bun run release [--targets linux-x64,darwin-arm64,…] [--out DIR] [--url URL] [--homepage URL] [--no-build]
//   --url       where the files will be published (https://…/download/v0.1.0, or file://… to test); default
//               $DEN_RELEASE_URL
//   --no-build  pack the binaries already in dist/ instead of running scripts/build.ts
//
// The binaries come from scripts/build.ts (the host's is always built too: its `den completion bash|zsh|fish` makes
// the completions, which are the same for every target). Tarballs are reproducible: GNU tar with sorted entries,
// owner 0:0, normalised modes and every mtime set to SOURCE_DATE_EPOCH (default: the HEAD commit's time), then
// `gzip -n`. macOS's bsdtar has no --sort or --mtime, so there the script needs GNU tar as `gtar` (brew install gnu-tar).
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type CompletionShell, completionShells } from "../lib/cli/completion-script.ts";
import { AgentTargets, DistAgentDir, type RuntimeManifest, RuntimeManifestFile, parseRuntimeManifest, runtimeFileName } from "../lib/guestagent/runtime-manifest.ts";
import packageJson from "../package.json" with { type: "json" };

const root = join(import.meta.dir, "..");
export const releaseTargets = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
export type ReleaseTarget = (typeof releaseTargets)[number];

/** Where each shell's completion goes, relative to the tarball's top folder (and to the PREFIX install.sh fills). */
export const completionPaths: Record<CompletionShell, string> = {
  bash: "share/bash-completion/completions/den",
  zsh: "share/zsh/site-functions/_den",
  fish: "share/fish/vendor_completions.d/den.fish",
};

export function tarballName(version: string, target: ReleaseTarget): string {
  return `den-${version}-${target}.tar.gz`;
}

export function sourceTarballName(version: string): string {
  return `den-${version}.tar.gz`;
}

/** `<sha256>  <name>` lines sorted by name: what `sha256sum -c` reads. */
export function renderSha256Sums(sums: { name: string; sha256: string }[]): string {
  return [...sums]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, sha256 }) => `${sha256}  ${name}\n`)
    .join("");
}

/**
 * The URL ends up inside a double-quoted shell string and a Ruby string, so it must not be able to end them or
 * interpolate: no quotes, `$`, backquote, backslash, `#{` or whitespace.
 */
export function checkReleaseUrl(url: string): string | null {
  if (!/^(https?|file):\/\/[^/]/.test(url) && !/^file:\/\/\//.test(url)) return "not an http(s):// or file:// URL";
  if (/["'`$\\\s]|#\{/.test(url)) return "it contains a quote, $, `, \\, #{ or a space";
  return null;
}

/** packaging/homebrew/den.rb with its @HOMEPAGE@, @URL@ and @SHA256@ filled in. */
export function fillFormula(template: string, values: { homepage: string; url: string; sha256: string }): string {
  const filled = template
    .replace('"@HOMEPAGE@"', JSON.stringify(values.homepage))
    .replace('"@URL@"', JSON.stringify(values.url))
    .replace('"@SHA256@"', JSON.stringify(values.sha256));
  if (/@(HOMEPAGE|URL|SHA256)@/.test(filled)) throw new Error("packaging/homebrew/den.rb has a placeholder that was not filled");
  return filled;
}

/** packaging/install.sh with the release URL as its default (DEN_RELEASE_URL still overrides it). */
export function fillInstallScript(template: string, url: string): string {
  const line = 'default_release_url=""';
  if (!template.includes(line)) throw new Error(`packaging/install.sh has no line ${line}`);
  return template.replace(line, `default_release_url="${url}"`);
}

/** The runtime file a target's tarball carries in share/den/: a darwin den's linux runtime of its own arch. */
export function bundledRuntimeFile(target: ReleaseTarget, manifest: RuntimeManifest): string | undefined {
  if (!target.startsWith("darwin-")) return undefined;
  const entry = manifest.runtimes[target === "darwin-arm64" ? "linux-arm64" : "linux-x64"];
  if (!entry) throw new Error(`the runtime manifest has no runtime for ${target}'s guests`);
  return entry.file;
}

/**
 * The runtime files a release publishes, by name, as the build's manifest lists them; throws when a glibc one is
 * missing. The musl ones (scripts/build.ts --musl) are published when the build made them.
 */
export function releaseRuntimeFiles(manifest: RuntimeManifest): string[] {
  return AgentTargets.flatMap((target) => {
    const entry = manifest.runtimes[target];
    if (!entry && target.endsWith("-musl")) return [];
    if (!entry) throw new Error(`the runtime manifest has no ${target} runtime`);
    if (entry.file !== runtimeFileName(manifest.bunVersion, target)) throw new Error(`the runtime manifest names "${entry.file}" for ${target}`);
    return [entry.file];
  });
}

function fail(message: string, hint?: string): never {
  console.error(`error: ${message}${hint ? `\nhint: ${hint}` : ""}`);
  process.exit(1);
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function git(args: string[]): string {
  const result = Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (!result.success) fail(`Cannot run git ${args.join(" ")}: ${result.stderr.toString().trim()}`, "run the release from a git checkout of den");
  return result.stdout.toString().trim();
}

/** GNU tar under either name; bsdtar cannot sort entries or set their mtime. */
function gnuTar(): string {
  for (const name of ["gtar", "tar"]) {
    const path = Bun.which(name);
    if (path === null) continue;
    const probe = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "ignore" });
    if (probe.success && probe.stdout.toString().includes("GNU tar")) return path;
  }
  fail("Cannot pack reproducible tarballs: GNU tar is not installed", "install GNU tar (macOS: brew install gnu-tar, used as gtar)");
}

async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** Environment for tar and gzip without the variables that would add options behind our back. */
function packEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== "TAR_OPTIONS" && key !== "GZIP") env[key] = value;
  }
  return { ...env, LC_ALL: "C" };
}

/** Runs `producer | gzip -n > output`, writing a temporary file that is renamed into place when both succeed. */
async function gzipInto(producer: string[], options: { cwd: string; output: string }): Promise<void> {
  const partial = `${options.output}.partial`;
  const env = packEnv();
  const source = Bun.spawn(producer, { cwd: options.cwd, env, stdout: "pipe", stderr: "pipe" });
  const gzip = Bun.spawn(["gzip", "-n"], { env, stdin: source.stdout, stdout: Bun.file(partial), stderr: "pipe" });
  const [sourceExit, gzipExit] = await Promise.all([source.exited, gzip.exited]);
  if (sourceExit !== 0 || gzipExit !== 0) {
    await rm(partial, { force: true });
    const stderr = (await new Response(source.stderr).text()) + (await new Response(gzip.stderr).text());
    fail(`Cannot write ${basename(options.output)}: ${producer[0]} exited with ${sourceExit}, gzip with ${gzipExit}`, stderr.trim() || undefined);
  }
  await rename(partial, options.output);
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  await writeFile(`${path}.partial`, text, { mode });
  await rename(`${path}.partial`, path);
}

function parseTargets(values: string[] | undefined): ReleaseTarget[] {
  if (!values || values.length === 0) return [...releaseTargets];
  const names = values.flatMap((value) => value.split(",")).map((name) => name.trim()).filter((name) => name !== "");
  for (const name of names) {
    if (!(releaseTargets as readonly string[]).includes(name)) fail(`Cannot release target "${name}": unknown target`, `use some of ${releaseTargets.join(", ")}`);
  }
  return releaseTargets.filter((target) => names.includes(target));
}

async function main(): Promise<void> {
  const started = performance.now();
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      targets: { type: "string", multiple: true },
      out: { type: "string" },
      url: { type: "string" },
      homepage: { type: "string" },
      "no-build": { type: "boolean" },
    },
    strict: true,
  });
  const version = packageJson.version;
  const targets = parseTargets(values.targets);
  const host = `${process.platform}-${process.arch}`;
  if (!(releaseTargets as readonly string[]).includes(host)) fail(`Cannot release on ${host}: den does not run here`, `run the release on one of ${releaseTargets.join(", ")}`);
  const hostTarget = host as ReleaseTarget;
  const out = resolve(values.out ?? join(root, "dist", "release"));
  const url = (values.url ?? process.env.DEN_RELEASE_URL ?? "").replace(/\/+$/, "");
  if (url !== "") {
    const problem = checkReleaseUrl(url);
    if (problem) fail(`Cannot use release URL "${url}": ${problem}`, "pass the URL the release files will be published at, e.g. https://example.org/den/download/v0.1.0");
  }
  const homepageProblem = values.homepage ? checkReleaseUrl(values.homepage) : null;
  if (homepageProblem) fail(`Cannot use homepage "${values.homepage}": ${homepageProblem}`);
  const tar = gnuTar();

  const binaries = [...new Set([...targets, hostTarget])];
  if (values["no-build"]) {
    for (const target of binaries) {
      const binary = join(root, "dist", `den-${target}`);
      if (!existsSync(binary)) fail(`Cannot pack ${target}: ${binary} does not exist`, `build it with bun scripts/build.ts --target ${target}, or leave out --no-build`);
    }
  } else {
    const urlArgs = url === "" ? [] : ["--release-url", url];
    const build = Bun.spawnSync([process.execPath, join(root, "scripts", "build.ts"), ...binaries.flatMap((target) => ["--target", target]), ...urlArgs], {
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    });
    if (!build.success) fail("Cannot make the release: scripts/build.ts failed", "see its output above");
  }

  const epoch = process.env.SOURCE_DATE_EPOCH ?? git(["log", "-1", "--format=%ct", "HEAD"]);
  if (!/^\d+$/.test(epoch)) fail(`Cannot use SOURCE_DATE_EPOCH "${epoch}": not a number of seconds`);
  const commit = git(["rev-parse", "--short=12", "HEAD"]);
  if (git(["status", "--porcelain"]) !== "") {
    console.error(`note: the working tree differs from HEAD: the binaries are built from it, ${sourceTarballName(version)} from HEAD (${commit})`);
  }

  await mkdir(out, { recursive: true });
  const stage = await mkdtemp(join(tmpdir(), "den-release-"));
  const sums: { name: string; sha256: string }[] = [];
  try {
    // The completions come from den itself; DEN_HOME points at the stage so nothing under the user's home is touched.
    const completions = new Map<CompletionShell, string>();
    for (const shell of completionShells) {
      const run = Bun.spawnSync([join(root, "dist", `den-${hostTarget}`), "completion", shell], {
        env: { ...process.env, DEN_HOME: join(stage, "den-home") },
        stdout: "pipe",
        stderr: "pipe",
      });
      if (!run.success || run.stdout.length === 0) fail(`Cannot generate the ${shell} completion: den completion ${shell} failed`, run.stderr.toString().trim() || undefined);
      completions.set(shell, run.stdout.toString());
    }

    const manifestPath = join(DistAgentDir, RuntimeManifestFile);
    let runtimeFiles: string[] = [];
    let manifest: RuntimeManifest | undefined;
    try {
      manifest = parseRuntimeManifest(await readFile(manifestPath, "utf8"), manifestPath);
      if (url !== "" && manifest.baseUrl !== url) {
        console.error(`note: the binaries fetch guest agent runtimes from "${manifest.baseUrl}" (the URL they were built with), not "${url}"; build without --no-build to change it`);
      }
      runtimeFiles = releaseRuntimeFiles(manifest);
    } catch (error) {
      fail(`Cannot publish the guest agent runtimes: ${(error as Error).message}`, "build them with bun scripts/build.ts (with --release-url when the release has a URL), or leave out --no-build");
    }
    for (const target of targets) {
      const packStarted = performance.now();
      const folder = `den-${version}-${target}`;
      const top = join(stage, folder);
      await mkdir(join(top, "bin"), { recursive: true });
      await copyFile(join(root, "dist", `den-${target}`), join(top, "bin", "den"));
      await copyFile(join(root, "LICENSE"), join(top, "LICENSE"));
      await copyFile(join(root, "README.md"), join(top, "README.md"));
      for (const [shell, text] of completions) {
        const path = join(top, completionPaths[shell]);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text);
      }
      const runtime = manifest && bundledRuntimeFile(target, manifest);
      if (runtime) {
        await mkdir(join(top, "share", "den"), { recursive: true });
        await copyFile(join(DistAgentDir, runtime), join(top, "share", "den", runtime));
      }
      const name = tarballName(version, target);
      await gzipInto(
        [tar, "--create", "--file=-", "--format=ustar", "--sort=name", `--mtime=@${epoch}`, "--owner=0", "--group=0", "--numeric-owner", "--mode=u=rwX,go=rX", folder],
        { cwd: stage, output: join(out, name) },
      );
      await rm(top, { recursive: true, force: true });
      sums.push({ name, sha256: await sha256File(join(out, name)) });
      console.log(`packed ${name} (${mib(Bun.file(join(out, name)).size)} MiB, ${seconds(packStarted)} s)`);
    }

    for (const name of runtimeFiles) {
      await copyFile(join(DistAgentDir, name), join(out, `${name}.partial`));
      await rename(join(out, `${name}.partial`), join(out, name));
      sums.push({ name, sha256: await sha256File(join(out, name)) });
      console.log(`copied ${name} (${mib(Bun.file(join(out, name)).size)} MiB)`);
    }

    const source = sourceTarballName(version);
    await gzipInto(["git", "archive", "--format=tar", `--prefix=den-${version}/`, "HEAD"], { cwd: root, output: join(out, source) });
    const sourceSha256 = await sha256File(join(out, source));
    sums.push({ name: source, sha256: sourceSha256 });
    console.log(`packed ${source} (${mib(Bun.file(join(out, source)).size)} MiB, source at ${commit})`);

    await writeAtomic(join(out, "SHA256SUMS"), renderSha256Sums(sums), 0o644);
    const installTemplate = await readFile(join(root, "packaging", "install.sh"), "utf8");
    await writeAtomic(join(out, "install.sh"), url === "" ? installTemplate : fillInstallScript(installTemplate, url), 0o755);
    if (url === "") {
      console.log("den.rb not written: it needs the URL the release will be published at (--url or DEN_RELEASE_URL)");
    } else {
      const homepage = values.homepage ?? url;
      const formula = fillFormula(await readFile(join(root, "packaging", "homebrew", "den.rb"), "utf8"), {
        homepage,
        url: `${url}/${source}`,
        sha256: sourceSha256,
      });
      await writeAtomic(join(out, "den.rb"), formula, 0o644);
    }
    console.log(`release ${version} in ${out} (${seconds(started)} s)`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
