import { expect, test } from "bun:test";
import { parse } from "yaml";
import { absoluteLocator, embedBases, isRemoteLocator } from "../../../lib/config/embed.ts";
import { parseConfigText } from "../../../lib/config/parse.ts";
import { ConfigError, DenError } from "../../../lib/errors.ts";
import { rejectedDenError, rejectedError } from "../../support/caught-den-error.ts";

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
  const { text: out, included } = await embedBases(text, { locator, read, ...(baseYaml === undefined ? {} : { baseYaml }) });
  return { out, included, value: parse(out) as Record<string, unknown> };
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
  const { text: out } = await embedBases("base: template:sub/b\ncpus: 1\n", { locator: "/t/main.yaml", read });
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
  const error = await rejectedDenError(embed(text, files));
  expect(error.code).toBe("TEMPLATE_CYCLE");
  expect(error.message).toBe(`Cannot embed base templates: ${wantChain.join(" -> ")} is a cycle`);
  expect(error.details).toEqual({ chain: wantChain });
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
  const error = await rejectedDenError(embed("base:\n- url: b.yaml\n  digest: sha256:00\n", { "/t/b.yaml": "" }));
  expect(error.code).toBe("LOCATOR_INVALID");
});

test("embedBases() rejects a template whose top level is a list", async () => {
  const error = await rejectedDenError(embed("- a\n", {}));
  expect(error.code).toBe("CONFIG_INVALID");
});

