import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../../lib/errors.ts";
import { caughtError } from "../../support/caught-den-error.ts";
import { checkConfig, checkIsConfiguration } from "../../../lib/config/check.ts";
import { parseConfigText } from "../../../lib/config/parse.ts";

function check(text: string) {
  return checkConfig(parseConfigText(text, { file: "lima.yaml" }), { file: "lima.yaml" });
}

function issuesOf(text: string): ConfigError {
  return caughtError(() => check(text), ConfigError);
}

describe("checkConfig()", () => {
  test("checkConfig() accepts the every-key file", () => {
    const text = readFileSync(join(import.meta.dir, "../../fixtures/config/every-key.yaml"), "utf8");
    expect(check(text).images).toHaveLength(2);
  });

  test("checkConfig() treats an empty file as an empty configuration", () => {
    expect(check("# only a comment\n")).toEqual({});
  });

  test.each([
    { text: "mountTyp: 9p\n", path: ["mountTyp"], hint: 'did you mean "mountType"?' },
    { text: "cpu: 2\n", path: ["cpu"], hint: 'did you mean "cpus"?' },
    { text: "memroy: 4GiB\n", path: ["memroy"], hint: 'did you mean "memory"?' },
    { text: "image:\n- location: x\n", path: ["image"], hint: 'did you mean "images"?' },
    { text: "portforwards: []\n", path: ["portforwards"], hint: 'did you mean "portForwards"?' },
    { text: "mounts:\n- location: /x\n  writeable: true\n", path: ["mounts", 0, "writeable"], hint: 'did you mean "writable"?' },
    { text: "mounts:\n- location: /x\n  mountpoint: /y\n", path: ["mounts", 0, "mountpoint"], hint: 'did you mean "mountPoint"?' },
    { text: "ssh:\n  forwardAgnet: true\n", path: ["ssh", "forwardAgnet"], hint: 'did you mean "forwardAgent"?' },
    { text: "vmOpts:\n  qemu:\n    cpuTyp: {}\n", path: ["vmOpts", "qemu", "cpuTyp"], hint: 'did you mean "cpuType"?' },
    { text: "images:\n- location: x\n  digset: sha256:0\n", path: ["images", 0, "digset"], hint: 'did you mean "digest"?' },
    { text: "provision:\n- mode: system\n  scirpt: echo\n", path: ["provision", 0, "scirpt"], hint: 'did you mean "script"?' },
    { text: "portForwards:\n- guestPort: 80\n  hostPorts: 8080\n", path: ["portForwards", 0, "hostPorts"], hint: 'did you mean "hostPort"?' },
    { text: "hostResolver:\n  enable: false\n", path: ["hostResolver", "enable"], hint: 'did you mean "enabled"?' },
    { text: "user:\n  nmae: bob\n", path: ["user", "nmae"], hint: 'did you mean "name"?' },
    { text: "base:\n  url: x\n  digets: y\n", path: ["base", "digets"], hint: 'did you mean "digest"?' },
    { text: "totallyUnrelated: 1\n", path: ["totallyUnrelated"], hint: undefined },
  ])("checkConfig() reports the unknown key $path with hint $hint", ({ text, path, hint }) => {
    const error = issuesOf(text);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.issues).toHaveLength(1);
    const key = String(path.at(-1));
    expect(error.issues[0]).toMatchObject({ path, message: `Unknown key "${key}"` });
    expect(error.issues[0]?.hint).toBe(hint);
  });

  test("checkConfig() does not suggest a key that is already present", () => {
    const error = issuesOf("mountType: 9p\nmountTypes: 9p\n");
    expect(error.issues[0]?.hint).not.toBe('did you mean "mountType"?');
  });

  test.each([
    { name: "an unknown key at its key", text: "cpus: 2\n  \nmountTyp: 9p\n", want: 'lima.yaml:3:1: mountTyp: Unknown key "mountTyp"' },
    { name: "a wrong type at its value", text: "cpus: four\n", want: 'lima.yaml:1:7: cpus: Expected an integer, got "four"' },
    { name: "a fraction where an integer belongs", text: "cpus: 1.5\n", want: "lima.yaml:1:7: cpus: Expected an integer, got 1.5" },
    { name: "a string where a boolean belongs", text: "plain: yes\n", want: 'lima.yaml:1:8: plain: Expected true or false, got "yes"' },
    { name: "a nested wrong type", text: "mounts:\n- location: /x\n  9p:\n    cache: 1\n", want: "lima.yaml:4:12: mounts[0].9p.cache: Expected a string, got 1" },
    { name: "a missing required key at its parent", text: "images:\n- arch: x86_64\n", want: 'lima.yaml:2:3: images[0].location: Missing required key "location"' },
    { name: "an unknown enum value", text: "portForwards:\n- proto: tcpp\n", want: 'lima.yaml:2:10: portForwards[0].proto: Unknown value "tcpp": expected one of "tcp", "udp", "any"' },
    { name: "a short port range", text: "portForwards:\n- guestPortRange: [1]\n", want: "lima.yaml:2:19: portForwards[0].guestPortRange: Expected at least 2 items, got 1" },
    { name: "a negative port", text: "ssh:\n  localPort: -1\n", want: "lima.yaml:2:14: ssh.localPort: Expected a number >= 0, got -1" },
    { name: "an invalid IP", text: "dns:\n- 1.2.3\n", want: 'lima.yaml:2:3: dns[0]: Expected an IP address, got "1.2.3"' },
    { name: "a wrong kind in a union", text: "base: 3\n", want: "lima.yaml:1:7: base: Expected a string, a mapping or a list, got 3" },
    { name: "a wrong field inside a union's object", text: "provision:\n- file:\n    url: 1\n", want: "lima.yaml:3:10: provision[0].file.url: Expected a string, got 1" },
    { name: "a mapping where a map value must be a scalar", text: "env:\n  A: {b: 1}\n", want: "lima.yaml:2:6: env.A: Expected a string, a number, a boolean or null, got a mapping" },
    { name: "a list at the top level", text: "- a\n- b\n", want: "lima.yaml:1:1: Expected a mapping, got a list" },
  ])("checkConfig() locates $name", ({ text, want }) => {
    expect(issuesOf(text).message).toBe(want);
  });

  test("checkConfig() collects every issue in file order", () => {
    const error = issuesOf("cpus: x\nmemory: 1\nmountTyp: 9p\nplain: 1\n");
    expect(error.issues.map((issue) => [issue.line, issue.column])).toEqual([
      [1, 7],
      [3, 1],
      [4, 8],
    ]);
    expect(error.issues.every((issue) => issue.file === "lima.yaml")).toBe(true);
  });

  test("checkConfig() carries the unknown-key hint onto the error", () => {
    expect(issuesOf("mountTyp: 9p\n").hint).toBe('did you mean "mountType"?');
  });

  test("checkConfig() suggests the nearest enum value", () => {
    expect(issuesOf("provision:\n- mode: sytem\n  script: x\n").issues[0]?.hint).toBe('did you mean "system"?');
  });
});

