// Issue 12 #6 (yq bounds) and #7 (config values): a short expression or value must not take gigabytes or hours,
// and a value den cannot use is refused at create/validate with its file:line:col, not later at start.
import { describe, expect, test } from "bun:test";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyYqToYamlText } from "../../lib/config/apply-yq-to-yaml-text.ts";
import { caughtDenError } from "../support/caught-den-error.ts";
import { evaluateYqAll } from "../../lib/yq/evaluate-yq.ts";
import { makeDenHome, runDen } from "../lib/cli/support/run-den.ts";

const Image = 'images: [{location: "https://example.com/x.img", arch: x86_64}]\n';

/** A template file in a fresh DEN_HOME; den create and validate read it by path. */
async function templateFile(text: string): Promise<{ denHome: string; file: string }> {
  const denHome = await makeDenHome();
  const file = join(denHome, "t.yaml");
  await writeFile(file, text);
  return { denHome, file };
}

async function instances(denHome: string): Promise<string[]> {
  return (await readdir(denHome)).filter((name) => !name.startsWith("_") && name !== "t.yaml");
}

describe("yq bounds", () => {
  test("den create --set with index 99999999 is refused at once, naming the expression and the index", async () => {
    const { denHome, file } = await templateFile(Image);
    const started = performance.now();
    const run = await runDen(["create", "--name", "vm", "--set", '.images[99999999].arch="x"', file], { denHome });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Cannot evaluate yq expression ".images[99999999].arch="x"": cannot set index 99999999');
    expect(run.stderr).toContain("more than 1024 past the end of the list (length 1)");
    expect(await instances(denHome)).toEqual([]);
  });

  test("an index just past the end still pads with nulls, as yq does", () => {
    expect(applyYqToYamlText("a: [1]\n", [".a[3] = 4"])).toBe("a: [ 1, null, null, 4 ]\n");
  });

  test.each([
    { name: "doubling a list 40 times", exprs: [".a = [1, 2, 3, 4]", ...Array<string>(40).fill(".a += .a")], reason: "grow by more than" },
    { name: "doubling a string 40 times", exprs: ['.s = "xxxxxxxxxxxxxxxx"', ...Array<string>(40).fill(".s += .s")], reason: "grow by more than" },
    { name: "nesting a list in itself 60 times", exprs: [".a = [1]", ...Array<string>(60).fill(".a = [.a, .a]")], reason: "grow by more than" },
    { name: "2^30 results of commas", exprs: [`${Array<string>(30).fill("(.,.)").join(" | ")} | .cpus = 3`], reason: "steps" },
    { name: "an object of 2^30 combinations", exprs: [`{${Array.from({ length: 30 }, (_, i) => `k${i}: (1,2)`).join(", ")}} | .`], reason: "steps" },
    { name: "100,000 nested parentheses", exprs: [`${"(".repeat(100_000)}.${")".repeat(100_000)}`], reason: "nests more than 1000 levels" },
    { name: "a path 100,000 keys long", exprs: [`.${Array<string>(100_000).fill("a").join(".")} = 1`], reason: "nests more than 1000 levels" },
    { name: "a sum of 100,000 terms", exprs: [`1${" + 1".repeat(100_000)}`], reason: "nests more than 1000 levels" },
  ])("applyYqToYamlText() refuses $name within seconds", ({ exprs, reason }) => {
    const started = performance.now();
    const error = caughtDenError(() => applyYqToYamlText("cpus: 1\n", exprs));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error.code).toBe("YQ_EXPR");
    expect(error.message).toContain(reason);
  });

  test("evaluateYqAll() keeps the budget of a large input: growth is measured beyond the input's own size", () => {
    const input = { list: Array.from({ length: 200_000 }, (_, i) => i) };
    expect(evaluateYqAll(input, ".list | length")).toEqual([200_000]);
    expect(() => evaluateYqAll(input, ".list + .list + .list + .list + .list + .list + .list")).toThrow("grow by more than");
  });
});

