// Issue 12 #7 (modes, agent hash): what den creates under DEN_HOME must not take its mode from the umask (under
// umask 000 the agent cache and ha.sock were 0777), and the unpacked guest agent runtime, which every guest runs as
// root, is checked against the manifest den carries before it is used, and again while it is copied to its disk.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeIso9660ToFile } from "../../cidata/iso9660.ts";
import { type GuestRuntime, findGuestRuntime } from "../../lib/guestagent/guest-runtime.ts";
import { runtimeDiskEntries } from "../../lib/guestagent/runtime-disk.ts";
import { startApiServer } from "../../lib/hostagent/api-server.ts";
import { writeAtomically } from "../../lib/images/write-atomically.ts";
import { ensureUserKey } from "../../lib/ssh/user-key.ts";
import { deferredCleanups, tempDir } from "../support/deferred-cleanups.ts";

const mainTs = join(import.meta.dir, "../../main.ts");
const umask = process.umask();
const defer = deferredCleanups();
afterEach(() => void process.umask(umask));

async function modeOf(path: string): Promise<string> {
  return `0${((await stat(path)).mode & 0o777).toString(8)}`;
}

const realRuntime = new TextEncoder().encode("the real agent");
const realCompressed = Bun.zstdCompressSync(realRuntime);
const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
const runtimeFile = "den-guestagent-runtime-bun-1.4.5-linux-arm64.zst";
const manifest = {
  bunVersion: "1.4.5",
  baseUrl: "",
  runtimes: { "linux-arm64": { file: runtimeFile, sha256: sha256(realRuntime), size: realRuntime.byteLength, compressedSha256: sha256(realCompressed), compressedSize: realCompressed.byteLength } },
};

/** The runtime an x86_64 den carries for aarch64 guests (the one den unpacks into DEN_HOME; the guest runs it as root). */
async function findAgent(denHome: string): Promise<GuestRuntime> {
  await Bun.write(join(denHome, "..", "install", "share", "den", runtimeFile), realCompressed);
  const execPath = join(denHome, "..", "install", "bin", "den");
  const found = await findGuestRuntime("aarch64", { denHome, env: {}, platform: "linux", arch: "x64", execPath, distDir: "/nonexistent", manifest });
  if (!found) throw new Error("no runtime found");
  return found;
}

