// Issue 17 end to end, on one shared guest (and one clone of it): a template resolved by a URL scheme plugin boots;
// an additional disk is formatted, mounted and locked to its instance; `den watch --json` shows a port appearing;
// `den tunnel` carries a curl into the guest; `show-ssh` prints a command that runs; a snapshot of the running guest
// is applied and a file made after it is gone; `den edit` of a running instance applies at the next start; the clone
// boots with its own identity; rename and factory-reset keep what they must. Two boots in all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bootFailureReport, den, guestTemplate, processesMentioning, processesOfDenHome } from "./support/den-cli.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";

const mainTs = resolve(import.meta.dir, "../../main.ts");
const Name = "verbs";
const Clone = "verbs-clone";
const GuestPort = 18080;

let image: GuestImage;
let home: string;
let plugins: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  image = await ensureGuestImage();
  home = await mkdtemp(join(tmpdir(), "den-verbs-"));
  // Outside DEN_HOME: every folder there counts as an instance (as in Lima).
  plugins = await mkdtemp(join(tmpdir(), "den-verbs-plugins-"));
}, 900_000);

afterAll(async () => {
  for (const name of [Name, Clone, `${Clone}-renamed`, "other"]) await den(home, ["stop", "-f", name]);
  for (const pid of await processesMentioning(`-D 127.0.0.1:`)) if ((await processesMentioning(home)).includes(pid)) process.kill(pid, "SIGKILL");
  for (const pid of await processesOfDenHome(home)) process.kill(pid, "SIGKILL");
  console.log(`limactl-verbs e2e timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number((v / 1000).toFixed(1))])))}`);
  expect(await processesMentioning(home)).toEqual([]);
  await rm(home, { recursive: true, force: true });
  await rm(plugins, { recursive: true, force: true });
}, 180_000);

