// Runs the fuzz cases, a few at a time, each in its own sandbox, and collects per case: the verdict on den's exit
// and output, what changed outside DEN_HOME (decoys, den's `_config`, the shared hostile files, a decoy process),
// instance folders a failed command left behind, and host secrets that a remote template got out.
import { readdirSync, readFileSync } from "node:fs";
import { lstat, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { InstanceYaml } from "../../../lib/store/filenames.ts";
import { classifyRun, type Verdict } from "./classify-run.ts";
import { longestEcho } from "./echoed-input.ts";
import { commandLine, type FuzzCase } from "./fuzz-cases.ts";
import { type CaseSandbox, type FuzzSandbox, prepareCase } from "./fuzz-sandbox.ts";
import { SecretMarker } from "./hostile-files.ts";
import { type BoundedRun, runBounded } from "./run-bounded.ts";
import { diffSnapshots, snapshotTree, type TreeSnapshot } from "./tree-snapshot.ts";

export interface FuzzLimits {
  timeoutMs: number;
  maxRssBytes: number;
  maxOutputBytes: number;
  concurrency: number;
}

export interface FuzzResult {
  fuzzCase: FuzzCase;
  commandLine: string;
  verdict: Verdict;
  exitCode: number | null;
  firstStderrLine: string;
  /** Files changed outside DEN_HOME, den's own folders touched, half-written instances, a decoy process killed. */
  outsideChanges: string[];
  /** Host secrets a remote template got into den's output, DEN_HOME or the working folder. */
  leaks: string[];
  durationMs: number;
}

const MaxInputBytes = 8 * 1024 * 1024;

/** Runs every case, `limits.concurrency` at a time; results come back in case order. */
export async function runFuzz(sandbox: FuzzSandbox, cases: readonly FuzzCase[], limits: FuzzLimits): Promise<FuzzResult[]> {
  const results: FuzzResult[] = new Array(cases.length);
  let next = 0;
  const shared = { snapshot: await sharedSnapshot(sandbox) };
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < cases.length && failure === undefined) {
      const index = next++;
      try {
        results[index] = await runFuzzCase(sandbox, cases[index] as FuzzCase, { limits, shared });
      } catch (error) {
        // A harness failure, not a verdict on den: let the other workers finish their case, then report it.
        failure = { error: new Error(`fuzz case #${cases[index]?.id} could not run: ${String(error)}`, { cause: error }) };
      }
    }
  };
  await Promise.all(Array.from({ length: limits.concurrency }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Runs one case. `shared` holds the last fingerprint of the shared hostile files; a change is reported once, by the
 * case that sees it first (with concurrent cases, possibly a neighbour of the culprit).
 */
async function runFuzzCase(sandbox: FuzzSandbox, fuzzCase: FuzzCase, options: { limits: FuzzLimits; shared: { snapshot: TreeSnapshot } }): Promise<FuzzResult> {
  const { limits, shared } = options;
  const caseSandbox = await prepareCase(sandbox, fuzzCase);
  try {
    const decoysBefore = await Promise.all(caseSandbox.decoys.map((path) => snapshotTree(path, { mode: "content" })));
    const run = await runBounded(caseSandbox.argv, { cwd: caseSandbox.cwd, env: caseSandbox.env, stdin: caseSandbox.stdin, ...limits });
    const strays = killStrays(caseSandbox.dir);
    const inputs = await caseInputs(sandbox, caseSandbox, fuzzCase);
    const verdict = classifyRun({
      exitCode: run.exitCode,
      signal: run.killedFor === undefined ? run.signal : null,
      killedFor: run.killedFor,
      leftBehind: run.leftBehind || strays.length > 0,
      stderr: run.stderr,
      stderrBytes: run.stderrBytes,
      echoLength: longestEcho(run.stderr, inputs),
      secretInStderr: run.stderr.includes(SecretMarker),
      mustFail: fuzzCase.mustFail,
      timeoutMs: limits.timeoutMs,
      maxRssBytes: limits.maxRssBytes,
    });
    if (strays.length > 0) verdict.reasons.push(`left running: ${strays.join(", ")}`);
    const outsideChanges = [
      ...(await decoyChanges(caseSandbox, decoysBefore)),
      ...(await instanceLeftovers(caseSandbox, fuzzCase, run)),
      ...decoyProcessKilled(caseSandbox),
      ...(await sharedChanges(sandbox, shared)),
    ];
    const leaks = fuzzCase.remote ? await secretLeaks(caseSandbox, run) : [];
    return {
      fuzzCase,
      commandLine: commandLine(fuzzCase),
      verdict,
      exitCode: run.exitCode,
      firstStderrLine: firstLine(run.stderr),
      outsideChanges,
      leaks,
      durationMs: run.durationMs,
    };
  } finally {
    await caseSandbox.dispose();
  }
}

async function sharedSnapshot(sandbox: FuzzSandbox): Promise<TreeSnapshot> {
  const [shared, secrets] = await Promise.all([snapshotTree(sandbox.shared, { mode: "metadata" }), snapshotTree(sandbox.secrets, { mode: "metadata" })]);
  return new Map([...[...shared].map(([path, print]) => [`shared/${path}`, print] as const), ...[...secrets].map(([path, print]) => [`secrets/${path}`, print] as const)]);
}

async function sharedChanges(sandbox: FuzzSandbox, shared: { snapshot: TreeSnapshot }): Promise<string[]> {
  const now = await sharedSnapshot(sandbox);
  const changes = diffSnapshots(shared.snapshot, now);
  shared.snapshot = now;
  return changes.map((change) => `shared hostile files: ${change}`);
}

async function decoyChanges(caseSandbox: CaseSandbox, before: TreeSnapshot[]): Promise<string[]> {
  const changes: string[] = [];
  for (const [index, path] of caseSandbox.decoys.entries()) {
    const after = await snapshotTree(path, { mode: "content" });
    const label = path.slice(caseSandbox.dir.length + 1);
    for (const change of diffSnapshots(before[index] as TreeSnapshot, after)) changes.push(`${label}: ${change}`);
  }
  return changes;
}

/**
 * An instance folder is complete (den.yaml) or absent: a failed `create` leaves none, and no command leaves a new
 * folder without den.yaml.
 */
async function instanceLeftovers(caseSandbox: CaseSandbox, fuzzCase: FuzzCase, run: BoundedRun): Promise<string[]> {
  const home = caseSandbox.effectiveDenHome;
  if (home === undefined) return [];
  const leftovers: string[] = [];
  const failedCreate = fuzzCase.args[0] === "create" && run.exitCode !== 0;
  for (const entry of await readdir(home).catch(() => [] as string[])) {
    if (caseSandbox.denHomeEntries.has(entry) || entry.startsWith(".") || entry.startsWith("_")) continue;
    const info = await lstat(join(home, entry)).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    const complete = await lstat(join(home, entry, InstanceYaml)).then(
      (yaml) => yaml.isFile(),
      () => false,
    );
    if (failedCreate) leftovers.push(`failed create left instance folder "${entry}"${complete ? "" : " without den.yaml"}`);
    else if (!complete) leftovers.push(`half-written instance folder "${entry}" (no den.yaml)`);
  }
  return leftovers;
}

function decoyProcessKilled(caseSandbox: CaseSandbox): string[] {
  const pid = caseSandbox.decoyPid;
  if (pid === undefined) return [];
  try {
    const state = /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1];
    return state === "Z" || state === "X" ? [`killed unrelated process ${pid} named in pidtrap's PID files`] : [];
  } catch {
    return [`killed unrelated process ${pid} named in pidtrap's PID files`];
  }
}

/** Processes outside the case's group that carry the case folder in their environment (a detached host agent). */
function killStrays(caseDir: string): string[] {
  const strays: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").includes(`DEN_HOME=${caseDir}`)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      process.kill(Number(entry), "SIGKILL");
      strays.push(`${entry} (${command.slice(0, 80)})`);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return strays;
}

/** What den was given: the arguments, stdin, and the content of every local or remote file an argument names. */
async function caseInputs(sandbox: FuzzSandbox, caseSandbox: CaseSandbox, fuzzCase: FuzzCase): Promise<string[]> {
  const inputs = fuzzCase.args.map(caseSandbox.fill);
  if (caseSandbox.stdin !== undefined) inputs.push(new TextDecoder().decode(caseSandbox.stdin.subarray(0, MaxInputBytes)));
  for (const arg of inputs.slice(0, fuzzCase.args.length)) {
    for (const match of arg.matchAll(/(\/[^\s"',]+)/g)) {
      const path = match[1] as string;
      if (path.startsWith(sandbox.shared) || path.startsWith(sandbox.secrets)) {
        const text = await readRegularFile(path);
        if (text !== undefined) inputs.push(text);
      }
    }
    if (arg.startsWith(sandbox.server.url)) {
      const body = sandbox.server.body(arg.slice(sandbox.server.url.length));
      if (body !== undefined) inputs.push(body);
    }
  }
  return inputs;
}

async function readRegularFile(path: string): Promise<string | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || info.size > MaxInputBytes) return undefined;
  return readFile(path, "utf8");
}

/** A remote template must not get a host secret into den's output, DEN_HOME or the working folder. */
async function secretLeaks(caseSandbox: CaseSandbox, run: BoundedRun): Promise<string[]> {
  const leaks: string[] = [];
  if (run.stdout.includes(SecretMarker)) leaks.push("stdout");
  if (run.stderr.includes(SecretMarker)) leaks.push("stderr");
  for (const root of [caseSandbox.denHome, caseSandbox.cwd]) {
    for (const path of await regularFiles(root)) {
      if ((await readFile(path, "latin1")).includes(SecretMarker)) leaks.push(path.slice(caseSandbox.dir.length + 1));
    }
  }
  return leaks;
}

async function regularFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const info = await lstat(path);
    if (info.size <= MaxInputBytes) files.push(path);
  }
  return files;
}

function firstLine(stderr: string): string {
  const line = stderr.split("\n").find((candidate) => candidate.trim() !== "") ?? "";
  const escaped = JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}…` : line).slice(1, -1);
  return escaped;
}
