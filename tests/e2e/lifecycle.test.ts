// Issue 4 end to end, on one shared guest: den create → start (stage progress) → list → shell (exit codes, workdir) →
// pause/resume → stop → second start → kill -9 of QEMU (Broken with a reason) → stop -f → delete, and afterwards no
// QEMU or host agent is left and the folder is gone. A broken image fails fast with its stage and the console's tail.
// The seed checks of issue 3 run against this same guest, so CI boots it once for both.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { den, guestTemplate, processesMentioning, processesOfDenHome } from "./support/den-cli.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";
import { type ImageServer, startImageServer } from "./support/image-server.ts";

let image: GuestImage;
let home: string;
// The guest's files come over HTTP, so den start goes through the downloader and its cache as for a real template.
let server: ImageServer;
const timings: Record<string, number> = {};

beforeAll(async () => {
  image = await ensureGuestImage();
  home = await mkdtemp(join(tmpdir(), "den-life-"));
  server = await startImageServer({ "disk.qcow2": { path: image.disk }, vmlinuz: { path: image.kernel }, "initrd.img": { path: image.initrd } });
}, 900_000);

afterAll(async () => {
  // Whatever happened above, leave no VM behind.
  for (const name of ["life", "broken"]) await den(home, ["stop", "-f", name]);
  console.log(`lifecycle e2e timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number((v / 1000).toFixed(1))])))}`);
  await server.stop();
  await rm(home, { recursive: true, force: true });
}, 120_000);

async function status(name: string): Promise<{ status: string; errors?: string[]; sshLocalPort?: number }> {
  const listed = await den(home, ["list", "--json", name]);
  return JSON.parse(listed.stdout.trim().split("\n")[0] ?? "{}");
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
    expect((await status("broken")).status).toBe("Stopped");
    expect(await processesMentioning(join(home, "broken"))).toEqual([]);
    // The host agent too, within seconds: it used to keep retrying SSH into the dead guest until the boot's deadline.
    const agentDeadline = Date.now() + 15_000;
    while ((await processesOfDenHome(home)).length > 0 && Date.now() < agentDeadline) await Bun.sleep(250);
    expect(await processesOfDenHome(home)).toEqual([]);
    expect((await den(home, ["delete", "broken"])).exitCode).toBe(0);
  },
  { timeout: 300_000 },
);

test(
  "den create and den start boot the guest, reporting each stage, and den list shows it Running",
  async () => {
    const urls = { disk: server.url("disk.qcow2"), kernel: server.url("vmlinuz"), initrd: server.url("initrd.img") };
    await writeFile(join(home, "guest.yaml"), guestTemplate(image, "", { urls }));
    expect((await den(home, ["create", join(home, "guest.yaml"), "--name", "life"])).exitCode).toBe(0);
    const start = await den(home, ["start", "life"]);
    timings.firstBoot = start.ms;
    expect({ exitCode: start.exitCode, stderr: start.stderr }).toMatchObject({ exitCode: 0 });
    expect(start.stderr).toContain(`Downloaded image (disk.qcow2)`);
    expect(["disk.qcow2", "vmlinuz", "initrd.img"].map((name) => server.requestCount(name))).toEqual([1, 1, 1]);
    for (const line of ["waiting for the guest kernel", "waiting for cloud-init", "waiting for sshd in the guest", "waiting for den's boot scripts", "READY."]) {
      expect(start.stderr).toContain(line);
    }
    const listed = await status("life");
    expect(listed.status).toBe("Running");
    expect(listed.sshLocalPort).toBeGreaterThan(0);
    const table = await den(home, ["list"]);
    expect(table.stdout).toMatch(new RegExp(`life\\s+Running\\s+127\\.0\\.0\\.1:${listed.sshLocalPort}\\s+qemu\\s+x86_64\\s+2\\s+1GiB`));
  },
  { timeout: 600_000 },
);

test("den shell runs a command in the guest and passes its exit code back", async () => {
  const uname = await den(home, ["shell", "life", "--", "uname", "-a"]);
  expect({ exitCode: uname.exitCode, stdout: uname.stdout }).toMatchObject({ exitCode: 0, stdout: expect.stringContaining("Linux den-life ") });
  const failing = await den(home, ["shell", "life", "--", "sh", "-c", "exit 7"]);
  expect(failing.exitCode).toBe(7);
  const quoted = await den(home, ["shell", "life", "--", "printf", "%s|", "a b", "it's", "$HOME"]);
  expect(quoted.stdout).toBe("a b|it's|$HOME|");
  const workdir = await den(home, ["shell", "--workdir", "/tmp", "life", "pwd"]);
  expect(workdir.stdout).toBe("/tmp\n");
}, 120_000);

