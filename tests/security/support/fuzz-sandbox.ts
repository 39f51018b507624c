// The world each fuzz case runs in: a fresh DEN_HOME, HOME, caches and working folder per case, decoys around them
// (`victim` two levels up from DEN_HOME, `neighbour` beside it, secrets in HOME, den's own `_config`), hostile files
// shared read-only, and an environment with no network but the 127.0.0.1 template server (a dead proxy catches
// everything else) and fake QEMU and ssh programs, so no case can download an image, boot a VM or reach a host.
import { spawnSync } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HostAgentPid, InstanceYaml, LimaVersion, Protected, QemuPid } from "../../../lib/store/filenames.ts";
import type { FuzzCase, StdinKind } from "./fuzz-cases.ts";
import { aliasBomb, homeDecoys, LocalImageBase, makeFifo, safeImages, validTemplate, writeHostileFiles } from "./hostile-files.ts";
import { type HostileServer, serveHostileTemplates } from "./hostile-template-server.ts";
import { seededRandom } from "./seeded-random.ts";

const MiB = 1024 * 1024;

export interface FuzzSandbox extends AsyncDisposable {
  root: string;
  /** Hostile local templates (`{shared}`). */
  shared: string;
  /** Host secrets outside every DEN_HOME (`{secrets}`). */
  secrets: string;
  server: HostileServer;
  /** The den entry point every case runs. */
  mainTs: string;
  /** Added to every case's environment. */
  extraEnv: Record<string, string>;
  stdinBytes(kind: StdinKind): Uint8Array | undefined;
  dispose(): Promise<void>;
}

export interface SandboxOptions {
  mainTs: string;
  seed: number;
  /** Added to every case's environment (e.g. a short fetch timeout). */
  extraEnv?: Record<string, string>;
}

