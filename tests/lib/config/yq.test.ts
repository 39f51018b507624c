import { expect, test } from "bun:test";
import { parse } from "yaml";
import { applyYqToYamlText, evaluateYq, evaluateYqAll } from "../../../lib/config/yq.ts";
import { DenError } from "../../../lib/errors.ts";

interface QueryRow {
  expr: string;
  input: unknown;
  expected: unknown[];
}

const list = { a: [1, 2, 3] };
const people = { people: [{ name: "ann", age: 30 }, { name: "bob", age: 20 }, { name: "cy" }] };

const queryRows: QueryRow[] = [
  { expr: ".", input: { a: 1 }, expected: [{ a: 1 }] },
  { expr: ".a.b", input: { a: { b: "x" } }, expected: ["x"] },
  { expr: ".a.missing", input: { a: {} }, expected: [null] },
  { expr: ".a.b.c", input: {}, expected: [null] },
  { expr: ".a[0]", input: list, expected: [1] },
  { expr: ".a[-1]", input: list, expected: [3] },
  { expr: ".a[-3]", input: list, expected: [1] },
  { expr: ".a[7]", input: list, expected: [null] },
  { expr: ".a[-7]", input: list, expected: [null] },
  { expr: '.a["k"]', input: { a: { k: 1 } }, expected: [1] },
  { expr: '.["k"]', input: { k: "v" }, expected: ["v"] },
  { expr: '.["a b"].c', input: { "a b": { c: true } }, expected: [true] },
  { expr: ".mount-type", input: { "mount-type": "9p" }, expected: ["9p"] },
  { expr: ".a[]", input: list, expected: [1, 2, 3] },
  { expr: ".a[]", input: { a: { x: 1, y: 2 } }, expected: [1, 2] },
  { expr: ".a[]", input: { a: null }, expected: [] },
  { expr: ".[]", input: [1, 2], expected: [1, 2] },
  { expr: ".people[].name", input: people, expected: ["ann", "bob", "cy"] },
  { expr: ".people[0].name", input: people, expected: ["ann"] },
  { expr: ".a, .b", input: { a: 1, b: 2 }, expected: [1, 2] },
  { expr: "(.a, .b) | . + 1", input: { a: 1, b: 2 }, expected: [2, 3] },
  // yq binds `,` more loosely than `|`.
  { expr: ".a, .b | length", input: { a: 1, b: "xyz" }, expected: [1, 3] },
  { expr: ".a[] | .", input: { a: ["x"] }, expected: ["x"] },
  { expr: ".a + .b", input: { a: 1, b: 2.5 }, expected: [3.5] },
  { expr: '.a + "!"', input: { a: "hi" }, expected: ["hi!"] },
  { expr: ".a + .b", input: { a: [1], b: [2, 3] }, expected: [[1, 2, 3]] },
  { expr: ".a + 4", input: { a: [1] }, expected: [[1, 4]] },
  { expr: ".a + .b", input: { a: { x: 1, y: 1 }, b: { y: 2, z: 2 } }, expected: [{ x: 1, y: 2, z: 2 }] },
  { expr: ".a + .b", input: { a: { x: { p: 1 } }, b: { x: { q: 2 } } }, expected: [{ x: { q: 2 } }] },
  { expr: ".missing + [1]", input: {}, expected: [[1]] },
  { expr: "[1] + .missing", input: {}, expected: [[1]] },
  { expr: "1 + 2 + 3", input: null, expected: [6] },
  { expr: ".people[] | select(.age > 25) | .name", input: people, expected: ["ann"] },
  { expr: '.people[] | select(.name == "bob") | .age', input: people, expected: [20] },
  { expr: '.people[] | select(.name != "bob") | .name', input: people, expected: ["ann", "cy"] },
  { expr: ".people[] | select(.age >= 20 and .age <= 25) | .name", input: people, expected: ["bob"] },
  { expr: ".people[] | select(.age < 25 or .age == null) | .name", input: people, expected: ["bob", "cy"] },
  { expr: '.people[] | select(.name == "ann" | not) | .name', input: people, expected: ["bob", "cy"] },
  { expr: ".people[] | select(has(\"age\") | not) | .name", input: people, expected: ["cy"] },
  { expr: '[.a[] | select(. > "b")]', input: { a: ["a", "b", "c"] }, expected: [["c"]] },
  { expr: "select(.x)", input: { x: false }, expected: [] },
  { expr: "select(.x)", input: { x: 0 }, expected: [{ x: 0 }] },
  { expr: ".a == .b", input: { a: { k: [1] }, b: { k: [1] } }, expected: [true] },
  { expr: '.a == "1"', input: { a: 1 }, expected: [false] },
  { expr: ".a == null", input: {}, expected: [true] },
  { expr: "true and false, true or false", input: null, expected: [false, true] },
  { expr: ".a | not", input: { a: null }, expected: [true] },
  { expr: ".a | unique", input: { a: [3, 1, 3, 2, 1] }, expected: [[3, 1, 2]] },
  { expr: ".a | unique", input: { a: [{ x: 1 }, { x: 1 }, { x: 2 }] }, expected: [[{ x: 1 }, { x: 2 }]] },
  { expr: ".a | unique_by(.n)", input: { a: [{ n: 1, v: "a" }, { n: 2 }, { n: 1, v: "b" }] }, expected: [[{ n: 1, v: "a" }, { n: 2 }]] },
  // As in yq, entries without the key all count as "null" and collapse into the first of them.
  {
    expr: ".networks | unique_by(.lima)",
    input: { networks: [{ lima: "shared" }, { socket: "/s" }, { vzNAT: true }, { lima: "shared" }] },
    expected: [[{ lima: "shared" }, { socket: "/s" }]],
  },
  { expr: ".a | length", input: list, expected: [3] },
  { expr: ".a | length", input: { a: { x: 1, y: 2 } }, expected: [2] },
  { expr: ".a | length", input: { a: "héllo" }, expected: [5] },
  { expr: ".a | length", input: {}, expected: [0] },
  { expr: ".a | length", input: { a: 1234 }, expected: [4] },
  { expr: "keys", input: { b: 1, a: 2 }, expected: [["b", "a"]] },
  { expr: ".a | keys", input: { a: ["x", "y"] }, expected: [[0, 1]] },
  { expr: 'has("a"), has("z")', input: { a: null }, expected: [true, false] },
  { expr: ".a | (has(0), has(3), has(-1))", input: list, expected: [true, false, true] },
  { expr: '.missing | has("a")', input: {}, expected: [false] },
  { expr: ".a | map(. + 1)", input: list, expected: [[2, 3, 4]] },
  { expr: ".a | map(.n)", input: { a: { x: { n: 1 }, y: { n: 2 } } }, expected: [[1, 2]] },
  { expr: "map(select(. > 1))", input: [1, 2, 3], expected: [[2, 3]] },
  { expr: ".a | sort", input: { a: ["b", 3, null, "a", 1, true, false] }, expected: [[null, false, true, 1, 3, "a", "b"]] },
  { expr: "1.5, -3, 2e3", input: null, expected: [1.5, -3, 2000] },
  { expr: '"a\\"b\\n\\u00e9\\\\"', input: null, expected: ['a"b\né\\'] },
  { expr: "true, false, null", input: { a: 1 }, expected: [true, false, null] },
  { expr: "[]", input: null, expected: [[]] },
  { expr: '[1, "a", .x]', input: { x: [2] }, expected: [[1, "a", [2]]] },
  { expr: "[.a[] | . + 10]", input: list, expected: [[11, 12, 13]] },
  { expr: '{"k": 1, k2: .a, "n": {}}', input: { a: "v" }, expected: [{ k: 1, k2: "v", n: {} }] },
  { expr: '{"k": .a[]}', input: { a: [1, 2] }, expected: [{ k: 1 }, { k: 2 }] },
  { expr: '{"k": .a | length}', input: { a: [1, 2] }, expected: [{ k: 2 }] },
  { expr: "del(.a)", input: { a: 1, b: 2 }, expected: [{ b: 2 }] },
  { expr: "del(.a[0], .a[2])", input: { a: [1, 2, 3, 4] }, expected: [{ a: [2, 4] }] },
  { expr: "del(.a[] | select(. == 2))", input: { a: [1, 2, 3, 2] }, expected: [{ a: [1, 3] }] },
  { expr: "del(.x.y)", input: { a: 1 }, expected: [{ a: 1 }] },
  { expr: "del(.a[-1])", input: list, expected: [{ a: [1, 2] }] },
  { expr: ".a | del(.b)", input: { a: { b: 1, c: 2 } }, expected: [{ c: 2 }] },
  { expr: ".constructor", input: {}, expected: [null] },
];

