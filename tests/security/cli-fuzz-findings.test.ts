// What the generated hostile-CLI run (cli-fuzz.test.ts) found, one test per cause, so each stays fixed without the
// two-minute run: every config error has a hint, deep or long input is refused or handled in time, an unknown key
// of some other file (a shadow file as a base) is never quoted, argv is quoted only as a short excerpt, `den copy`
// never lets scp decide what is local, errno errors are explained, and `den list NAME` / `den help NAME` say
// `error:` with a `hint:`. Each run is judged by the fuzz run's own classifier.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DenRun, makeDenHome, runDen } from "../lib/cli/support/run-den.ts";
import { classifyRun } from "./support/classify-run.ts";
import { longestEcho } from "./support/echoed-input.ts";
import { validTemplate } from "./support/hostile-files.ts";

const Valid = validTemplate("/nonexistent/den-findings");
const Secret = "FINDINGSECRET";
const Shadow = `root:$6$${Secret}.shadow$Xq0pZr1a9b8c7d6e5f4g3h2i1j0kLmNoPqRsTuVwXyZ/abcdefghij:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nalice:$y$j9T$${Secret}.alice$0123456789abcdefghijklmnop:19000:0:99999:7:::\n`;

const Files: Record<string, string> = {
  "list.yaml": "- a\n- b\n",
  "scalar.yaml": "hello\n",
  "tags.yaml": `%YAML 1.1\n---\n${Valid}cpus: !!binary aGVsbG8=\n`,
  "complex-keys.yaml": `${Valid}? [a, b]\n: c\n`,
  "long-line.yaml": `${Valid}cpus: "${"x".repeat(100_000)}"\n`,
  "deep-block.yaml": `${Valid}provision:\n${Array.from({ length: 300 }, (_, level) => `${"  ".repeat(level)}-`).join("\n")} x\n`,
  "deep-flow-seq.yaml": `${Valid}cpus: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`,
  "deep-flow-map.yaml": `${Valid}env: ${"{a: ".repeat(50_000)}1${"}".repeat(50_000)}\n`,
  "shadow": Shadow,
  "base-shadow.yaml": `base: ./shadow\n${Valid}`,
  "one-shadow-key.yaml": `root:$6$${Secret}.x$abcdefghijklmnopqrstuvwxyz:19000:0:99999:7:::\n${Valid}`,
};

let work: string;
let denHome: string;

beforeAll(async () => {
  work = await makeDenHome();
  denHome = join(work, "home");
  await mkdir(join(denHome, "stopped"), { recursive: true });
  await writeFile(join(denHome, "stopped", "den.yaml"), Valid);
  for (const [name, text] of Object.entries(Files)) await writeFile(join(work, name), text);
  await symlink("symlink-loop.yaml", join(work, "symlink-loop.yaml"));
});

const den = (args: readonly string[], env: Record<string, string> = {}): Promise<DenRun> => runDen(args, { denHome, cwd: work, env: { HOME: work, ...env } });

/** The fuzz run's verdict: `error:` with a `hint:`, no bug notice, no control bytes, no long echo of `inputs`. */
function expectClean(run: DenRun, inputs: readonly string[] = []): void {
  const verdict = classifyRun({
    exitCode: run.exitCode,
    signal: null,
    stderr: run.stderr,
    stderrBytes: Buffer.byteLength(run.stderr),
    echoLength: longestEcho(run.stderr, inputs),
    secretInStderr: run.stderr.includes(Secret),
    mustFail: true,
    timeoutMs: 12_000,
    maxRssBytes: 1536 * 1024 * 1024,
  });
  expect({ category: verdict.category, reasons: verdict.reasons, stderr: run.stderr }).toMatchObject({ category: "clean", reasons: [] });
}

