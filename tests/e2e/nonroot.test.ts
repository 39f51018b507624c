// Issue 13 #8 end to end: den run from source by an ordinary user (uid ≠ 0, the way Lima users run it; Lima refuses
// root), with its own DEN_HOME in a temp folder it owns. One guest boots (virtiofs with mountInotify: the mount type
// that could not start as an ordinary user), and checks that files the guest user writes belong to the host user and
// that a host change in a subfolder wakes a watcher there. 9p costs no boot of its own: `den start` must print the
// warning about its subfolder limit, which comes before the VM boots, so a start ended by `den stop -f` right after
// shows it. reverse-sshfs behaves the same for root and an ordinary user (OPEN, ATTRIB, CLOSE_WRITE in subfolders too;
// ATTRIB rather than MODIFY by design, see agent/fs-events.ts) and is covered by mounts.test.ts.
//
// Preconditions (each missing one fails the run with what to do): root to switch users with runuser, the user
// (reused, or created with useradd, which gives it a subordinate id range), newgidmap (package uidmap, installed by
// scripts/setup.sh) and a /etc/subgid range for the user, and a guest image and den tree the user can read.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { readUntil } from "../../lib/text/read-until.ts";
import { guestTemplate, processesMentioning } from "./support/den-cli.ts";
import { ensureGuestImage } from "./support/guest-image.ts";

const User = "dentest";
const mainTs = resolve(import.meta.dir, "../../main.ts");
const GuestCommandTimeoutMs = 120_000;

interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], options: { timeoutMs?: number } = {}): Promise<Ran> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

/** The host user the test runs den as, and where its den lives. */
interface Ordinary {
  uid: number;
  gid: number;
  /** A temp folder the user owns: HOME, DEN_HOME and the shared folder live under it. */
  base: string;
  home: string;
  denHome: string;
}

const user: Ordinary = { uid: -1, gid: -1, base: "", home: "", denHome: "" };

/** `argv` as the ordinary user, with a clean environment as a login would give it. */
function asUser(argv: string[]): string[] {
  const env = [`HOME=${user.home}`, `DEN_HOME=${user.denHome}`, `DEN_CACHE_DIR=${join(user.denHome, "_cache")}`, "DEN_QEMU_ACCEL=tcg", `PATH=${dirname(process.execPath)}:/usr/bin:/bin`];
  return ["runuser", "-u", User, "--", "env", "-i", ...env, ...argv];
}

function denAsUser(args: string[], options: { timeoutMs?: number } = {}): Promise<Ran> {
  return run(asUser([process.execPath, mainTs, ...args]), { timeoutMs: options.timeoutMs ?? 900_000 });
}

/** Fails the run with what to do when a precondition is missing; never skips. */
function need(ok: boolean, message: string): void {
  if (!ok) throw new Error(`nonroot.test.ts cannot run: ${message}`);
}

async function prepareUser(): Promise<void> {
  need(process.getuid?.() === 0, "it must run as root (it switches to an ordinary user with runuser)");
  if ((await run(["id", "-u", User])).exitCode !== 0) {
    const added = await run(["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", User]);
    need(added.exitCode === 0, `useradd ${User} failed: ${added.stderr.trim()}`);
  }
  user.uid = Number((await run(["id", "-u", User])).stdout.trim());
  user.gid = Number((await run(["id", "-g", User])).stdout.trim());
  need(user.uid > 0, `"${User}" must be an ordinary user, not uid ${user.uid}`);
  need(Bun.which("newgidmap") !== null, "newgidmap is missing: apt-get install uidmap (scripts/setup.sh installs it)");
  const subgid = existsSync("/etc/subgid") ? await readFile("/etc/subgid", "utf8") : "";
  need(subgid.split("\n").some((line) => line.startsWith(`${User}:`) || line.startsWith(`${user.uid}:`)), `/etc/subgid has no range for ${User}: usermod --add-subgids 100000-165535 ${User}`);
}

async function userCanRead(paths: string[]): Promise<void> {
  const checked = await run(["runuser", "-u", User, "--", "sh", "-c", 'for p; do test -r "$p" || echo "$p"; done', "sh", ...paths]);
  need(checked.stdout.trim() === "", `${User} cannot read ${checked.stdout.trim().split("\n").join(", ")} (make the files world-readable)`);
}

/** Gives a file or folder the test made (as root) to the user. */
async function ownedByUser(path: string): Promise<void> {
  await chown(path, user.uid, user.gid);
}

