// The release: scripts/release.ts packs this host's tarball, SHA256SUMS checks out with sha256sum, install.sh installs
// from the folder into a temporary PREFIX and refuses a tampered tarball, and the Homebrew formula parses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { type ReleaseTarget, bundledRuntimeFile, checkReleaseUrl, fillFormula, fillInstallScript, releaseRuntimeFiles, renderSha256Sums, tarballName } from "../../scripts/release.ts";

const root = resolve(import.meta.dir, "../..");
const host = `${process.platform}-${process.arch}` as ReleaseTarget;
const version = packageJson.version;
const hostBinary = join(root, "dist", `den-${host}`);
const folder = `den-${version}-${host}`;

function run(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  // An undefined value removes the variable, so the caller's own DEN_RELEASE_URL never leaks into a test.
  const env = Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = Bun.spawnSync(argv, { cwd: options.cwd ?? root, env, stdout: "pipe", stderr: "pipe" });
  return { exitCode: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
}

/** A release folder with one tarball for this host: a stand-in `bin/den` plus the given extra files, and its SHA256SUMS. */
async function packStandInRelease(release: string, extra: Record<string, Record<string, string>>): Promise<void> {
  const top = join(release, "stage", folder);
  await mkdir(join(top, "bin"), { recursive: true });
  await writeFile(join(top, "bin", "den"), "#!/bin/sh\necho 'den version 0.0.0 (commit test)'\n", { mode: 0o755 });
  for (const [dir, files] of Object.entries(extra)) {
    await mkdir(join(top, dir), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(top, dir, name), text);
  }
  expect(run(["tar", "-czf", join(release, tarballName(version, host)), "-C", join(release, "stage"), folder]).exitCode).toBe(0);
  const sum = run(["sha256sum", tarballName(version, host)], { cwd: release }).stdout;
  await writeFile(join(release, "SHA256SUMS"), sum);
}

/** A binary built from this HEAD (tests/scripts/build.test.ts makes one) is packed as it is instead of built again. */
function hostBinaryIsCurrent(): boolean {
  if (!existsSync(hostBinary)) return false;
  const head = run(["git", "rev-parse", "--short=12", "HEAD"]).stdout.trim();
  return run([hostBinary, "--version"]).stdout.includes(`(commit ${head}`);
}

let work = "";
let out = "";
let release = { exitCode: 0 as number | null, stdout: "", stderr: "" };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "den-release-test-"));
  out = join(work, "out");
  const reuse = hostBinaryIsCurrent() ? ["--no-build"] : [];
  release = run([process.execPath, join(root, "scripts/release.ts"), "--targets", host, "--out", out, "--url", `file://${out}`, ...reuse]);
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("scripts/release.ts", () => {
  test("release.ts packs the host tarball with bin/den, the completions, LICENSE and README.md in one folder", () => {
    expect(release).toMatchObject({ exitCode: 0 });
    const listing = run(["tar", "--list", "--verbose", "--numeric-owner", "--full-time", "--gzip", "--file", join(out, tarballName(version, host))]);
    expect(listing.exitCode).toBe(0);
    const entries = listing.stdout
      .trim()
      .split("\n")
      .map((line) => {
        const [mode, owner, , date, time, name] = line.split(/\s+/);
        return { mode, owner, mtime: `${date} ${time}`, name };
      });
    expect(entries.map((entry) => `${entry.mode} ${entry.name}`)).toEqual([
      `drwxr-xr-x ${folder}/`,
      `-rw-r--r-- ${folder}/LICENSE`,
      `-rw-r--r-- ${folder}/README.md`,
      `drwxr-xr-x ${folder}/bin/`,
      `-rwxr-xr-x ${folder}/bin/den`,
      `drwxr-xr-x ${folder}/share/`,
      `drwxr-xr-x ${folder}/share/bash-completion/`,
      `drwxr-xr-x ${folder}/share/bash-completion/completions/`,
      `-rw-r--r-- ${folder}/share/bash-completion/completions/den`,
      `drwxr-xr-x ${folder}/share/fish/`,
      `drwxr-xr-x ${folder}/share/fish/vendor_completions.d/`,
      `-rw-r--r-- ${folder}/share/fish/vendor_completions.d/den.fish`,
      `drwxr-xr-x ${folder}/share/zsh/`,
      `drwxr-xr-x ${folder}/share/zsh/site-functions/`,
      `-rw-r--r-- ${folder}/share/zsh/site-functions/_den`,
    ]);
    expect(new Set(entries.map((entry) => entry.owner))).toEqual(new Set(["0/0"]));
    expect(new Set(entries.map((entry) => entry.mtime)).size).toBe(1);
  });

  test("sha256sum -c accepts SHA256SUMS in the out folder", () => {
    const check = run(["sha256sum", "-c", "SHA256SUMS"], { cwd: out });
    expect(check).toMatchObject({ exitCode: 0 });
    // The musl runtimes are there when a build with --musl left them in dist/agent/.
    const runtimes = ["linux-arm64", "linux-arm64-musl", "linux-x64", "linux-x64-musl"]
      .map((target) => `den-guestagent-runtime-bun-${Bun.version}-${target}.zst`)
      .filter((file) => !file.endsWith("-musl.zst") || existsSync(join(out, file)))
      .map((file) => `${file}: OK\n`);
    expect(check.stdout).toBe(`${tarballName(version, host)}: OK\nden-${version}.tar.gz: OK\n${runtimes.join("")}`);
  });

  test("release.ts packs the same bytes again from the same binaries", async () => {
    const again = join(work, "again");
    const second = run([process.execPath, join(root, "scripts/release.ts"), "--targets", host, "--out", again, "--no-build"]);
    expect(second).toMatchObject({ exitCode: 0 });
    expect(second.stdout).toContain("den.rb not written");
    expect(await readFile(join(again, "SHA256SUMS"), "utf8")).toBe(await readFile(join(out, "SHA256SUMS"), "utf8"));
    await rm(again, { recursive: true, force: true });
  }, 120_000);

  test.each([
    { path: "packaging/homebrew/den.rb", where: "repository" },
    { path: "den.rb", where: "out" },
  ])("ruby -c accepts the formula $path", ({ path, where }) => {
    const file = where === "out" ? join(out, path) : join(root, path);
    expect(run(["ruby", "-c", file])).toMatchObject({ exitCode: 0, stdout: "Syntax OK\n" });
  });

  test("the formula in the out folder builds from the source tarball listed in SHA256SUMS", async () => {
    const sums = new Map(
      (await readFile(join(out, "SHA256SUMS"), "utf8"))
        .trim()
        .split("\n")
        .map((line) => [line.slice(66), line.slice(0, 64)] as const),
    );
    const formula = await readFile(join(out, "den.rb"), "utf8");
    expect(formula).toContain(`url "file://${out}/den-${version}.tar.gz"`);
    expect(formula).toContain(`sha256 "${sums.get(`den-${version}.tar.gz`)}"`);
    expect(formula).not.toMatch(/@(HOMEPAGE|URL|SHA256)@/);
  });

  test.each([
    { path: "packaging/install.sh", where: "repository" },
    { path: "install.sh", where: "out" },
  ])("shellcheck passes $path", ({ path, where }) => {
    const file = where === "out" ? join(out, path) : join(root, path);
    expect(run(["shellcheck", "--shell=sh", file])).toMatchObject({ exitCode: 0, stdout: "" });
  });
});