test("embedBases() reports a YAML syntax error in a base with the base's locator", async () => {
  const error = await rejectedDenError(embed("base: b.yaml\n", { "/t/b.yaml": "cpus: [1\n" }));
  expect(error.code).toBe("CONFIG_SYNTAX");
  expect(error.message).toStartWith("/t/b.yaml:");
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

const remote = "http://t.test/dir/main.yaml";

/** A remote template's `text` whose `field` names the local `locator`. */
interface RefusedRow {
  name: string;
  text: string;
  field: string;
  locator: string;
}

const refusedRows: RefusedRow[] = [
  { name: "an absolute base", text: "base: /etc/den/b.yaml\n", field: "base", locator: "/etc/den/b.yaml" },
  { name: "a ~/ base in a list", text: "base:\n- b.yaml\n- ~/b.yaml\n", field: "base[1]", locator: "~/b.yaml" },
  { name: "a file:// base as {url}", text: "base:\n- url: file:///b.yaml\n", field: "base[0].url", locator: "file:///b.yaml" },
  { name: "a bare ~ base", text: "base: '~'\n", field: "base", locator: "~" },
  {
    name: "a ~/ provision file",
    text: "provision:\n- mode: data\n  path: /tmp/leak\n  file: ~/.bashrc\n",
    field: "provision[0].file",
    locator: "~/.bashrc",
  },
  { name: "an absolute probe file", text: "probes:\n- script: x\n- file: /etc/shadow\n", field: "probes[1].file", locator: "/etc/shadow" },
  { name: "a file:// provision {url}", text: "provision:\n- file: {url: 'file:///etc/passwd'}\n", field: "provision[0].file.url", locator: "file:///etc/passwd" },
  { name: "a template: provision file", text: "provision:\n- file: template:x.sh\n", field: "provision[0].file", locator: "template:x.sh" },
  { name: "a protocol-relative path", text: "provision:\n- file: //etc/passwd\n", field: "provision[0].file", locator: "//etc/passwd" },
];

test.each(refusedRows)("embedBases() refuses $name in a remote template and reads nothing", async ({ text, field, locator }) => {
  const { read, reads } = reader({});
  const error = await rejectedDenError(embedBases(text, { locator: remote, read }));
  expect(error.code).toBe("TEMPLATE_LOCATOR_REFUSED");
  expect(error.message).toStartWith(`Cannot use template "${remote}": ${field} names "${locator}", a local `);
  expect(error.hint).toContain("download the template");
  expect(reads).toEqual([]);
});

test("embedBases() refuses a remote base that names a local file, naming that base", async () => {
  const { read, reads } = reader({ "http://t.test/dir/b.yaml": "provision:\n- file: /etc/passwd\n" });
  const error = await rejectedDenError(embedBases("base: b.yaml\n", { locator: remote, read }));
  expect(error.code).toBe("TEMPLATE_LOCATOR_REFUSED");
  expect(error.message).toStartWith('Cannot use template "http://t.test/dir/b.yaml": provision[0].file names "/etc/passwd"');
  expect(reads).toEqual(["http://t.test/dir/b.yaml"]);
});

test("embedBases() refuses .. in a remote template", async () => {
  const error = await rejectedDenError(embedBases("base: ../b.yaml\n", { locator: remote, read: reader({}).read }));
  expect(error.code).toBe("LOCATOR_INVALID");
});

test("embedBases() lets a remote template name URLs, relative paths and template: bases, and lists what it read", async () => {
  const { read } = reader({
    "/h/_config/base.yaml": "cpus: 2\n",
    "template:_images/x": "images:\n- location: https://img.test/x.img\n",
    "http://t.test/dir/sub/setup.sh": "#!/bin/sh\necho hi\n",
    "https://other.test/probe.sh": "#!/bin/sh\ntrue\n",
  });
  const text = "base: template:_images/x\nprovision:\n- file: sub/setup.sh\nprobes:\n- file: https://other.test/probe.sh\n";
  // base.yaml is the user's own file: den adds it under a remote template too.
  const { text: out, included } = await embedBases(text, { locator: remote, read, baseYaml: "/h/_config/base.yaml" });
  expect(parse(out)).toEqual({
    cpus: 2,
    images: [{ location: "https://img.test/x.img" }],
    provision: [{ script: "#!/bin/sh\necho hi\n" }],
    probes: [{ script: "#!/bin/sh\ntrue\n" }],
  });
  expect(included).toEqual([
    { locator: "/h/_config/base.yaml", kind: "base" },
    { locator: "template:_images/x", kind: "base", namedIn: remote },
    { locator: "http://t.test/dir/sub/setup.sh", kind: "file", namedIn: remote },
    { locator: "https://other.test/probe.sh", kind: "file", namedIn: remote },
  ]);
});

test("embedBases() lets a local template name local files", async () => {
  const { value } = await embed("base: ~/b.yaml\nprovision:\n- file: /etc/den/setup.sh\n", {
    "~/b.yaml": "cpus: 1\n",
    "/etc/den/setup.sh": "#!/bin/sh\n",
  });
  expect(value).toEqual({ cpus: 1, provision: [{ script: "#!/bin/sh\n" }] });
});

test.each([
  { locator: "http://t.test/a.yaml", want: true },
  { locator: "HTTPS://t.test/a.yaml", want: true },
  { locator: "file:///a.yaml", want: false },
  { locator: "template:docker", want: false },
  { locator: "/http://x", want: false },
  { locator: "-", want: false },
])("isRemoteLocator($locator) is $want", ({ locator, want }) => {
  expect(isRemoteLocator(locator)).toBe(want);
});

test("embedBases() quotes only a short, escaped excerpt of a refused locator", async () => {
  const locator = `~/${"x".repeat(10_000)}\u001b[2J`;
  const error = await rejectedDenError(embedBases(`base: ${JSON.stringify(locator)}\n`, { locator: remote, read: reader({}).read }));
  const message = error.message;
  expect(message.length).toBeLessThan(400);
  expect(message).not.toContain("\u001b");
  expect(message).toContain(`names "~/${"x".repeat(117)}…"`);
});

const downloadRows: RefusedRow[] = [
  { name: "an absolute image", text: "images:\n- location: /var/img/disk.qcow2\n", field: "images[0].location", locator: "/var/img/disk.qcow2" },
  { name: "a ~/ image", text: "images:\n- location: https://img.test/a.img\n- location: ~/disk.img\n", field: "images[1].location", locator: "~/disk.img" },
  { name: "a relative image (taken from the working folder)", text: "images:\n- location: disk.img\n", field: "images[0].location", locator: "disk.img" },
  { name: "a file:// image", text: "images:\n- location: FILE:///disk.img\n", field: "images[0].location", locator: "FILE:///disk.img" },
  {
    name: "a local kernel",
    text: "images:\n- location: https://img.test/a.img\n  kernel:\n    location: /boot/vmlinuz\n",
    field: "images[0].kernel.location",
    locator: "/boot/vmlinuz",
  },
  {
    name: "a local initrd",
    text: "images:\n- location: https://img.test/a.img\n  initrd:\n    location: ~/initrd.img\n",
    field: "images[0].initrd.location",
    locator: "~/initrd.img",
  },
  { name: "a local firmware image", text: "firmware:\n  images:\n  - location: /usr/share/code.fd\n", field: "firmware.images[0].location", locator: "/usr/share/code.fd" },
  { name: "a local containerd archive", text: "containerd:\n  archives:\n  - location: ~/nerdctl.tgz\n", field: "containerd.archives[0].location", locator: "~/nerdctl.tgz" },
  { name: "a local virtio-win image", text: "osOpts:\n  Windows:\n    virtioWin:\n    - location: /iso/virtio.iso\n", field: "osOpts.Windows.virtioWin[0].location", locator: "/iso/virtio.iso" },
];

test.each(downloadRows)("embedBases() refuses $name in a remote template", async ({ text, field, locator }) => {
  const { read, reads } = reader({});
  const error = await rejectedDenError(embedBases(text, { locator: remote, read }));
  expect(error.code).toBe("TEMPLATE_LOCATOR_REFUSED");
  expect(error.message).toBe(`Cannot use template "${remote}": ${field} names "${locator}", a local file, and a template fetched over http(s) may name only remote ones`);
  expect(error.hint).toContain("must be http(s) URLs");
  expect(reads).toEqual([]);
});

test("embedBases() refuses a local image of a remote base under a local template, naming the base", async () => {
  const { read } = reader({ "https://t.test/b.yaml": "images:\n- location: ~/stolen.img\n" });
  const error = await rejectedDenError(embedBases("base: https://t.test/b.yaml\nimages:\n- location: /mine.img\n", { locator: "/t/main.yaml", read }));
  expect(error.code).toBe("TEMPLATE_LOCATOR_REFUSED");
  expect(error.message).toStartWith('Cannot use template "https://t.test/b.yaml": images[0].location names "~/stolen.img"');
});

test("embedBases() keeps a local template's own local images under a remote base, and a remote template's URLs", async () => {
  const { value } = await embed("base: https://t.test/b.yaml\nimages:\n- location: /mine.img\n  kernel:\n    location: ~/vmlinuz\n", {
    "https://t.test/b.yaml": "images:\n- location: https://img.test/b.img\n  initrd:\n    location: HTTPS://img.test/initrd\nfirmware:\n  images:\n  - location: http://img.test/code.fd\n",
  });
  expect(value).toEqual({
    images: [{ location: "/mine.img", kernel: { location: "~/vmlinuz" } }, { location: "https://img.test/b.img", initrd: { location: "HTTPS://img.test/initrd" } }],
    firmware: { images: [{ location: "http://img.test/code.fd" }] },
  });
});

test("embedBases() lets a template: base of a remote template keep its local images (the user's own file)", async () => {
  const { read } = reader({ "template:_images/x": "images:\n- location: /mirror/x.img\n" });
  const { text } = await embedBases("base: template:_images/x\n", { locator: remote, read });
  expect(parse(text)).toEqual({ images: [{ location: "/mirror/x.img" }] });
});

const host = { home: "/home/u", denHome: "/srv/den" };

test("embedBases() reports the folders a remote template shares, through its template: bases, but not base.yaml's", async () => {
  const { read } = reader({
    "template:_default/mounts": "mounts:\n- location: \"~\"\n",
    "/home/u/.den/_config/base.yaml": "mounts:\n- location: /data\n  writable: true\n",
  });
  const text = "base: template:_default/mounts\nmounts:\n- location: /tmp/lima\n  writable: true\n";
  const { shares } = await embedBases(text, { locator: remote, read, baseYaml: "/home/u/.den/_config/base.yaml", host });
  expect(shares).toEqual([
    { template: remote, location: "/tmp/lima", writable: true },
    { template: remote, location: "~", writable: false },
  ]);
});

test("embedBases() reports only the remote base's shares under a local template", async () => {
  const { read } = reader({ "https://t.test/b.yaml": "mounts:\n- location: /opt/b\n" });
  const { shares } = await embedBases("base: https://t.test/b.yaml\nmounts:\n- location: \"~\"\n  writable: true\n", { locator: "/t/main.yaml", read, host });
  expect(shares).toEqual([{ template: "https://t.test/b.yaml", location: "/opt/b", writable: false }]);
});

test("embedBases() reports nothing for a local template", async () => {
  const { shares } = await embedBases("mounts:\n- location: \"~\"\n", { locator: "/t/main.yaml", read: reader({}).read, host });
  expect(shares).toEqual([]);
});

interface ShareRefusedRow {
  name: string;
  text: string;
  /** Files the template names, keyed by locator. */
  files?: Record<string, string>;
  locator?: string;
  baseYaml?: string;
  message: string;
}

const shareRefusedRows: ShareRefusedRow[] = [
  { name: "/", text: "mounts:\n- location: /\n", message: `Cannot use template "${remote}": mounts[0].location shares "/", the whole host file system, with the guest` },
  { name: "/ spelled /tmp/..", text: "mounts:\n- location: /tmp/..\n", message: `Cannot use template "${remote}": mounts[0].location shares "/tmp/..", the whole host file system, with the guest` },
  {
    name: "the home folder writable",
    text: "mounts:\n- location: \"~\"\n  writable: true\n",
    message: `Cannot use template "${remote}": mounts[0].writable lets the guest write to "~", your home folder`,
  },
  {
    name: "a folder in the home folder writable",
    text: "mounts:\n- location: /tmp/lima\n  writable: true\n- location: /home/u/.ssh\n  writable: true\n",
    message: `Cannot use template "${remote}": mounts[1].writable lets the guest write to "/home/u/.ssh", a folder in your home folder`,
  },
  {
    name: "a folder holding the home folder writable",
    text: "mounts:\n- location: ~/..\n  writable: true\n",
    message: `Cannot use template "${remote}": mounts[0].writable lets the guest write to "~/..", a folder holding your home folder`,
  },
  {
    name: "DEN_HOME writable",
    text: "mounts:\n- location: /srv/den/other\n  writable: true\n",
    message: `Cannot use template "${remote}": mounts[0].writable lets the guest write to "/srv/den/other", a folder in DEN_HOME`,
  },
  {
    name: "a {{…}} location writable",
    text: "mounts:\n- location: \"{{.Dir}}\"\n  writable: true\n",
    message: `Cannot use template "${remote}": mounts[0].writable lets the guest write to "{{.Dir}}", a folder known only once the instance exists`,
  },
  {
    name: "a * entry that makes the local template's home mount writable",
    locator: "/t/main.yaml",
    text: "base: https://t.test/b.yaml\nmounts:\n- location: \"~\"\n",
    files: { "https://t.test/b.yaml": "mounts:\n- location: \"*\"\n  writable: true\n" },
    message: 'Cannot use template "https://t.test/b.yaml": mounts[0].writable lets the guest write to "~", your home folder',
  },
  {
    name: "an entry with the same mount point that makes the local template's home mount writable",
    locator: "/t/main.yaml",
    text: "base: https://t.test/b.yaml\nmounts:\n- location: /home/u\n",
    files: { "https://t.test/b.yaml": "mounts:\n- location: /opt/x\n  mountPoint: /home/u\n  writable: true\n" },
    message: 'Cannot use template "https://t.test/b.yaml": mounts[0].writable lets the guest write to "/home/u", your home folder',
  },
];

test.each(shareRefusedRows)("embedBases() refuses a remote template sharing $name", async ({ text, files, locator, baseYaml, message }) => {
  const { read } = reader(files ?? {});
  const error = await rejectedDenError(embedBases(text, { locator: locator ?? remote, read, host, ...(baseYaml !== undefined && { baseYaml }) }));
  expect(error.code).toBe("TEMPLATE_SHARE_REFUSED");
  expect(error.message).toBe(message);
  expect(error.hint).toContain("download the template");
});

test.each([
  { name: "the home folder read-only", text: "mounts:\n- location: \"~\"\n- location: /home/u/src\n  writable: false\n" },
  { name: "a folder outside home and DEN_HOME writable", text: "mounts:\n- location: /tmp/lima\n  writable: true\n- location: /srv/data\n  writable: true\n" },
  { name: "a home mount the user's base.yaml makes writable", text: "mounts:\n- location: \"~\"\n", baseYaml: "mounts:\n- location: \"~\"\n  writable: true\n" },
  { name: "a writable home mount of a template: base it names", text: "base: template:mine\n", files: { "template:mine": "mounts:\n- location: \"~\"\n  writable: true\n" } },
])("embedBases() lets a remote template share $name", async ({ text, files, baseYaml }) => {
  const { read } = reader({ ...files, ...(baseYaml !== undefined && { "/b/base.yaml": baseYaml }) });
  const { shares } = await embedBases(text, { locator: remote, read, host, ...(baseYaml !== undefined && { baseYaml: "/b/base.yaml" }) });
  expect(shares.length).toBeGreaterThan(0);
});

test("embedBases() refuses a base that is some other file, naming the base and quoting none of it", async () => {
  const { read } = reader({ "/t/shadow": "root:$6$salt$SECRET:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n" });
  const error = await rejectedError(embedBases("base: ./shadow\ncpus: 2\n", { locator: "/t/main.yaml", read }), ConfigError);
  expect(error.message).toBe("/t/shadow:1:1: Not a Lima or den configuration: none of its 2 top-level keys is known");
  expect(error.message).not.toContain("SECRET");
});

test("embedBases() works on a copy of a document the caller parsed and returns the embedded value", async () => {
  const text = "base: ./b.yaml\ncpus: 2\n";
  const parsed = parseConfigText(text, { file: "/t/main.yaml" });
  const before = parsed.document.toString();
  const { read } = reader({ "/t/b.yaml": "memory: 4GiB\n" });
  const embedded = await embedBases(text, { locator: "/t/main.yaml", read, parsed });
  expect(parsed.document.toString()).toBe(before);
  expect(embedded.value).toEqual({ cpus: 2, memory: "4GiB" });
  expect(parse(embedded.text)).toEqual(embedded.value);
});

test.each([
  { name: "keeps the template's own text when embedding changes no value", text: "# mine\ncpus:   2   # two\n", files: {}, same: true },
  { name: "writes the merged text when a base adds a value", text: "base: ./b.yaml\ncpus: 2\n", files: { "/t/b.yaml": "memory: 4GiB\n" }, same: false },
  { name: "writes the combined text when two mounts share a mount point", text: "mounts:\n- location: /a\n  mountPoint: /m\n- location: /b\n  mountPoint: /m\n  writable: true\n", files: {}, same: false },
] as { name: string; text: string; files: Record<string, string>; same: boolean }[])("embedBases() $name", async ({ text, files, same }) => {
  const embedded = await embedBases(text, { locator: "/t/main.yaml", read: reader(files).read, parsed: parseConfigText(text, { file: "/t/main.yaml" }) });
  expect(embedded.text === text).toBe(same);
  expect(parse(embedded.text)).toEqual(embedded.value);
});

test.each([
  { name: "a github: base", base: "github:org/repo/base@main", resolved: "https://raw.githubusercontent.com/org/repo/main/base.yaml", ok: true },
  { name: "a plugin-scheme base", base: "dev:base", resolved: "https://x/base.yaml", ok: false },
])("embedBases() lets a remote template name $name: $ok", async ({ base, resolved, ok }) => {
  const texts: Record<string, string> = { [resolved]: "cpus: 3\n" };
  const embedding = embedBases(`base: ${base}\n`, {
    locator: "https://example.com/t.yaml",
    read: async (locator) => texts[locator] ?? "",
    resolve: async (locator) => (locator === base ? resolved : locator),
  });
  if (ok) {
    expect((await embedding).text).toContain("cpus: 3");
  } else {
    const error = await rejectedError(embedding, DenError);
    expect(error.code).toBe("TEMPLATE_LOCATOR_REFUSED");
    expect(error.hint).toContain("URL plugin");
  }
});

test("embedBases() reads a base by what its plugin locator stands for and resolves its relative bases there", async () => {
  const texts: Record<string, string> = { "/plugin/out/base.yaml": "base: more.yaml\ncpus: 3\n", "/plugin/out/more.yaml": "memory: 3GiB\n" };
  const { text, included } = await embedBases("base: dev:base\n", {
    locator: "/local/t.yaml",
    read: async (locator) => texts[locator] ?? "",
    resolve: async (locator) => (locator === "dev:base" ? "/plugin/out/base.yaml" : locator),
  });
  expect(parse(text)).toEqual({ cpus: 3, memory: "3GiB" });
  expect(included.map((file) => file.locator)).toEqual(["/plugin/out/base.yaml", "/plugin/out/more.yaml"]);
});
