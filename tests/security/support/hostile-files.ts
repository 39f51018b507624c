// The hostile local inputs of the CLI fuzz run: templates that are binary, huge, deeply nested, alias bombs, cycles,
// FIFOs, folders, symlinks, and references to secret files. Every secret carries SecretMarker so the run can tell
// when one reaches den's error output (or, for remote templates, anything den writes).
import { spawnSync } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SeededRandom } from "./seeded-random.ts";

/** Every secret the sandbox holds contains this; it must never show up where the run forbids it. */
export const SecretMarker = "FUZZSECRET";

const MiB = 1024 * 1024;
/** Chain length of chain-0.yaml → chain-1.yaml → …; den has no documented depth limit, so make it long. */
const LocalChainLength = 300;

/** Local template files, each passed to den as `{shared}/NAME`. */
export const HostileTemplateNames = [
  "binary.yaml",
  "nul.yaml",
  "invalid-utf8.yaml",
  "bom-crlf.yaml",
  "big.yaml",
  "long-line.yaml",
  "deep-flow-seq.yaml",
  "deep-flow-map.yaml",
  "deep-block.yaml",
  "alias-bomb.yaml",
  "merge-bomb.yaml",
  "tags.yaml",
  "complex-keys.yaml",
  "duplicate-keys.yaml",
  "zero-values.yaml",
  "bad-values.yaml",
  "bad-env.yaml",
  "mount-commas.yaml",
  "go-template.yaml",
  "many-forwards.yaml",
  "many-mounts.yaml",
  "cycle-a.yaml",
  "self-base.yaml",
  "chain-0.yaml",
  "base-fifo.yaml",
  "base-zero.yaml",
  "base-dir.yaml",
  "base-shadow.yaml",
  "base-missing.yaml",
  "base-stall.yaml",
  "file-zero.yaml",
  "file-fifo.yaml",
  "file-dir.yaml",
  "file-big.yaml",
  "file-shadow.yaml",
  "fifo.yaml",
  "dir.yaml",
  "shadow",
  "symlink-shadow.yaml",
  "symlink-loop.yaml",
  "empty.yaml",
  "null.yaml",
  "list.yaml",
  "scalar.yaml",
  "valid.yaml",
] as const;

export type HostileTemplateName = (typeof HostileTemplateNames)[number];

/**
 * Local templates den may rightly accept: a local template may name local files, as in Lima, and Lima sets no limit on
 * the number of port forwards (40,000 of them must load in bounded time, which the hang limit checks).
 */
export const AcceptableTemplateNames: readonly HostileTemplateName[] = ["valid.yaml", "bom-crlf.yaml", "chain-0.yaml", "file-shadow.yaml", "many-forwards.yaml"];

/** Host paths that are not templates at all; passed verbatim. */
export const DeviceLocators = ["/dev/zero", "/dev/urandom", "/dev/null", "/dev/full", "/proc/self/mem", "/etc"] as const;

/** Where the images of local templates "are": a missing local file fails a start at once, before any boot. */
export const LocalImageBase = "/nonexistent/den-fuzz";

/**
 * The `images:` block of every template meant to load. `base` is LocalImageBase for local templates, the server's
 * URL (404) for remote ones: a remote template should not name host files, whatever den's rule for images is.
 */
export function safeImages(base: string): string {
  return `images:\n- location: "${base}/images/missing-x86_64.img"\n  arch: x86_64\n- location: "${base}/images/missing-aarch64.img"\n  arch: aarch64\n`;
}

/** A template that loads and creates an instance; its images cannot be had, so a start fails before any boot. */
export function validTemplate(imageBase: string): string {
  return `${safeImages(imageBase)}mounts: []\ncontainerd:\n  system: false\n  user: false\n`;
}

export interface HostileFilesOptions {
  /** Base URL of the hostile template server (for the stalling base). */
  url: string;
  /** Folder of host secrets outside every DEN_HOME (stands in for /etc/shadow, ~/.ssh). */
  secretsDir: string;
  random: SeededRandom;
}