describe("packaging/install.sh", () => {
  test.each([
    { script: "packaging/install.sh", releaseUrl: "folder", label: "from a folder in DEN_RELEASE_URL" },
    { script: "out/install.sh", releaseUrl: "none", label: "from the file:// URL the published copy defaults to" },
  ])("install.sh installs den $label and the installed den --version runs", async ({ script, releaseUrl }) => {
    const prefix = join(work, `prefix-${releaseUrl}`);
    const scriptPath = script.startsWith("out/") ? join(out, "install.sh") : join(root, script);
    const install = run(["sh", scriptPath], {
      env: { PREFIX: prefix, HOME: work, DEN_RELEASE_URL: releaseUrl === "folder" ? out : undefined, PATH: "/usr/bin:/bin" },
    });
    expect(install).toMatchObject({ exitCode: 0, stderr: "" });
    expect(install.stdout).toContain(`${prefix}/bin is not on PATH`);
    for (const file of ["bin/den", "share/bash-completion/completions/den", "share/zsh/site-functions/_den", "share/fish/vendor_completions.d/den.fish", "share/doc/den/LICENSE"]) {
      expect(existsSync(join(prefix, file))).toBe(true);
    }
    const installed = run([join(prefix, "bin", "den"), "--version"], { cwd: "/", env: { DEN_HOME: join(work, "den-home") } });
    expect(installed.stdout).toStartWith(`den version ${version} (commit `);
    expect(install.stdout).toContain(`Installed ${installed.stdout.trim()}`);
    await rm(prefix, { recursive: true, force: true });
  }, 60_000);

  test("install.sh installs without a word on stderr from a release dated after this machine's clock", async () => {
    const future = join(work, "future");
    const prefix = join(work, "prefix-future");
    const tomorrow = String(Math.floor(Date.now() / 1000) + 86_400);
    const pack = run([process.execPath, join(root, "scripts/release.ts"), "--targets", host, "--out", future, "--no-build"], { env: { SOURCE_DATE_EPOCH: tomorrow } });
    expect(pack).toMatchObject({ exitCode: 0 });
    const install = run(["sh", join(root, "packaging/install.sh")], { env: { PREFIX: prefix, HOME: work, DEN_RELEASE_URL: future, PATH: "/usr/bin:/bin" } });
    expect(install).toMatchObject({ exitCode: 0, stderr: "" });
    expect((await stat(join(prefix, "bin", "den"))).mtimeMs).toBeLessThan(Date.now() + 60_000);
    await rm(future, { recursive: true, force: true });
    await rm(prefix, { recursive: true, force: true });
  }, 120_000);

  test("install.sh puts a runtime the tarball carries in share/den/ into PREFIX/share/den/", async () => {
    const release = join(work, "release-runtime");
    const prefix = join(work, "prefix-runtime");
    const runtime = "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst";
    await packStandInRelease(release, { "share/den": { [runtime]: "runtime bytes" } });
    const install = run(["sh", join(root, "packaging/install.sh")], { env: { PREFIX: prefix, HOME: work, DEN_RELEASE_URL: release, PATH: "/usr/bin:/bin" } });
    expect(install).toMatchObject({ exitCode: 0, stderr: "" });
    expect(await readFile(join(prefix, "share", "den", runtime), "utf8")).toBe("runtime bytes");
  });

  // CI runs without SHELL in its environment; install.sh runs under `set -u`, where one bare $SHELL aborted it.
  test.each([
    { name: "unset", shell: undefined, zshHint: false },
    { name: "/bin/bash", shell: "/bin/bash", zshHint: false },
    { name: "/usr/bin/zsh", shell: "/usr/bin/zsh", zshHint: true },
  ])("install.sh with SHELL $name installs quietly and hints at zsh's fpath only for zsh", async ({ shell, zshHint }) => {
    const label = shell === undefined ? "unset" : shell.replaceAll("/", "-");
    const release = join(work, `release-shell${label}`);
    const prefix = join(work, `prefix-shell${label}`);
    await packStandInRelease(release, {});
    const install = run(["sh", join(root, "packaging/install.sh")], {
      env: { PREFIX: prefix, HOME: work, DEN_RELEASE_URL: release, PATH: "/usr/bin:/bin", SHELL: shell },
    });
    expect(install).toMatchObject({ exitCode: 0, stderr: "" });
    expect(install.stdout.includes("fpath+=")).toBe(zshHint);
  });

  test.each([
    { name: "a tampered tarball", setup: "tampered", message: `error: Cannot install den: checksum mismatch for ${tarballName(version, host)}` },
    { name: "no DEN_RELEASE_URL", setup: "no-url", message: "error: Cannot install den: DEN_RELEASE_URL is not set" },
    { name: "a release without this platform", setup: "other-platform", message: `error: Cannot install den: the release has no tarball for ${host}` },
    { name: "an unknown system", setup: "sunos", message: 'error: Cannot install den on "SunOS": den runs on Linux and macOS' },
  ])("install.sh refuses $name and installs nothing", async ({ setup, message }) => {
    const release = join(work, `release-${setup}`);
    const prefix = join(work, `prefix-${setup}`);
    const fakeBin = join(work, `bin-${setup}`);
    await mkdir(release, { recursive: true });
    await mkdir(fakeBin, { recursive: true });
    const sums = await readFile(join(out, "SHA256SUMS"), "utf8");
    if (setup === "tampered") {
      await cp(join(out, "SHA256SUMS"), join(release, "SHA256SUMS"));
      const original = Bun.file(join(out, tarballName(version, host)));
      const bytes = new Uint8Array(await original.slice(0, 1 << 20).arrayBuffer());
      bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
      await writeFile(join(release, tarballName(version, host)), bytes);
    }
    if (setup === "other-platform") await writeFile(join(release, "SHA256SUMS"), sums.replaceAll(host, "freebsd-riscv64"));
    if (setup === "sunos") {
      await cp(join(out, "SHA256SUMS"), join(release, "SHA256SUMS"));
      await writeFile(join(fakeBin, "uname"), '#!/bin/sh\n[ "$1" = -s ] && echo SunOS || echo x86_64\n');
      await chmod(join(fakeBin, "uname"), 0o755);
    }
    const install = run(["sh", join(root, "packaging/install.sh")], {
      env: { PREFIX: prefix, HOME: work, DEN_RELEASE_URL: setup === "no-url" ? undefined : release, PATH: `${fakeBin}:/usr/bin:/bin` },
    });
    expect(install.exitCode).toBe(1);
    expect(install.stderr).toStartWith(`${message}`);
    expect(install.stderr).toContain("\nhint: ");
    expect(existsSync(prefix)).toBe(false);
  });
});