test("den copy moves files into the guest and back with scp", async () => {
  const local = join(home, "to guest.txt");
  await writeFile(local, "hello from the host\n");
  expect((await den(home, ["copy", local, "life:/tmp/copied.txt"])).exitCode).toBe(0);
  expect((await den(home, ["shell", "life", "--", "cat", "/tmp/copied.txt"])).stdout).toBe("hello from the host\n");
  const back = join(home, "back.txt");
  expect((await den(home, ["cp", "life:/tmp/copied.txt", back])).exitCode).toBe(0);
  expect(await readFile(back, "utf8")).toBe("hello from the host\n");
}, 60_000);

test("the generated ssh.config works with the system ssh", async () => {
  const child = Bun.spawnSync(["ssh", "-F", join(home, "life", "ssh.config"), "den-life", "--", "id", "-un"], { stdout: "pipe", stderr: "pipe" });
  expect({ exitCode: child.exitCode, stdout: child.stdout.toString() }).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^\S+\n$/) });
}, 60_000);

test("den pause freezes the guest and den resume lets it run again", async () => {
  expect((await den(home, ["pause", "life"])).exitCode).toBe(0);
  expect((await status("life")).status).toBe("Paused");
  expect((await den(home, ["resume", "life"])).exitCode).toBe(0);
  expect((await status("life")).status).toBe("Running");
  expect((await den(home, ["shell", "life", "--", "true"])).exitCode).toBe(0);
}, 120_000);

test(
  "den stop shuts the guest down cleanly and den start boots it a second time",
  async () => {
    const stop = await den(home, ["stop", "life"]);
    timings.stop = stop.ms;
    expect(stop.exitCode).toBe(0);
    expect((await status("life")).status).toBe("Stopped");
    expect(await processesMentioning(join(home, "life"))).toEqual([]);
    const start = await den(home, ["start", "life"]);
    timings.secondBoot = start.ms;
    expect(start.exitCode).toBe(0);
    expect((await den(home, ["shell", "life", "--", "cat", "/run/den-boot-done"])).stdout).toMatch(/^iid-\d+\n$/);
  },
  { timeout: 600_000 },
);

test(
  "den restart stops and boots the instance again",
  async () => {
    const before = (await den(home, ["shell", "life", "--", "cat", "/run/den-boot-done"])).stdout;
    const restart = await den(home, ["restart", "life"]);
    timings.restart = restart.ms;
    expect(restart.exitCode).toBe(0);
    expect((await status("life")).status).toBe("Running");
    const after = (await den(home, ["shell", "life", "--", "cat", "/run/den-boot-done"])).stdout;
    expect(after).toMatch(/^iid-\d+\n$/);
    expect(after).not.toBe(before);
  },
  { timeout: 600_000 },
);

test(
  "kill -9 of QEMU makes the instance Broken with a reason, and den stop -f recovers it",
  async () => {
    const qemuPid = Number((await readFile(join(home, "life", "qemu.pid"), "utf8")).trim());
    process.kill(qemuPid, "SIGKILL");
    let listed = await status("life");
    for (let i = 0; i < 50 && listed.status !== "Broken"; i++) {
      await Bun.sleep(200);
      listed = await status("life");
    }
    expect(listed.status).toBe("Broken");
    expect((listed.errors ?? []).join(" ")).toMatch(/qemu|VM/i);
    expect((await den(home, ["stop", "-f", "life"])).exitCode).toBe(0);
    expect((await status("life")).status).toBe("Stopped");
  },
  { timeout: 120_000 },
);

test(
  "den delete removes the instance and leaves no QEMU or host agent process behind",
  async () => {
    expect((await den(home, ["delete", "life"])).exitCode).toBe(0);
    expect(await Bun.file(join(home, "life", "den.yaml")).exists()).toBe(false);
    expect((await den(home, ["list", "-q"])).stdout).toBe("");
    expect(await processesMentioning(home)).toEqual([]);
  },
  { timeout: 120_000 },
);
