// Time to ready for den's first and second boot of the Debian test guest, against a raw QEMU boot of the same image
// with a den seed (tests/e2e/support/qemu-launch.ts: same machine shape, no host agent) to sshd, in the same run.
// The ratio is the figure; absolute seconds depend on this machine (TCG, 2 cores) and its load.
// DEN_BENCH_KEEP=1 keeps the bench folder (serial logs, host agent logs) and saves each den boot's guest journal and
// `systemd-analyze` output next to its logs, to see where the time goes. DEN_BENCH_ROUNDS=N runs N rounds and adds
// their medians.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeed } from "../cidata/write-seed.ts";
import { loadConfig } from "../lib/config/load.ts";
import { parseEvent } from "../lib/hostagent/events.ts";
import { ensureUserKey } from "../lib/ssh/user-key.ts";
import { den, guestTemplate } from "../tests/e2e/support/den-cli.ts";
import { ensureGuestImage } from "../tests/e2e/support/guest-image.ts";
import { launchGuest } from "../tests/e2e/support/qemu-launch.ts";
import { renderTable } from "./table.ts";

const image = await ensureGuestImage();
const dir = await mkdtemp(join(tmpdir(), "den-boot-bench-"));
const keep = process.env.DEN_BENCH_KEEP === "1";
// DEN_BENCH_ROUNDS=N repeats the whole comparison (about 6.5 min a round here) and adds the medians: a single boot
// under TCG on a shared machine varies by 10-20 %.
const roundCount = Math.max(1, Number.parseInt(process.env.DEN_BENCH_ROUNDS ?? "1", 10) || 1);

/** Copies the instance's logs and the guest's own account of its boot to `<dir>/<label>/`, before the next boot. */
async function saveBoot(home: string, label: string): Promise<void> {
  const out = join(dir, label);
  await mkdir(out, { recursive: true });
  for (const file of await readdir(join(home, "bench"))) if (file.endsWith(".log")) await copyFile(join(home, "bench", file), join(out, file));
  const guest = {
    "journal.txt": "sudo journalctl -b -o short-monotonic --no-pager",
    "blame.txt": "systemd-analyze blame --no-pager",
    "critical-chain.txt": "systemd-analyze critical-chain --no-pager",
    "cloud-init-analyze.txt": "sudo cloud-init analyze show",
    "cloud-init-output.txt": "sudo cat /var/log/cloud-init-output.log",
  };
  for (const [file, command] of Object.entries(guest)) {
    const result = await den(home, ["shell", "bench", "--", "sh", "-c", `${command} 2>&1`]);
    await writeFile(join(out, file), result.stdout + result.stderr);
  }
}
/** What one round measured: the raw boot to sshd and den's first and second boot to ready. */
interface Round {
  rawSshMs: number;
  boots: { name: string; readyMs: number; sshMs: number; stages: string }[];
}