/** den with more in its environment (plugins on PATH, variables to preserve), as a user's shell would run it. */
async function denWith(args: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, mainTs, ...args], {
    cwd: home,
    env: { DEN_CACHE_DIR: join(home, "_cache"), ...process.env, DEN_HOME: home, DEN_QEMU_ACCEL: "tcg", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

async function guest(name: string, script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return den(home, ["shell", name, "--", "sh", "-c", script], { timeoutMs: 120_000 });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  return typeof address === "object" && address ? address.port : 0;
}

test(
  "a template named through a den-url plugin boots with an additional disk, formatted ext4 and mounted at /mnt/lima-data",
  async () => {
    expect(await den(home, ["disk", "create", "data", "--size", "1GiB"])).toMatchObject({ exitCode: 0 });
    await writeFile(join(home, "verbs.yaml"), guestTemplate(image, "additionalDisks:\n- data\n"));
    await writeFile(join(plugins, "den-url-e2e"), `#!/bin/sh\nprintf '%s\\n' "${home}/$1.yaml"\n`);
    await chmod(join(plugins, "den-url-e2e"), 0o755);
    const created = await denWith(["create", "e2e:verbs"], { PATH: `${plugins}:${process.env.PATH}` });
    expect(created).toMatchObject({ exitCode: 0 });
    const start = await den(home, ["start", Name]);
    timings.firstBoot = (start as { ms: number }).ms;
    if (start.exitCode !== 0) console.error(await bootFailureReport(home, Name, start));
    expect({ exitCode: start.exitCode, stderr: start.exitCode === 0 ? "" : start.stderr }).toEqual({ exitCode: 0, stderr: "" });

    const mounted = await guest(Name, "findmnt -no FSTYPE /mnt/lima-data && sudo sh -c 'echo on-the-disk > /mnt/lima-data/f' && cat /mnt/lima-data/f");
    expect(mounted).toMatchObject({ exitCode: 0, stdout: "ext4\non-the-disk\n" });
    expect(await readlink(join(home, "_disks", "data", "in_use_by"))).toBe(join(home, Name));
    const listed = JSON.parse((await den(home, ["disk", "list", "--json", "data"])).stdout.trim());
    expect(listed).toMatchObject({ name: "data", instance: Name });

    const deleting = await den(home, ["disk", "delete", "data"]);
    expect(deleting.exitCode).toBe(1);
    expect(deleting.stderr).toContain(`in use by instance "${Name}"`);
    // A second instance naming the same disk is refused at start, before any VM runs.
    await writeFile(join(home, "other.yaml"), guestTemplate(image, "additionalDisks:\n- data\n"));
    expect(await den(home, ["create", join(home, "other.yaml"), "--name", "other"])).toMatchObject({ exitCode: 0 });
    const other = await den(home, ["start", "other"], { timeoutMs: 300_000 });
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain(`Cannot attach disk "data" to instance "other": it is in use by instance "${Name}"`);
    expect(await processesMentioning(join(home, "other"))).toEqual([]);
    expect(await den(home, ["delete", "other"])).toMatchObject({ exitCode: 0 });
  },
  { timeout: 900_000 },
);

test(
  "den watch --json shows a guest port appearing, den tunnel carries a curl into the guest and show-ssh prints a command that runs",
  async () => {
    const watch = Bun.spawn([process.execPath, mainTs, "watch", Name, "--json"], {
      cwd: home,
      env: { ...process.env, DEN_HOME: home },
      stdout: "pipe",
      stderr: "pipe",
    });
    let watched = "";
    const reading = (async () => {
      for await (const chunk of watch.stdout) watched += new TextDecoder().decode(chunk);
    })();
    try {
      await Bun.sleep(2000);
      const served = await guest(
        Name,
        `mkdir -p /tmp/www && echo tunnel-ok > /tmp/www/index.html && sudo systemd-run --unit den-e2e-www -p WorkingDirectory=/tmp/www python3 -m http.server ${GuestPort} --bind 127.0.0.1`,
      );
      expect(served.exitCode).toBe(0);
      const deadline = Date.now() + 90_000;
      while (!watched.includes(`:${GuestPort}"`) && Date.now() < deadline) await Bun.sleep(500);
      watch.kill("SIGINT");
      expect(await watch.exited).toBe(0);
    } finally {
      watch.kill("SIGKILL");
    }
    await reading;
    const events = watched.trim().split("\n").map((line) => JSON.parse(line) as { instance: string; event: { status?: { portForward?: { type: string; protocol: string; guestAddr: string } } } });
    const appeared = events.find((line) => line.event.status?.portForward?.guestAddr?.endsWith(`:${GuestPort}`));
    expect(appeared).toMatchObject({ instance: Name, event: { status: { portForward: { type: "forwarding", protocol: "tcp" } } } });

    const socksPort = await freePort();
    const tunnel = await den(home, ["tunnel", "--socks-port", String(socksPort), Name], { timeoutMs: 120_000 });
    expect(tunnel.exitCode).toBe(0);
    expect(tunnel.stdout).toContain(`socks5h://127.0.0.1:${socksPort}`);
    // `localhost` is resolved at the far end of the proxy: the guest's own loopback.
    const curl = Bun.spawnSync(["curl", "-s", "--max-time", "20", "--socks5-hostname", `127.0.0.1:${socksPort}`, `http://localhost:${GuestPort}/`]);
    expect(curl.stdout.toString()).toBe("tunnel-ok\n");

    const command = (await den(home, ["show-ssh", Name])).stdout.trim();
    const viaShowSsh = Bun.spawnSync(["sh", "-c", `${command} hostname`], { timeout: 60_000 });
    const viaShell = await guest(Name, "hostname");
    expect(viaShowSsh.stdout.toString()).toBe(viaShell.stdout);
    expect(viaShowSsh.exitCode).toBe(0);

    expect(await denWith(["shell", "--preserve-env", Name, "--", "sh", "-c", 'echo "$DEN_E2E_VAR|$HOME"'], { DEN_E2E_VAR: "a b" })).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^a b\|\/home\//) });
    expect(await den(home, ["shell", "--instance", Name, "uname", "-s"])).toMatchObject({ exitCode: 0, stdout: "Linux\n" });
    expect((await den(home, ["list", "-q", "--filter", '.status == "Running"'])).stdout).toBe(`${Name}\n`);
  },
  { timeout: 600_000 },
);

test(
  "a snapshot of the running guest, applied, takes away a file made after it, and the guest answers again",
  async () => {
    const created = await den(home, ["snapshot", "create", Name, "--tag", "before"], { timeoutMs: 600_000 });
    timings.snapshotCreate = (created as { ms: number }).ms;
    expect(created).toMatchObject({ exitCode: 0 });
    expect(await guest(Name, "touch ~/after-snapshot && test -e ~/after-snapshot")).toMatchObject({ exitCode: 0 });
    const applied = await den(home, ["snapshot", "apply", Name, "--tag", "before"], { timeoutMs: 600_000 });
    timings.snapshotApply = (applied as { ms: number }).ms;
    expect(applied).toMatchObject({ exitCode: 0 });
    expect(await guest(Name, "test -e ~/after-snapshot")).toMatchObject({ exitCode: 1 });
    // The guest's server (started before the snapshot) is still reached through the forward on the host.
    const forwarded = Bun.spawnSync(["curl", "-s", "--max-time", "30", `http://127.0.0.1:${GuestPort}/`]);
    expect(forwarded.stdout.toString()).toBe("tunnel-ok\n");
    expect((await den(home, ["snapshot", "list", Name, "--quiet"])).stdout).toBe("before\n");
    expect(await den(home, ["snapshot", "delete", Name, "--tag", "before"], { timeoutMs: 300_000 })).toMatchObject({ exitCode: 0 });
    expect((await den(home, ["snapshot", "list", Name, "--quiet"])).stdout).toBe("");
    expect(JSON.parse((await den(home, ["list", "--json", Name])).stdout).status).toBe("Running");
  },
  { timeout: 1_500_000 },
);

test(
  "den edit of a running instance applies at its next start; the clone boots with its own hostname, MAC and host keys; rename and factory-reset keep den.yaml",
  async () => {
    const identity = "hostname; cat /sys/class/net/*/address | grep -v 00:00:00:00:00:00 | head -1; cat /etc/ssh/ssh_host_ed25519_key.pub";
    const original = await guest(Name, `echo cloned > ~/marker && ${identity}`);
    expect(original.exitCode).toBe(0);
    const edit = await den(home, ["edit", Name, "--cpus", "1"]);
    expect(edit.exitCode).toBe(0);
    expect(edit.stderr).toContain("the change applies when it next starts");
    expect(await den(home, ["stop", Name], { timeoutMs: 300_000 })).toMatchObject({ exitCode: 0 });
    expect(await readlink(join(home, "_disks", "data", "in_use_by")).catch(() => "released")).toBe("released");

    // The data disk stays with the original: a disk serves one instance at a time.
    const cloned = await den(home, ["clone", Name, Clone, "--set", ".additionalDisks = []"]);
    expect(cloned).toMatchObject({ exitCode: 0 });
    const start = await den(home, ["start", Clone]);
    timings.cloneBoot = (start as { ms: number }).ms;
    expect({ exitCode: start.exitCode, stderr: start.exitCode === 0 ? "" : start.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const copy = await guest(Clone, `cat ~/marker && nproc && ${identity}`);
    expect(copy.exitCode).toBe(0);
    const [marker, cpus, ...copyIdentity] = copy.stdout.trim().split("\n");
    const originalIdentity = original.stdout.trim().split("\n");
    expect({ marker, cpus }).toEqual({ marker: "cloned", cpus: "1" });
    for (let i = 0; i < 3; i++) expect(copyIdentity[i]).not.toBe(originalIdentity[i]);
    expect(await den(home, ["stop", Clone], { timeoutMs: 300_000 })).toMatchObject({ exitCode: 0 });

    expect(await den(home, ["rename", Clone, `${Clone}-renamed`])).toMatchObject({ exitCode: 0 });
    expect((await den(home, ["list", "-q"])).stdout).toBe(`${Name}\n${Clone}-renamed\n`);
    expect(await den(home, ["factory-reset", `${Clone}-renamed`])).toMatchObject({ exitCode: 0 });
    expect((await readdir(join(home, `${Clone}-renamed`))).sort()).toEqual(["den-format", "den.yaml", "lima-version"]);
    expect(await den(home, ["delete", `${Clone}-renamed`])).toMatchObject({ exitCode: 0 });
    expect(await den(home, ["delete", Name])).toMatchObject({ exitCode: 0 });
    expect(await den(home, ["disk", "delete", "data"])).toMatchObject({ exitCode: 0 });
  },
  { timeout: 1_500_000 },
);
