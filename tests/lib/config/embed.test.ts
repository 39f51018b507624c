import { expect, test } from "bun:test";
import { parse } from "yaml";
import { absoluteLocator, embedBases } from "../../../lib/config/embed.ts";
import { DenError } from "../../../lib/errors.ts";

/** A reader over an in-memory set of files; records what was read. */
function reader(files: Record<string, string>) {
  const reads: string[] = [];
  const read = async (locator: string) => {
    reads.push(locator);
    const text = files[locator];
    if (text === undefined) throw new DenError("TEMPLATE_NOT_FOUND", `Cannot find template "${locator}"`);
    return text;
  };
  return { read, reads };
}

async function embed(text: string, files: Record<string, string>, locator = "/t/main.yaml", baseYaml?: string) {
  const { read } = reader(files);
  const out = await embedBases(text, { locator, read, ...(baseYaml === undefined ? {} : { baseYaml }) });
  return { out, value: parse(out) as Record<string, unknown> };
}

interface MergeRow {
  name: string;
  template: string;
  base: string;
  want: Record<string, unknown>;
}

const mergeRows: MergeRow[] = [
  {
    name: "copies keys missing in the template from the base",
    template: "base: b.yaml\ncpus: 2\n",
    base: "cpus: 4\nmemory: 8GiB\n",
    want: { cpus: 2, memory: "8GiB" },
  },
  {
    name: "merges nested mappings key by key",
    template: "base: [b.yaml]\nssh:\n  localPort: 2222\n",
    base: "ssh:\n  localPort: 60022\n  forwardAgent: true\n",
    want: { ssh: { localPort: 2222, forwardAgent: true } },
  },
  {
    name: "appends base lists after the template's",
    template: "base: b.yaml\nimages:\n- location: mine\n",
    base: "images:\n- location: theirs\n",
    want: { images: [{ location: "mine" }, { location: "theirs" }] },
  },
  {
    name: "prepends base provision scripts and probes",
    template: "base: b.yaml\nprovision:\n- script: mine\nprobes:\n- script: mine\n",
    base: "provision:\n- script: theirs\nprobes:\n- script: theirs\n",
    want: { provision: [{ script: "theirs" }, { script: "mine" }], probes: [{ script: "theirs" }, { script: "mine" }] },
  },
  {
    name: "copies dns only when the template has none",
    template: "base: b.yaml\ndns: [1.1.1.1]\n",
    base: "dns: [8.8.8.8]\n",
    want: { dns: ["1.1.1.1"] },
  },
  {
    name: "copies dns from the base when the template lacks it",
    template: "base: b.yaml\n",
    base: "dns: [8.8.8.8]\n",
    want: { dns: ["8.8.8.8"] },
  },
  {
    name: "removes duplicate mountTypesUnsupported",
    template: "base: b.yaml\nmountTypesUnsupported: [9p]\n",
    base: "mountTypesUnsupported: [9p, virtiofs]\n",
    want: { mountTypesUnsupported: ["9p", "virtiofs"] },
  },
  {
    name: "keeps a null in the template over the base value",
    template: "base: b.yaml\ncpus: null\n",
    base: "cpus: 4\n",
    want: { cpus: null },
  },
  {
    name: "combines additionalDisks by name and upgrades a plain name",
    template: "base: b.yaml\nadditionalDisks:\n- data\n",
    base: "additionalDisks:\n- name: data\n  fsType: xfs\n  fsArgs: [-f]\n",
    want: { additionalDisks: [{ name: "data", fsType: "xfs", fsArgs: ["-f"] }] },
  },
  {
    name: "combines mounts by mount point with the template's values winning",
    template: "base: b.yaml\nmounts:\n- location: \"~\"\n  writable: true\n",
    base: "mounts:\n- location: \"~\"\n  writable: false\n  sshfs:\n    cache: false\n- location: /tmp/den\n",
    want: { mounts: [{ location: "~", writable: true, sshfs: { cache: false } }, { location: "/tmp/den" }] },
  },
  {
    name: "matches a mount point against a location without mountPoint",
    template: "base: b.yaml\nmounts:\n- location: /src\n  mountPoint: /work\n",
    base: "mounts:\n- location: /work\n  writable: true\n",
    want: { mounts: [{ location: "/src", mountPoint: "/work", writable: true }] },
  },
  {
    name: "combines networks by interface and keeps the template's network kind",
    template: "base: b.yaml\nnetworks:\n- socket: /var/run/vmnet\n  interface: lima0\n",
    base: "networks:\n- lima: shared\n  interface: lima0\n  metric: 50\n",
    want: { networks: [{ socket: "/var/run/vmnet", interface: "lima0", metric: 50 }] },
  },
  {
    name: "applies a * mount to every earlier mount",
    template: "base: b.yaml\nmounts:\n- location: /a\n- location: /b\n  writable: false\n",
    base: "mounts:\n- location: \"*\"\n  writable: true\n",
    want: { mounts: [{ location: "/a", writable: true }, { location: "/b", writable: false }] },
  },
  {
    name: "keeps the higher minimumLimaVersion",
    template: "base: b.yaml\nminimumLimaVersion: 1.1.0\n",
    base: "minimumLimaVersion: 2.0.0\n",
    want: { minimumLimaVersion: "2.0.0" },
  },
  {
    name: "keeps the higher vmOpts.qemu.minimumVersion",
    template: "base: b.yaml\nvmOpts:\n  qemu:\n    minimumVersion: 9.1.0\n",
    base: "vmOpts:\n  qemu:\n    minimumVersion: 8.2.1\n",
    want: { vmOpts: { qemu: { minimumVersion: "9.1.0" } } },
  },
];

