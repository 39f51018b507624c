import { expect, test } from "bun:test";
import { parse } from "yaml";
import { applyYqToYamlText } from "../../../lib/config/apply-yq-to-yaml-text.ts";

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

test("applyYqToYamlText() reports a bad expression before bad YAML", () => {
  expect(() => applyYqToYamlText("a: [1\n", [".a ="], { file: "lima.yaml" })).toThrow("Cannot evaluate yq expression");
});