describe("unknown keys that are not key names", () => {
  test.each([
    { name: "a shadow line read as a key", text: "root:$6$salt$hash0123456789:19000:0:99999:7:::\ncpus: 2\n", path: [], length: 45, line: 1 },
    { name: "a key with spaces in a mount", text: "mounts:\n- location: /x\n  rm -rf /: 1\n", path: ["mounts", 0], length: 8, line: 3 },
    { name: "a complex key", text: "? [a, b]\n: c\ncpus: 2\n", path: [], length: 8, line: 1 },
    { name: "a key longer than 40 characters", text: `${"k".repeat(41)}: 1\ncpus: 2\n`, path: [], length: 41, line: 1 },
  ])("checkConfig() points at $name without quoting it", ({ text, path, length, line }) => {
    const error = issuesOf(text);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ path, message: `Unknown key that is not a key name (${length} characters, not shown)`, line, column: path.length > 0 ? 3 : 1 });
    expect(error.message).not.toContain("$6$");
    expect(error.message).not.toContain("rm -rf");
    expect(error.hint).toBeDefined();
  });
});

describe("checkIsConfiguration()", () => {
  test.each([
    { name: "a shadow file", text: "root:$6$x:1:::\ndaemon:*:1:::\n", refused: true },
    { name: "a partial configuration", text: "cpus: 2\n", refused: false },
    { name: "a file with a near miss of a known key", text: "cpu: 2\nfoo: 1\n", refused: false },
    { name: "a file of one unknown key", text: "foo: 1\n", refused: false },
    { name: "a list", text: "- a\n", refused: false },
  ])("checkIsConfiguration() refuses $name: $refused", ({ text, refused }) => {
    const run = () => checkIsConfiguration(parseConfigText(text, { file: "base.yaml" }), { file: "base.yaml" });
    if (!refused) {
      expect(run).not.toThrow();
      return;
    }
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (error) {
      expect((error as ConfigError).message).toMatch(/^base\.yaml:1:1: Not a Lima or den configuration: none of its 2 top-level keys is known$/);
    }
  });
});
