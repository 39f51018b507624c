import { expect, test } from "bun:test";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sharedFolderLines } from "../../../lib/cli/create.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test("den create template:debian writes the instance folder and prints only a hint on stderr", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["create", "template:debian"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toBe("");
  expect(run.stderr).toContain('Run "den start debian" to start the instance.');
  expect((await readdir(join(denHome, "debian"))).sort()).toEqual(["den-format", "den.yaml", "lima-version"]);
  const yaml = await readFile(join(denHome, "debian", "den.yaml"), "utf8");
  expect(yaml).toContain("debian-13-genericcloud-amd64");
  expect(yaml).not.toContain("base:");
});

test("den create without a template uses template:default and names the instance default", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["create"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(await readFile(join(denHome, "default", "den.yaml"), "utf8")).toContain("ubuntu-24.04-server-cloudimg");
});

test("den create refuses an instance that exists", async () => {
  const denHome = await makeDenHome();
  expect((await runDen(["create", "template:debian", "--name", "vm"], { denHome })).exitCode).toBe(0);
  const again = await runDen(["create", "template:debian", "--name", "vm"], { denHome });
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain('Cannot create instance "vm": it already exists');
});

test.each([
  { name: "a YAML syntax error", text: "cpus: 2\nmemory: [4GiB\n", where: "bad.yaml:3:1: Cannot parse YAML" },
  { name: "an unknown key", text: "cpus: 2\nmemroy: 4GiB\n", where: "bad.yaml:2:1: memroy" },
  { name: "a bad value", text: "images:\n- location: /x.img\nmemory: 4XB\n", where: "bad.yaml:3:9: memory" },
])("den create reports $name at its place and leaves no folder behind", async ({ text, where }) => {
  const denHome = await makeDenHome();
  const dir = join(denHome, "work");
  await mkdir(dir);
  await writeFile(join(dir, "bad.yaml"), text);
  const run = await runDen(["create", "./bad.yaml"], { denHome, cwd: dir });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(where);
  expect(await readdir(denHome)).toEqual(["work"]);
});

test("den create --set lands in den.yaml with the template's comments kept", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["create", "template:debian", "--set", ".cpus = 3", "--memory", "2.5"], { denHome });
  expect(run.exitCode).toBe(0);
  const yaml = await readFile(join(denHome, "debian", "den.yaml"), "utf8");
  expect(yaml).toMatch(/^cpus: 3$/m);
  expect(yaml).toMatch(/^memory: "?2\.5GiB"?$/m);
  expect(yaml).toContain("# Debian 13 (trixie) with the host home folder mounted read-only.");
});

test("den create --mount puts the new mount before the template's", async () => {
  const denHome = await makeDenHome();
  const src = join(denHome, "src");
  await mkdir(src);
  const run = await runDen(["create", "template:debian", "--mount", `${src}:w`], { denHome });
  expect(run.exitCode).toBe(0);
  const yaml = await readFile(join(denHome, "debian", "den.yaml"), "utf8");
  expect(yaml.indexOf(`location: ${src}`)).toBeGreaterThan(-1);
  expect(yaml.indexOf(`location: ${src}`)).toBeLessThan(yaml.indexOf('location: "~"'));
});

test.each([
  { name: "an unknown --param key", args: ["template:debian", "--param", "nope=1"], message: 'the template has no parameter "nope"' },
  { name: "a bad --cpus", args: ["template:debian", "--cpus", "many"], message: 'Cannot use --cpus "many"' },
  { name: "an invalid --name", args: ["template:debian", "--name", "a b"], message: 'Invalid instance name "a b"' },
  { name: "stdin without --name", args: ["-"], message: "without a name" },
  { name: "an unknown template", args: ["template:nope"], message: 'Cannot find template "nope"' },
  { name: "a --set outside the yq subset", args: ["template:debian", "--set", 'env("HOME")'], message: "" },
])("den create rejects $name and creates nothing", async ({ args, message }) => {
  const denHome = await makeDenHome();
  const run = await runDen(["create", ...args], { denHome, stdin: "cpus: 1\n" });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(message);
  expect(run.stderr).toContain("hint:");
  expect(await readdir(denHome)).toEqual([]);
});

test("den create - reads the template from stdin", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["create", "-", "--name", "piped"], { denHome, stdin: "images:\n- location: /x.img\n" });
  expect(run.exitCode).toBe(0);
  expect(await readFile(join(denHome, "piped", "den.yaml"), "utf8")).toContain("/x.img");
});

test("den create --param sets a parameter the template declares", async () => {
  const denHome = await makeDenHome();
  const run = await runDen(["create", "template:docker", "--param", "containerdSnapshotter=true"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(await readFile(join(denHome, "docker", "den.yaml"), "utf8")).toMatch(/containerdSnapshotter: "true"/);
});

test.each([
  { name: "one folder", shares: [{ template: "https://t.test/a.yaml", location: "~", writable: false }], want: ['Template "https://t.test/a.yaml" shares "~" (read-only) with the guest; remove it with --mount-none or edit den.yaml'] },
  {
    name: "two folders of one template on one line",
    shares: [
      { template: "https://t.test/a.yaml", location: "~", writable: false },
      { template: "https://t.test/a.yaml", location: "/tmp/lima", writable: true },
    ],
    want: ['Template "https://t.test/a.yaml" shares "~" (read-only) and "/tmp/lima" (writable) with the guest; remove them with --mount-none or edit den.yaml'],
  },
  {
    name: "a line per template",
    shares: [
      { template: "https://t.test/a.yaml", location: "/a", writable: false },
      { template: "https://t.test/b.yaml", location: "/b", writable: false },
      { template: "https://t.test/a.yaml", location: "/c\u001b", writable: true },
      { template: "https://t.test/a.yaml", location: "/d", writable: false },
    ],
    want: [
      'Template "https://t.test/a.yaml" shares "/a" (read-only), "/c\\x1b" (writable) and "/d" (read-only) with the guest; remove them with --mount-none or edit den.yaml',
      'Template "https://t.test/b.yaml" shares "/b" (read-only) with the guest; remove it with --mount-none or edit den.yaml',
    ],
  },
  { name: "nothing", shares: [], want: [] },
])("sharedFolderLines() for $name", ({ shares, want }) => {
  expect(sharedFolderLines(shares)).toEqual([...want]);
});
