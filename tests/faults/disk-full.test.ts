// Issue 18, disk full: DEN_HOME or the image cache on a file system too small for what den writes there, while the
// image is copied into the instance, while its disk is created, while the image downloads into the cache and while
// the seed is written. Each case expects an error naming the path and the room needed, an instance as it was before
// the command (no `image`, `disk` or seed that is half written), a cache without a corrupt entry, and a later run
// with room that finishes from verified files. The file systems are small tmpfs mounts, so the tests need root (as
// CI runs them); no guest boots: den start stops short of QEMU (a failed write), and the run with room drives the
// library up to where QEMU would launch.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeSeed } from "../../cidata/write-seed.ts";
import { createDriver } from "../../drivers/registry.ts";
import { loadInstanceConfig } from "../../lib/config/load.ts";
import { cacheEntry } from "../../lib/images/cache-layout.ts";
import { prepareInstanceImage } from "../../lib/images/prepare-instance-image.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { startImageServer } from "../e2e/support/image-server.ts";
import { processesOfDenHome } from "../e2e/support/den-cli.ts";
import { diskIntact } from "./support/disk-intact.ts";
import { firmwareOnlyTemplate } from "./support/firmware-only-template.ts";
import { printFaultTableAfterAll, recordFault } from "./support/fault-table.ts";

const isRoot = process.getuid?.() === 0;
const mainTs = resolve(import.meta.dir, "../../main.ts");
const MiB = 1024 * 1024;

const root = mkdtempSync(join(tmpdir(), "den-disk-full-"));
const mounted: string[] = [];
const server = await startImageServer();
afterAll(async () => {
  await server.stop();
  for (const dir of mounted.reverse()) Bun.spawnSync(["umount", "-l", dir]);
  rmSync(root, { recursive: true, force: true });
});
printFaultTableAfterAll("Disk full (tests/faults/disk-full.test.ts)");