describe("env: is checked at create and validate", () => {
  test.each([
    { name: "a key with a space", env: '  "BAD KEY": x\n', message: 'env.BAD KEY: Invalid environment variable name "BAD KEY"' },
    { name: "a key starting with a digit", env: "  1A: x\n", message: 'env.1A: Invalid environment variable name "1A"' },
    { name: "a key with =", env: '  "A=B": x\n', message: 'env.A=B: Invalid environment variable name "A=B"' },
    { name: "a value with a line break", env: '  A: "one\\ntwo"\n', message: "env.A: Value contains a line break, which /etc/environment cannot hold" },
    { name: "a value with a carriage return", env: '  A: "one\\rtwo"\n', message: "env.A: Value contains a line break" },
    { name: "a value with NUL", env: '  A: "one\\0two"\n', message: "env.A: Value contains a NUL character" },
  ])("den create refuses $name with file:line:col and creates nothing", async ({ env, message }) => {
    const { denHome, file } = await templateFile(`${Image}env:\n${env}`);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`t\\.yaml:3:\\d+: ${escapeRegExp(message)}`));
    expect(await instances(denHome)).toEqual([]);
  });

  test("den validate refuses a bad env: key at its line", async () => {
    const { denHome, file } = await templateFile(`${Image}cpus: 2\nenv:\n  OK: fine\n  "NOT OK": x\n`);
    const run = await runDen(["validate", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/t\.yaml:5:\d+: env\.NOT OK: Invalid environment variable name "NOT OK"/);
    expect(run.stderr).toContain('hint: use letters, digits and "_", not starting with a digit');
  });

  test("den create accepts env: entries the seed can write", async () => {
    const { denHome, file } = await templateFile(`${Image}env:\n  EDITOR: vim -u NONE\n  _X1: "a 'quoted' \\"value\\" with $dollar"\n`);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.stderr).not.toContain("error:");
    expect(run.exitCode).toBe(0);
  });
});

describe("cpus, memory and disk", () => {
  test.each([
    { name: "cpus: 0", text: "cpus: 0\n", where: "t.yaml:2:7: cpus: Expected a number >= 1, got 0", hint: "give a positive number of CPUs" },
    { name: "cpus: -2", text: "cpus: -2\n", where: "t.yaml:2:7: cpus: Expected a number >= 1, got -2", hint: "give a positive number of CPUs" },
    { name: 'memory: "0"', text: 'memory: "0"\n', where: 't.yaml:2:9: memory: Must be larger than 0, got "0"', hint: "remove memory: to use the default" },
    { name: "memory: 0", text: "memory: 0\n", where: 't.yaml:2:9: memory: Must be larger than 0, got "0"', hint: "remove memory: to use the default" },
    { name: 'memory: "0GiB"', text: 'memory: "0GiB"\n', where: 't.yaml:2:9: memory: Must be larger than 0, got "0GiB"', hint: "remove memory: to use the default" },
    { name: 'memory: "512"', text: 'memory: "512"\n', where: 't.yaml:2:9: memory: Must be at least 1MiB, got "512"', hint: "remove memory: to use the default" },
    { name: "memory: -1", text: "memory: -1\n", where: 't.yaml:2:9: memory: Cannot parse size "-1": a size cannot be negative', hint: "remove memory: to use the default" },
    { name: 'memory: "NaN"', text: 'memory: "NaN"\n', where: 't.yaml:2:9: memory: Cannot parse size "NaN": not a number', hint: "remove memory: to use the default" },
    { name: 'memory: "99999999P"', text: 'memory: "99999999P"\n', where: 't.yaml:2:9: memory: Size "99999999P" is too large', hint: "remove memory: to use the default" },
    { name: 'disk: "0"', text: 'disk: "0"\n', where: 't.yaml:2:7: disk: Must be larger than 0, got "0"', hint: "remove disk: to use the default" },
    { name: 'disk: "-5GiB"', text: 'disk: "-5GiB"\n', where: 't.yaml:2:7: disk: Cannot parse size "-5GiB": a size cannot be negative', hint: "remove disk: to use the default" },
  ])("den create refuses $name at its place, with a hint", async ({ text, where, hint }) => {
    const { denHome, file } = await templateFile(`${Image}${text}`);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(where);
    expect(run.stderr).toMatch(new RegExp(`\nhint: .*${escapeRegExp(hint)}`));
    expect(await instances(denHome)).toEqual([]);
  });

  test("den create --cpus 0 is refused too", async () => {
    const { denHome, file } = await templateFile(Image);
    const run = await runDen(["create", "--name", "vm", "--cpus", "0", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(await instances(denHome)).toEqual([]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
