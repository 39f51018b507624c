// den's lifecycle (issue 4), its seed read by real cloud-init (issue 3) and the faults that need a real VM (issue 18),
// all on one instance, "life", booted four times. A boot under TCG takes 1.5-2 min and CI runs every test file in one
// process on two cores, so these checks share one guest: as three files (lifecycle, faults-lifecycle, seed) they
// booted six. Tests run in file order, each taking the instance as the one before left it:
// - a broken image fails fast, naming its stage and the console's last lines (instance "broken", nothing boots);
// - create from a template served over HTTP (den start goes through the downloader and its cache), then kill -9 of
//   den start before the disk exists: Stopped, nothing half-written;
// - boot 1: each stage reported, READY, Running. Then the seed checks over SSH (user, sudo, hostname, den.env, env:,
//   data and yq provisioning, system/user/boot scripts, boot markers, serial log), first because Lima's provision
//   scripts run on every boot and "ran once" holds only now; then shell, copy, ssh.config, pause/resume, SIGSTOP of
//   QEMU for 60 s (host sleep) and a guest clock set back;
// - stop, add a 9p share the guest user cannot list, boot 2 with its CLI killed during cloud-init: the host agent
//   finishes the boot and reports the mount degraded;
// - kill -9 of QEMU: Broken with the reason; boot 3 is den start without -f;
// - boot 4 is den restart; kill -9 of the host agent: Broken, start refused, den stop -f; den delete leaves nothing.
// After each fault den list tells the truth, the disk passes `qemu-img check`, and nothing of this DEN_HOME is left
// once stopped; the table of faults is printed at the end (tests/faults/support/fault-table.ts). kill -9 of virtiofsd
// is in nonroot.test.ts, whose guest has a virtiofs mount.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FilledUserSchema } from "../../lib/config/schema.ts";
import type { InstanceInfo } from "../../lib/status/instance-info.ts";
import { diskIntact } from "../faults/support/disk-intact.ts";
import { printFaultTableAfterAll, recordFault } from "../faults/support/fault-table.ts";
import { bootFailureReport, den, guestTemplate, listInstance, processesMentioning, processesOfDenHome, spawnDen } from "./support/den-cli.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";
import { type ImageServer, startImageServer } from "./support/image-server.ts";
import { until } from "./support/until.ts";

const Name = "life";
// Quotes, `$`, backquotes, spaces and unicode: the value must arrive byte for byte and never run as code.
const greeting = `it's a "$HOME" \`id\` ünïcode`;
const envValue = "two words $x";

/** The seed checks' part of the template: a parameter, an env value, and provision entries of each mode the guest runs. */
const seedTemplate = `
param:
  GREETING: ${JSON.stringify(greeting)}
env:
  DEN_E2E_VALUE: ${JSON.stringify(envValue)}
provision:
- mode: boot
  script: |
    #!/bin/sh
    printf '%s\\n' "$PARAM_GREETING" > /run/den-e2e-boot
- mode: data
  path: /etc/den-e2e/data.txt
  content: |
    hello data
  owner: "{{.User}}:{{.User}}"
  permissions: "640"
- mode: data
  path: /etc/den-e2e/app.yaml
  content: |
    # den e2e settings
    name: app # keep this comment
    list:
      - a
- mode: yq
  path: /etc/den-e2e/app.yaml
  expression: .name = "den" | .list += ["b"]
  permissions: "600"
- mode: yq
  path: /etc/den-e2e/new/settings.json
  expression: .port = 8080 | .user = "{{.User}}"
  owner: "{{.User}}:{{.User}}"
  permissions: "640"
- mode: yq
  path: "{{.Home}}/.config/den-e2e/settings.yaml"
  expression: .greeting = "hello"
  owner: "{{.User}}:{{.User}}"
- mode: system
  script: |
    #!/bin/bash
    set -eu
    printf 'system %s\\n' "$PARAM_GREETING" >> /var/tmp/den-order
    chmod 666 /var/tmp/den-order
- mode: user
  script: |
    #!/bin/bash
    set -eu
    printf 'user %s %s\\n' "$(id -un)" "$PARAM_GREETING" >> /var/tmp/den-order
`;