export async function makeFuzzSandbox(options: SandboxOptions): Promise<FuzzSandbox> {
  const random = seededRandom(options.seed);
  const root = await mkdtemp(join(tmpdir(), "cli-fuzz-"));
  const shared = join(root, "shared");
  const secrets = join(root, "secrets");
  const server = serveHostileTemplates({ secretsDir: secrets, random });
  try {
    await writeHostileFiles(shared, { url: server.url, secretsDir: secrets, random });
    await writeFakePrograms(join(root, "bin"));
    await writeBaseHomes(join(root, "base"), { binary: random.bytes(2000) });
    // Searched before the built-in templates: template:default keeps its shape but its base image is a missing local
    // file, so `den start NEW-NAME` (which creates from template:default) fails at once instead of retrying downloads.
    await mkdir(join(root, "templates", "_images"), { recursive: true });
    await writeFile(join(root, "templates", "_images", "ubuntu-24.04.yaml"), safeImages(LocalImageBase));
    const stdin: Record<StdinKind, Uint8Array | undefined> = {
      closed: undefined,
      yes: new TextEncoder().encode("y\n".repeat(4 * MiB)),
      binary: random.bytes(MiB),
      "alias-bomb": new TextEncoder().encode(`${validTemplate(LocalImageBase)}${aliasBomb()}`),
      empty: new Uint8Array(0),
      "invalid-utf8": Buffer.concat([Buffer.from(validTemplate(LocalImageBase)), Buffer.from([0x63, 0x70, 0x75, 0x73, 0x3a, 0x20, 0xff, 0xfe, 0x0a])]),
      "long-line": new TextEncoder().encode(`cpus: ${"9".repeat(5 * MiB)}`),
    };
    const dispose = async (): Promise<void> => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    };
    const extraEnv = options.extraEnv ?? {};
    return { root, shared, secrets, server, mainTs: options.mainTs, extraEnv, stdinBytes: (kind) => stdin[kind], dispose, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await server.stop();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** One case's folders and environment, made fresh from the base homes. */
export interface CaseSandbox {
  dir: string;
  denHome: string;
  /** The DEN_HOME den will really use (the case may point DEN_HOME elsewhere). */
  effectiveDenHome: string | undefined;
  cwd: string;
  env: Record<string, string>;
  argv: string[];
  /** Bytes fed on stdin (undefined: stdin is /dev/null). */
  stdin: Uint8Array | undefined;
  /** Trees that must come out of the run unchanged (absolute paths). */
  decoys: string[];
  /** Entries of DEN_HOME before the run. */
  denHomeEntries: Set<string>;
  /** A live process whose PID sits in a hostile instance's pid files; den must not kill it. */
  decoyPid: number | undefined;
  fill(text: string): string;
  dispose(): Promise<void>;
}

export async function prepareCase(sandbox: FuzzSandbox, fuzzCase: FuzzCase): Promise<CaseSandbox> {
  const dir = join(sandbox.root, "cases", `c${fuzzCase.id}`);
  // Two levels deep, so `../../victim` reaches the victim: the shape of the reported `delete -f ../../victimdir`.
  const denHome = join(dir, "dens", "den");
  const home = join(dir, "home");
  const work = join(dir, "work");
  await mkdir(dirname(denHome), { recursive: true });
  const fill = (text: string): string =>
    text
      .replaceAll("{case}", dir)
      .replaceAll("{work}", work)
      .replaceAll("{shared}", sandbox.shared)
      .replaceAll("{secrets}", sandbox.secrets)
      .replaceAll("{url}", sandbox.server.url)
      .replaceAll("{ro}", join(dir, "ro"));

  if (fuzzCase.home !== "none") {
    await cp(join(sandbox.root, "base", fuzzCase.home === "fifo" ? "plain" : fuzzCase.home), denHome, { recursive: true, verbatimSymlinks: true });
  }
  if (fuzzCase.home === "fifo") {
    await mkdir(join(denHome, "fifo"));
    makeFifo(join(denHome, "fifo", InstanceYaml));
  }
  for (const [path, content] of Object.entries(homeDecoys())) {
    await mkdir(dirname(join(home, path)), { recursive: true });
    await writeFile(join(home, path), content);
  }
  // A den.yaml makes each victim look like an instance, so a name that reaches it gets as far as it can.
  for (const victim of [join(dir, "victim"), join(dir, "dens", "neighbour")]) {
    await mkdir(join(victim, "sub"), { recursive: true });
    await writeFile(join(victim, "notes.txt"), "the user's own notes, not den's\n");
    await writeFile(join(victim, "sub", "data.bin"), new Uint8Array(4096).fill(7));
    await writeFile(join(victim, InstanceYaml), validTemplate(LocalImageBase));
  }
  await mkdir(work, { recursive: true });
  await writeFile(join(work, "file.txt"), "a file in the working folder\n");
  for (const sub of ["tmp", "cache", "den-cache"]) await mkdir(join(dir, sub), { recursive: true });

  let decoyPid: number | undefined;
  if (fuzzCase.home === "hostile") {
    const decoy = Bun.spawn(["sleep", "600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: {}, detached: true });
    decoy.unref();
    decoyPid = decoy.pid;
    for (const file of [HostAgentPid, QemuPid]) await writeFile(join(denHome, "pidtrap", file), `${decoy.pid}\n`);
  }

  const env: Record<string, string> = {
    PATH: `${join(sandbox.root, "bin")}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    DEN_HOME: denHome,
    XDG_CACHE_HOME: join(dir, "cache"),
    DEN_CACHE_DIR: join(dir, "den-cache"),
    DEN_TEMPLATES_PATH: join(sandbox.root, "templates"),
    TMPDIR: join(dir, "tmp"),
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    // Bun's own transpiler cache, shared by the cases (each has a fresh XDG_CACHE_HOME) to save start-up time.
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: join(sandbox.root, "bun-cache"),
    // No network but 127.0.0.1: anything else goes to a proxy port where nothing listens.
    HTTP_PROXY: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
    http_proxy: "http://127.0.0.1:9",
    https_proxy: "http://127.0.0.1:9",
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    // den's limit on a template fetch (templates helper, issue 12 #6): short, so a stalling server costs seconds.
    DEN_FETCH_TIMEOUT: "3s",
    ...sandbox.extraEnv,
  };
  for (const [key, value] of Object.entries(fuzzCase.env)) {
    if (value === null) delete env[key];
    else env[key] = fill(value);
  }
  const usesReadOnly = [...fuzzCase.args, ...Object.values(fuzzCase.env)].some((arg) => arg?.includes("{ro}"));
  if (usesReadOnly) await makeReadOnlyDir(join(dir, "ro"));

  const decoys = [join(dir, "victim"), join(dir, "dens", "neighbour"), home, join(denHome, "_config")];
  const denHomeEntries = new Set(await readdir(denHome).catch(() => []));
  const effectiveDenHome = env.DEN_HOME === denHome ? denHome : undefined;
  return {
    dir,
    denHome,
    effectiveDenHome,
    cwd: work,
    env,
    argv: [process.execPath, sandbox.mainTs, ...fuzzCase.args.map(fill)],
    stdin: sandbox.stdinBytes(fuzzCase.stdin),
    decoys,
    denHomeEntries,
    decoyPid,
    fill,
    dispose: async () => {
      if (decoyPid !== undefined) killQuietly(decoyPid);
      if (usesReadOnly) releaseReadOnlyDir(join(dir, "ro"));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An existing folder nobody can write to: root ignores modes, so root gets the immutable attribute instead. */
async function makeReadOnlyDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await writeFile(join(path, "keep"), "");
  if (process.getuid?.() === 0 && spawnSync("chattr", ["+i", path]).status === 0) return;
  await chmod(path, 0o555);
}

function releaseReadOnlyDir(path: string): void {
  if (process.getuid?.() === 0) spawnSync("chattr", ["-i", path]);
  spawnSync("chmod", ["u+w", path]);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone (den killed it: the run reports that).
  }
}

/**
 * Stand-ins first in PATH. QEMU: the images 404 before den gets there, and if not, these refuse to boot. ssh: the
 * real `ssh -V` (den reads the version), but no connection, so an operand that scp takes for a host (`.:/x`) cannot
 * reach the network; it fails the way an unknown host does.
 */
async function writeFakePrograms(bin: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  const qemu = '#!/bin/sh\necho "fuzz sandbox: $(basename "$0") is disabled here" >&2\nexit 1\n';
  const ssh = `#!/bin/sh
for arg in "$@"; do [ "$arg" = "-V" ] && exec ${realSsh()} -V; done
echo "ssh: Could not resolve hostname (the fuzz sandbox has no network): Name or service not known" >&2
exit 255
`;
  const programs: Record<string, string> = { ssh };
  for (const name of ["qemu-system-x86_64", "qemu-system-aarch64", "qemu-system-riscv64", "qemu-img"]) programs[name] = qemu;
  // start-at-login registers with the service manager: a fuzz case must never enable anything on this machine.
  for (const name of ["systemctl", "launchctl"]) programs[name] = '#!/bin/sh\necho "fuzz sandbox: $(basename "$0") is disabled here" >&2\nexit 1\n';
  for (const [name, script] of Object.entries(programs)) {
    await writeFile(join(bin, name), script);
    await chmod(join(bin, name), 0o755);
  }
}

function realSsh(): string {
  return Bun.which("ssh") ?? "/usr/bin/ssh";
}

/**
 * `plain`: a stopped instance, a protected one and den's `_config` with a key. `hostile` adds a garbage den.yaml, a
 * binary one, a 5 MiB one, a symlink to the victim folder, a file where a folder belongs, a folder without den.yaml,
 * and `pidtrap`, whose PID files name a live process that is not den's.
 */
async function writeBaseHomes(base: string, options: { binary: Uint8Array }): Promise<void> {
  const plain = join(base, "plain");
  const valid = validTemplate(LocalImageBase);
  const instance = async (home: string, name: string, yaml: string | Uint8Array): Promise<string> => {
    const dir = join(home, name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, InstanceYaml), yaml);
    await writeFile(join(dir, LimaVersion), "2.0.0\n");
    return dir;
  };
  await instance(plain, "stopped", valid);
  await writeFile(join(await instance(plain, "prot", valid), Protected), "");
  await mkdir(join(plain, "_config"), { recursive: true, mode: 0o700 });
  await writeFile(join(plain, "_config", "user"), "-----BEGIN OPENSSH PRIVATE KEY-----\nden's own key (decoy)\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
  await writeFile(join(plain, "_config", "user.pub"), "ssh-ed25519 AAAAdecoy den\n");

  const hostile = join(base, "hostile");
  await cp(plain, hostile, { recursive: true });
  await instance(hostile, "broken", ": : :\n[\n");
  await instance(hostile, "binary", options.binary);
  await instance(hostile, "big", `${valid}${"#".repeat(5 * MiB)}\n`);
  await instance(hostile, "pidtrap", valid);
  await symlink("../../victim", join(hostile, "linked"));
  await writeFile(join(hostile, "afile"), "not a folder\n");
  await mkdir(join(hostile, "noyaml"));
}
