// `copyToHost:` — after the readiness checks the host agent copies guest files to the host (Lima's last start step;
// k3s's kubeconfig is the usual one), and removes the `deleteOnStop` ones when it stops.
// Stricter than Lima on where a file may land: the guest chooses the content and the template the path, and den
// cannot tell at start whether den.yaml came from a template fetched over the web. A guest file written over
// ~/.bashrc, or over the instance's own den.yaml or ssh.config (a ProxyCommand), would run the guest's code on the
// host. So every host path must lie inside `<instance>/copied-from-guest/`, the folder Lima's templates use.
import { constants } from "node:fs";
import { lstat, mkdir, open, rename, rm } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, sep } from "node:path";
import type { FilledCopyToHost } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { shellQuote } from "../shell/quote.ts";
import type { ExecResult } from "../ssh/ssh-session.ts";

/** The folder of the instance every copied file must be in (Lima's templates' convention). */
export const CopiedFromGuestDir = "copied-from-guest";
/** A copied file larger than this is refused: it is held in memory on its way (kubeconfigs are a few KiB). */
export const MaxCopyBytes = 16 * 1024 * 1024;

export interface CopyToHostContext {
  instanceDir: string;
  exec: (command: string, options: { timeoutMs: number }) => Promise<ExecResult>;
  maxBytes?: number | undefined;
  timeoutMs?: number | undefined;
}

export interface CopyToHostResult {
  /** Host paths written. */
  copied: string[];
  /** Guest paths that were missing and allowed to be (`skipIfMissing`). */
  skipped: string[];
  /** One sentence per rule that failed; the instance is then degraded. */
  errors: string[];
}

/** Why `host` may not receive a guest file, or undefined when it may (inside `<instanceDir>/copied-from-guest/`). */
export function copyTargetProblem(host: string, instanceDir: string): string | undefined {
  if (!isAbsolute(host)) return "it is not an absolute path";
  const folder = join(instanceDir, CopiedFromGuestDir);
  const inside = relative(folder, normalize(host));
  if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    return `den writes guest files only inside "${folder}"`;
  }
  return undefined;
}

/**
 * The guest command printing the file base64-encoded (ssh2 hands stdout over as text, which would mangle binary
 * files), at most `maxBytes + 1` bytes of it; the first `head` reports a missing or unreadable file with the
 * system's own words ("No such file or directory", "Permission denied"), which decide skip and sudo.
 */
export function guestReadCommand(guest: string, options: { sudo: boolean; maxBytes: number }): string {
  const script = `head -c 1 -- "$1" >/dev/null && head -c ${options.maxBytes + 1} -- "$1" | base64`;
  return `${options.sudo ? "sudo -n " : ""}env LANG=C LC_ALL=C sh -c ${shellQuote(script)} sh ${shellQuote(guest)}`;
}

/** Copies each rule's guest file to its host path; a failing rule is reported and the others still run. */
export async function copyToHost(rules: readonly FilledCopyToHost[], ctx: CopyToHostContext): Promise<CopyToHostResult> {
  const result: CopyToHostResult = { copied: [], skipped: [], errors: [] };
  const maxBytes = ctx.maxBytes ?? MaxCopyBytes;
  for (const rule of rules) {
    const guest = rule.guest ?? "";
    const host = rule.host ?? "";
    const problem = copyTargetProblem(host, ctx.instanceDir);
    if (problem) {
      result.errors.push(`Cannot copy "${guest}" from the guest to "${host}": ${problem} (copyToHost)`);
      continue;
    }
    try {
      const data = await readGuestFile(guest, { ...ctx, maxBytes });
      if (data === "missing") {
        if (rule.skipIfMissing) result.skipped.push(guest);
        else result.errors.push(`Cannot copy "${guest}" from the guest: no such file (set skipIfMissing: true if it is optional)`);
        continue;
      }
      await writePrivateFile(ctx.instanceDir, host, data);
      result.copied.push(host);
    } catch (error) {
      result.errors.push(`Cannot copy "${guest}" from the guest to "${host}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return result;
}

/** Removes the host files of the `deleteOnStop` rules (never following a symlink: rm removes the link itself). */
export async function removeCopiedFiles(rules: readonly FilledCopyToHost[], instanceDir: string): Promise<void> {
  for (const rule of rules) {
    if (!rule.deleteOnStop || !rule.host || copyTargetProblem(rule.host, instanceDir)) continue;
    await rm(rule.host, { force: true }).catch(() => undefined);
  }
}

async function readGuestFile(guest: string, ctx: CopyToHostContext & { maxBytes: number }): Promise<Buffer | "missing"> {
  const timeoutMs = ctx.timeoutMs ?? 60_000;
  let answer = await ctx.exec(guestReadCommand(guest, { sudo: false, maxBytes: ctx.maxBytes }), { timeoutMs });
  if (answer.exitCode !== 0 && answer.stderr.includes("Permission denied")) {
    answer = await ctx.exec(guestReadCommand(guest, { sudo: true, maxBytes: ctx.maxBytes }), { timeoutMs });
  }
  if (answer.exitCode !== 0) {
    if (answer.stderr.includes("No such file or directory")) return "missing";
    const why = answer.stderr.trim().split("\n").slice(-3).join("; ").slice(0, 500);
    throw new DenError("IO", `reading it failed (exit code ${answer.exitCode ?? "none"})${why ? `: ${why}` : ""}`);
  }
  const data = Buffer.from(answer.stdout.replace(/\s+/g, ""), "base64");
  if (data.length > ctx.maxBytes) throw new DenError("FILE_TOO_LARGE", `it is larger than ${ctx.maxBytes} bytes`);
  return data;
}

/**
 * Writes `data` to `path` (inside instanceDir) with mode 0600: folders are made 0700 one by one, refusing a symlink
 * on the way; the content goes to a new temporary file (O_EXCL|O_NOFOLLOW) renamed over the target, so a reader
 * never sees half a file and a symlink at the target is replaced rather than followed.
 */
async function writePrivateFile(instanceDir: string, path: string, data: Buffer): Promise<void> {
  const parts = relative(instanceDir, normalize(path)).split(sep);
  let folder = instanceDir;
  for (const part of parts.slice(0, -1)) {
    folder = join(folder, part);
    const stat = await lstat(folder).catch(() => undefined);
    if (stat === undefined) await mkdir(folder, { mode: 0o700 });
    else if (!stat.isDirectory()) throw new DenError("IO", `"${folder}" is not a folder (a symlink is not followed)`);
  }
  const temporary = join(folder, `.${parts.at(-1)}.${process.pid}.${Date.now()}.tmp`);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(data);
    await file.chmod(0o600);
  } finally {
    await file.close();
  }
  await rename(temporary, path).catch(async (error: unknown) => {
    await rm(temporary, { force: true });
    throw error;
  });
}