async function round(index: number): Promise<Round> {
  const roundDir = join(dir, `round-${index}`);
  // 1. Raw QEMU with a den seed, to the first successful ssh login.
  const rawHome = join(roundDir, "raw");
  const instanceDir = join(rawHome, "raw");
  await mkdir(instanceDir, { recursive: true });
  const config = await loadConfig(guestTemplate(image), { file: "bench.yaml", instanceName: "raw", instanceDir, denHome: rawHome });
  const key = await ensureUserKey(rawHome);
  const mac = "52:55:55:be:0c:01";
  const seed = await writeSeed(instanceDir, { config, facts: { instanceName: "raw", iid: "iid-1", sshPublicKeys: [key.publicKey], macAddress: mac, hostHome: "/root" } });
  const rawStarted = performance.now();
  let rawSshMs = 0;
  {
    await using guest = await launchGuest({ image, seedIso: seed.path, runDir: join(roundDir, "raw-run"), mac });
    await guest.waitForSsh({ user: config.user.name, identityFile: key.privateKeyPath, timeoutMs: 400_000 });
    rawSshMs = performance.now() - rawStarted;
    await guest.stop();
  }

  // 2. den create + den start (first boot), den stop, den start (second boot).
  const home = join(roundDir, "den");
  await mkdir(home);
  await writeFile(join(roundDir, "guest.yaml"), guestTemplate(image));
  if ((await den(home, ["create", join(roundDir, "guest.yaml"), "--name", "bench"])).exitCode !== 0) throw new Error("den create failed");
  const boots: Round["boots"] = [];
  for (const name of ["den start (first boot)", "den start (second boot)"]) {
    const start = await den(home, ["start", "bench"]);
    if (start.exitCode !== 0) throw new Error(`den start failed:\n${start.stderr}`);
    const events = (await readFile(join(home, "bench", "ha.stdout.log"), "utf8")).split("\n").flatMap((line) => parseEvent(line) ?? []);
    const entered = new Map<string, number>();
    for (const event of events) if (event.status.stage && !entered.has(event.status.stage)) entered.set(event.status.stage, event.status.stageElapsedMs ?? 0);
    const stages = [...entered].map(([stage, ms]) => `${stage}@${(ms / 1000).toFixed(1)}`).join(" ");
    boots.push({ name, readyMs: start.ms, sshMs: entered.get("boot-scripts") ?? 0, stages });
    if (keep) await saveBoot(home, join(`round-${index}`, `boot-${boots.length}`));
    if ((await den(home, ["stop", "bench"])).exitCode !== 0) throw new Error("den stop failed");
  }
  if (!keep) await den(home, ["delete", "bench"]);
  return { rawSshMs, boots };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

try {
  const rounds: Round[] = [];
  for (let i = 1; i <= roundCount; i++) rounds.push(await round(i));
  const rows: (string | number)[][] = [];
  for (const [i, { rawSshMs, boots }] of rounds.entries()) {
    const prefix = roundCount > 1 ? `round ${i + 1}: ` : "";
    const first = boots[0]?.readyMs ?? Number.NaN;
    rows.push([`${prefix}raw QEMU + den seed (baseline)`, rawSshMs / 1000, rawSshMs / 1000, 1, "-"]);
    for (const boot of boots) rows.push([`${prefix}${boot.name}`, boot.sshMs / 1000, boot.readyMs / 1000, boot.readyMs / rawSshMs, boot.readyMs / first]);
  }
  if (roundCount > 1) {
    const column = (pick: (round: Round) => number) => median(rounds.map(pick));
    const first = (r: Round) => r.boots[0]?.readyMs ?? Number.NaN;
    const second = (r: Round) => r.boots[1]?.readyMs ?? Number.NaN;
    rows.push(
      [`median of ${roundCount}: raw QEMU + den seed`, column((r) => r.rawSshMs) / 1000, column((r) => r.rawSshMs) / 1000, 1, "-"],
      ["median: den start (first boot)", column((r) => r.boots[0]?.sshMs ?? Number.NaN) / 1000, column(first) / 1000, column((r) => first(r) / r.rawSshMs), 1],
      ["median: den start (second boot)", column((r) => r.boots[1]?.sshMs ?? Number.NaN) / 1000, column(second) / 1000, column((r) => second(r) / r.rawSshMs), column((r) => second(r) / first(r))],
    );
  }
  console.log(renderTable(["case", "to sshd s", "to ready s", "ready / raw sshd", "ready / first boot"], rows));
  console.log("\nstage entered at (s since the host agent started):");
  for (const [i, { boots }] of rounds.entries()) for (const boot of boots) console.log(`  ${roundCount > 1 ? `round ${i + 1}, ` : ""}${boot.name}: ${boot.stages}`);
  if (roundCount > 1) console.log("\nmedians of ratios are taken per round (each ratio against the same round's baseline or first boot).");
} finally {
  if (keep) console.log(`\nkept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