const ServedFiles = ["disk.qcow2", "vmlinuz", "initrd.img"] as const;

let image: GuestImage;
let home: string;
// The guest's files come over HTTP, so den start goes through the downloader and its cache as for a real template.
let server: ImageServer;
let closedShare: string;
/** When the first `den start` ran: the instance id its host agent picked lies within. */
let firstStart = { from: 0, to: 0 };
/** The guest user from den list's configuration, known once the guest booted. */
let guestUser: { name: string; uid: number; home: string; shell: string } | undefined;
/**
 * Whether the guest is up. A boot that failed makes the tests that need a guest fail at once instead of each
 * waiting out its own timeout.
 */
let up = false;
const timings: Record<string, number> = {};

printFaultTableAfterAll("faults with a real guest");

beforeAll(async () => {
  image = await ensureGuestImage();
  home = await mkdtemp(join(tmpdir(), "den-life-"));
  // Open to others as a home folder is, so that on the share's path only the share itself (below) is closed.
  await chmod(home, 0o755);
  // A folder of another uid, mode 0700: through 9p the guest sees its owner and mode, so the guest user cannot list it
  // (QEMU, root here, can). With virtiofs, whose daemon runs unprivileged, den start fails naming the folder instead.
  closedShare = join(home, "closed share");
  await mkdir(closedShare, { mode: 0o700 });
  await writeFile(join(closedShare, "secret.txt"), "not for the guest user\n");
  await chown(closedShare, 12345, 12345);
  server = await startImageServer({ "disk.qcow2": { path: image.disk }, vmlinuz: { path: image.kernel }, "initrd.img": { path: image.initrd } });
}, 900_000);

afterAll(async () => {
  // Whatever happened above, leave no VM behind.
  for (const name of [Name, "broken"]) await den(home, ["stop", "-f", name]);
  console.log(`lifecycle e2e timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number((v / 1000).toFixed(1))])))}`);
  await server?.stop();
  if (home) await rm(home, { recursive: true, force: true });
}, 120_000);

function listed(): Promise<InstanceInfo> {
  return listInstance(home, Name);
}

function requireUp(): void {
  if (!up) throw new Error(`Instance "${Name}" is not up: an earlier boot or fault test failed (see above)`);
}


/** den's processes left for this DEN_HOME: host agents and CLIs by environment, QEMU by path. */
async function leaked(): Promise<number> {
  const pids = new Set([...(await processesOfDenHome(home)), ...(await processesMentioning(join(home, Name)))]);
  return pids.size;
}

/** Runs `den start` and kills it with SIGKILL once its progress output matches `when`. */
async function killStartWhen(when: RegExp): Promise<{ output: string }> {
  const child = spawnDen(home, ["start", Name]);
  let output = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    output += decoder.decode(chunk, { stream: true });
    if (when.test(output)) break;
  }
  child.kill("SIGKILL");
  await child.exited;
  return { output };
}

