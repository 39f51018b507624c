import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runYqCommand } from "../../agent/yq-command.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "den-yq-command-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with `{dir}` in the arguments replaced by the temp dir. */
async function run(args: readonly string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runYqCommand(
    args.map((arg) => arg.replaceAll("{dir}", dir)),
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
  );
  return { code, stdout, stderr };
}

function put(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

function read(path: string): string | undefined {
  return existsSync(join(dir, path)) ? readFileSync(join(dir, path), "utf8") : undefined;
}

/** Files the command left in the temp dir, so a failed or finished write is seen to leave no temp file behind. */
function leftovers(): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.includes(".den-yq-"));
}

describe("runYqCommand() writes files", () => {
  test.each([
    {
      name: "edits a YAML file in place keeping its comments, key order and indented lists",
      files: { "etc/app.yaml": "# app settings\nname: app # the name\nlist:\n  - a\nlast: 1\n" },
      expression: '.list += ["b"] | .name = "den" | .extra.key = true',
      path: "etc/app.yaml",
      expected: "# app settings\nname: den # the name\nlist:\n  - a\n  - b\nlast: 1\nextra:\n  key: true\n",
    },
    {
      name: "keeps a file's flush list style",
      files: { "a.yml": "list:\n- a\nmore:\n- x\n" },
      expression: '.list += ["b"]',
      path: "a.yml",
      expected: "list:\n- a\n- b\nmore:\n- x\n",
    },
    {
      name: "creates a missing YAML file and its parent directories from null input",
      files: {},
      expression: '.a.b = "c" | .l = [1, 2]',
      path: "new/dir/conf.yaml",
      expected: "a:\n  b: c\nl:\n  - 1\n  - 2\n",
    },
    {
      name: "creates a missing JSON file as indented JSON when the extension is .json",
      files: {},
      expression: '.server.port = 8080 | .server.hosts = ["a", "b"] | .name = "ünï"',
      path: "app.json",
      expected: '{\n  "server": {\n    "port": 8080,\n    "hosts": [\n      "a",\n      "b"\n    ]\n  },\n  "name": "ünï"\n}\n',
    },
    {
      name: "edits an existing JSON file keeping its key order",
      files: { "app.json": '{"b": 1, "a": {"x": true}}' },
      expression: '.a.y = null | .b += 1',
      path: "app.json",
      expected: '{\n  "b": 2,\n  "a": {\n    "x": true,\n    "y": null\n  }\n}\n',
    },
    {
      name: "treats an empty JSON file as null input",
      files: { "empty.json": "\n" },
      expression: ".a = 1",
      path: "empty.json",
      expected: '{\n  "a": 1\n}\n',
    },
    {
      name: "uses --format over the extension",
      files: { "settings.conf": '{"k": "v"}\n' },
      expression: '.k = "w"',
      format: "json",
      path: "settings.conf",
      expected: '{\n  "k": "w"\n}\n',
    },
    {
      name: "reads an existing file without a known extension as YAML, without a warning",
      files: { "config": "a: 1 # one\n" },
      expression: ".b = 2",
      path: "config",
      expected: "a: 1 # one\nb: 2\n",
    },
    {
      name: "reads an empty YAML file as null input",
      files: { "empty.yaml": "" },
      expression: '.k = "v"',
      path: "empty.yaml",
      expected: "k: v\n",
    },
  ])("runYqCommand() $name", async ({ files, expression, format, path, expected }) => {
    for (const [file, text] of Object.entries(files)) put(file, text);
    put("expr", `${expression}\n`);
    const result = await run(["--expression-file", "{dir}/expr", ...(format ? ["--format", format] : []), "--in-place", `{dir}/${path}`]);
    expect(result).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(read(path)).toBe(expected);
    expect(leftovers()).toEqual([]);
  });

  test("runYqCommand() creates a file with an unknown extension as YAML and warns as Lima does", async () => {
    const result = await run(["--expression", ".a = 1", "--in-place", "{dir}/noext"]);
    expect(result).toEqual({ code: 0, stdout: "", stderr: `WARNING Cannot determine the format of "${dir}/noext" from its name, using yaml\n` });
    expect(read("noext")).toBe("a: 1\n");
  });

  test("runYqCommand() keeps the mode of an existing file", async () => {
    put("secret.yaml", "a: 1\n");
    chmodSync(join(dir, "secret.yaml"), 0o600);
    expect((await run(["--expression", ".a = 2", "-i", "{dir}/secret.yaml"])).code).toBe(0);
    expect(statSync(join(dir, "secret.yaml")).mode & 0o7777).toBe(0o600);
    expect(read("secret.yaml")).toBe("a: 2\n");
  });

  test("runYqCommand() replaces a symlink's target and keeps the link", async () => {
    put("real/conf.yaml", "a: 1\n");
    symlinkSync(join(dir, "real/conf.yaml"), join(dir, "link.yaml"));
    expect((await run(["--expression", ".a = 2", "--in-place", "{dir}/link.yaml"])).code).toBe(0);
    expect(lstatSync(join(dir, "link.yaml")).isSymbolicLink()).toBe(true);
    expect(read("real/conf.yaml")).toBe("a: 2\n");
  });

  test("runYqCommand() without --in-place prints the result and leaves the file alone", async () => {
    put("a.yaml", "a: 1 # keep\n");
    expect(await run(["--expression=.b = 2", "{dir}/a.yaml"])).toEqual({ code: 0, stdout: "a: 1 # keep\nb: 2\n", stderr: "" });
    expect(read("a.yaml")).toBe("a: 1 # keep\n");
  });
});