describe("every config error has a hint", () => {
  test.each(["list.yaml", "scalar.yaml", "tags.yaml", "complex-keys.yaml", "long-line.yaml", "deep-block.yaml"])("den validate %s fails with a hint", async (name) => {
    const run = await den(["validate", name]);
    expectClean(run, [Files[name] as string]);
  });

  test("den create --set with an escape sequence in a schema error has a hint and shows the byte escaped", async () => {
    const run = await den(["create", "--name", "fz", "--set", '.images = "\x1b[2J"', "template:default"]);
    expectClean(run);
    expect(run.stderr).toContain("\\x1b[2J");
  });

  test.each([
    { name: "a symbolic link loop", locator: "symlink-loop.yaml", reason: "(ELOOP)" },
    { name: "/proc/self/mem", locator: "/proc/self/mem", reason: "(EIO)" },
  ])("den validate of $name names the errno with a hint", async ({ locator, reason }) => {
    const run = await den(["validate", locator]);
    expectClean(run);
    expect(run.stderr).toContain(reason);
  });
});

describe("deep and long input is refused before it costs", () => {
  test.each(["deep-flow-seq.yaml", "deep-flow-map.yaml"])("den validate %s refuses the nesting at its line and column within seconds", async (name) => {
    const started = performance.now();
    const run = await den(["validate", name]);
    // It took a minute and 4.8 GB; the refusal needs no parse at all.
    expect(performance.now() - started).toBeLessThan(8000);
    expectClean(run);
    expect(run.stderr).toMatch(/:10:\d+: Cannot parse YAML: flow collections \(\[…\] and \{…\}\) are nested more than 1000 levels deep/);
  });
});

describe("an unknown key that is not a key name is never quoted", () => {
  test("den create of a template whose base is a shadow file says it is not a configuration and quotes none of it", async () => {
    const run = await den(["create", "--name", "t", "base-shadow.yaml"]);
    expectClean(run);
    expect(run.stderr).toContain("Not a Lima or den configuration");
    expect(run.stderr).not.toContain("$6$");
  });

  test("den validate of one shadow line among known keys says where it is, not what it says", async () => {
    const run = await den(["validate", "one-shadow-key.yaml"]);
    expectClean(run);
    expect(run.stderr).toContain("one-shadow-key.yaml:1:1: Unknown key that is not a key name");
    expect(run.stderr).not.toContain("$6$");
  });
});

describe("argv is quoted as a short excerpt", () => {
  test.each([
    { name: "a 10,000-digit --port-forward", args: ["create", "--port-forward", "9".repeat(10_000), "template:default"], input: "9".repeat(10_000) },
    { name: "a 10,000-character template name", args: ["template", "show", `template:${"x".repeat(10_000)}`], input: `template:${"x".repeat(10_000)}` },
  ])("den with $name quotes at most an excerpt of it", async ({ args, input }) => {
    const run = await den(args);
    expectClean(run, [input]);
  });

  test("a 5,000-character DEN_HOME is named as too long, not as a bug in den", async () => {
    const run = await runDen(["list"], { denHome: join(work, "d".repeat(5000)), cwd: work });
    expectClean(run, ["d".repeat(5000)]);
    expect(run.stderr).toContain("(ENAMETOOLONG)");
  });
});

describe("den copy decides what is local, never scp", () => {
  test.each([
    { operand: ":/etc/hostname", says: 'Invalid instance name "": must not be empty' },
    { operand: "../../victim:/etc/hostname", says: "Cannot copy: no path names an instance" },
    { operand: "./stopped:/etc/hostname", says: "Cannot copy: no path names an instance" },
    { operand: "/nonexistent/victim:/etc/hostname", says: "Cannot copy: no path names an instance" },
  ])("den copy $operand out is refused by den", async ({ operand, says }) => {
    const run = await den(["copy", operand, join(work, "out")]);
    expectClean(run);
    expect(run.stderr).toContain(`error: ${says}`);
  });
});

describe("usage errors say error: with a hint", () => {
  test("den list of a name that is no instance names it with a hint", async () => {
    const run = await den(["list", "default.yaml"]);
    expectClean(run);
    expect(run.stderr).toContain('error: Cannot find instance "default.yaml"');
  });

  test("den help of an unknown command says so with a hint", async () => {
    const run = await den(["help", "nope"]);
    expectClean(run);
    expect(run.stderr).toContain('error: Unknown command "nope"');
  });
});
