// File sharing throughput per mount type against the guest's own disk, in one run: sequential write and read of a
// 64 MiB file (dd, write with fsync, read after dropping the guest's caches) and `find` + `stat` over 10,000 files.
// One guest per mount type, booted one after another; the guest-disk baseline is measured in the first one.
// Absolute numbers depend on this machine (TCG, 2 shared cores); the ratios to the guest disk are the figures.
// mountInotify is on: each share also gets host write → guest inotify event latency (p50/p99 of 20 samples, taken
// before the throughput runs so their echoes do not queue in front of the samples).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { measureInotifyLatency, type InotifyLatency } from "../lib/mounts/inotify/measure-inotify-latency.ts";
import { den, guestTemplate } from "../tests/e2e/support/den-cli.ts";
import { ensureGuestImage } from "../tests/e2e/support/guest-image.ts";
import { renderTable } from "./table.ts";

/** Each row's mount; reverse-sshfs runs once per SFTP server, so the jailed built-in is measured against OpenSSH's. */
const Variants = [
  { label: "reverse-sshfs (OpenSSH sftp-server)", type: "reverse-sshfs", sftpDriver: "openssh-sftp-server" },
  { label: "reverse-sshfs (den's jailed SFTP server)", type: "reverse-sshfs", sftpDriver: "builtin" },
  { label: "9p", type: "9p" },
  { label: "virtiofs", type: "virtiofs" },
] as const;
// BENCH_MOUNTS=reverse-sshfs measures only the rows whose label starts with one of the given words (comma-separated).
const only = process.env.BENCH_MOUNTS?.split(",").filter((word) => word !== "");
const MountVariants = Variants.filter((variant) => !only || only.some((word) => variant.label.startsWith(word)));
const FileCount = 10_000;
const FileMiB = 64;

interface Result {
  writeMBs: number;
  readMBs: number;
  findStatS: number;
}

/** The guest script: dd write (fsync), dd read (cold guest cache), then find+stat over `tree` in `dir`. */
function benchScript(dir: string, options: { makeTree: boolean }): string {
  const q = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  return [
    "set -e",
    `T=${q(dir)}`,
    options.makeTree ? `mkdir -p "$T/tree" && cd "$T/tree" && for d in $(seq 0 99); do mkdir -p $d; (cd $d && seq 0 ${FileCount / 100 - 1} | xargs touch); done && cd /` : ":",
    `dd if=/dev/zero of="$T/bench.bin" bs=1M count=${FileMiB} conv=fsync 2>&1 | tail -n 1`,
    "sync; sudo -n sh -c 'echo 3 > /proc/sys/vm/drop_caches'",
    `dd if="$T/bench.bin" of=/dev/null bs=1M 2>&1 | tail -n 1`,
    `rm -f "$T/bench.bin"`,
    "sudo -n sh -c 'echo 3 > /proc/sys/vm/drop_caches'",
    `s=$(date +%s%N); find "$T/tree" -type f -print0 | xargs -0 stat -c %s >/dev/null; e=$(date +%s%N)`,
    `echo "find-stat-ms $(( (e - s) / 1000000 ))"`,
  ].join("\n");
}

/** dd's summary line: `67108864 bytes (67 MB, 64 MiB) copied, 1.9 s, 35.3 MB/s`. */
function ddRate(line: string | undefined): number {
  const match = /^(\d+) bytes .* copied, ([\d.]+) s/.exec(line ?? "");
  if (!match) throw new Error(`Cannot read dd's output: ${line}`);
  return Number(match[1]) / 1e6 / Number(match[2]);
}

/** Measures inotify latency on `share` through `den shell … inotifywait`, and ends that shell (its whole group) after. */
async function inotifyLatency(home: string, name: string, share: string): Promise<InotifyLatency> {
  const mainTs = resolve(import.meta.dir, "../main.ts");
  const groups: number[] = [];
  try {
    return await measureInotifyLatency(
      { host: share, guest: share },
      {
        spawnInGuest: (argv) => {
          const child = Bun.spawn([process.execPath, mainTs, "shell", "--workdir", "/", name, "--", "timeout", "600", ...argv], {
            env: { DEN_CACHE_DIR: join(home, "_cache"), ...process.env, DEN_HOME: home, DEN_QEMU_ACCEL: "tcg" },
            stdin: "ignore",
            stdout: "pipe",
            stderr: "pipe",
            // Its own process group: killing den alone would leave its ssh running.
            detached: true,
          });
          groups.push(child.pid);
          return child;
        },
        samples: 20,
      },
    );
  } finally {
    for (const pid of groups) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
  }
}

