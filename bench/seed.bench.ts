// The seed den writes at every start (cidata.iso), in the guest agent's new shape (the ~0.3 MB bundle and one line
// naming the runtime; the runtime travels on its own disk, written once per runtime) against the old one (the whole
// ~107 MiB agent binary in every seed), measured in the same run. The old shape is rebuilt here from its description:
// the same seed with one extra 0755 file holding a plain Bun runtime (this bun), as the old agent was one.
// With containerd (on by default, as in Lima) the old seed also carried the ~250 MB nerdctl-full archive, hashed on its
// way in (the agent already in its new shape); now the archive travels on its own disk written once per archive and the seed names only its sha256. The
// archive here is 250 MiB of incompressible bytes standing in for nerdctl-full.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IsoFileEntry } from "../cidata/iso9660.ts";
import { writeSeed } from "../cidata/write-seed.ts";
import { ensureContainerdArchiveDisk } from "../lib/containerd/archive-disk.ts";
import { loadConfig } from "../lib/config/load.ts";
import { findAgentBundle } from "../lib/guestagent/agent-bundle.ts";
import { guestAgentSeedEntries } from "../lib/guestagent/guest-agent-seed-entry.ts";
import { findGuestRuntime } from "../lib/guestagent/guest-runtime.ts";
import { ensureRuntimeDisk } from "../lib/guestagent/runtime-disk.ts";
import { measure, renderTable } from "./table.ts";

const RUNS = 7;
const MiB = 2 ** 20;
const dir = await mkdtemp(join(tmpdir(), "den-seed-bench-"));
try {
  const denHome = join(dir, "home");
  const instanceDir = join(denHome, "bench");
  await mkdir(instanceDir, { recursive: true, mode: 0o700 });
  const yaml = "images:\n- location: /nonexistent/debian.qcow2\n  arch: x86_64\narch: x86_64\n";
  const config = await loadConfig(yaml, { file: join(instanceDir, "den.yaml"), instanceName: "bench", instanceDir, denHome });
  const facts = { instanceName: "bench", iid: "iid-1700000000", sshPublicKeys: ["ssh-ed25519 AAAA bench"], macAddress: "52:55:55:12:34:56", hostHome: dir, hostEnv: {} };

  const bundle = (await findAgentBundle()) ?? new Uint8Array(300 * 1024);
  const runtime = await findGuestRuntime("x86_64", { denHome, env: {}, platform: "linux", arch: "x64", execPath: process.execPath });
  if (!runtime) throw new Error("no runtime for x86_64");
  const oldAgent: IsoFileEntry[] = [{ path: "den-guestagent", kind: "file", mode: 0o755, size: runtime.size, source: () => Bun.file(runtime.path).stream() }];
  const newAgent = guestAgentSeedEntries({ bundle, runtime });

  let oldBytes = 0;
  let newBytes = 0;
  const old = await measure("old: agent binary in the seed", async () => void (oldBytes = (await writeSeed(instanceDir, { config, facts, guestAgent: oldAgent })).bytes), { runs: RUNS });
  const fresh = await measure("new: bundle + runtime line", async () => void (newBytes = (await writeSeed(instanceDir, { config, facts, guestAgent: newAgent })).bytes), { runs: RUNS });
  const disksDir = join(denHome, "_cache", "guestagent", "runtime-disks");
  let diskBytes = 0;
  const disk = await measure(
    "new: runtime disk (once per runtime)",
    async () => {
      await rm(disksDir, { recursive: true, force: true });
      diskBytes = Bun.file(await ensureRuntimeDisk(runtime, { denHome })).size;
    },
    { runs: 3 },
  );
  const reuse = await measure("new: runtime disk found in place", () => ensureRuntimeDisk(runtime, { denHome }), { runs: RUNS });

  const row = (sample: typeof old, bytes: number) => [sample.name, bytes / MiB, sample.medianMs, sample.minMs, sample.p90Ms];
  console.log(renderTable(["what (written at every start unless noted)", "MiB", "median ms", "min ms", "p90 ms"], [row(old, oldBytes), row(fresh, newBytes), row(disk, diskBytes), row(reuse, diskBytes)]));
  console.log(`\nseed size new/old: ${(newBytes / oldBytes).toFixed(4)}, seed write time new/old: ${(fresh.medianMs / old.medianMs).toFixed(4)} (targets: seed <= 2 MiB, <= 50 ms)`);

  // ---- with containerd ----
  const archivePath = join(dir, "nerdctl-full.tgz");
  const block = crypto.getRandomValues(new Uint8Array(MiB));
  const writer = Bun.file(archivePath).writer();
  for (let i = 0; i < 250; i++) writer.write(block.map((byte) => byte ^ i));
  await writer.end();
  const archiveSize = Bun.file(archivePath).size;
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(archivePath).stream()) hasher.update(chunk);
  const archiveSha256 = hasher.digest("hex");
  const archive = { path: archivePath, size: archiveSize, digest: `sha256:${archiveSha256}`, location: archivePath };
  // The old seed entry: the archive streamed into the seed and hashed on its way, as cidata/containerd-archive-entry.ts did.
  const oldArchiveEntry: IsoFileEntry = {
    path: "nerdctl-full.tgz",
    kind: "file",
    mode: 0o644,
    size: archiveSize,
    source: () => {
      const check = new Bun.CryptoHasher("sha256");
      return Bun.file(archivePath)
        .stream()
        .pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              check.update(chunk);
              controller.enqueue(chunk);
            },
            flush() {
              if (check.digest("hex") !== archiveSha256) throw new Error("the archive changed");
            },
          }),
        );
    },
  };
  let oldCtrBytes = 0;
  let newCtrBytes = 0;
  const oldCtr = await measure(
    "old: bundle + runtime line + archive in the seed",
    async () => void (oldCtrBytes = (await writeSeed(instanceDir, { config, facts, guestAgent: [...newAgent, oldArchiveEntry], containerdArchiveSha256: archiveSha256 })).bytes),
    { runs: 3 },
  );
  const newCtr = await measure(
    "new: bundle + runtime line + archive sha256",
    async () => void (newCtrBytes = (await writeSeed(instanceDir, { config, facts, guestAgent: newAgent, containerdArchiveSha256: archiveSha256 })).bytes),
    { runs: RUNS },
  );
  const archiveDisksDir = join(denHome, "_cache", "containerd", "archive-disks");
  let archiveDiskBytes = 0;
  const archiveDisk = await measure(
    "new: containerd archive disk (once per archive)",
    async () => {
      await rm(archiveDisksDir, { recursive: true, force: true });
      archiveDiskBytes = Bun.file((await ensureContainerdArchiveDisk(archive, { denHome })).path).size;
    },
    { runs: 3 },
  );
  const archiveReuse = await measure("new: containerd archive disk found in place", () => ensureContainerdArchiveDisk(archive, { denHome }), { runs: RUNS });
  console.log(`\nwith containerd (a ${(archiveSize / MiB).toFixed(0)} MiB archive):\n`);
  console.log(
    renderTable(
      ["what (written at every start unless noted)", "MiB", "median ms", "min ms", "p90 ms"],
      [row(oldCtr, oldCtrBytes), row(newCtr, newCtrBytes), row(archiveDisk, archiveDiskBytes), row(archiveReuse, archiveDiskBytes)],
    ),
  );
  console.log(`\nwith containerd: seed size new/old: ${(newCtrBytes / oldCtrBytes).toFixed(4)}, seed write time new/old: ${(newCtr.medianMs / oldCtr.medianMs).toFixed(4)} (targets: seed <= 2 MiB, <= 50 ms)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