test.each(mergeRows)("embedBases() $name", async ({ template, base, want }) => {
  const { value } = await embed(template, { "/t/b.yaml": base });
  expect(value).toEqual(want);
});

test("embedBases() merges several bases in order, earlier bases winning", async () => {
  const { value } = await embed("base: [template:one, template:two]\n", {
    "template:one": "cpus: 1\nimages:\n- location: one\n",
    "template:two": "cpus: 2\nmemory: 2GiB\nimages:\n- location: two\n",
  });
  expect(value).toEqual({ cpus: 1, memory: "2GiB", images: [{ location: "one" }, { location: "two" }] });
});

test("embedBases() follows a 3-level chain and resolves locators relative to each template", async () => {
  const { read, reads } = reader({
    "template:sub/b": "base: c.yaml\nmemory: 2GiB\n",
    "template:sub/c.yaml": "base: ./d.yaml\ndisk: 10GiB\n",
    "template:sub/d.yaml": "cpus: 8\nimages: [{location: d}]\n",
  });
  const out = await embedBases("base: template:sub/b\ncpus: 1\n", { locator: "/t/main.yaml", read });
  expect(parse(out)).toEqual({ cpus: 1, memory: "2GiB", disk: "10GiB", images: [{ location: "d" }] });
  expect(reads).toEqual(["template:sub/b", "template:sub/c.yaml", "template:sub/d.yaml"]);
});

interface CycleRow {
  name: string;
  files: Record<string, string>;
  text: string;
  wantChain: string[];
}

const cycleRows: CycleRow[] = [
  {
    name: "a template that is its own base",
    files: {},
    text: "base: main.yaml\n",
    wantChain: ["/t/main.yaml", "/t/main.yaml"],
  },
  {
    name: "a → b → a",
    files: { "/t/b.yaml": "base: main.yaml\n" },
    text: "base: b.yaml\n",
    wantChain: ["/t/main.yaml", "/t/b.yaml", "/t/main.yaml"],
  },
  {
    name: "a → b → c → b",
    files: { "template:b": "base: template:c\n", "template:c": "base: template://b\n" },
    text: "base: template:b\n",
    wantChain: ["/t/main.yaml", "template:b", "template:c", "template:b"],
  },
];

test.each(cycleRows)("embedBases() rejects a cycle: $name", async ({ files, text, wantChain }) => {
  const error = await embed(text, files).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect((error as DenError).code).toBe("TEMPLATE_CYCLE");
  expect((error as DenError).message).toBe(`Cannot embed base templates: ${wantChain.join(" -> ")} is a cycle`);
  expect((error as DenError).details).toEqual({ chain: wantChain });
});

test("embedBases() allows the same base reached along two paths", async () => {
  const { value } = await embed("base: [template:a, template:m]\n", {
    "template:a": "base: template:m\ncpus: 1\n",
    "template:m": "mounts:\n- location: \"~\"\n",
  });
  expect(value).toEqual({ cpus: 1, mounts: [{ location: "~" }] });
});

test("embedBases() puts base.yaml before the template's own bases", async () => {
  const { value } = await embed("base: b.yaml\nimages: []\n", {
    "/home/u/.den/_config/base.yaml": "images: [{location: global}]\nmemory: 1GiB\n",
    "/t/b.yaml": "images: [{location: b}]\nmemory: 2GiB\n",
  }, "/t/main.yaml", "/home/u/.den/_config/base.yaml");
  expect(value).toEqual({ images: [{ location: "global" }, { location: "b" }], memory: "1GiB" });
});

