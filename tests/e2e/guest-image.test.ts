// Proves the e2e harness end to end: the test guest image builds (or comes from the cache), boots under TCG with a
// NoCloud seed, cloud-init creates the user from the seed, ssh works, and stopping leaves no QEMU behind.
// The seed here is a throw-away genisoimage fixture; den's own seed writer is tested against the same guest elsewhere.
import { beforeAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProcessAlive } from "../../lib/store/pid-file.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";
import { launchGuest } from "./support/qemu-launch.ts";

const user = "den-e2e";
const mac = "52:55:55:12:34:56";

let image: GuestImage;
let buildSeconds: number;
// A cold build takes about 2 minutes on an idle 2-core host and much longer when it shares the CPU, so it gets its
// own budget instead of eating into the boot test's.
beforeAll(async () => {
  const started = performance.now();
  image = await ensureGuestImage();
  buildSeconds = (performance.now() - started) / 1000;
}, 900_000);

test(
  "a cloud-init guest boots from the test image and answers ssh",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "den-e2e-"));
    try {
      const identityFile = join(dir, "id_ed25519");
      const seedIso = await writeSeed(dir, identityFile);
      const runDir = join(dir, "run");
      let pid: number;
      {
        const bootStarted = performance.now();
        await using guest = await launchGuest({ image, seedIso, runDir, mac });
        pid = guest.pid;
        await guest.waitForSsh({ user, identityFile, timeoutMs: 240_000 });
        const sshSeconds = (performance.now() - bootStarted) / 1000;

        const status = await guest.ssh(user, identityFile, "cloud-init status --wait");
        expect({ exitCode: status.exitCode, stdout: status.stdout.trim() }).toEqual({ exitCode: 0, stdout: expect.stringContaining("status: done") });
        const id = await guest.ssh(user, identityFile, "id -u && sudo -n id -u");
        expect({ exitCode: id.exitCode, stdout: id.stdout }).toEqual({ exitCode: 0, stdout: "1000\n0\n" });

        const stopStarted = performance.now();
        await guest.stop();
        const stopSeconds = (performance.now() - stopStarted) / 1000;
        console.log(
          `guest-image e2e: image ready in ${buildSeconds.toFixed(1)}s, ssh up ${sshSeconds.toFixed(1)}s after launch, stopped in ${stopSeconds.toFixed(1)}s`,
        );
      }
      expect(isProcessAlive(pid)).toBe(false);
      expect(await processesMentioning(runDir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 360_000 },
);

async function writeSeed(dir: string, identityFile: string): Promise<string> {
  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "den-e2e", "-f", identityFile]);
  const publicKey = (await readFile(`${identityFile}.pub`, "utf8")).trim();
  const seedDir = join(dir, "seed");
  await mkdir(seedDir);
  const files = {
    "user-data": [
      "#cloud-config",
      "users:",
      `  - name: ${user}`,
      '    uid: "1000"',
      "    shell: /bin/bash",
      "    sudo: ALL=(ALL) NOPASSWD:ALL",
      "    lock_passwd: true",
      "    ssh_authorized_keys:",
      `      - ${publicKey}`,
      "",
    ].join("\n"),
    "meta-data": `instance-id: iid-den-e2e-${Date.now()}\nlocal-hostname: den-e2e\n`,
    "network-config": [
      "version: 2",
      "ethernets:",
      "  eth0:",
      "    match:",
      `      macaddress: '${mac}'`,
      "    dhcp4: true",
      "    set-name: eth0",
      "",
    ].join("\n"),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(seedDir, name), text);
  const seedIso = join(dir, "cidata.iso");
  await run(["genisoimage", "-quiet", "-output", seedIso, "-volid", "cidata", "-joliet", "-rock", ...Object.keys(files).map((name) => join(seedDir, name))]);
  return seedIso;
}

async function run(argv: string[]): Promise<void> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`${argv[0]} exited with ${exitCode}: ${stderr}`);
}

/** PIDs of processes whose command line contains `text` (a leaked QEMU names its run dir). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}
