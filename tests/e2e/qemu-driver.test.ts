// One real boot through den's QEMU driver (TCG, about a minute): the local test image is copied into an instance
// folder, the seed written by den, the overlay disk made, QEMU started; then SSH, pause/resume over QMP, a
// graceful stop, and nothing left behind.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeed } from "../../cidata/write-seed.ts";
import { createQemuDriver } from "../../drivers/qemu/qemu-driver.ts";
import { connectQmp } from "../../drivers/qemu/qmp-client.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { freeTcpPort } from "../../lib/net/free-tcp-port.ts";
import { prepareInstanceImage } from "../../lib/images/prepare-instance-image.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { ensureUserKey } from "../../lib/ssh/user-key.ts";
import { waitForSsh } from "../../lib/ssh/wait-for-ssh.ts";
import { isProcessAlive } from "../../lib/store/pid-file.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";

const mac = "52:55:55:de:4e:01";
const root = mkdtempSync(join(tmpdir(), "den-qd-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let image: GuestImage;
beforeAll(async () => {
  image = await ensureGuestImage();
}, 900_000);

test(
  "the QEMU driver boots the test guest, answers SSH, pauses, resumes and stops gracefully",
  async () => {
    const denHome = join(root, "home");
    const dir = join(denHome, "qd");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const yaml = [
      "arch: x86_64",
      "cpus: 2",
      "memory: 1GiB",
      "disk: 4GiB",
      "mounts: []",
      // No nerdctl archive can be downloaded here; tests/e2e/containerd.test.ts covers containerd.
      "containerd: {system: false, user: false}",
      "images:",
      `- location: ${image.disk}`,
      "  arch: x86_64",
      "  kernel:",
      `    location: ${image.kernel}`,
      `    cmdline: ${image.cmdline}`,
      "  initrd:",
      `    location: ${image.initrd}`,
      "",
    ].join("\n");
    const config = await loadConfig(yaml, { file: join(dir, "den.yaml"), instanceName: "qd", instanceDir: dir, denHome });
    const key = await ensureUserKey(denHome);
    await writeSeed(dir, {
      config,
      facts: { instanceName: "qd", iid: `iid-${Math.floor(Date.now() / 1000)}`, sshPublicKeys: [key.publicKey], macAddress: mac, hostHome: homedir() },
    });
    await prepareInstanceImage(dir, config, { hostHome: homedir() });

    const sshLocalPort = await freeTcpPort();
    const logger = createMemoryLogger();
    const driver = createQemuDriver({
      instanceName: "qd",
      instanceDir: dir,
      denHome,
      config,
      sshLocalPort,
      env: { ...process.env, DEN_QEMU_ACCEL: "tcg" },
      logger,
      macAddress: mac,
      shutdownTimeoutMs: 90_000,
    });
    await driver.validate();
    await driver.createDisk();
    const started = performance.now();
    const vm = await driver.start();
    const errors: Error[] = [];
    const drained = (async () => {
      for await (const error of vm.errors) errors.push(error);
    })();
    const pid = Number((await readFile(join(dir, "qemu.pid"), "utf8")).trim());
    try {
      const ready = await waitForSsh({ port: sshLocalPort, user: config.user.name, privateKey: readFileSync(key.privateKeyPath), timeoutMs: 300_000 });
      const sshSeconds = (performance.now() - started) / 1000;

      await driver.pause();
      await driver.pause();
      expect(await queryStatus(join(dir, "qmp.sock"))).toMatchObject({ running: false, status: "paused" });
      await driver.resume();
      await driver.resume();
      expect(await queryStatus(join(dir, "qmp.sock"))).toMatchObject({ running: true, status: "running" });

      const stopStarted = performance.now();
      await driver.stop();
      const stopSeconds = (performance.now() - stopStarted) / 1000;
      console.log(`qemu-driver e2e: ssh after ${sshSeconds.toFixed(1)}s (${ready.attempts} tries), stopped in ${stopSeconds.toFixed(1)}s`);
    } finally {
      // On a failure above, nothing may outlive the test.
      await driver.stop();
    }
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    await drained;
    expect(errors).toEqual([]);
    expect(isProcessAlive(pid)).toBe(false);
    expect(logger.lines.filter((line) => line.level === "warn")).toEqual([]);
    expect(await processesMentioning(root)).toEqual([]);
    await driver.stop();
  },
  { timeout: 420_000 },
);

async function queryStatus(socket: string) {
  const client = await connectQmp(socket);
  try {
    return await client.queryStatus();
  } finally {
    await client.close();
  }
}

/** PIDs of processes whose command line mentions `text` (a leaked QEMU names its instance folder). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}