function parseResult(stdout: string): Result {
  const lines = stdout.trim().split("\n");
  const copied = lines.filter((line) => line.includes(" copied, "));
  const findMs = Number(/find-stat-ms (\d+)/.exec(stdout)?.[1]);
  return { writeMBs: ddRate(copied[0]), readMBs: ddRate(copied[1]), findStatS: findMs / 1000 };
}

const image = await ensureGuestImage();
const dir = await mkdtemp(join(tmpdir(), "den-mounts-bench-"));
const rows: (string | number)[][] = [];
let baseline: Result | undefined;
try {
  for (const [index, variant] of MountVariants.entries()) {
    const type = variant.type;
    const home = join(dir, `home-${index}`);
    const share = join(dir, `share-${index}`);
    await mkdir(home, { recursive: true });
    // The tree is made on the host, as a checkout would be; 9p checks the host's permission bits in the guest.
    for (let d = 0; d < 100; d++) {
      await mkdir(join(share, "tree", String(d)), { recursive: true, mode: 0o777 });
      await Promise.all(Array.from({ length: FileCount / 100 }, (_, f) => writeFile(join(share, "tree", String(d), String(f)), "")));
    }
    await Bun.spawn(["chmod", "-R", "a+rwX", dir]).exited;
    const sftp = "sftpDriver" in variant ? ["  sshfs:", `    sftpDriver: ${variant.sftpDriver}`] : [];
    const extra = [`mountType: ${type}`, "mountInotify: true", "mounts:", `- location: ${JSON.stringify(share)}`, "  writable: true", ...sftp].join("\n");
    await writeFile(join(dir, `${index}.yaml`), guestTemplate(image, extra, { mounts: false }));
    const name = `bench-${index}-${type.replace(/[^a-z0-9]/g, "")}`;
    if ((await den(home, ["create", join(dir, `${index}.yaml`), "--name", name])).exitCode !== 0) throw new Error(`den create failed for ${variant.label}`);
    try {
      const start = await den(home, ["start", name]);
      if (start.exitCode !== 0 || /warning: mounts/.test(start.stderr)) throw new Error(`den start failed for ${variant.label}:\n${start.stderr}`);
      const latency = await inotifyLatency(home, name, share);
      const latencyCells = [latency.p50Ms, latency.p99Ms, `${latency.missed}/20`];
      const run = async (target: string, makeTree: boolean) => {
        const result = await den(home, ["shell", "--workdir", "/", name, "--", "bash", "-c", benchScript(target, { makeTree })], { timeoutMs: 1_800_000 });
        if (result.exitCode !== 0) throw new Error(`bench script failed on ${target}:\n${result.stderr}`);
        return parseResult(result.stdout);
      };
      if (!baseline) {
        baseline = await run("/var/tmp/den-bench", true);
        rows.push(["guest disk (virtio-blk, qcow2)", baseline.writeMBs, baseline.readMBs, baseline.findStatS, "-", "-", "-"]);
      }
      const result = await run(share, false);
      rows.push([variant.label, result.writeMBs, result.readMBs, result.findStatS, ...latencyCells]);
    } finally {
      await den(home, ["stop", "-f", name], { timeoutMs: 180_000 });
      await den(home, ["delete", "-f", name]);
    }
  }
  console.log(renderTable(["target", "write MB/s", "read MB/s", `find+stat ${FileCount} files s`, "inotify p50 ms", "inotify p99 ms", "missed"], rows));
  if (baseline) {
    const base = baseline;
    console.log(`\nRelative to the guest disk (write / read / find+stat time):`);
    for (const row of rows.slice(1)) {
      const [name, write, read, find] = row as [string, number, number, number, ...unknown[]];
      console.log(`  ${name}: ${(write / base.writeMBs).toFixed(2)}× / ${(read / base.readMBs).toFixed(2)}× / ${(find / base.findStatS).toFixed(1)}× the time`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