test("embedBases() keeps the template's comments and copies the base's comments of new keys", async () => {
  const { out } = await embed("# my template\nbase: b.yaml\n# how many\ncpus: 2 # two\n", {
    "/t/b.yaml": "# memory comes from the base\nmemory: 4GiB\n",
  });
  expect(out).toBe("# my template\n# how many\ncpus: 2 # two\n# memory comes from the base\nmemory: 4GiB\n");
});

test("embedBases() removes base and leaves a template without bases as it was", async () => {
  const { out } = await embed("cpus: 2\nimages:\n- location: x\n", {});
  expect(out).toBe("cpus: 2\nimages:\n- location: x\n");
});

test("embedBases() inlines provision and probe files relative to the template that names them", async () => {
  const { value } = await embed(
    "base: template:lib/base\nprovision:\n- mode: system\n  file: setup.sh\n- mode: data\n  path: /etc/x\n  file: {url: /abs/x.conf}\n",
    {
      "/t/setup.sh": "#!/bin/sh\necho main\n",
      "/abs/x.conf": "X=1\n",
      "template:lib/base": "probes:\n- file: probe.sh\n",
      "template:lib/probe.sh": "#!/bin/sh\ntrue\n",
    },
  );
  expect(value).toEqual({
    probes: [{ script: "#!/bin/sh\ntrue\n" }],
    provision: [
      { mode: "system", script: "#!/bin/sh\necho main\n" },
      { mode: "data", path: "/etc/x", content: "X=1\n" },
    ],
  });
});

test("embedBases() leaves file beside an existing script for validation to report", async () => {
  const { value } = await embed("provision:\n- script: echo\n  file: setup.sh\n", {});
  expect(value).toEqual({ provision: [{ script: "echo", file: "setup.sh" }] });
});

test("embedBases() rejects a base with a digest", async () => {
  const error = await embed("base:\n- url: b.yaml\n  digest: sha256:00\n", { "/t/b.yaml": "" }).catch((caught: unknown) => caught);
  expect((error as DenError).code).toBe("LOCATOR_INVALID");
});

test("embedBases() rejects a template whose top level is a list", async () => {
  const error = await embed("- a\n", {}).catch((caught: unknown) => caught);
  expect((error as DenError).code).toBe("CONFIG_INVALID");
});

test("embedBases() reports a YAML syntax error in a base with the base's locator", async () => {
  const error = await embed("base: b.yaml\n", { "/t/b.yaml": "cpus: [1\n" }).catch((caught: unknown) => caught);
  expect((error as DenError).code).toBe("CONFIG_SYNTAX");
  expect((error as DenError).message).toStartWith("/t/b.yaml:");
});

interface AbsRow {
  locator: string;
  including: string;
  want: string;
}

const absRows: AbsRow[] = [
  { locator: "b.yaml", including: "/t/main.yaml", want: "/t/b.yaml" },
  { locator: "./sub/b.yaml", including: "/t/main.yaml", want: "/t/sub/b.yaml" },
  { locator: "/abs/b.yaml", including: "template:docker", want: "/abs/b.yaml" },
  { locator: "~/b.yaml", including: "/t/main.yaml", want: "~/b.yaml" },
  { locator: "ubuntu.yaml", including: "template:_images/debian-12", want: "template:_images/ubuntu.yaml" },
  { locator: "mounts", including: "template:docker", want: "template:mounts" },
  { locator: "template://_images/ubuntu", including: "/t/main.yaml", want: "template:_images/ubuntu" },
  { locator: "b.yaml", including: "https://example.com/t/main.yaml", want: "https://example.com/t/b.yaml" },
  { locator: "https://x.test/a.yaml", including: "/t/main.yaml", want: "https://x.test/a.yaml" },
  { locator: "b.yaml", including: "file:///t/main.yaml", want: "/t/b.yaml" },
];

test.each(absRows)("absoluteLocator($locator, $including) is $want", ({ locator, including, want }) => {
  expect(absoluteLocator(locator, including)).toBe(want);
});

test.each([
  { locator: "../b.yaml", including: "/t/main.yaml" },
  { locator: "b.yaml", including: "-" },
  { locator: "", including: "/t/main.yaml" },
])("absoluteLocator($locator, $including) is rejected", ({ locator, including }) => {
  expect(() => absoluteLocator(locator, including)).toThrow(DenError);
});