describe("release.ts helpers", () => {
  test.each([
    { url: "https://example.org/den/download/v0.1.0", problem: null },
    { url: "file:///srv/den/release", problem: null },
    { url: "ftp://example.org/den", problem: "not an http(s):// or file:// URL" },
    { url: "/srv/den/release", problem: "not an http(s):// or file:// URL" },
    { url: 'https://example.org/"; rm -rf ~; "', problem: "it contains a quote, $, `, \\, #{ or a space" },
    { url: "https://example.org/#{system}", problem: "it contains a quote, $, `, \\, #{ or a space" },
  ])("checkReleaseUrl() says of $url: $problem", ({ url, problem }) => {
    expect(checkReleaseUrl(url)).toBe(problem);
  });

  test.each([
    { target: "darwin-arm64", file: "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst" },
    { target: "darwin-x64", file: "den-guestagent-runtime-bun-1.4.5-linux-x64.zst" },
    { target: "linux-x64", file: undefined },
    { target: "linux-arm64", file: undefined },
  ] as const)("bundledRuntimeFile() gives the $target tarball $file", ({ target, file }) => {
    const entry = (name: string) => ({ file: name, sha256: "a".repeat(64), size: 1, compressedSha256: "b".repeat(64), compressedSize: 1 });
    const manifest = {
      bunVersion: "1.4.5",
      baseUrl: "",
      runtimes: { "linux-x64": entry("den-guestagent-runtime-bun-1.4.5-linux-x64.zst"), "linux-arm64": entry("den-guestagent-runtime-bun-1.4.5-linux-arm64.zst") },
    };
    expect(bundledRuntimeFile(target, manifest)).toBe(file);
  });

  test("renderSha256Sums() writes sha256sum lines sorted by file name", () => {
    const text = renderSha256Sums([
      { name: "den-0.1.0.tar.gz", sha256: "b".repeat(64) },
      { name: "den-0.1.0-darwin-arm64.tar.gz", sha256: "a".repeat(64) },
    ]);
    expect(text).toBe(`${"a".repeat(64)}  den-0.1.0-darwin-arm64.tar.gz\n${"b".repeat(64)}  den-0.1.0.tar.gz\n`);
  });

  test("releaseRuntimeFiles() lists the runtime file of every guest target", () => {
    const entry = (target: string) => ({ file: `den-guestagent-runtime-bun-1.4.5-${target}.zst`, sha256: "a".repeat(64), size: 2, compressedSha256: "b".repeat(64), compressedSize: 1 });
    const manifest = { bunVersion: "1.4.5", baseUrl: "", runtimes: { "linux-x64": entry("linux-x64"), "linux-arm64": entry("linux-arm64") } };
    expect(releaseRuntimeFiles(manifest)).toEqual(["den-guestagent-runtime-bun-1.4.5-linux-x64.zst", "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst"]);
    expect(() => releaseRuntimeFiles({ ...manifest, runtimes: { "linux-x64": entry("linux-x64") } })).toThrow("the runtime manifest has no linux-arm64 runtime");
  });

  test("releaseRuntimeFiles() adds the musl runtimes a build with --musl made, and needs none", () => {
    const entry = (target: string) => ({ file: `den-guestagent-runtime-bun-1.4.5-${target}.zst`, sha256: "a".repeat(64), size: 2, compressedSha256: "b".repeat(64), compressedSize: 1 });
    const manifest = { bunVersion: "1.4.5", baseUrl: "", runtimes: { "linux-x64": entry("linux-x64"), "linux-arm64": entry("linux-arm64"), "linux-x64-musl": entry("linux-x64-musl") } };
    expect(releaseRuntimeFiles(manifest)).toEqual(["den-guestagent-runtime-bun-1.4.5-linux-x64.zst", "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst", "den-guestagent-runtime-bun-1.4.5-linux-x64-musl.zst"]);
  });

  test("fillInstallScript() sets only the default release URL", () => {
    const template = 'set -eu\ndefault_release_url=""\nrelease_url=${DEN_RELEASE_URL:-$default_release_url}\n';
    expect(fillInstallScript(template, "https://example.org/d")).toBe(
      'set -eu\ndefault_release_url="https://example.org/d"\nrelease_url=${DEN_RELEASE_URL:-$default_release_url}\n',
    );
  });

  test("fillFormula() fills the homepage, url and sha256 of the formula", async () => {
    const template = await readFile(join(root, "packaging/homebrew/den.rb"), "utf8");
    const filled = fillFormula(template, { homepage: "https://example.org/den", url: "https://example.org/den-0.1.0.tar.gz", sha256: "c".repeat(64) });
    expect(filled).toContain('  homepage "https://example.org/den"\n  url "https://example.org/den-0.1.0.tar.gz"\n');
    expect(filled).toContain(`  sha256 "${"c".repeat(64)}"\n`);
  });
});