/** Writes every hostile file into `dir` (and the secrets into options.secretsDir). */
export async function writeHostileFiles(dir: string, options: HostileFilesOptions): Promise<void> {
  const { url, random } = options;
  await mkdir(dir, { recursive: true });
  await writeSecrets(options.secretsDir);
  const valid = validTemplate(LocalImageBase);
  const files: Record<string, string | Uint8Array> = {
    "binary.yaml": random.bytes(3000),
    "nul.yaml": `cpus: 2\n\0\0\0memory: 4\n${"\0".repeat(500)}\n${valid}`,
    "invalid-utf8.yaml": Buffer.concat([Buffer.from(`${valid}user:\n  name: "`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), Buffer.from(`"\n`)]),
    "bom-crlf.yaml": `\ufeff${valid.replaceAll("\n", "\r\n")}cpus: 2\r\n`,
    "big.yaml": `${valid}${"# padding padding padding padding padding padding padding padding padding\n".repeat((5 * MiB) / 74)}`,
    "long-line.yaml": `${valid}cpus: "${"x".repeat(MiB)}"\n`,
    "deep-flow-seq.yaml": `${valid}cpus: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`,
    "deep-flow-map.yaml": `${valid}env: ${"{a: ".repeat(50_000)}1${"}".repeat(50_000)}\n`,
    "deep-block.yaml": `${valid}provision:\n${deepBlock(1000)}`,
    "alias-bomb.yaml": `${valid}${aliasBomb()}`,
    "merge-bomb.yaml": `${valid}${mergeBomb()}`,
    "tags.yaml": `%YAML 1.1\n%TAG !x! tag:fuzz.example,2000:\n---\n${valid}cpus: !!binary aGVsbG8=\nmemory: !custom 4\ndisk: !!timestamp 2001-12-14\nuser: !x!odd {name: a}\n`,
    "complex-keys.yaml": `${valid}? [a, b]\n: c\n? {x: 1}\n: d\nenv:\n  ? [k]\n  : v\n`,
    "duplicate-keys.yaml": `${valid}cpus: 1\ncpus: 2\nmemory: 1\nmemory: 2\n`,
    "zero-values.yaml": `${valid}cpus: 0\nmemory: "0"\ndisk: "0"\n`,
    "bad-values.yaml": `${valid}cpus: -1\nmemory: "1ZB"\ndisk: "1e400GiB"\nsshPort: 70000\nvmType: nope\narch: "../x"\n`,
    "bad-env.yaml": `${valid}env:\n  "A=B": x\n  "": y\n  "X Y": z\n  "LONG": "${"a".repeat(100_000)}"\n  "NL": "a\\nb"\n`,
    "mount-commas.yaml": `${safeImages(LocalImageBase)}mountType: 9p\nmounts:\n- location: "/tmp,path=/,security_model=passthrough"\n  mountPoint: "/mnt/x,readonly=off"\n  writable: true\n`,
    "go-template.yaml": `${safeImages(LocalImageBase)}mounts:\n- location: "{{.Home}}/{{.Nope}}"\n- location: '{{printf "%0999999999d" 1}}'\n- location: "{{template \\"x\\"}}"\nparam:\n  A: "{{.Param.A}}"\n`,
    // Many rules, but not so many that printing the filled template (about 270 bytes a rule) rivals the hang limit.
    "many-forwards.yaml": `${valid}portForwards:\n${"- guestPort: 80\n  hostPort: 8080\n".repeat(10_000)}`,
    "many-mounts.yaml": `${safeImages(LocalImageBase)}mounts:\n${"- location: /tmp\n  writable: true\n".repeat(20_000)}`,
    "cycle-a.yaml": `base: ./cycle-b.yaml\n${valid}`,
    "cycle-b.yaml": `base: ./cycle-a.yaml\n`,
    "self-base.yaml": `base: ./self-base.yaml\n${valid}`,
    "base-fifo.yaml": `base: ./fifo.yaml\n${valid}`,
    "base-zero.yaml": `base: /dev/zero\n${valid}`,
    "base-dir.yaml": `base: ./dir.yaml\n${valid}`,
    "base-shadow.yaml": `base: ./shadow\n${valid}`,
    "base-missing.yaml": `base: ./no-such-base.yaml\n${valid}`,
    "base-stall.yaml": `base: ${url}/t/stall.yaml\n${valid}`,
    "file-zero.yaml": `${valid}provision:\n- mode: system\n  file: /dev/zero\n`,
    "file-fifo.yaml": `${valid}provision:\n- mode: system\n  file: ./fifo.yaml\n`,
    "file-dir.yaml": `${valid}provision:\n- mode: system\n  file: ./dir.yaml\n`,
    "file-big.yaml": `${valid}provision:\n- mode: system\n  file: ./big.yaml\n`,
    "file-shadow.yaml": `${valid}provision:\n- mode: data\n  path: /tmp/shadow\n  file: ./shadow\n`,
    shadow: shadowText(),
    "empty.yaml": "",
    "null.yaml": "null\n",
    "list.yaml": "- a\n- b\n",
    "scalar.yaml": "hello\n",
    "valid.yaml": valid,
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  for (let i = 0; i < LocalChainLength; i++) {
    const next = i + 1 < LocalChainLength ? `base: ./chain-${i + 1}.yaml\n` : valid;
    await writeFile(join(dir, `chain-${i}.yaml`), `${next}cpus: ${(i % 4) + 1}\n`);
  }
  await mkdir(join(dir, "dir.yaml"), { recursive: true });
  await symlink("shadow", join(dir, "symlink-shadow.yaml"));
  await symlink("symlink-loop.yaml", join(dir, "symlink-loop.yaml"));
  makeFifo(join(dir, "fifo.yaml"));
}

/** Secrets outside every DEN_HOME: a shadow-like file, a private key, and a template that carries a secret. */
async function writeSecrets(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "shadow"), shadowText());
  await writeFile(join(dir, "host-key"), `-----BEGIN OPENSSH PRIVATE KEY-----\n${SecretMarker}-host-key\n-----END OPENSSH PRIVATE KEY-----\n`);
  await writeFile(join(dir, "secret-template.yaml"), `env:\n  TOKEN: ${SecretMarker}-template\n`);
}

