// The guest agent's parts as the boot-script tests hand them to a fake guest (see boot-fixture.ts): the real bundle,
// built from agent/main.ts as the host side builds it; the seed's runtime line; a folder standing in for the mounted
// DENRUNTIME disk (25-guestagent.sh takes it from DEN_RUNTIME_MNT, or finds it at run/den/runtime in the fake root);
// and small fake tools for PATH. The scripts never hash the runtime, so a made-up sha256 is enough when the disk's
// bun.sha256 carries the same one.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { shellQuote } from "../../../lib/shell/quote.ts";

export const RUNTIME_SHA = "0123456789abcdef".repeat(4);
/** The Bun running the tests: a plain bun, which ignores BUN_BE_BUN=1, serves as the guest's runtime. */
export const HOST_BUN = process.execPath;
/** Where 25-guestagent.sh installs the agent's bundle, relative to the guest's root. */
export const AGENT_LIB = "usr/local/lib/den-guestagent";
/** Where 25-guestagent.sh mounts the DENRUNTIME disk, relative to the guest's root. */
export const RUNTIME_MOUNT = "run/den/runtime";

/** The seed's den-guestagent.runtime line (without its newline). */
export function runtimeLine(sha = RUNTIME_SHA, version = "1.3.0"): string {
  return `${sha} linux-x64 ${version}`;
}

/** `bun build agent/main.ts --target=bun --format=esm --minify`, as text. */
export async function buildAgentBundle(): Promise<string> {
  const result = await Bun.build({ entrypoints: [join(import.meta.dir, "../../../agent/main.ts")], target: "bun", format: "esm", minify: true });
  if (!result.success || result.outputs.length !== 1) throw new Error(`agent bundle: ${result.logs.join("\n")}`);
  return result.outputs[0]!.text();
}

/** The seed files of a den with an agent: the bundle and the runtime line. */
export function agentSeed(bundle: string, line = runtimeLine()): Record<string, string> {
  return { "den-guestagent.js": bundle, "den-guestagent.runtime": `${line}\n` };
}

export function writeExecutable(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** A runtime that prints what it was started with instead of running anything. */
export const ECHO_RUNTIME = `#!/bin/sh\nprintf 'BUN_BE_BUN=%s\\n' "$BUN_BE_BUN"\nprintf '%s\\n' "$@"\n`;

/**
 * The DENRUNTIME disk's files in `dir`: `bun` (a symlink to `link`, so the real ~100 MiB runtime costs nothing
 * here, or a file with `text`) and `bun.sha256`.
 */
export function makeRuntimeDisk(dir: string, runtime: { link: string } | { text: string }, sha = RUNTIME_SHA): string {
  mkdirSync(dir, { recursive: true });
  if ("link" in runtime) symlinkSync(runtime.link, join(dir, "bun"));
  else writeExecutable(join(dir, "bun"), runtime.text);
  writeFileSync(join(dir, "bun.sha256"), `${sha}\n`);
  return dir;
}

/**
 * Marks the DENRUNTIME disk as mounted in a fake root, as 25-guestagent.sh leaves it at run/den/runtime, with the
 * host's bun as the runtime: the script then mounts nothing and the yq steps run the real bundle.
 */
export function preinstallRuntime(root: string, sha = RUNTIME_SHA): void {
  makeRuntimeDisk(join(root, RUNTIME_MOUNT), { link: HOST_BUN }, sha);
}

/**
 * Fake `mount`, `umount` and `blkid` in `dir`: mount logs its arguments to `log` and fills the mount point with the
 * files of `disk` (a folder from makeRuntimeDisk), umount logs and empties it, blkid runs `blkid` (a bash snippet).
 */
export function writeMountTools(dir: string, tools: { disk: string; log: string; blkid: string }): void {
  const log = shellQuote(tools.log);
  writeExecutable(join(dir, "mount"), `#!/bin/bash\necho "mount $*" >>${log}\ncp -P ${shellQuote(tools.disk)}/* "\${@: -1}"\n`);
  writeExecutable(join(dir, "umount"), `#!/bin/bash\necho "umount $*" >>${log}\nrm -f "$1"/*\n`);
  writeExecutable(join(dir, "blkid"), `#!/bin/bash\n${tools.blkid}\n`);
}

/**
 * Shims in `dir` for each named command: each writes `TRACE <name> <args>` to $DEN_BOOT_CONSOLE, where it lands
 * between the `DEN| running …` lines of the step that ran it, then runs the real command.
 */
export function writeTraceShims(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const real = Bun.which(name);
    const run = real ? `exec ${shellQuote(real)} "$@"` : "exit 127";
    writeExecutable(join(dir, name), `#!/bin/bash\nprintf 'TRACE %s\\n' ${shellQuote(name)}" $*" >>"$DEN_BOOT_CONSOLE"\n${run}\n`);
  }
}

/** The console lines of one boot step: after its `DEN| running <step>` line, up to the next step or the end. */
export function stepLines(console: string, step: string): string[] {
  const lines = console.split("\n");
  const start = lines.indexOf(`DEN| running ${step}`);
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith("DEN| running ") || line.startsWith("DEN| boot done"));
  return end < 0 ? rest : rest.slice(0, end);
}
