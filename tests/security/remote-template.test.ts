// Issue 12 #1: a template fetched over http(s) must not name host files. A hostile server on 127.0.0.1 serves
// templates whose `base:` and `file:` point at absolute paths, `~/…` and `file://`; den must refuse them
// before reading anything, leave no instance folder, and copy nothing of the host files into DEN_HOME.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DenRun, runDen } from "../lib/cli/support/run-den.ts";
import { makeTempDir } from "../support/temp-dir.ts";

const marker = `den-secret-${crypto.randomUUID()}`;

/** Each test's own limit, above den()'s 15 s kill so a hang is reported as one. */
const testMs = 25_000;

interface Sandbox {
  denHome: string;
  home: string;
}

/** A DEN_HOME and a HOME whose files hold the marker den must never copy. */
async function sandbox(): Promise<Sandbox> {
  const root = await makeTempDir("den-remote-template-");
  const home = join(root, "home");
  const denHome = join(root, "den");
  await mkdir(home);
  await mkdir(denHome);
  await writeFile(join(home, ".bashrc"), `export TOKEN=${marker}\n`);
  await writeFile(join(home, "secret.yaml"), `message: ${marker}\n`);
  await writeFile(join(home, "probe.sh"), `#!/bin/sh\n# ${marker}\n`);
  return { denHome, home };
}

/** The hostile (or friendly) template server; records every path asked for. */
function serve(files: Record<string, string>) {
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      requests.push(path);
      const text = files[path];
      return text === undefined ? new Response("not found", { status: 404 }) : new Response(text);
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, requests };
}

const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(() => {
  for (const server of servers) server.stop(true);
});

function den(args: readonly string[], box: Sandbox): Promise<DenRun> {
  return runDen(args, { denHome: box.denHome, cwd: box.home, env: { HOME: box.home, DEN_FETCH_TIMEOUT: "10s" }, killAfterMs: 15_000 });
}

/** Every file under `dir` whose content holds the marker. */
async function filesWithMarker(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path, "utf8")).includes(marker)) found.push(path);
  }
  return found;
}

const image = "base: template:_images/debian-13\n";

interface HostileRow {
  name: string;
  /** Template text; `HOME` is replaced by the sandbox's home folder. */
  template: string;
  field: string;
  locator: string;
}

const hostileRows: HostileRow[] = [
  {
    name: "provision file: ~/.bashrc",
    template: `${image}provision:\n- mode: data\n  path: /tmp/leak\n  file: ~/.bashrc\n`,
    field: "provision[0].file",
    locator: "~/.bashrc",
  },
  {
    name: "provision file: an absolute path",
    template: `${image}provision:\n- mode: data\n  path: /tmp/leak\n  file: HOME/.bashrc\n`,
    field: "provision[0].file",
    locator: "HOME/.bashrc",
  },
  {
    name: "provision file: a file:// URL given as {url}",
    template: `${image}provision:\n- mode: data\n  path: /tmp/leak\n  file:\n    url: file://HOME/.bashrc\n`,
    field: "provision[0].file.url",
    locator: "file://HOME/.bashrc",
  },
  {
    name: "probes file: ~/probe.sh",
    template: `${image}probes:\n- file: ~/probe.sh\n`,
    field: "probes[0].file",
    locator: "~/probe.sh",
  },
  {
    name: "base: ~/secret.yaml after a template: base",
    template: "base:\n- template:_images/debian-13\n- ~/secret.yaml\n",
    field: "base[1]",
    locator: "~/secret.yaml",
  },
  {
    name: "base: an absolute path",
    template: "base: [template:_images/debian-13, HOME/secret.yaml]\n",
    field: "base[1]",
    locator: "HOME/secret.yaml",
  },
  {
    name: "base: a file:// URL",
    template: "base:\n- template:_images/debian-13\n- file://HOME/secret.yaml\n",
    field: "base[1]",
    locator: "file://HOME/secret.yaml",
  },
  {
    name: "an image at an absolute path",
    template: "images:\n- location: HOME/disk.img\n  arch: x86_64\n",
    field: "images[0].location",
    locator: "HOME/disk.img",
  },
  {
    name: "an image at ~/…, after a remote one",
    template: "images:\n- location: https://img.test/a.img\n  arch: x86_64\n- location: ~/disk.img\n  arch: x86_64\n",
    field: "images[1].location",
    locator: "~/disk.img",
  },
  {
    name: "an image at a relative path (read from the working folder)",
    template: "images:\n- location: disk.img\n",
    field: "images[0].location",
    locator: "disk.img",
  },
  {
    name: "an image as a file:// URL",
    template: "images:\n- location: file://HOME/disk.img\n",
    field: "images[0].location",
    locator: "file://HOME/disk.img",
  },
  {
    name: "a local kernel",
    template: "images:\n- location: https://img.test/a.img\n  kernel:\n    location: ~/vmlinuz\n",
    field: "images[0].kernel.location",
    locator: "~/vmlinuz",
  },
  {
    name: "a local initrd",
    template: "images:\n- location: https://img.test/a.img\n  initrd:\n    location: HOME/initrd.img\n",
    field: "images[0].initrd.location",
    locator: "HOME/initrd.img",
  },
  {
    name: "a local firmware image",
    template: `${image}firmware:\n  images:\n  - location: ~/code.fd\n`,
    field: "firmware.images[0].location",
    locator: "~/code.fd",
  },
];