describe("modes under umask 000", () => {
  test("den create makes DEN_HOME and the instance folder 0700", async () => {
    const root = await tempDir(defer);
    const denHome = join(root, "den");
    await writeFile(join(root, "t.yaml"), "images:\n- location: /nonexistent/img.qcow2\n  arch: x86_64\n");
    const child = Bun.spawn(["bash", "-c", 'umask 000; exec "$0" "$@"', process.execPath, mainTs, "create", "--name=vm1", join(root, "t.yaml")], {
      env: { ...process.env, DEN_HOME: denHome },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = await new Response(child.stderr).text();
    expect({ exitCode: await child.exited, stderr }).toMatchObject({ exitCode: 0 });
    expect({
      denHome: await modeOf(denHome),
      instance: await modeOf(join(denHome, "vm1")),
      yaml: await modeOf(join(denHome, "vm1", "den.yaml")),
    }).toEqual({ denHome: "0700", instance: "0700", yaml: "0644" });
  }, 20_000);

  test("findGuestRuntime() makes the cache folders 0700 and the unpacked runtime 0600", async () => {
    const denHome = join(await tempDir(defer), "den");
    process.umask(0);
    const agent = await findAgent(denHome);
    const keyDir = join(agent.path, "..");
    expect({
      denHome: await modeOf(denHome),
      cache: await modeOf(join(denHome, "_cache")),
      guestagent: await modeOf(join(denHome, "_cache", "guestagent")),
      keyDir: await modeOf(keyDir),
      agent: await modeOf(agent.path),
    }).toEqual({ denHome: "0700", cache: "0700", guestagent: "0700", keyDir: "0700", agent: "0600" });
  });

  test("findGuestRuntime() tightens cache folders an older den left 0777", async () => {
    const denHome = join(await tempDir(defer), "den");
    const agent = await findAgent(denHome);
    for (const dir of [join(denHome, "_cache"), join(denHome, "_cache", "guestagent"), join(agent.path, "..")]) await chmod(dir, 0o777);
    await findAgent(denHome);
    expect(await Promise.all([join(denHome, "_cache"), join(denHome, "_cache", "guestagent"), join(agent.path, "..")].map(modeOf))).toEqual(["0700", "0700", "0700"]);
  });

  test("ensureUserKey() makes _config 0700 and the private key 0600, and tightens an old _config", async () => {
    const denHome = join(await tempDir(defer), "den");
    process.umask(0);
    const key = await ensureUserKey(denHome);
    expect({
      config: await modeOf(join(denHome, "_config")),
      privateKey: await modeOf(key.privateKeyPath),
      publicKey: await modeOf(`${key.privateKeyPath}.pub`),
    }).toEqual({ config: "0700", privateKey: "0600", publicKey: "0644" });
    await chmod(join(denHome, "_config"), 0o777);
    await ensureUserKey(denHome);
    expect(await modeOf(join(denHome, "_config"))).toBe("0700");
  });

  test("startApiServer() makes ha.sock 0600", async () => {
    const dir = await tempDir(defer);
    process.umask(0);
    const socketPath = join(dir, "ha.sock");
    const server = await startApiServer(socketPath, {
      info: () => ({ sshLocalPort: 0, status: "Running", degraded: false, errors: [], services: {} }),
      pause: async () => {},
      resume: async () => {},
      stop: () => {},
    });
    try {
      expect(await modeOf(socketPath)).toBe("0600");
    } finally {
      await server.close();
    }
  });
});

describe("the unpacked guest agent runtime", () => {
  test.each([
    { name: "a changed file", tamper: (path: string) => writeFile(path, "an evil agent") },
    { name: "a changed file of the same size", tamper: (path: string) => writeFile(path, "the evil agent") },
    { name: "a truncated file", tamper: (path: string) => writeFile(path, "") },
    {
      name: "a symlink to another file",
      tamper: async (path: string) => {
        await writeFile(`${path}.evil`, "the real agent");
        await rm(path);
        await symlink(`${path}.evil`, path);
      },
    },
    { name: "a world-writable file", tamper: (path: string) => chmod(path, 0o666) },
  ])("findGuestRuntime() replaces $name with the runtime installed beside den before it reaches a runtime disk", async ({ tamper }) => {
    const denHome = join(await tempDir(defer), "den");
    const first = await findAgent(denHome);
    await tamper(first.path);
    const again = await findAgent(denHome);
    expect(again).toEqual(first);
    const info = await stat(again.path);
    expect({ text: await readFile(again.path, "utf8"), regular: info.isFile(), mode: await modeOf(again.path) }).toEqual({ text: "the real agent", regular: true, mode: "0600" });
  });

  test("the runtime disk refuses a runtime that changed after findGuestRuntime() checked it, and keeps no ISO", async () => {
    const denHome = join(await tempDir(defer), "den");
    const agent = await findAgent(denHome);
    await writeFile(agent.path, "the evil agent");
    const iso = join(denHome, "runtime.iso");
    await expect(writeIso9660ToFile(runtimeDiskEntries(agent), iso)).rejects.toMatchObject({ message: expect.stringContaining("Cannot copy the guest agent runtime") });
    expect(existsSync(iso)).toBe(false);
  });

  test("the runtime disk copies an unchanged runtime", async () => {
    const denHome = join(await tempDir(defer), "den");
    const agent = await findAgent(denHome);
    const iso = join(denHome, "runtime.iso");
    await writeIso9660ToFile(runtimeDiskEntries(agent), iso);
    expect((await readFile(iso)).includes(Buffer.from("the real agent"))).toBe(true);
  });

  test("findGuestRuntime() does not write through a planted temporary file", async () => {
    const denHome = join(await tempDir(defer), "den");
    const first = await findAgent(denHome);
    const outside = join(await tempDir(defer), "outside");
    await writeFile(outside, "untouched");
    await rm(first.path);
    await symlink(outside, `${first.path}.${process.pid}.tmp`);
    await findAgent(denHome);
    expect(await readFile(outside, "utf8")).toBe("untouched");
    expect(await readFile(first.path, "utf8")).toBe("the real agent");
  });
});

describe("folders den finds in place", () => {
  test("findGuestRuntime() leaves a DEN_HOME the user made as it is", async () => {
    const denHome = join(await tempDir(defer), "den");
    await mkdir(denHome);
    await chmod(denHome, 0o750);
    await mkdir(join(denHome, "vm1"));
    await findAgent(denHome);
    expect(await modeOf(denHome)).toBe("0750");
  });
});

test("writeAtomically() does not write through a symlink planted at its temporary name", async () => {
  const cache = await tempDir(defer);
  const victim = join(await tempDir(defer), "victim");
  await writeFile(victim, "untouched");
  await symlink(victim, join(cache, `url.${process.pid}.tmp`));
  await writeAtomically(join(cache, "url"), "https://example.org/image.qcow2");
  expect(await readFile(victim, "utf8")).toBe("untouched");
  expect(await readFile(join(cache, "url"), "utf8")).toBe("https://example.org/image.qcow2");
});
