// writeSeed() end to end: the real boot scripts, a real image, read back with genisoimage's isoinfo.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { bootScriptEntries } from "../../cidata/boot-scripts.ts";
import { seedArgsFrom } from "../../cidata/seed-args.ts";
import { userData } from "../../cidata/user-data.ts";
import { writeSeed } from "../../cidata/write-seed.ts";
import { DenError } from "../../lib/errors.ts";
import { filledConfig, seedFacts } from "./seed-fixture.ts";

let work = "";
beforeAll(async () => {
  if (!Bun.which("isoinfo")) throw new Error("isoinfo is missing: run scripts/setup.sh (apt-get install -y genisoimage)");
  work = await mkdtemp(join(tmpdir(), "den-write-seed-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function isoinfo(args: string[]): string {
  const child = Bun.spawnSync(["isoinfo", ...args], { env: { ...process.env, LC_ALL: "C.UTF-8" } });
  if (child.exitCode !== 0) throw new Error(`isoinfo ${args.join(" ")} failed: ${child.stderr.toString()}`);
  return child.stdout.toString();
}

/** `path → mode` of every regular file, from isoinfo's Rock Ridge listing. */
function listing(iso: string): Map<string, string> {
  const files = new Map<string, string>();
  let dir = "";
  for (const line of isoinfo(["-R", "-l", "-i", iso]).split("\n")) {
    const heading = /^Directory listing of (.*)$/.exec(line);
    if (heading) dir = heading[1]!;
    const entry = /^(-[rwx-]{9}) .* \[ *\d+ \d+\]\s+(.+?)\s*$/.exec(line);
    if (entry) files.set(`${dir}${entry[2]}`, entry[1]!);
  }
  return files;
}

const hostile = "it's \"$(touch pwned)\" `id` ${HOME}\nEVIL=1 ü😀";
const config = filledConfig({
  mounts: [{ location: "~" }],
  provision: [{ script: "#!/bin/sh\necho system" }, { mode: "data", path: "/etc/hostile", content: hostile }, { mode: "boot", script: "echo boot" }],
  param: { GREETING: hostile },
  caCerts: { files: [] },
});
const { instanceDir: _instanceDir, ...rest } = seedFacts();

describe("writeSeed()", () => {
  let dir = "";
  let result: { path: string; bytes: number };
  beforeAll(async () => {
    dir = join(work, "instance");
    await mkdir(dir);
    result = await writeSeed(dir, { config, facts: rest });
  });

  test("writeSeed() returns the image path and its size", async () => {
    expect(result.path).toBe(join(dir, "cidata.iso"));
    expect(result.bytes).toBe((await stat(result.path)).size);
    expect(result.bytes % 2048).toBe(0);
  });

  test("writeSeed() labels the volume cidata", () => {
    expect(isoinfo(["-d", "-i", result.path])).toContain("Volume id: cidata");
  });

  test("writeSeed() writes user-data that isoinfo reads back as the rendered #cloud-config", () => {
    const text = isoinfo(["-R", "-x", "/user-data", "-i", result.path]);
    expect(text).toBe(userData(seedArgsFrom(config, { ...seedFacts(), instanceDir: dir, caCertFiles: [] })));
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(text, { version: "1.1" }) as { bootcmd: string[]; users: { name: string }[] };
    expect(doc.users[0]?.name).toBe("alice");
    expect(doc.bootcmd[0]).toContain("echo boot");
  });

  test.each([
    { path: "/meta-data", mode: "-rw-r--r--" },
    { path: "/user-data", mode: "-rw-r--r--" },
    { path: "/network-config", mode: "-rw-r--r--" },
    { path: "/den.env", mode: "-rw-r--r--" },
    { path: "/param.env", mode: "-rw-r--r--" },
    { path: "/etc_environment", mode: "-rw-r--r--" },
    { path: "/boot.sh", mode: "-rwxr-xr-x" },
    { path: "/provision.system/00000000", mode: "-rwxr-xr-x" },
    { path: "/provision.data/00000001", mode: "-rw-r--r--" },
  ])("writeSeed() stores $path with mode $mode", ({ path, mode }) => {
    expect(listing(result.path).get(path)).toBe(mode);
  });

  test("writeSeed() stores every boot script", () => {
    const files = listing(result.path);
    for (const entry of bootScriptEntries()) expect(files.get(`/${entry.path}`)).toBe("-rwxr-xr-x");
  });

  test.each([
    { path: "/meta-data", want: "instance-id: iid-1700000000\nlocal-hostname: den-dev\n" },
    { path: "/provision.data/00000001", want: hostile },
    { path: "/provision.system/00000000", want: "#!/bin/sh\necho system" },
  ])("writeSeed() stores the exact bytes of $path", ({ path, want }) => {
    expect(isoinfo(["-R", "-x", path, "-i", result.path])).toBe(want);
  });

  test("writeSeed() stores a param.env that sh reads back exactly", async () => {
    const paramEnv = isoinfo(["-R", "-x", "/param.env", "-i", result.path]);
    const scratch = await mkdtemp(join(work, "source-"));
    await writeFile(join(scratch, "param.env"), paramEnv);
    const child = Bun.spawnSync(["sh", "-c", '. ./param.env; printf %s "$PARAM_GREETING"'], { cwd: scratch });
    expect(child.stdout.toString()).toBe(hostile);
    expect(await readdir(scratch)).toEqual(["param.env"]);
  });

  test("writeSeed() writes cloud-config.yaml read-only with the user-data text", async () => {
    const path = join(dir, "cloud-config.yaml");
    expect((await stat(path)).mode & 0o777).toBe(0o444);
    expect(await readFile(path, "utf8")).toBe(isoinfo(["-R", "-x", "/user-data", "-i", result.path]));
  });

  test("writeSeed() leaves no temporary files", async () => {
    expect((await readdir(dir)).sort()).toEqual(["cidata.iso", "cloud-config.yaml"]);
  });

  test("writeSeed() replaces both files on the next start, the read-only one included", async () => {
    await writeSeed(dir, { config, facts: { ...rest, iid: "iid-1800000000" } });
    expect(isoinfo(["-R", "-x", "/meta-data", "-i", result.path])).toContain("iid-1800000000");
    expect(await readFile(join(dir, "cloud-config.yaml"), "utf8")).toBe(isoinfo(["-R", "-x", "/user-data", "-i", result.path]));
    expect((await readdir(dir)).sort()).toEqual(["cidata.iso", "cloud-config.yaml"]);
  });
});

describe("writeSeed() inputs and failures", () => {
  test("writeSeed() reads caCerts.files, ~ meaning the host home, into ca_certs", async () => {
    const home = await mkdtemp(join(work, "home-"));
    const dir = await mkdtemp(join(work, "instance-"));
    await writeFile(join(home, "ca.pem"), "-----BEGIN CERTIFICATE-----\n  MIIB\n-----END CERTIFICATE-----\n");
    await writeSeed(dir, { config: filledConfig({ caCerts: { files: ["~/ca.pem"] } }), facts: { ...rest, hostHome: home } });
    const doc = parse(await readFile(join(dir, "cloud-config.yaml"), "utf8")) as { ca_certs: { trusted: string[] } };
    expect(doc.ca_certs.trusted).toEqual(["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"]);
  });

  test("writeSeed() fails with an IO error for a missing CA file and writes nothing", async () => {
    const dir = await mkdtemp(join(work, "instance-"));
    const promise = writeSeed(dir, { config: filledConfig({ caCerts: { files: [join(work, "missing.pem")] } }), facts: rest });
    await expect(promise).rejects.toThrow(`Cannot read CA certificate "${join(work, "missing.pem")}": ENOENT`);
    expect(await readdir(dir)).toEqual([]);
  });

  test("writeSeed() fails with the ConfigError before writing anything", async () => {
    const dir = await mkdtemp(join(work, "instance-"));
    await expect(writeSeed(dir, { config: filledConfig({ env: { BAD: "a\nb" } }), facts: rest })).rejects.toThrow("env.BAD: Value contains a line break");
    expect(await readdir(dir)).toEqual([]);
  });

  test("writeSeed() fails with an IO error for a missing folder", async () => {
    const promise = writeSeed(join(work, "nowhere"), { config, facts: rest });
    await expect(promise).rejects.toBeInstanceOf(DenError);
    await expect(promise).rejects.toThrow(/Cannot create .*cidata\.iso\..*\.tmp": ENOENT/);
  });

  test("writeSeed() removes its temporary file when the image cannot be completed", async () => {
    const dir = await mkdtemp(join(work, "instance-"));
    const broken = [{ path: "den-guestagent.js", kind: "file" as const, size: 10, source: () => new Uint8Array(3) }];
    await expect(writeSeed(dir, { config, facts: rest, guestAgent: broken })).rejects.toBeInstanceOf(DenError);
    expect(await readdir(dir)).toEqual([]);
  });

  test("writeSeed() keeps the previous image when a new one cannot be completed", async () => {
    const dir = await mkdtemp(join(work, "instance-"));
    await writeSeed(dir, { config, facts: rest });
    const before = await readFile(join(dir, "cidata.iso"));
    const broken = [{ path: "den-guestagent.js", kind: "file" as const, size: 10, source: () => new Uint8Array(3) }];
    await expect(writeSeed(dir, { config, facts: { ...rest, iid: "iid-2" }, guestAgent: broken })).rejects.toBeInstanceOf(DenError);
    expect(await readFile(join(dir, "cidata.iso"))).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(["cidata.iso", "cloud-config.yaml"]);
  });
});

describe("writeSeed() with containerd", () => {
  const sha256 = "0123456789abcdef".repeat(4);
  test.each([
    { name: "user containerd", raw: {}, sha: sha256 as string | undefined, archive: "nerdctl-full.tgz", envSha: sha256 },
    { name: "system containerd", raw: { containerd: { system: true, user: false } }, sha: sha256, archive: "nerdctl-full.tgz", envSha: sha256 },
    { name: "containerd off, a sha256 given anyway", raw: { containerd: { system: false, user: false } }, sha: sha256, archive: "", envSha: "" },
    { name: "plain mode", raw: { plain: true }, sha: sha256, archive: "", envSha: "" },
    { name: "user containerd without an archive disk", raw: {}, sha: undefined, archive: "", envSha: "" },
  ])("writeSeed() for $name names the archive and its sha256 in den.env and never carries the archive", async ({ raw, sha, archive, envSha }) => {
    const dir = join(work, `containerd-${Bun.randomUUIDv7()}`);
    await mkdir(dir);
    const result = await writeSeed(dir, { config: filledConfig(raw), facts: rest, ...(sha && { containerdArchiveSha256: sha }) });
    const env = isoinfo(["-R", "-i", result.path, "-x", "/den.env"]);
    expect(env).toContain(`DEN_CIDATA_CONTAINERD_ARCHIVE=${archive || "''"}\n`);
    expect(env).toContain(`DEN_CIDATA_CONTAINERD_ARCHIVE_SHA256=${envSha || "''"}\n`);
    expect([...listing(result.path).keys()].filter((path) => path.includes("nerdctl"))).toEqual([]);
    // Kilobytes: the archive travels on its own disk (lib/containerd/archive-disk.ts).
    expect(result.bytes).toBeLessThan(2 * 2 ** 20);
  });

  test.each([
    { name: "the default", raw: {}, want: "/usr/local" },
    { name: "a prefix with a space", raw: { guestInstallPrefix: "/opt/my den" }, want: "'/opt/my den'" },
  ])("writeSeed() passes guestInstallPrefix as DEN_CIDATA_GUEST_INSTALL_PREFIX for $name", async ({ raw, want }) => {
    const dir = join(work, `prefix-${Bun.randomUUIDv7()}`);
    await mkdir(dir);
    const result = await writeSeed(dir, { config: filledConfig(raw), facts: rest, containerdArchiveSha256: sha256 });
    expect(isoinfo(["-R", "-i", result.path, "-x", "/den.env"])).toContain(`DEN_CIDATA_GUEST_INSTALL_PREFIX=${want}\n`);
  });
});
