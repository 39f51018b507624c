// Shared by the seed tests: a filled configuration for a Linux host, seed facts, hostile values, and the two real
// readers of the seed's text files: PyYAML (what cloud-init parses user-data with) and /bin/sh (what sources den.env).
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillDefaults } from "../../lib/config/defaults.ts";
import type { DenYaml, FilledDenYaml } from "../../lib/config/schema.ts";
import { linuxHost } from "../fixtures/host-info.ts";
import { type SeedArgs, type SeedFacts, seedArgsFrom } from "../../cidata/seed-args.ts";

export { linuxHost };

export const instanceDir = "/home/alice/.den/dev";

export function filledConfig(raw: DenYaml = {}): FilledDenYaml {
  return fillDefaults(raw, { host: linuxHost, instanceName: "dev", instanceDir, denHome: "/home/alice/.den" });
}

export function seedFacts(overrides: Partial<SeedFacts> = {}): SeedFacts {
  return {
    instanceName: "dev",
    instanceDir,
    iid: "iid-1700000000",
    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample alice@host"],
    macAddress: "52:55:55:12:34:56",
    hostHome: linuxHost.home,
    ...overrides,
  };
}

export function argsFor(raw: DenYaml = {}, facts: Partial<SeedFacts> = {}): SeedArgs {
  return seedArgsFrom(filledConfig(raw), seedFacts(facts));
}

/** Values that break naive quoting in YAML or in the shell; none contains NUL (no shell variable can hold it). */
export const HostileValues: { label: string; value: string }[] = [
  { label: "single quotes", value: "it's 'quoted'" },
  { label: "double quotes", value: 'say "hi" \\"' },
  { label: "spaces", value: "  two  words  " },
  { label: "dollar expansions", value: "$HOME ${PATH} $(touch pwned) $((1+1))" },
  { label: "backquotes", value: "`touch pwned`" },
  { label: "newlines", value: "line1\nline2\n\nEVIL=1\n" },
  { label: "unicode", value: "zürich 東京 😀 ñ" },
  { label: "YAML syntax", value: "key: value # comment\n- item\n---\n...\n{a: [b]}" },
  { label: "YAML 1.1 boolean", value: "yes" },
  { label: "YAML 1.1 octal", value: "0755" },
  { label: "YAML 1.1 base 60", value: "52:55:55:12:34:56" },
  { label: "YAML null", value: "~" },
  { label: "YAML merge key", value: "<<" },
  { label: "YAML value key", value: "=" },
  { label: "YAML indicators", value: "&a *b !tag |> %YAML @x" },
  { label: "a leading tab", value: "\t lead" },
  { label: "backslashes", value: "C:\\new\\table\\" },
  { label: "control characters", value: "bell\u0007 esc\u001b[31m del\u007f c1\u0085\u009b ls\u2028 ps\u2029 bom\ufeff" },
  { label: "a carriage return", value: "dos\r\nline" },
  { label: "semicolons and pipes", value: "a; rm -rf / | cat & wait" },
  { label: "an empty string", value: "" },
];

/** Values that fit on one /etc/environment line. */
export const SingleLineValues = HostileValues.filter(({ value }) => !/[\n\r]/.test(value));

/** Parses YAML with PyYAML's SafeLoader, as cloud-init does; values come back through JSON. */
export function pyYamlLoad(text: string): unknown {
  return pyYamlLoadAll([text])[0];
}

/** Parses many documents in one python3 process (each start costs ~100 ms). */
export function pyYamlLoadAll(texts: readonly string[]): unknown[] {
  const script = [
    "import sys, json, yaml",
    "texts = json.loads(sys.stdin.buffer.read().decode('utf-8'))",
    "out = []",
    "for text in texts:",
    "    try:",
    "        out.append({'ok': yaml.safe_load(text)})",
    "    except yaml.YAMLError as error:",
    "        out.append({'error': str(error)})",
    "print(json.dumps(out))",
  ].join("\n");
  const child = Bun.spawnSync(["python3", "-c", script], { stdin: new TextEncoder().encode(JSON.stringify(texts)) });
  if (child.exitCode !== 0) throw new Error(`python3 failed: ${child.stderr.toString()}`);
  const results = JSON.parse(child.stdout.toString()) as ({ ok: unknown } | { error: string })[];
  return results.map((result) => {
    if ("error" in result) throw new Error(`PyYAML rejected the document: ${result.error}`);
    return result.ok;
  });
}

export function requirePyYaml(): void {
  const child = Bun.spawnSync(["python3", "-c", "import yaml"]);
  if (child.exitCode !== 0) throw new Error("python3 with PyYAML is missing: apt-get install -y python3-yaml");
}

export interface SourcedFile {
  /** Every variable the shell exported after `set -a; . ./file`, starting from an empty environment. */
  env: Map<string, string>;
  /** Files in the folder afterwards besides the sourced one (an injected command would create `pwned`). */
  strayFiles: string[];
}

/** Sources `text` with `shell -c 'set -a; . ./file; env -0'` in a fresh folder and an empty environment. */
export async function sourceShellFile(shell: string, text: string): Promise<SourcedFile> {
  const dir = await mkdtemp(join(tmpdir(), "den-seed-env-"));
  try {
    await writeFile(join(dir, "file.env"), text);
    const child = Bun.spawnSync(["env", "-i", shell, "-c", "set -a; . ./file.env; env -0"], { cwd: dir });
    if (child.exitCode !== 0) throw new Error(`${shell} failed to source the file: ${child.stderr.toString()}`);
    const env = new Map<string, string>();
    for (const record of child.stdout.toString().split("\0")) {
      if (record === "") continue;
      const at = record.indexOf("=");
      env.set(record.slice(0, at), record.slice(at + 1));
    }
    const strayFiles = (await readdir(dir)).filter((name) => name !== "file.env");
    return { env, strayFiles };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Variables a shell sets on its own, not from the sourced file. */
export const ShellOwnVariables = new Set(["PWD", "OLDPWD", "SHLVL", "_"]);