test.each(queryRows)("evaluateYqAll() evaluates $expr", ({ expr, input, expected }) => {
  expect(evaluateYqAll(input, expr)).toEqual(expected);
});

interface UpdateRow {
  expr: string;
  input: unknown;
  expected: unknown;
}

const updateRows: UpdateRow[] = [
  { expr: ".a = 1", input: { a: 0, b: 2 }, expected: { a: 1, b: 2 } },
  { expr: ".a.b.c = 1", input: {}, expected: { a: { b: { c: 1 } } } },
  { expr: ".a[0] = 1", input: {}, expected: { a: [1] } },
  { expr: '.a[2] = "x"', input: { a: [] }, expected: { a: [null, null, "x"] } },
  { expr: ".a[-1] = 9", input: { a: [1, 2] }, expected: { a: [1, 9] } },
  { expr: ".a[0].b = true", input: null, expected: { a: [{ b: true }] } },
  { expr: ".a = .b", input: { a: 1, b: { c: 2 } }, expected: { a: { c: 2 }, b: { c: 2 } } },
  { expr: ".a.x = .y", input: { a: { y: "inner" }, y: "outer" }, expected: { a: { y: "inner", x: "outer" }, y: "outer" } },
  { expr: ".a |= . + 1", input: { a: 1 }, expected: { a: 2 } },
  { expr: ".a.x |= .y", input: { a: { x: { y: "inner" } }, y: "outer" }, expected: { a: { x: "inner" }, y: "outer" } },
  { expr: ".a[] |= . + 1", input: { a: [1, 2] }, expected: { a: [2, 3] } },
  { expr: ".a[] = 0", input: { a: [1, 2] }, expected: { a: [0, 0] } },
  { expr: ".a[] = 0", input: { a: { x: 1, y: 2 } }, expected: { a: { x: 0, y: 0 } } },
  { expr: ".a[].w = true", input: { a: [{}, { w: false }] }, expected: { a: [{ w: true }, { w: true }] } },
  { expr: ".mounts[].writable = true", input: { mounts: null }, expected: { mounts: null } },
  { expr: ".mounts[].writable = true", input: {}, expected: {} },
  { expr: ".a += [3]", input: { a: [1, 2] }, expected: { a: [1, 2, 3] } },
  { expr: ".a += [3]", input: {}, expected: { a: [3] } },
  { expr: ".n += 2", input: { n: 1 }, expected: { n: 3 } },
  { expr: '.s += "x"', input: { s: "a" }, expected: { s: "ax" } },
  { expr: ".a.b += .c", input: { a: { b: [1], c: [9] }, c: [2] }, expected: { a: { b: [1, 2], c: [9] }, c: [2] } },
  { expr: ".a += [1] | .a |= unique", input: { a: [1, 2] }, expected: { a: [1, 2] } },
  { expr: '.images = [.images[] | select(.arch == "x86_64")]', input: { images: [{ arch: "x86_64" }, { arch: "aarch64" }] }, expected: { images: [{ arch: "x86_64" }] } },
  { expr: '.param["K"] = "V"', input: { param: { A: "1" } }, expected: { param: { A: "1", K: "V" } } },
  { expr: '.["a b"] = 1', input: {}, expected: { "a b": 1 } },
  { expr: ".a = 1 | .b = 2", input: {}, expected: { a: 1, b: 2 } },
  { expr: "(.a, .b) = 5", input: {}, expected: { a: 5, b: 5 } },
  { expr: '.a = {"k": .b, "l": [.b]}', input: { b: 1 }, expected: { a: { k: 1, l: [1] }, b: 1 } },
  { expr: ".a = null", input: { a: [1] }, expected: { a: null } },
  { expr: ".a |= del(.b)", input: { a: { b: 1, c: 2 } }, expected: { a: { c: 2 } } },
  { expr: ".list |= sort", input: { list: [3, 1, 2] }, expected: { list: [1, 2, 3] } },
  { expr: ".x |= length", input: { x: [1, 2] }, expected: { x: 2 } },
  { expr: ".a = .a + .b", input: { a: [1], b: [2] }, expected: { a: [1, 2], b: [2] } },
  { expr: ".people[] |= select(.age > 1) | .n = 1", input: { people: [] }, expected: { people: [], n: 1 } },
  { expr: ".a.b = 1 | del(.a)", input: {}, expected: {} },
  { expr: "(.a | .b) = 2", input: { a: { b: 1 } }, expected: { a: { b: 2 } } },
  // The right side yields nothing, so there is nothing to assign.
  { expr: ".a = .b[]", input: { a: 1, b: [] }, expected: { a: 1, b: [] } },
  { expr: ".__proto__ = 1", input: {}, expected: JSON.parse('{"__proto__": 1}') },
];