/** The files a fresh HOME holds: what a remote template would love to read. */
export function homeDecoys(): Record<string, string> {
  return {
    ".bashrc": `export API_TOKEN=${SecretMarker}-bashrc\n`,
    ".ssh/id_ed25519": `-----BEGIN OPENSSH PRIVATE KEY-----\n${SecretMarker}-home-key\n-----END OPENSSH PRIVATE KEY-----\n`,
    ".ssh/config": "Host *\n  User alice\n",
    ".den-secret.yaml": `env:\n  TOKEN: ${SecretMarker}-home-template\n`,
  };
}

export function makeFifo(path: string): void {
  const result = spawnSync("mkfifo", [path]);
  if (result.status !== 0) throw new Error(`mkfifo ${path} failed: ${result.stderr}`);
}

function shadowText(): string {
  return [
    `root:$6$${SecretMarker}.shadow$Xq0pZr1a9b8c7d6e5f4g3h2i1j0kLmNoPqRsTuVwXyZ/abcdefghijklmnopqrstuv:19000:0:99999:7:::`,
    "daemon:*:19000:0:99999:7:::",
    `alice:$y$j9T$${SecretMarker}.alice$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG:19000:0:99999:7:::`,
    "",
  ].join("\n");
}

/** Billion laughs: nine levels of ten aliases each, 10^9 strings once expanded. */
export function aliasBomb(): string {
  const lines = [`lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let level = 1; level <= 9; level++) {
    lines.push(`lol${level}: &lol${level} [${Array.from({ length: 10 }, () => `*lol${level - 1}`).join(", ")}]`);
  }
  lines.push("env:\n  BOMB: *lol9");
  return `${lines.join("\n")}\n`;
}

function mergeBomb(): string {
  const lines = ["m0: &m0 {a: 1, b: 2}"];
  for (let level = 1; level <= 12; level++) {
    lines.push(`m${level}: &m${level}\n  <<: [${Array.from({ length: 8 }, () => `*m${level - 1}`).join(", ")}]\n  k${level}: ${level}`);
  }
  lines.push("env:\n  <<: *m12");
  return `${lines.join("\n")}\n`;
}

function deepBlock(depth: number): string {
  let out = "";
  for (let level = 0; level < depth; level++) out += `${"  ".repeat(level)}- `.trimEnd() + "\n";
  return `${out}${"  ".repeat(depth)}x\n`;
}