test.each(hostileRows)("den create refuses a remote template naming $name", async ({ template, field, locator }) => {
  const box = await sandbox();
  const { url, requests } = serve({ "/t.yaml": template.replaceAll("HOME", box.home) });
  const run = await den(["create", `${url}/t.yaml`], box);
  expect(run.exitCode).toBe(1);
  const named = locator.replaceAll("HOME", box.home);
  expect(run.stderr).toContain(`error: Cannot use template "${url}/t.yaml": ${field} names "${named}", a local `);
  expect(run.stderr).toContain("hint: ");
  expect(run.stderr).not.toContain("bug in den");
  expect(existsSync(join(box.denHome, "t"))).toBe(false);
  expect(await filesWithMarker(box.denHome)).toEqual([]);
  expect(requests).toEqual(["/t.yaml"]);
}, testMs);

test("den create refuses a remote base that names a local file, naming that base", async () => {
  const box = await sandbox();
  const { url } = serve({
    "/t.yaml": "base:\n- template:_images/debian-13\n- lib/b.yaml\n",
    "/lib/b.yaml": "provision:\n- mode: data\n  path: /tmp/leak\n  file: ~/.bashrc\n",
  });
  const run = await den(["create", `${url}/t.yaml`], box);
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`Cannot use template "${url}/lib/b.yaml": provision[0].file names "~/.bashrc"`);
  expect(existsSync(join(box.denHome, "t"))).toBe(false);
  expect(await filesWithMarker(box.denHome)).toEqual([]);
}, testMs);

test("den create takes a remote template whose files resolve on its own server, and lists them", async () => {
  const box = await sandbox();
  const { url, requests } = serve({
    "/dir/t.yaml": `${image}provision:\n- mode: data\n  path: /etc/den-test\n  file: files/data.txt\nprobes:\n- file: probe.sh\n`,
    "/dir/files/data.txt": "remote data\n",
    "/dir/probe.sh": "#!/bin/sh\ntrue\n",
  });
  const run = await den(["create", `${url}/dir/t.yaml`], box);
  expect(run.stderr).not.toContain("error:");
  expect(run.exitCode).toBe(0);
  expect(requests).toEqual(["/dir/t.yaml", "/dir/files/data.txt", "/dir/probe.sh"]);
  const yaml = await readFile(join(box.denHome, "t", "den.yaml"), "utf8");
  expect(yaml).toContain("remote data");
  expect(yaml).toContain("#!/bin/sh\n");
  expect(yaml).not.toContain("file:");
  const named = `(named in "${url}/dir/t.yaml")`;
  expect(run.stderr).toContain(`info: Embedded base template "template:_images/debian-13" ${named}`);
  expect(run.stderr).toContain(`info: Inlined file "${url}/dir/files/data.txt" ${named}`);
  expect(run.stderr).toContain(`info: Inlined file "${url}/dir/probe.sh" ${named}`);
}, testMs);