/** `command` run by the guest user's shell over SSH with the instance's generated ssh.config, as a user would. */
async function guestRun(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(["ssh", "-F", join(home, Name, "ssh.config"), `den-${Name}`, "--", command], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

/** The output of `command` in the guest, which must succeed without a word on stderr. */
async function guestOutput(command: string): Promise<string> {
  requireUp();
  const result = await guestRun(command);
  expect({ command, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ command, exitCode: 0, stderr: "" });
  return result.stdout;
}

function user(): { name: string; uid: number; home: string; shell: string } {
  if (!guestUser) throw new Error("The guest user is not known: the first boot failed");
  return guestUser;
}

let firstBootIid: Promise<string> | undefined;
/** The instance id of the first boot as the seed gave it to the guest (den.env); den's host agent picks one per boot. */
function iidOfFirstBoot(): Promise<string> {
  firstBootIid ??= guestOutput("sudo sh -c '. /mnt/den-cidata/den.env; printf %s \"$DEN_CIDATA_IID\"'");
  return firstBootIid;
}

async function bootDoneMarker(): Promise<string> {
  return (await den(home, ["shell", Name, "--", "cat", "/run/den-boot-done"])).stdout;
}

test(
  "den start of a broken image fails fast, names the boot stage and shows the console's last lines",
  async () => {
    const garbage = join(home, "garbage.img");
    await writeFile(garbage, new Uint8Array(4 * 1024 * 1024));
    const template = guestTemplate(image).replace(`location: ${image.disk}`, `location: ${garbage}`);
    await writeFile(join(home, "broken.yaml"), template);
    expect((await den(home, ["create", join(home, "broken.yaml"), "--name", "broken"])).exitCode).toBe(0);
    const start = await den(home, ["start", "broken", "--timeout", "5m"]);
    timings.brokenStart = start.ms;
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toMatch(/Cannot start instance "broken" \(stage "(systemd|kernel)"\)/);
    expect(start.stderr).toContain("last lines of");
    expect(start.stderr).toMatch(/hint: /);
    expect(start.ms).toBeLessThan(180_000);
    expect((await listInstance(home, "broken")).status).toBe("Stopped");
    expect(await processesMentioning(join(home, "broken"))).toEqual([]);
    // The host agent too, within seconds: it used to keep retrying SSH into the dead guest until the boot's deadline.
    await until("no process of this DEN_HOME", () => processesOfDenHome(home), { done: (pids) => pids.length === 0, timeoutMs: 15_000, intervalMs: 250 });
    expect((await den(home, ["delete", "broken"])).exitCode).toBe(0);
  },
  { timeout: 300_000 },
);

test(
  "kill -9 of den start before the disk exists leaves the new instance Stopped, with nothing half-written and nothing running",
  async () => {
    const urls = { disk: server.url("disk.qcow2"), kernel: server.url("vmlinuz"), initrd: server.url("initrd.img") };
    await writeFile(join(home, "guest.yaml"), guestTemplate(image, seedTemplate, { urls }));
    expect((await den(home, ["create", join(home, "guest.yaml"), "--name", Name])).exitCode).toBe(0);
    // The kernel, fetched first, never arrives: whenever the kill lands, no image file is complete yet.
    server.fault("vmlinuz", { stallAfterBytes: 0, times: 1 });
    const { output } = await killStartWhen(new RegExp(`Starting "${Name}"`));
    server.fault("vmlinuz", undefined);
    expect(output).toContain(`Starting "${Name}"`);
    // A host agent may not have been launched yet; give a launched one a moment to be seen.
    await Bun.sleep(1_000);
    const state = await listed();
    const written = (await readdir(join(home, Name))).filter((file) => ["kernel", "initrd", "image", "disk"].includes(file));
    if (state.status !== "Stopped") await den(home, ["stop", "-f", Name]);
    recordFault({
      fault: "kill -9 den start before the disk exists",
      state: state.status,
      diskIntact: written.length === 0,
      leaked: await leaked(),
      silent: false,
    });
    expect(state.status).toBe("Stopped");
  },
  { timeout: 120_000 },
);

test(
  "den start boots the guest, reporting each stage, and den list shows it Running",
  async () => {
    const before = ServedFiles.map((name) => server.requestCount(name));
    firstStart = { from: Date.now(), to: 0 };
    const start = await den(home, ["start", Name]);
    firstStart.to = Date.now();
    timings.firstBoot = start.ms;
    if (start.exitCode !== 0) console.error(await bootFailureReport(home, Name, start));
    expect({ exitCode: start.exitCode, stderr: start.stderr }).toMatchObject({ exitCode: 0 });
    const state = await listed();
    expect(state.status).toBe("Running");
    up = true;
    guestUser = FilledUserSchema.parse(state.config?.user);
    expect(start.stderr).toContain(`Downloaded image (disk.qcow2)`);
    // Each file once, through the cache (the killed start above got nothing).
    expect(ServedFiles.map((name, i) => server.requestCount(name) - (before[i] as number))).toEqual([1, 1, 1]);
    for (const line of ["waiting for the guest kernel", "waiting for cloud-init", "waiting for sshd in the guest", "waiting for den's boot scripts", "READY."]) {
      expect(start.stderr).toContain(line);
    }
    expect(state.sshLocalPort).toBeGreaterThan(0);
    const table = await den(home, ["list"]);
    expect(table.stdout).toMatch(new RegExp(`${Name}\\s+Running\\s+127\\.0\\.0\\.1:${state.sshLocalPort}\\s+qemu\\s+x86_64\\s+2\\s+1GiB`));
  },
  { timeout: 700_000 },
);

test("the guest user has the configured name, uid, home and shell, and is not root", async () => {
  const { name, uid, home: userHome, shell } = user();
  expect(await guestOutput("id -un; id -u")).toBe(`${name}\n${uid}\n`);
  const passwd = (await guestOutput(`getent passwd ${name}`)).trim().split(":");
  expect({ uid: passwd[2], home: passwd[5], shell: passwd[6] }).toEqual({ uid: String(uid), home: userHome, shell });
  expect(uid).not.toBe(0);
}, 60_000);

test("passwordless sudo works", async () => {
  expect(await guestOutput("sudo -n id -u")).toBe("0\n");
}, 60_000);

test("the hostname is den-NAME", async () => {
  expect(await guestOutput("hostname")).toBe(`den-${Name}\n`);
}, 60_000);

test("den.env on the mounted seed carries the instance values", async () => {
  const env = await guestOutput("sudo sh -c 'set -a; . /mnt/den-cidata/den.env; printf \"%s|%s|%s|%s\" \"$DEN_CIDATA_NAME\" \"$DEN_CIDATA_IID\" \"$DEN_CIDATA_USER\" \"$DEN_CIDATA_UID\"'");
  const iid = await iidOfFirstBoot();
  expect(env).toBe(`${Name}|${iid}|${user().name}|${user().uid}`);
  // The host agent names the boot by the second it prepared it in, which lies within that den start.
  expect(iid).toMatch(/^iid-\d+$/);
  const second = Number(iid.slice("iid-".length));
  expect(second).toBeGreaterThanOrEqual(Math.floor(firstStart.from / 1000));
  expect(second).toBeLessThanOrEqual(Math.ceil(firstStart.to / 1000));
}, 60_000);

test("env: values reach login sessions through /etc/environment unchanged", async () => {
  expect(await guestOutput('printf "%s" "$DEN_E2E_VALUE"')).toBe(envValue);
}, 60_000);

test("a data file lands with its content, owner and permissions", async () => {
  const { name } = user();
  expect(await guestOutput("stat -c '%U:%G %a' /etc/den-e2e/data.txt && cat /etc/den-e2e/data.txt")).toBe(`${name}:${name} 640\nhello data\n`);
}, 60_000);

test("a yq entry edited the data file in place, keeping its comments, and applied its permissions", async () => {
  expect(await guestOutput("sudo stat -c '%U:%G %a' /etc/den-e2e/app.yaml && sudo cat /etc/den-e2e/app.yaml")).toBe(
    "root:root 600\n# den e2e settings\nname: den # keep this comment\nlist:\n  - a\n  - b\n",
  );
}, 60_000);

test("a yq entry created a missing JSON file and its folder with owner and permissions", async () => {
  const { name } = user();
  expect(await guestOutput("stat -c '%U:%G %a' /etc/den-e2e/new/settings.json && cat /etc/den-e2e/new/settings.json")).toBe(
    `${name}:${name} 640\n{\n  "port": 8080,\n  "user": ${JSON.stringify(name)}\n}\n`,
  );
}, 60_000);

test("a yq entry owned by the user created its folders under the user's home as that user", async () => {
  const { name } = user();
  expect(await guestOutput("cd ~/.config && stat -c '%U %n' . den-e2e den-e2e/settings.yaml && cat den-e2e/settings.yaml")).toBe(
    `${name} .\n${name} den-e2e\n${name} den-e2e/settings.yaml\ngreeting: hello\n`,
  );
}, 60_000);

test("system then user provision scripts ran once each, in order, with PARAM_ values intact", async () => {
  expect(await guestOutput("cat /var/tmp/den-order")).toBe(`system ${greeting}\nuser ${user().name} ${greeting}\n`);
}, 60_000);

test("boot-mode provisioning ran from cloud-init bootcmd with PARAM_ values intact", async () => {
  expect(await guestOutput("cat /run/den-e2e-boot")).toBe(`${greeting}\n`);
}, 60_000);

test("the boot-progress markers hold this boot's instance id", async () => {
  const iid = await iidOfFirstBoot();
  expect(await guestOutput("cat /run/den-ssh-ready /run/den-mounts-ready /run/den-boot-done")).toBe(`${iid}\n${iid}\n${iid}\n`);
}, 60_000);

test("boot.sh logged its steps on the serial console and finished without warnings", async () => {
  const iid = await iidOfFirstBoot();
  const serial = await Bun.file(join(home, Name, "serial.log")).text();
  expect(serial).toContain(`DEN| boot.sh start ${iid}`);
  expect(serial).toContain(`DEN| boot done ${iid}`);
  expect(serial.split("\n").filter((line) => line.includes("DEN| WARNING"))).toEqual([]);
}, 60_000);

test("den shell runs a command in the guest and passes its exit code back", async () => {
  requireUp();
  const uname = await den(home, ["shell", Name, "--", "uname", "-a"]);
  expect({ exitCode: uname.exitCode, stdout: uname.stdout }).toMatchObject({ exitCode: 0, stdout: expect.stringContaining(`Linux den-${Name} `) });
  const failing = await den(home, ["shell", Name, "--", "sh", "-c", "exit 7"]);
  expect(failing.exitCode).toBe(7);
  const quoted = await den(home, ["shell", Name, "--", "printf", "%s|", "a b", "it's", "$HOME"]);
  expect(quoted.stdout).toBe("a b|it's|$HOME|");
  const workdir = await den(home, ["shell", "--workdir", "/tmp", Name, "pwd"]);
  expect(workdir.stdout).toBe("/tmp\n");
}, 120_000);

test("den copy moves files into the guest and back with scp", async () => {
  requireUp();
  const local = join(home, "to guest.txt");
  await writeFile(local, "hello from the host\n");
  expect((await den(home, ["copy", local, `${Name}:/tmp/copied.txt`])).exitCode).toBe(0);
  expect((await den(home, ["shell", Name, "--", "cat", "/tmp/copied.txt"])).stdout).toBe("hello from the host\n");
  const back = join(home, "back.txt");
  expect((await den(home, ["cp", `${Name}:/tmp/copied.txt`, back])).exitCode).toBe(0);
  expect(await readFile(back, "utf8")).toBe("hello from the host\n");
}, 60_000);

test("the generated ssh.config works with the system ssh", async () => {
  requireUp();
  const result = await guestRun("id -un");
  expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^\S+\n$/) });
}, 60_000);

