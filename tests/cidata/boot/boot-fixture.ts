// A fake guest for running cidata/boot/boot.sh for real: a seed directory laid out as on the ISO (scripts from
// bootScriptEntries(), den.env and param.env quoted with shellQuote as the contract says) and a root directory
// that DEN_BOOT_ROOT points every guest path at. Nothing is mocked: steps that need a real guest are skipped
// by the scripts' own guard (root and an empty DEN_BOOT_ROOT).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bootScriptEntries } from "../../../cidata/boot-scripts.ts";
import { shellQuote } from "../../../lib/shell/quote.ts";

export const IID = "iid-1700000000";

/** den.env values every test starts from (keys without the DEN_CIDATA_ prefix). */
export const BASE_ENV: Readonly<Record<string, string>> = {
  NAME: "default",
  HOSTNAME: "den-default",
  IID,
  USER: "tester",
  UID: "1000",
  COMMENT: "Tester",
  HOME: "/home/tester.guest",
  SHELL: "/bin/bash",
  PASSWORDLESS_SUDO: "1",
  MOUNTTYPE: "reverse-sshfs",
  MOUNTS: "0",
  PLAIN: "",
  SKIP_DEFAULT_DEPENDENCY_RESOLUTION: "",
  VMTYPE: "qemu",
  SLIRP_GATEWAY: "10.0.2.2",
  SLIRP_DNS: "10.0.2.3",
  SLIRP_IP_ADDRESS: "10.0.2.15",
};

export interface BootFixtureOptions {
  /** den.env overrides; a value of undefined removes the key. */
  env?: Record<string, string | undefined>;
  params?: Record<string, string>;
  /** ISO paths of the boot scripts to include besides boot.sh; all of them when left out. */
  scripts?: string[];
  /** Extra seed files (e.g. provision.system/00000000, etc_environment); mode 0755 for scripts. */
  seed?: Record<string, string | { text: string; mode: number }>;
  /** Files under the fake root (e.g. etc/passwd; undefined = absent); the user's home and etc/passwd exist unless overridden. */
  rootFiles?: Record<string, string | undefined>;
}

export interface BootRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What reached DEN_BOOT_CONSOLE. */
  console: string;
}

export interface BootFixture extends AsyncDisposable {
  dir: string;
  root: string;
  seed: string;
  /** Runs boot.sh; `extraEnv` (e.g. PATH with fake binaries) is added to a minimal environment. */
  boot(extraEnv?: Record<string, string>): BootRun;
  /** Reads a file under the fake root, or undefined when it does not exist. */
  read(path: string): string | undefined;
  write(path: string, text: string): void;
}

function writeFile(path: string, text: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

export function makeBootFixture(options: BootFixtureOptions = {}): BootFixture {
  const dir = mkdtempSync(join(tmpdir(), "den-boot-test-"));
  const root = join(dir, "root");
  const seed = join(dir, "seed");
  const consolePath = join(dir, "console");

  for (const entry of bootScriptEntries()) {
    if (entry.path !== "boot.sh" && options.scripts && !options.scripts.includes(entry.path)) continue;
    const source = entry.source();
    if (source instanceof ReadableStream) throw new Error(`${entry.path}: boot script text should be bytes, not a stream`);
    writeFile(join(seed, entry.path), source, entry.mode);
  }

  const env: Record<string, string | undefined> = { ...BASE_ENV, ...options.env };
  const denEnv = Object.entries(env)
    .filter((pair): pair is [string, string] => pair[1] !== undefined)
    .map(([key, value]) => `DEN_CIDATA_${key}=${shellQuote(value)}\n`)
    .join("");
  writeFile(join(seed, "den.env"), denEnv);
  const paramEnv = Object.entries(options.params ?? {})
    .map(([key, value]) => `PARAM_${key}=${shellQuote(value)}\n`)
    .join("");
  writeFile(join(seed, "param.env"), paramEnv);
  for (const [path, file] of Object.entries(options.seed ?? {})) {
    if (typeof file === "string") writeFile(join(seed, path), file);
    else writeFile(join(seed, path), file.text, file.mode);
  }

  const user = env.USER ?? "tester";
  const home = env.HOME ?? `/home/${user}`;
  mkdirSync(join(root, home), { recursive: true });
  const rootFiles = { "etc/passwd": `root:x:0:0:root:/root:/bin/bash\n${user}:x:${env.UID}:${env.UID}::${home}:/bin/bash\n`, ...options.rootFiles };
  for (const [path, text] of Object.entries(rootFiles)) if (text !== undefined) writeFile(join(root, path), text);
  writeFileSync(consolePath, "");

  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(root, path), "utf8");
    } catch {
      return undefined;
    }
  };
  return {
    dir,
    root,
    seed,
    boot(extraEnv = {}) {
      writeFileSync(consolePath, "");
      const child = Bun.spawnSync(["bash", join(seed, "boot.sh")], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C.UTF-8", DEN_BOOT_ROOT: root, DEN_BOOT_CONSOLE: consolePath, ...extraEnv },
      });
      return { exitCode: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString(), console: readFileSync(consolePath, "utf8") };
    },
    read,
    write(path, text) {
      writeFile(join(root, path), text);
    },
    async [Symbol.asyncDispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fake binary for PATH: records its argv (one call per line) in `log` and exits with `exitCode`. */
export function writeFakeBin(binDir: string, name: string, options: { log: string; exitCode?: number }): void {
  writeFile(join(binDir, name), `#!/bin/bash\nprintf '%s\\n' "${name} $*" >>${shellQuote(options.log)}\nexit ${options.exitCode ?? 0}\n`, 0o755);
}