test("den create from a local template still inlines local files, and lists them", async () => {
  const box = await sandbox();
  await writeFile(join(box.home, "t.yaml"), `${image}provision:\n- mode: data\n  path: /etc/den-test\n  file: ~/.bashrc\n`);
  const run = await den(["create", "./t.yaml"], box);
  expect(run.exitCode).toBe(0);
  expect(await readFile(join(box.denHome, "t", "den.yaml"), "utf8")).toContain(marker);
  expect(run.stderr).toContain(`info: Inlined file "~/.bashrc" (named in "${join(box.home, "t.yaml")}")`);
}, testMs);

test("den create refuses a local image that a remote base gives a local template, naming that base", async () => {
  const box = await sandbox();
  const { url, requests } = serve({ "/b.yaml": "images:\n- location: ~/disk.img\n  arch: x86_64\n" });
  await writeFile(join(box.home, "t.yaml"), `base: ${url}/b.yaml\nimages:\n- location: ~/mine.img\n  arch: x86_64\n`);
  const run = await den(["create", "./t.yaml"], box);
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`error: Cannot use template "${url}/b.yaml": images[0].location names "~/disk.img", a local file`);
  expect(run.stderr).toContain("hint: ");
  expect(existsSync(join(box.denHome, "t"))).toBe(false);
  expect(requests).toEqual(["/b.yaml"]);
}, testMs);

test("den create keeps a local template's own local images under a remote base", async () => {
  const box = await sandbox();
  const { url } = serve({ "/b.yaml": "images:\n- location: https://img.test/b.img\n  arch: x86_64\ncpus: 3\n" });
  await writeFile(join(box.home, "t.yaml"), `base: ${url}/b.yaml\nimages:\n- location: ~/mine.img\n  arch: x86_64\n- location: ${box.home}/abs.img\n  kernel:\n    location: file://${box.home}/vmlinuz\n`);
  const run = await den(["create", "./t.yaml"], box);
  expect(run.stderr).not.toContain("error:");
  expect(run.exitCode).toBe(0);
  const yaml = await readFile(join(box.denHome, "t", "den.yaml"), "utf8");
  expect(yaml).toContain("location: ~/mine.img");
  expect(yaml).toContain(`location: file://${box.home}/vmlinuz`);
  expect(yaml).toContain("https://img.test/b.img");
}, testMs);

test("den create warns once per remote template about the host folders it shares, and not after --mount-none", async () => {
  const box = await sandbox();
  // A writable folder outside the home folder, like Lima's /tmp/lima (which den checks exists).
  const shared = join(box.denHome, "..", "shared");
  await mkdir(shared);
  const { url } = serve({ "/docker.yaml": `base:\n- template:_images/debian-13\n- template:_default/mounts\nmounts:\n- location: ${shared}\n  writable: true\n` });
  const run = await den(["create", `${url}/docker.yaml`], box);
  expect(run.stderr).not.toContain("error:");
  expect(run.exitCode).toBe(0);
  const warning = `warning: Template "${url}/docker.yaml" shares "${shared}" (writable) and "~" (read-only) with the guest; remove them with --mount-none or edit den.yaml`;
  expect(run.stderr.split("\n").filter((line) => line.includes("shares"))).toEqual([warning]);
  const none = await den(["create", `${url}/docker.yaml`, "--name", "bare", "--mount-none"], box);
  expect(none.exitCode).toBe(0);
  expect(none.stderr).not.toContain("shares");
}, testMs);

test.each([
  { name: "the home folder writable", mounts: '- location: "~"\n  writable: true\n', field: "mounts[0].writable", what: 'lets the guest write to "~", your home folder' },
  { name: "~/.ssh writable", mounts: "- location: /tmp/lima\n  writable: true\n- location: ~/.ssh\n  writable: true\n", field: "mounts[1].writable", what: 'lets the guest write to "~/.ssh", a folder in your home folder' },
  { name: "/", mounts: "- location: /\n", field: "mounts[0].location", what: 'shares "/", the whole host file system, with the guest' },
])("den create refuses a remote template sharing $name", async ({ mounts, field, what }) => {
  const box = await sandbox();
  const { url } = serve({ "/t.yaml": `${image}mounts:\n${mounts}` });
  const run = await den(["create", `${url}/t.yaml`], box);
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`error: Cannot use template "${url}/t.yaml": ${field} ${what}`);
  expect(run.stderr).toContain("hint: ");
  expect(existsSync(join(box.denHome, "t"))).toBe(false);
}, testMs);