function q(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

beforeAll(async () => {
  await prepareUser();
  user.base = await mkdtemp(join(tmpdir(), "den-nonroot-"));
  user.home = join(user.base, "home");
  user.denHome = join(user.home, ".den");
  await mkdir(user.denHome, { recursive: true });
  for (const path of [user.base, user.home, user.denHome]) await ownedByUser(path);
  // Others (QEMU's 9p server, sshd checks) need to pass through; the user owns it either way.
  await chmod(user.base, 0o755);
}, 60_000);

afterAll(async () => {
  if (user.base) await rm(user.base, { recursive: true, force: true });
});

describe("virtiofs as an ordinary user", () => {
  const name = "nonroot-vfs";
  let share = "";
  let guestUid = -1;

  beforeAll(async () => {
    const image = await ensureGuestImage();
    await userCanRead([image.disk, image.kernel, image.initrd, mainTs, process.execPath]);
    share = join(user.base, "shared ü");
    await mkdir(join(share, "sub dir"), { recursive: true });
    await writeFile(join(share, "sub dir", "inner.txt"), "first\n");
    for (const path of [share, join(share, "sub dir"), join(share, "sub dir", "inner.txt")]) await ownedByUser(path);
    const extra = ["mountType: virtiofs", "mountInotify: true", "mounts:", `- location: ${JSON.stringify(share)}`, "  writable: true"].join("\n");
    const template = join(user.base, "virtiofs.yaml");
    await writeFile(template, guestTemplate(image, extra, { mounts: false }));
    await ownedByUser(template);
    const created = await denAsUser(["create", template, "--name", name]);
    expect({ exitCode: created.exitCode, stderr: created.stderr }).toMatchObject({ exitCode: 0 });
    const started = await denAsUser(["start", name]);
    expect({ exitCode: started.exitCode, stderr: started.stderr }).toMatchObject({ exitCode: 0 });
    guestUid = Number((await denAsUser(["shell", "--workdir", "/", name, "--", "id", "-u"])).stdout.trim());
  }, 1_200_000);

  afterAll(async () => {
    if (!share) return;
    const stopped = await denAsUser(["stop", name], { timeoutMs: 300_000 });
    if (stopped.exitCode !== 0) await denAsUser(["stop", "-f", name], { timeoutMs: 120_000 });
    // No QEMU, host agent or virtiofsd may outlive the instance.
    expect(await processesMentioning(user.denHome)).toEqual([]);
    expect(await processesMentioning(share)).toEqual([]);
    expect(stopped.exitCode).toBe(0);
  }, 420_000);

  test("the guest runs, and its virtiofsd runs as the host user, not root", async () => {
    expect(guestUid).toBeGreaterThan(0);
    const daemons = await processesMentioning(`source=${share}`);
    expect(daemons.length).toBeGreaterThan(0);
    for (const pid of daemons) {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      // Real, effective, saved and filesystem uid as the host sees them: all the user's.
      expect(status.match(/^Uid:\s+(.*)$/m)?.[1]?.split(/\s+/).map(Number)).toEqual([user.uid, user.uid, user.uid, user.uid]);
    }
  }, GuestCommandTimeoutMs);

  test("files the guest user writes in a subfolder belong to the host user, and host files show as the guest user's", async () => {
    const folder = join(share, "sub dir", "made in guest");
    const written = await denAsUser(["shell", "--workdir", "/", name, "--", "sh", "-c", `mkdir ${q(folder)} && printf 'from the guest' > ${q(join(folder, "new.txt"))} && stat -c %u:%g ${q(join(share, "sub dir", "inner.txt"))}`]);
    expect({ exitCode: written.exitCode, stderr: written.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(written.stdout.trim()).toBe(`${guestUid}:${guestUid}`);
    for (const path of [folder, join(folder, "new.txt")]) {
      const info = await stat(path);
      expect({ path, uid: info.uid, gid: info.gid }).toEqual({ path, uid: user.uid, gid: user.gid });
    }
    expect(await readFile(join(folder, "new.txt"), "utf8")).toBe("from the guest");
  }, GuestCommandTimeoutMs);

  test("a host change in a subfolder gives OPEN, MODIFY and CLOSE_WRITE on a guest watch of that subfolder", async () => {
    const folder = join(share, "sub dir");
    const file = join(folder, "inner.txt");
    // The guest looks at the file first, as an editor's watcher would have.
    expect((await denAsUser(["shell", "--workdir", "/", name, "--", "cat", file])).stdout).toBe("first\n");
    const watch = Bun.spawn(asUser([process.execPath, mainTs, "shell", "--workdir", "/", name, "--", "timeout", "90", "inotifywait", "-m", "--format", "%w%f|%e", folder]), {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const banner = await readUntil(watch.stderr, "Watches established", { timeoutMs: 60_000 });
      expect(banner).toContain("Watches established");
      const appended = await run(["runuser", "-u", User, "--", "sh", "-c", `echo second >> ${q(file)}`]);
      expect(appended.exitCode).toBe(0);
      const lines = await readUntil(watch.stdout, `${file}|CLOSE_WRITE`, { timeoutMs: 30_000 });
      const events = lines.split("\n").filter((line) => line.startsWith(`${file}|`)).flatMap((line) => line.slice(file.length + 1).split(","));
      expect(events).toEqual(expect.arrayContaining(["OPEN", "MODIFY", "CLOSE_WRITE"]));
      expect(await readFile(file, "utf8")).toBe("first\nsecond\n");
    } finally {
      watch.kill("SIGTERM");
      await watch.exited;
    }
  }, GuestCommandTimeoutMs);

  // Issue 18: the last check on this guest, since the share is gone afterwards.
  test("kill -9 of virtiofsd is reported in den list, and den stop -f then leaves nothing running", async () => {
    const daemons = await processesMentioning(`source=${share}`);
    expect(daemons.length).toBeGreaterThan(0);
    for (const pid of daemons) process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 30_000;
    let errors: string[] = [];
    while (Date.now() < deadline) {
      const listed = JSON.parse((await denAsUser(["list", "--json", name])).stdout.trim().split("\n")[0] ?? "{}") as { errors?: string[] };
      errors = listed.errors ?? [];
      if (errors.some((error) => error.includes("virtiofsd"))) break;
      await Bun.sleep(500);
    }
    expect(errors.join("\n")).toContain(`virtiofsd for mount "${share}" was killed by SIGKILL; the guest can no longer use that mount`);
    const stopped = await denAsUser(["stop", "-f", name], { timeoutMs: 120_000 });
    expect(stopped.exitCode).toBe(0);
    // Killed processes are gone a moment after den stop -f returns (their parent reaps them).
    const goneBy = Date.now() + 10_000;
    while ((await processesMentioning(user.denHome)).length > 0 && Date.now() < goneBy) await Bun.sleep(200);
    expect(await processesMentioning(user.denHome)).toEqual([]);
    console.log(`nonroot e2e: kill -9 virtiofsd reported as: ${errors.find((error) => error.includes("virtiofsd"))}`);
  }, GuestCommandTimeoutMs);
});

describe("9p with mountInotify as an ordinary user", () => {
  test("den start warns that host changes in 9p subfolders wake no watcher in the guest, before the VM boots", async () => {
    const image = await ensureGuestImage();
    const share = join(user.base, "nine p");
    await mkdir(share);
    await ownedByUser(share);
    const extra = ["mountType: 9p", "mountInotify: true", "mounts:", `- location: ${JSON.stringify(share)}`, "  writable: true"].join("\n");
    const template = join(user.base, "9p.yaml");
    await writeFile(template, guestTemplate(image, extra, { mounts: false }));
    await ownedByUser(template);
    const name = "nonroot-9p";
    expect((await denAsUser(["create", template, "--name", name])).exitCode).toBe(0);
    // The warning comes from the checks before QEMU starts. Once QEMU runs, the start is ended by a forced stop: a
    // guest stopped before its kernel is up ignores a graceful shutdown, which would cost den start's 3 minutes.
    const start = Bun.spawn(asUser([process.execPath, mainTs, "start", name]), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    let printed = "";
    let stopped: Ran;
    try {
      printed = await readUntil(start.stderr, "waiting for the guest kernel", { timeoutMs: 180_000 });
    } finally {
      stopped = await denAsUser(["stop", "-f", name], { timeoutMs: 120_000 });
      await start.exited;
    }
    const warning = `mountInotify: with 9p (cache=mmap), host changes in subfolders of ${JSON.stringify(share)} wake no watcher in the guest`;
    expect(printed).toContain(warning);
    expect(printed.split("\n").filter((line) => line.includes("mountInotify: with 9p"))).toHaveLength(1);
    expect(stopped.exitCode).toBe(0);
    const listed = await denAsUser(["list", "--json", name]);
    expect(JSON.parse(listed.stdout.trim().split("\n")[0] ?? "{}").status).toBe("Stopped");
    expect(await processesMentioning(join(user.denHome, name))).toEqual([]);
  }, 240_000);
});