describe("runYqCommand() fails clearly and leaves the file untouched", () => {
  test.each([
    {
      name: "on an expression den cannot parse",
      files: { "a.yaml": "a: 1\n" },
      args: ["--expression", ".a = ", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot evaluate yq expression ".a = ": unexpected end of expression at column 6\n',
    },
    {
      name: "on a yq operator Lima disables",
      files: { "a.yaml": "a: 1\n" },
      args: ["--expression", '.a = env("HOME")', "-i", "{dir}/a.yaml"],
      message: 'error: Cannot evaluate yq expression ".a = env(\"HOME\")": operator "env" is disabled at column 6\n',
    },
    {
      name: "on a YAML file that does not parse, naming file, line and column",
      files: { "a.yaml": "a: [\n" },
      args: ["--expression", ".a = 1", "-i", "{dir}/a.yaml"],
      message: "error: {dir}/a.yaml:2:1: Cannot parse YAML: ",
    },
    {
      name: "on a JSON file that does not parse",
      files: { "a.json": "{nope" },
      args: ["--expression", ".a = 1", "-i", "{dir}/a.json"],
      message: 'error: Cannot parse JSON in "{dir}/a.json": ',
    },
    {
      name: "on a YAML file with several documents",
      files: { "a.yaml": "a: 1\n---\nb: 2\n" },
      args: ["--expression", ".a = 1", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot apply yq to "{dir}/a.yaml": it holds 2 YAML documents\n',
    },
    {
      name: "on an expression that yields no document",
      files: { "a.yaml": "l: []\n" },
      args: ["--expression", ".l[]", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot apply yq expression ".l[]": it yields 0 documents instead of one\n',
    },
    {
      name: "on an expression that yields two documents",
      files: { "a.yaml": "a: 1\n" },
      args: ["--expression", ".a, .a", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot apply yq expression ".a, .a": it yields 2 documents instead of one\n',
    },
    {
      name: "on a format Lima names but den cannot write, given by extension",
      files: { "a.toml": 'a = "x"\n' },
      args: ["--expression", ".a = 1", "-i", "{dir}/a.toml"],
      message: 'error: Cannot apply yq to "{dir}/a.toml": format "toml" is not supported by den\n',
    },
    {
      name: "on a format Lima names but den cannot write, given by flag",
      files: { "a.yaml": "a: 1\n" },
      args: ["--expression", ".a = 1", "--format", "props", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot apply yq to "{dir}/a.yaml": format "props" is not supported by den\n',
    },
    {
      name: "on a directory",
      files: { "d/x": "" },
      args: ["--expression", ".a = 1", "-i", "{dir}/d"],
      message: 'error: Cannot apply yq to "{dir}/d": it is not a regular file\n',
    },
    {
      name: "on a missing expression file",
      files: { "a.yaml": "a: 1\n" },
      args: ["--expression-file", "{dir}/missing", "-i", "{dir}/a.yaml"],
      message: 'error: Cannot read yq expression file "{dir}/missing": ',
    },
  ])("runYqCommand() exits 1 $name", async ({ files, args, message }) => {
    for (const [file, text] of Object.entries(files)) put(file, text);
    const result = await run(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toStartWith(message.replaceAll("{dir}", dir));
    expect(result.stderr).toContain("\nhint: ");
    for (const [file, text] of Object.entries(files)) expect(read(file)).toBe(text);
    expect(leftovers()).toEqual([]);
  });
});

describe("runYqCommand() checks its command line", () => {
  test.each([
    { name: "without an expression", args: ["{dir}/a.yaml"], message: "error: Cannot parse arguments: give exactly one of --expression-file and --expression\n" },
    { name: "with two expressions", args: ["--expression", ".", "--expression-file", "f", "a"], message: "error: Cannot parse arguments: give exactly one of --expression-file and --expression\n" },
    { name: "without a path", args: ["--expression", "."], message: "error: Cannot parse arguments: expected one file path, got 0\n" },
    { name: "with two paths", args: ["--expression", ".", "a", "b"], message: "error: Cannot parse arguments: expected one file path, got 2\n" },
    { name: "with an unknown flag", args: ["--inplace-ish", "a"], message: 'error: Cannot parse arguments: unknown flag "--inplace-ish"\n' },
    { name: "with a flag missing its value", args: ["a", "--format"], message: "error: Cannot parse arguments: --format needs a value\n" },
    { name: "with an unknown format", args: ["--expression", ".", "--format", "yamlish", "a"], message: 'error: Cannot parse arguments: unknown format "yamlish"\n' },
  ])("runYqCommand() exits 2 $name", async ({ args, message }) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith(message);
    expect(result.stderr).toContain("\nhint: ");
  });
});