// 12 MiB of random data as a qcow2 image: nothing in it compresses, so every copy takes all of it.
const imageDir = join(root, "images");
mkdirSync(imageDir);
const imagePath = join(imageDir, "blank.qcow2");
writeFileSync(join(imageDir, "random.raw"), randomBytes(12 * MiB));
expect(Bun.spawnSync(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", join(imageDir, "random.raw"), imagePath]).exitCode).toBe(0);
rmSync(join(imageDir, "random.raw"));
// Rewritten whole: qemu-img leaves holes in its metadata areas, which a copy would keep, and then the image would
// take less room than its size says.
const imageBytes = readFileSync(imagePath);
writeFileSync(imagePath, imageBytes);
const imageDigest = `sha256:${createHash("sha256").update(imageBytes).digest("hex")}`;
server.add("blank.qcow2", { bytes: imageBytes });

function template(location: string, digest?: string): string {
  return firmwareOnlyTemplate(location, { digest });
}

/** A tmpfs of `bytes` at a new folder under the test's root. */
function smallFileSystem(name: string, bytes: number): string {
  const dir = join(root, name);
  mkdirSync(dir);
  run(["mount", "-t", "tmpfs", "-o", `size=${Math.ceil(bytes / 1024)}k,mode=0700`, "tmpfs", dir]);
  mounted.push(dir);
  return dir;
}

/** Grows or shrinks the tmpfs at `dir` so that exactly `freeBytes` (rounded to pages) stay free. */
function leaveFree(dir: string, freeBytes: number): void {
  const stats = statfsSync(dir);
  const used = (stats.blocks - stats.bfree) * stats.bsize;
  run(["mount", "-o", `remount,size=${Math.ceil((used + freeBytes) / 4096) * 4}k`, dir]);
}

function run(argv: string[]): void {
  const result = Bun.spawnSync(argv, { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr.toString()}`);
}

/** The den CLI from source with this DEN_HOME (and cache), as a user runs it. */
async function den(home: string, args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, mainTs, ...args], {
    cwd: root,
    env: { ...process.env, DEN_HOME: home, DEN_CACHE_DIR: join(home, "_cache"), DEN_QEMU_ACCEL: "tcg", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

/** `den create` from a template file; the folder holds only the configuration afterwards. */
async function createInstance(home: string, name: string, yaml: string, env: Record<string, string> = {}): Promise<string> {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, yaml);
  const created = await den(home, ["create", "--name", name, file], env);
  expect(created.stderr).not.toContain("error:");
  expect(created.exitCode).toBe(0);
  return join(home, name);
}

/** Files in the instance folder a crash or a full disk could leave half written. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((file) => /\.tmp$|^(image|disk|cidata\.iso|kernel|initrd)$/.test(file));
}

async function listStatus(home: string, name: string): Promise<string> {
  const listed = await den(home, ["list", "--format", "{{.Name}} {{.Status}}"]);
  return listed.stdout.split("\n").find((line) => line.startsWith(`${name} `))?.slice(name.length + 1) ?? `(not listed: ${listed.stderr.trim()})`;
}

function firstError(stderr: string): string {
  return stderr.split("\n").find((line) => line.startsWith("error:"))?.slice("error: ".length) ?? stderr.trim();
}

const logger = createMemoryLogger();

describe.if(isRoot)("disk full", () => {
  test("den start on a DEN_HOME too small for the image names the image, the room it needs and what is free, and leaves no image", async () => {
    const home = smallFileSystem("home-a", 6 * MiB);
    const dir = await createInstance(home, "full", template(imagePath));
    const yamlBefore = readFileSync(join(dir, "den.yaml"), "utf8");
    const started = await den(home, ["start", "full", "--timeout", "60s"]);
    const error = firstError(started.stderr);
    expect(started.exitCode).not.toBe(0);
    expect(error).toMatch(new RegExp(`^Cannot write image "${dir}/image": no space left on the device \\(needs 13 MiB, [0-9.]+ MiB free\\)$`));
    expect(started.stderr).toContain(`hint: free space on the file system that holds "${dir}"`);
    expect(leftovers(dir)).toEqual([]);
    expect(readFileSync(join(dir, "den.yaml"), "utf8")).toBe(yamlBefore);
    const state = await listStatus(home, "full");
    expect(state).toBe("Stopped");
    const leaked = (await processesOfDenHome(home)).length;
    recordFault({ fault: "disk full: DEN_HOME while den start copies the image", state: `${state}; ${error}`, diskIntact: leftovers(dir).length === 0, leaked, silent: started.exitCode === 0 });
  }, 30_000);

  test("den start with room for the image but not the disk keeps the verified image, names the disk and leaves no disk", async () => {
    const home = join(root, "home-a");
    const dir = join(home, "full");
    leaveFree(home, imageBytes.length + 64 * 1024);
    const started = await den(home, ["start", "full", "--timeout", "60s"]);
    const error = firstError(started.stderr);
    expect(started.exitCode).not.toBe(0);
    expect(error).toMatch(new RegExp(`^Cannot write the disk "${dir}/disk": no space left on the device \\(needs more than 0\\.3 MiB, 0\\.[0-9] MiB free\\)$`));
    // The image is whole (it is renamed into place only once copied and verified), so the next start may use it.
    expect(leftovers(dir)).toEqual(["image"]);
    expect(readFileSync(join(dir, "image")).equals(imageBytes)).toBe(true);
    const state = await listStatus(home, "full");
    expect(state).toBe("Stopped");

    // With room, the same instance gets its disk from the image already there, as den start does before QEMU.
    leaveFree(home, 16 * MiB);
    const config = await loadInstanceConfig(home, "full");
    expect(await prepareInstanceImage(dir, config, { hostHome: root, env: {} })).toMatchObject({ copied: false });
    await createDriver({ instanceName: "full", instanceDir: dir, denHome: home, config, sshLocalPort: 0, env: { PATH: process.env.PATH }, logger }).createDisk();
    const intact = diskIntact(join(dir, "disk")) && diskIntact(join(dir, "image"));
    expect(intact).toBe(true);
    const leaked = (await processesOfDenHome(home)).length;
    recordFault({ fault: "disk full: DEN_HOME while den start creates the disk", state: `${state}; ${error}`, diskIntact: intact, leaked, silent: started.exitCode === 0 });
  }, 30_000);

  test("the host agent's seed write on a full DEN_HOME ends den start with the seed's path and size, before any QEMU", async () => {
    const home = join(root, "home-a");
    const dir = join(home, "full");
    // Room for the host agent's logs and the user's SSH key, not for the seed.
    leaveFree(home, 48 * 1024);
    const started = await den(home, ["start", "full", "--timeout", "60s"]);
    expect(started.exitCode).not.toBe(0);
    expect(started.stderr).toMatch(new RegExp(`Cannot write the seed "${dir}/cidata\\.iso": no space left on the device \\(needs [0-9.]+ MiB, 0\\.0 MiB free\\)`));
    expect(leftovers(dir).sort()).toEqual(["disk", "image"]);
    const state = await listStatus(home, "full");
    expect(state).toBe("Stopped");
    const leaked = (await processesOfDenHome(home)).length;
    const intact = diskIntact(join(dir, "disk"));
    recordFault({ fault: "disk full: DEN_HOME while the host agent writes the seed", state: `${state}; ${/Cannot write the seed[^\n]*/.exec(started.stderr)?.[0]}`, diskIntact: intact, leaked, silent: false });
  }, 30_000);

  test("a seed that does not fit leaves the previous seed as it was, and fits again once there is room", async () => {
    const dir = smallFileSystem("seed-c", 4 * MiB);
    const home = join(root, "home-a");
    const config = await loadInstanceConfig(home, "full");
    const facts = (iid: string) => ({ instanceName: "full", iid, sshPublicKeys: ["ssh-ed25519 AAAA test"], macAddress: "52:55:55:12:34:56", hostHome: root, hostEnv: {} });
    const first = await writeSeed(dir, { config, facts: facts("iid-1") });
    const before = readFileSync(first.path);
    leaveFree(dir, 16 * 1024);
    const failure = await writeSeed(dir, { config, facts: facts("iid-2") }).then(() => undefined, (error: Error) => error);
    expect(failure?.message).toMatch(new RegExp(`^Cannot write the seed "${dir}/cidata\\.iso": no space left on the device \\(needs [0-9.]+ MiB, 0\\.0 MiB free\\)$`));
    const kept = readFileSync(first.path).equals(before);
    expect(kept).toBe(true);
    expect(readdirSync(dir).filter((file) => file.endsWith(".tmp"))).toEqual([]);
    leaveFree(dir, 2 * MiB);
    await writeSeed(dir, { config, facts: facts("iid-3") });
    expect(readFileSync(first.path).equals(before)).toBe(false);
    recordFault({ fault: "disk full: rewriting an existing seed", state: `previous seed kept; ${failure?.message}`, diskIntact: kept, leaked: 0, silent: failure === undefined });
  }, 30_000);

  test("an image cache that fills during the download keeps no data, says how much more it needs, and the run with room resumes to a verified entry", async () => {
    const home = join(root, "home-b");
    mkdirSync(home);
    const cache = smallFileSystem("cache-b", 5 * MiB);
    const url = server.url("blank.qcow2");
    const env = { DEN_CACHE_DIR: cache };
    const dir = await createInstance(home, "cached", template(url, imageDigest), env);
    const started = await den(home, ["start", "cached", "--timeout", "60s"], env);
    const error = firstError(started.stderr);
    const entry = cacheEntry(cache, url);
    expect(started.exitCode).not.toBe(0);
    expect(error).toMatch(new RegExp(`^Cannot write image \\(blank\\.qcow2\\) "${entry.partial}": no space left on the device \\(needs [0-9.]+ MiB more, 0\\.0 MiB free\\)$`));
    expect(started.stderr).toMatch(/hint: .*the [0-9.]+ MiB already downloaded are kept and the next run resumes from there/);
    // A full disk is not a network fault: one request, no retries.
    expect(server.requestCount("blank.qcow2")).toBe(1);
    const entryFiles = readdirSync(entry.dir);
    expect(entryFiles).not.toContain("data");
    const keptBytes = statSync(entry.partial).size;
    expect(keptBytes).toBeGreaterThan(0);
    expect(entryFiles.filter((file) => file.endsWith(".digest"))).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
    const state = await listStatus(home, "cached");
    expect(state).toBe("Stopped");

    leaveFree(cache, 16 * MiB);
    const config = await loadInstanceConfig(home, "cached");
    await prepareInstanceImage(dir, config, { hostHome: root, env: {}, cacheDir: cache });
    const verified = readFileSync(entry.data).equals(imageBytes) && readFileSync(join(dir, "image")).equals(imageBytes);
    expect(verified).toBe(true);
    expect(readFileSync(join(entry.dir, "sha256.digest"), "utf8")).toBe(imageDigest);
    // Resumed from the part the full disk left: the second request asked only for the rest.
    expect(server.requests.filter((request) => request.name === "blank.qcow2").map(({ range, status }) => ({ range, status }))).toEqual([
      { range: null, status: 200 },
      { range: `bytes=${keptBytes}-`, status: 206 },
    ]);
    const leaked = (await processesOfDenHome(home)).length;
    recordFault({ fault: "disk full: image cache while downloading", state: `${state}; ${error}`, diskIntact: verified && diskIntact(join(dir, "image")), leaked, silent: started.exitCode === 0 });
  }, 30_000);
});
