// The seed den writes at every start (cidata.iso), in the guest agent's new shape (the ~0.3 MB bundle and one line
// naming the runtime; the runtime travels on its own disk, written once per runtime) against the old one (the whole
// ~107 MiB agent binary in every seed), measured in the same run. The old shape is rebuilt here from its description:
// the same seed with one extra 0755 file holding a plain Bun runtime (this bun), as the old agent was one.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IsoFileEntry } from "../cidata/iso9660.ts";
import { writeSeed } from "../cidata/write-seed.ts";
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
} finally {
  await rm(dir, { recursive: true, force: true });
}