test("den pause freezes the guest and den resume lets it run again", async () => {
  requireUp();
  expect((await den(home, ["pause", Name])).exitCode).toBe(0);
  expect((await listed()).status).toBe("Paused");
  expect((await den(home, ["resume", Name])).exitCode).toBe(0);
  expect((await listed()).status).toBe("Running");
  expect((await den(home, ["shell", Name, "--", "true"])).exitCode).toBe(0);
}, 120_000);

/** The host's 127.0.0.1:port answers an HTTP request. */
async function answers(port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 3_000);
    socket.once("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
    socket.once("data", (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data.toString().startsWith("HTTP/"));
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function guestClockOffsetSeconds(): Promise<number> {
  const result = await den(home, ["shell", "--workdir", "/", Name, "--", "date", "+%s.%N"]);
  expect(result.exitCode).toBe(0);
  return Number(result.stdout.trim()) - Date.now() / 1000;
}

test(
  "SIGSTOP of QEMU for 60 s (host sleep): afterwards the guest clock is corrected within seconds and SSH and forwards work",
  async () => {
    requireUp();
    const port = 20_000 + Math.floor(Math.random() * 9_000);
    const serve = await den(home, ["shell", "--workdir", "/tmp", Name, "--", "sh", "-c", `(setsid nohup python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 &)`]);
    expect(serve.exitCode).toBe(0);
    await until("the forward", () => answers(port), { done: Boolean, timeoutMs: 60_000 });
    expect(Math.abs(await guestClockOffsetSeconds())).toBeLessThan(5);
    const qemuPid = Number((await readFile(join(home, Name, "qemu.pid"), "utf8")).trim());
    process.kill(qemuPid, "SIGSTOP");
    try {
      await Bun.sleep(60_000);
    } finally {
      process.kill(qemuPid, "SIGCONT");
    }
    const resumed = Date.now();
    // The first look may still see the stalled clock; it must be right within seconds.
    const offset = await until("the guest clock", guestClockOffsetSeconds, { done: (value) => Math.abs(value) < 2, timeoutMs: 30_000 });
    timings.clockCorrected = Date.now() - resumed;
    await until("the forward after the stall", () => answers(port), { done: Boolean, timeoutMs: 30_000 });
    timings.forwardBack = Date.now() - resumed;
    const state = await listed();
    recordFault({
      fault: "SIGSTOP QEMU 60 s, then SIGCONT",
      state: `${state.status}; clock off by ${offset.toFixed(1)} s after ${(timings.clockCorrected / 1000).toFixed(1)} s; forward back after ${(timings.forwardBack / 1000).toFixed(1)} s`,
      diskIntact: true,
      leaked: 0,
      silent: false,
    });
    expect(state.status).toBe("Running");
  },
  { timeout: 240_000 },
);

test(
  "a guest clock set an hour back is put right by the guest agent within seconds, and den reports the step",
  async () => {
    requireUp();
    const set = await den(home, ["shell", "--workdir", "/", Name, "--", "sh", "-c", "sudo date -s @$(( $(date +%s) - 3600 )) >/dev/null"]);
    expect(set.exitCode).toBe(0);
    const changed = Date.now();
    const offset = await until("the guest clock", guestClockOffsetSeconds, { done: (value) => Math.abs(value) < 2, timeoutMs: 30_000 });
    timings.hourBackCorrected = Date.now() - changed;
    const clock = await until("the clock report", async () => (await listed()).services?.clock, { done: (report) => (report?.message ?? "").includes("behind"), timeoutMs: 30_000 });
    recordFault({
      fault: "guest clock set 1 h back",
      state: `clock off by ${offset.toFixed(1)} s after ${(timings.hourBackCorrected / 1000).toFixed(1)} s; den list: ${clock?.message ?? ""}`,
      diskIntact: true,
      leaked: 0,
      silent: false,
    });
  },
  { timeout: 120_000 },
);

test(
  "den stop shuts the guest down cleanly; the next start, its CLI killed during cloud-init, is finished by the host agent, degraded by a 9p share the guest user cannot list",
  async () => {
    requireUp();
    up = false;
    const stop = await den(home, ["stop", Name]);
    timings.stop = stop.ms;
    expect(stop.exitCode).toBe(0);
    expect((await listed()).status).toBe("Stopped");
    expect(await processesMentioning(join(home, Name))).toEqual([]);
    const edit = await den(home, ["edit", Name, "--mount-type", "9p", "--mount", closedShare]);
    expect({ exitCode: edit.exitCode, stderr: edit.stderr }).toMatchObject({ exitCode: 0 });

    const started = Date.now();
    await killStartWhen(/waiting for cloud-init/);
    // The host agent goes on booting: the instance is honestly Starting or Running, never Stopped or Broken.
    const during = await listed();
    expect(["Starting", "Running"]).toContain(during.status);
    const mounts = await until("the mounts service settles", async () => (await listed()).services?.mounts, {
      done: (report) => report !== undefined && report.state !== "starting",
      timeoutMs: 600_000,
    });
    timings.secondBoot = Date.now() - started;
    expect(mounts?.state).toBe("degraded");
    expect(mounts?.message ?? "").toContain("the guest user cannot list it");
    // The readiness checks end after the services are up.
    const after = await until("Running", listed, { done: (value) => value.status === "Running", timeoutMs: 300_000 });
    up = true;
    expect(mounts?.message ?? "").toContain(`mount "${closedShare}" (9p)`);
    recordFault({ fault: "kill -9 den start during cloud-init", state: `${after.status} (the host agent finished the boot)`, diskIntact: true, leaked: 0, silent: false });
    recordFault({ fault: "9p share of another uid, mode 0700", state: `${after.status}, mounts degraded: ${mounts?.message ?? ""}`, diskIntact: true, leaked: 0, silent: false });
    expect(await bootDoneMarker()).toMatch(/^iid-\d+\n$/);
  },
  { timeout: 900_000 },
);

test(
  "kill -9 of QEMU after READY: Broken with the reason, and den start recovers without -f; the disk is intact",
  async () => {
    requireUp();
    up = false;
    const qemuPid = Number((await readFile(join(home, Name, "qemu.pid"), "utf8")).trim());
    process.kill(qemuPid, "SIGKILL");
    // The host agent stays to show why (Lima's Broken: one of the two processes lives).
    const broken = await until("Broken", listed, { done: (value) => value.status === "Broken", timeoutMs: 30_000 });
    expect((broken.errors ?? []).join(" ")).toMatch(/QEMU was killed by SIGKILL/);
    // The disk is checked while nothing holds it: the host agent has no image open.
    const intact = diskIntact(join(home, Name, "disk"));
    // The share is opened before the next boot, so that boot can be READY.
    await chmod(closedShare, 0o755);
    await chmod(join(closedShare, "secret.txt"), 0o644);
    const start = await den(home, ["start", Name]);
    timings.thirdBoot = start.ms;
    expect({ exitCode: start.exitCode, stderr: start.stderr }).toMatchObject({ exitCode: 0 });
    expect(start.stderr).toMatch(new RegExp(`The VM of instance "${Name}" is gone \\(.*SIGKILL.*\\); stopping its host agent first`));
    const running = await listed();
    expect(running.status).toBe("Running");
    up = true;
    // Exactly one QEMU and one host agent: the old host agent went, nothing doubled.
    const qemus = (await processesMentioning(join(home, Name, "qmp.sock"))).length;
    expect(qemus).toBe(1);
    recordFault({
      fault: "kill -9 QEMU after READY",
      state: `${broken.status} (${(broken.errors ?? [])[0]?.split("\n")[0]}); den start without -f: ${running.status}`,
      diskIntact: intact,
      leaked: qemus - 1,
      silent: false,
    });
    expect((await den(home, ["shell", "--workdir", "/", Name, "--", "cat", join(closedShare, "secret.txt")])).stdout).toBe("not for the guest user\n");
  },
  { timeout: 660_000 },
);

test(
  "den restart stops and boots the instance again",
  async () => {
    requireUp();
    const before = await bootDoneMarker();
    up = false;
    const restart = await den(home, ["restart", Name]);
    timings.restart = restart.ms;
    expect(restart.exitCode).toBe(0);
    expect((await listed()).status).toBe("Running");
    up = true;
    const after = await bootDoneMarker();
    expect(after).toMatch(/^iid-\d+\n$/);
    expect(after).not.toBe(before);
  },
  { timeout: 600_000 },
);

test(
  "kill -9 of the host agent after READY: den list says so, den start refuses with a hint, den stop -f cleans up",
  async () => {
    requireUp();
    up = false;
    const before = await listed();
    expect(before.hostAgentPID).toBeGreaterThan(0);
    process.kill(before.hostAgentPID as number, "SIGKILL");
    const broken = await until("Broken", listed, { done: (value) => value.status === "Broken", timeoutMs: 30_000 });
    expect((broken.errors ?? []).join(" ")).toMatch(/host agent/i);
    const start = await den(home, ["start", Name]);
    expect(start.exitCode).not.toBe(0);
    expect(start.stderr).toMatch(/hint: .*den stop -f/);
    expect((await den(home, ["stop", "-f", Name])).exitCode).toBe(0);
    const after = await listed();
    recordFault({
      fault: "kill -9 host agent after READY",
      state: `${broken.status} (${(broken.errors ?? []).join("; ")}); den start refused; den stop -f: ${after.status}`,
      diskIntact: diskIntact(join(home, Name, "disk")),
      leaked: await leaked(),
      silent: false,
    });
    expect(after.status).toBe("Stopped");
  },
  { timeout: 120_000 },
);

test(
  "den delete removes the instance and leaves no QEMU or host agent process behind",
  async () => {
    expect((await den(home, ["delete", Name])).exitCode).toBe(0);
    expect(await Bun.file(join(home, Name, "den.yaml")).exists()).toBe(false);
    expect((await den(home, ["list", "-q"])).stdout).toBe("");
    expect(await processesMentioning(home)).toEqual([]);
    expect(await processesOfDenHome(home)).toEqual([]);
  },
  { timeout: 120_000 },
);
