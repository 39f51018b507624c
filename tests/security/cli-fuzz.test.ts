// Issue 12's proof run: at least 300 generated bad CLI inputs against den from source, each in a fresh sandbox, and
// a table of how den answered. Ugly errors, crashes, hangs, changes outside DEN_HOME and secrets leaked by remote
// templates must all be 0.
//
// Knobs: DEN_FUZZ_SEED (the generator's seed), DEN_FUZZ_ONLY=ID,… (rerun single cases), DEN_FUZZ_TIMEOUT_MS (hang
// limit, default 20000), DEN_FUZZ_CONCURRENCY (default 4), DEN_FUZZ_MAIN (den entry point), DEN_FUZZ_REPORT (also
// write the report to this file).
import { describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { classifyRun, type RunFacts } from "./support/classify-run.ts";
import { longestEcho } from "./support/echoed-input.ts";
import { commandLine, generateFuzzCases } from "./support/fuzz-cases.ts";
import { countResults, renderFuzzReport } from "./support/fuzz-report.ts";
import { makeFuzzSandbox } from "./support/fuzz-sandbox.ts";
import { runBounded } from "./support/run-bounded.ts";
import { runFuzz } from "./support/run-fuzz.ts";

const seed = Number(process.env.DEN_FUZZ_SEED ?? 12);
const mainTs = process.env.DEN_FUZZ_MAIN ?? join(import.meta.dir, "../../main.ts");
const limits = {
  // A hang is a case that never ends. The slowest honest one was `template validate --fill` of a 40,000-forward
  // template (10.7 MB of YAML, 5-7 s alone, over 20 s with four cases at once beside a booting VM); it has 10,000 now.
  timeoutMs: Number(process.env.DEN_FUZZ_TIMEOUT_MS ?? 20_000),
  maxRssBytes: 1536 * 1024 * 1024,
  maxOutputBytes: 1024 * 1024,
  concurrency: Number(process.env.DEN_FUZZ_CONCURRENCY ?? 4),
};

const facts = (overrides: Partial<RunFacts>): RunFacts => ({
  exitCode: 1,
  signal: null,
  stderr: 'error: Cannot delete instance "x": it does not exist\nhint: see den list for the instances\n',
  stderrBytes: 80,
  echoLength: 0,
  secretInStderr: false,
  mustFail: true,
  timeoutMs: 12_000,
  maxRssBytes: 1024 * 1024 * 1024,
  ...overrides,
});

describe("classifyRun()", () => {
  test.each([
    { name: "an error with a hint is clean", run: facts({}), category: "clean" },
    { name: "a commander usage error is clean without a hint", run: facts({ stderr: "error: unknown option '--nope'\n" }), category: "clean" },
    { name: "an error without a hint is ugly", run: facts({ stderr: "error: Cannot read it\n" }), category: "ugly" },
    { name: "a failure without an error line is ugly", run: facts({ stderr: "scp: /x: No such file or directory\n" }), category: "ugly" },
    { name: "a bug notice is ugly", run: facts({ stderr: "error: boom\nhint: this looks like a bug in den; run with --debug for a stack trace\n" }), category: "ugly" },
    { name: "a stack trace is ugly", run: facts({ stderr: "error: boom\nhint: h\n    at main (/work/main/main.ts:3:1)\n" }), category: "ugly" },
    { name: "a node warning is ugly", run: facts({ exitCode: 0, stderr: "(node:123) Warning: x\n" }), category: "ugly" },
    { name: "an uncaught exception is ugly", run: facts({ stderr: "SyntaxError: Unexpected token\n\nBun v1.4.5 (Linux x64)\n" }), category: "ugly" },
    { name: "errno text without a path is ugly", run: facts({ stderr: "error: EACCES: permission denied\nhint: h\n" }), category: "ugly" },
    { name: "errno text with its path is clean", run: facts({ stderr: 'error: Cannot write "/x/den.yaml": permission denied\nhint: h\n' }), category: "clean" },
    { name: "control bytes are ugly", run: facts({ stderr: 'error: Invalid instance name "\x1b[31m"\nhint: h\n' }), category: "ugly" },
    { name: "a long echo is ugly", run: facts({ echoLength: 301 }), category: "ugly" },
    { name: "a secret in stderr is ugly", run: facts({ secretInStderr: true }), category: "ugly" },
    { name: "a signal is a crash", run: facts({ exitCode: null, signal: "SIGSEGV" }), category: "crash" },
    { name: "Bun's crash banner is a crash", run: facts({ stderr: "oh no: Bun has crashed. This indicates a bug in Bun, not your code.\n" }), category: "crash" },
    { name: "an exit code den does not use is a crash", run: facts({ exitCode: 134 }), category: "crash" },
    { name: "a timeout is a hang", run: facts({ exitCode: null, signal: "SIGKILL", killedFor: "timeout" }), category: "hang" },
    { name: "a memory blow-up is a hang", run: facts({ exitCode: null, signal: "SIGKILL", killedFor: "memory" }), category: "hang" },
    { name: "processes left behind are a hang", run: facts({ leftBehind: true }), category: "hang" },
    { name: "a zero exit is accepted", run: facts({ exitCode: 0, stderr: "" }), category: "accepted" },
  ])("classifyRun(): $name", ({ run, category }) => {
    expect(classifyRun(run).category).toBe(category);
  });

  test("classifyRun() flags a zero exit for input that must be refused", () => {
    expect(classifyRun(facts({ exitCode: 0, stderr: "", mustFail: true })).acceptedInvalid).toBe(true);
    expect(classifyRun(facts({ exitCode: 0, stderr: "", mustFail: false })).acceptedInvalid).toBe(false);
  });
});

describe("longestEcho()", () => {
  const secret = Array.from({ length: 200 }, (_, i) => `line ${i} of a file den should not print whole`).join("\n");
  test.each([
    { name: "finds a whole file quoted in an error", output: `error: Cannot parse "${secret}"`, inputs: [secret], atLeast: secret.length },
    { name: "ignores a short excerpt", output: `error: Cannot parse "${secret.slice(0, 100)}"`, inputs: [secret], atLeast: 0 },
    { name: "finds an echo in the middle of an input", output: `x ${secret.slice(1000, 1600)} y`, inputs: ["a", `${"z".repeat(777)}${secret}`], atLeast: 600 },
    { name: "finds nothing in unrelated output", output: "error: something else entirely\n".repeat(50), inputs: [secret], atLeast: 0 },
  ])("longestEcho() $name", ({ output, inputs, atLeast }) => {
    const found = longestEcho(output, inputs);
    if (atLeast === 0) expect(found).toBeLessThan(300);
    else expect(found).toBeGreaterThanOrEqual(atLeast);
  });
});

describe("generateFuzzCases()", () => {
  test("generateFuzzCases() gives the same cases for the same seed and at least 300 of them", () => {
    const first = generateFuzzCases({ seed });
    expect(first.length).toBeGreaterThanOrEqual(300);
    expect(generateFuzzCases({ seed }).map(commandLine)).toEqual(first.map(commandLine));
  });

  test("generateFuzzCases() reaches every den command and every option that takes a value", async () => {
    const { buildProgram } = await import("../../lib/cli/program.ts");
    const args = generateFuzzCases({ seed }).map((fuzzCase) => fuzzCase.args);
    const used = new Set(args.flatMap((argv) => argv.map((arg) => arg.replace(/=.*$/s, ""))));
    const commands = buildProgram().commands;
    const missingCommands = commands.map((command) => command.name()).filter((name) => !args.some((argv) => argv[0] === name || argv.includes(name)));
    const missingOptions = commands
      .flatMap((command) => [command, ...command.commands])
      .flatMap((command) => command.options.filter((option) => option.required && option.long !== undefined).map((option) => option.long as string))
      .filter((long) => !used.has(long));
    expect({ missingCommands, missingOptions: [...new Set(missingOptions)] }).toEqual({ missingCommands: [], missingOptions: [] });
  });
});

test(
  "den answers generated bad inputs without ugly errors, crashes, hangs, changes outside DEN_HOME or leaked secrets",
  async () => {
    const only = new Set((process.env.DEN_FUZZ_ONLY ?? "").split(",").filter(Boolean).map(Number));
    const cases = generateFuzzCases({ seed }).filter((fuzzCase) => only.size === 0 || only.has(fuzzCase.id));
    await using sandbox = await makeFuzzSandbox({ mainTs, seed });
    await expectDenLoads(sandbox.root);

    const started = performance.now();
    const results = await runFuzz(sandbox, cases, limits);
    const report = renderFuzzReport(results, { seed, concurrency: limits.concurrency, durationMs: performance.now() - started, mainTs });
    console.log(report);
    if (process.env.DEN_FUZZ_REPORT) await writeFile(process.env.DEN_FUZZ_REPORT, report);

    const counts = countResults(results);
    if (only.size === 0) expect(counts.cases).toBeGreaterThanOrEqual(300);
    expect({ ugly: counts.ugly, crashes: counts.crashes, hangs: counts.hangs, outsideChanges: counts.outsideChanges, leaks: counts.leaks }).toEqual({
      ugly: 0,
      crashes: 0,
      hangs: 0,
      outsideChanges: 0,
      leaks: 0,
    });
  },
  600_000,
);

/** A den that does not even load would make every case ugly; say so once instead. */
async function expectDenLoads(root: string): Promise<void> {
  const run = await runBounded([process.execPath, mainTs, "--version"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, DEN_HOME: join(root, "version-home") },
    timeoutMs: 30_000,
    maxRssBytes: limits.maxRssBytes,
    maxOutputBytes: 64 * 1024,
  });
  if (run.exitCode !== 0) throw new Error(`den does not load (${mainTs}), so no case can say anything:\n${run.stderr}`);
}