test.each(updateRows)("evaluateYq() applies $expr", ({ expr, input, expected }) => {
  expect(evaluateYq(input, expr)).toEqual(expected);
});

test("evaluateYq() does not change its input", () => {
  const input = { a: { b: [1] } };
  evaluateYq(input, ".a.b += [2] | .a.c = 1 | del(.a.b[0])");
  expect(input).toEqual({ a: { b: [1] } });
});

test("evaluateYq() returns null when the expression yields nothing", () => {
  expect(evaluateYq([1], ".[] | select(. > 5)")).toBeNull();
});

test("evaluateYqAll() yields one document per assignment joined with a comma", () => {
  expect(evaluateYqAll({}, ".a = 1, .b = 2")).toEqual([{ a: 1 }, { b: 2 }]);
});

interface ErrorRow {
  expr: string;
  input: unknown;
  message: string;
}

const evaluationErrorRows: ErrorRow[] = [
  { expr: ".a + 1", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a + 1": operator "+" cannot add a map and a number at column 4' },
  { expr: '.a + "s"', input: { a: 1 }, message: 'Cannot evaluate yq expression ".a + "s"": operator "+" cannot add a number and a string at column 4' },
  { expr: ".a += 1", input: { a: "x" }, message: 'Cannot evaluate yq expression ".a += 1": operator "+" cannot add a string and a number at column 4' },
  { expr: '.a < "x"', input: { a: 1 }, message: 'Cannot evaluate yq expression ".a < "x"": operator "<" cannot compare a number with a string at column 4' },
  { expr: ".a.b", input: { a: 5 }, message: 'Cannot evaluate yq expression ".a.b": cannot index a number with "b" at column 3' },
  { expr: ".a.b", input: { a: [1] }, message: 'Cannot evaluate yq expression ".a.b": cannot index an array with "b" at column 3' },
  { expr: ".a[0]", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a[0]": cannot index a map with number 0 at column 3' },
  { expr: ".a[]", input: { a: "s" }, message: 'Cannot evaluate yq expression ".a[]": cannot iterate over a string at column 3' },
  { expr: ".a | unique", input: { a: { x: 1 } }, message: 'Cannot evaluate yq expression ".a | unique": operator "unique" needs an array but got a map at column 6' },
  { expr: ".a | sort", input: {}, message: 'Cannot evaluate yq expression ".a | sort": operator "sort" needs an array but got null at column 6' },
  { expr: "keys", input: 1, message: 'Cannot evaluate yq expression "keys": operator "keys" needs a map or an array but got a number at column 1' },
  { expr: "has(0)", input: { a: 1 }, message: 'Cannot evaluate yq expression "has(0)": operator "has" cannot look up a number in a map at column 1' },
  { expr: "1 = 2", input: {}, message: 'Cannot evaluate yq expression "1 = 2": operator "=" needs a path on its left, such as .a.b at column 1' },
  { expr: "del(1)", input: {}, message: 'Cannot evaluate yq expression "del(1)": operator "del" needs a path, such as del(.a.b) at column 5' },
  { expr: ".a[-3] = 1", input: { a: [1] }, message: 'Cannot evaluate yq expression ".a[-3] = 1": cannot set index -3: it is out of range at column 8' },
  { expr: ".a.b = 1", input: { a: "s" }, message: 'Cannot evaluate yq expression ".a.b = 1": cannot index a string with "b" at column 3' },
  { expr: ".a[] = 1", input: { a: 3 }, message: 'Cannot evaluate yq expression ".a[] = 1": cannot iterate over a number at column 3' },
];

test.each(evaluationErrorRows)("evaluateYqAll() rejects $expr on the wrong types", ({ expr, input, message }) => {
  let caught: unknown;
  try {
    evaluateYqAll(input, expr);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DenError);
  expect((caught as DenError).code).toBe("YQ_EXPR");
  expect((caught as DenError).message).toBe(message);
  expect((caught as DenError).hint).toContain("see README");
});

interface RefusedRow {
  expr: string;
  message: string;
}

const refusedRows: RefusedRow[] = [
  { expr: ".cpus = ", message: 'Cannot evaluate yq expression ".cpus = ": unexpected end of expression at column 9' },
  { expr: 'env("HOME")', message: 'Cannot evaluate yq expression "env("HOME")": operator "env" is disabled at column 1' },
  { expr: ".a = strenv(X)", message: 'Cannot evaluate yq expression ".a = strenv(X)": operator "strenv" is disabled at column 6' },
  { expr: '.a = load("f.yaml")', message: 'Cannot evaluate yq expression ".a = load("f.yaml")": operator "load" is disabled at column 6' },
  { expr: '.a = load_str("f")', message: 'Cannot evaluate yq expression ".a = load_str("f")": operator "load_str" is disabled at column 6' },
  { expr: '.a = system("id")', message: 'Cannot evaluate yq expression ".a = system("id")": operator "system" is disabled at column 6' },
  { expr: ".a | to_entries", message: 'Cannot evaluate yq expression ".a | to_entries": operator "to_entries" is not supported at column 6' },
];

test.each(refusedRows)("evaluateYq() refuses $expr with YQ_EXPR", ({ expr, message }) => {
  expect(() => evaluateYq({}, expr)).toThrow(message);
  try {
    evaluateYq({}, expr);
  } catch (error) {
    expect((error as DenError).code).toBe("YQ_EXPR");
    expect((error as DenError).hint).toBe("den supports a subset of yq; see README");
  }
});

interface DocumentRow {
  name: string;
  text: string;
  exprs: string[];
  expected: string;
}

const documentRows: DocumentRow[] = [
  {
    name: "keeps a comment above an untouched key and on a changed scalar",
    text: "# the machine\narch: x86_64\n# how many\ncpus: 2 # two for now\n",
    exprs: [".cpus = 4"],
    expected: "# the machine\narch: x86_64\n# how many\ncpus: 4 # two for now\n",
  },
  {
    name: "appends new keys at the end of their map",
    text: "ssh:\n  # forwarded\n  forwardAgent: true\ncpus: 1\n",
    exprs: [".ssh.localPort = 2222", ".vmType = \"qemu\""],
    expected: "ssh:\n  # forwarded\n  forwardAgent: true\n  localPort: 2222\ncpus: 1\nvmType: qemu\n",
  },
  {
    name: "removes a deleted key and keeps the others with their comments",
    text: "a: 1\n# b's comment\nb: 2\nc: 3 # c\n",
    exprs: ["del(.a)"],
    expected: "# b's comment\nb: 2\nc: 3 # c\n",
  },
  {
    name: "removes a deleted list item",
    text: "dns:\n- 1.1.1.1 # one\n- 8.8.8.8 # eight\n",
    exprs: ['del(.dns[] | select(. == "1.1.1.1"))'],
    expected: "dns:\n- 8.8.8.8 # eight\n",
  },
  {
    name: "keeps the quoting of a changed string",
    text: 'memory: "4GiB" # default\n',
    exprs: ['.memory = "8GiB"'],
    expected: 'memory: "8GiB" # default\n',
  },
  {
    name: "quotes a string that would otherwise read as a number",
    text: "version: 1\n",
    exprs: ['.version = "2"'],
    expected: 'version: "2"\n',
  },
  {
    name: "keeps the comments of list items when one is prepended",
    text: "mounts:\n- location: \"~\" # home\n- location: /tmp/lima\n  # writable\n  writable: true\n",
    exprs: ['.mounts = [{"location": "/tmp", "mountPoint": "/tmp", "writable": true}] + .mounts'],
    expected:
      "mounts:\n- location: /tmp\n  mountPoint: /tmp\n  writable: true\n- location: \"~\" # home\n- location: /tmp/lima\n  # writable\n  writable: true\n",
  },
  {
    name: "turns an empty flow list that gains items into a block list",
    text: "dns: []\n",
    exprs: ['.dns += ["1.1.1.1"]'],
    expected: "dns:\n- 1.1.1.1\n",
  },
  {
    name: "creates the document when the text is empty",
    text: "",
    exprs: [".cpus = 4"],
    expected: "cpus: 4\n",
  },
  {
    name: "leaves the document as it was when nothing is given",
    text: "# c\ncpus: 2\n",
    exprs: [],
    expected: "# c\ncpus: 2\n",
  },
];

test.each(documentRows)("applyYqToYamlText() $name", ({ text, exprs, expected }) => {
  expect(applyYqToYamlText(text, exprs)).toBe(expected);
});

const limaTemplate = `# Lima-style template
images:
# the x86 image
- location: "https://example.com/x86.img"
  arch: "x86_64"
  variant: "x"
- location: "https://example.com/arm.img"
  arch: "aarch64"
  variant: "y"
cpus: 2 # CPUs
memory: "4GiB"
mounts:
- location: "~"
- location: "/tmp/lima"
  writable: true
mountType: null
containerd:
  system: true
  user: false
networks:
- lima: shared
dns:
- 8.8.8.8
param:
  K: old
ssh:
  # keep me
  localPort: 0
`;

interface LimaRow {
  expr: string;
  /** The template with the expression applied, as a value. */
  expected: (value: Record<string, unknown>) => void;
  /** Lines the output must contain, to show what stayed as written. */
  keeps: string[];
}

const limaRows: LimaRow[] = [
  { expr: ".cpus = 4", expected: (v) => (v.cpus = 4), keeps: ["cpus: 4 # CPUs", "# the x86 image"] },
  { expr: '.memory = "8GiB"', expected: (v) => (v.memory = "8GiB"), keeps: ['memory: "8GiB"'] },
  {
    expr: '.mounts = [{"location": "/tmp", "mountPoint": "/tmp", "writable": true}] + .mounts',
    expected: (v) => (v.mounts = [{ location: "/tmp", mountPoint: "/tmp", writable: true }, { location: "~" }, { location: "/tmp/lima", writable: true }]),
    keeps: ['- location: "~"', '- location: "/tmp/lima"'],
  },
  { expr: ".mounts = null", expected: (v) => (v.mounts = null), keeps: ["mounts: null", "mountType: null"] },
  { expr: '.mountType = "9p"', expected: (v) => (v.mountType = "9p"), keeps: ["mountType: 9p"] },
  {
    expr: ".mounts[].writable = true",
    expected: (v) => (v.mounts = [{ location: "~", writable: true }, { location: "/tmp/lima", writable: true }]),
    keeps: ['- location: "~"\n  writable: true\n- location: "/tmp/lima"\n  writable: true\n'],
  },
  {
    expr: '.dns += ["1.1.1.1"] | .dns |= unique | .hostResolver.enabled = false',
    expected: (v) => {
      v.dns = ["8.8.8.8", "1.1.1.1"];
      v.hostResolver = { enabled: false };
    },
    keeps: ["dns:\n- 8.8.8.8\n- 1.1.1.1\n", "hostResolver:\n  enabled: false\n"],
  },
  {
    expr: '.networks += [{"lima": "shared"}] | .networks |= unique_by(.lima)',
    expected: () => undefined,
    keeps: ["networks:\n- lima: shared\ndns:"],
  },
  {
    expr: '.networks += [{"lima": "bridged"}] | .networks |= unique_by(.lima)',
    expected: (v) => (v.networks = [{ lima: "shared" }, { lima: "bridged" }]),
    keeps: ["- lima: shared\n- lima: bridged\n"],
  },
  {
    expr: '.portForwards += [{"guestPort": 80, "hostPort": 8080, "static": true}]',
    expected: (v) => (v.portForwards = [{ guestPort: 80, hostPort: 8080, static: true }]),
    keeps: ["portForwards:\n- guestPort: 80\n  hostPort: 8080\n  static: true\n"],
  },
  { expr: '.param["K"] = "V"', expected: (v) => (v.param = { K: "V" }), keeps: ["param:\n  K: V\n"] },
  {
    expr: ".containerd.system = false | .containerd.user = true",
    expected: (v) => (v.containerd = { system: false, user: true }),
    keeps: ["containerd:\n  system: false\n  user: true\n"],
  },
  {
    expr: '.images = [.images[] | select(.variant == "x")]',
    expected: (v) => (v.images = [{ location: "https://example.com/x86.img", arch: "x86_64", variant: "x" }]),
    keeps: ['images:\n# the x86 image\n- location: "https://example.com/x86.img"\n  arch: "x86_64"\n  variant: "x"\ncpus'],
  },
  { expr: ".ssh.localPort = 2222", expected: (v) => ((v.ssh as Record<string, unknown>).localPort = 2222), keeps: ["ssh:\n  # keep me\n  localPort: 2222\n"] },
];

test.each(limaRows)("applyYqToYamlText() applies Lima's edit flag expression $expr", ({ expr, expected, keeps }) => {
  const out = applyYqToYamlText(limaTemplate, [expr]);
  const want = parse(limaTemplate) as Record<string, unknown>;
  expected(want);
  expect(parse(out)).toEqual(want);
  expect(out.startsWith("# Lima-style template\n")).toBe(true);
  for (const line of keeps) expect(out).toContain(line);
});

test("applyYqToYamlText() joins several expressions as a pipe", () => {
  const out = applyYqToYamlText(limaTemplate, [".cpus = 4", '.memory = "8GiB"', ".mounts = null"]);
  expect(parse(out)).toMatchObject({ cpus: 4, memory: "8GiB", mounts: null });
});

test("applyYqToYamlText() quotes the failing expression, not the joined ones", () => {
  expect(() => applyYqToYamlText("cpus: 1\n", [".cpus = 4", ".memory ="])).toThrow(
    'Cannot evaluate yq expression ".memory =": unexpected end of expression at column 10',
  );
});

test("applyYqToYamlText() refuses expressions that yield several documents", () => {
  expect(() => applyYqToYamlText("a: 1\n", [".a, .a"])).toThrow(
    'Cannot apply yq expression ".a, .a": it yields 2 documents instead of one',
  );
});

test("applyYqToYamlText() reports YAML syntax errors with the file name", () => {
  expect(() => applyYqToYamlText("a: [1\n", [".a = 1"], { file: "lima.yaml" })).toThrow(/^lima\.yaml:/);
});
