// Builds a cidata seed with a 100 MB guest-agent-sized file plus the usual small files, and compares the time
// with `cp` of the same 100 MB file in the same run. Peak RSS, sampled while building, shows the big file is
// streamed rather than held in memory.
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type IsoEntry, writeIso9660ToFile } from "../cidata/iso9660.ts";
import { measure, renderTable } from "./table.ts";

const BIG_BYTES = 100 * 1024 * 1024;
const RUNS = 5;
const dir = await mkdtemp(join(tmpdir(), "den-iso-bench-"));
try {
  const big = join(dir, "lima-guestagent");
  await writeNoise(big, BIG_BYTES);
  const small: Record<string, string> = {
    "user-data": `#cloud-config\ngrowpart:\n  mode: auto\n  devices: ['/']\n${"# padding\n".repeat(200)}`,
    "meta-data": "instance-id: iid-1700000000\nlocal-hostname: lima-default\n",
    "network-config": "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: '52:55:55:12:34:56'\n    dhcp4: true\n",
    "lima.env": "LIMA_CIDATA_NAME=default\nLIMA_CIDATA_USER=me\n".repeat(20),
    "param.env": "",
    "etc_environment": "#LIMA-START\n#LIMA-END\n",
    "boot.sh": `#!/bin/sh\nset -eu\n${"echo step\n".repeat(100)}`,
  };
  for (const name of ["00-modprobe.sh", "05-lima-mounts.sh", "07-etc-environment.sh", "25-guestagent-base.sh", "30-install-packages.sh"]) {
    small[`boot.Linux/${name}`] = `#!/bin/sh\n${"true\n".repeat(300)}`;
  }
  const entries: IsoEntry[] = Object.entries(small).map(([path, text]) => ({
    path,
    kind: "file",
    mode: path.endsWith(".sh") ? 0o755 : 0o644,
    size: new TextEncoder().encode(text).length,
    source: () => text,
  }));
  entries.push({ path: "lima-guestagent", kind: "file", mode: 0o755, size: (await stat(big)).size, source: () => Bun.file(big).stream() });

  const iso = join(dir, "cidata.iso");
  const copy = join(dir, "copy");
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const build = await measure("build cidata.iso", () => writeIso9660ToFile(entries, iso), { runs: RUNS });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const cp = await measure("cp 100 MB file", () => {
    if (!Bun.spawnSync(["cp", big, copy]).success) throw new Error("cp failed");
  }, { runs: RUNS });

  const isoBytes = (await stat(iso)).size;
  const mb = (bytes: number) => bytes / (1024 * 1024);
  console.log(
    renderTable(
      ["case", "runs", "median ms", "min ms", "MiB written", "MiB/s (median)", "x cp"],
      [
        [build.name, String(build.runs), build.medianMs, build.minMs, mb(isoBytes), mb(isoBytes) / (build.medianMs / 1000), build.medianMs / cp.medianMs],
        [cp.name, String(cp.runs), cp.medianMs, cp.minMs, mb(BIG_BYTES), mb(BIG_BYTES) / (cp.medianMs / 1000), 1],
      ],
    ),
  );
  console.log(`\nRSS before build ${mb(rssBefore).toFixed(1)} MiB, peak while building ${mb(peak).toFixed(1)} MiB (+${mb(peak - rssBefore).toFixed(1)} MiB for a ${mb(BIG_BYTES)} MiB file)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Incompressible bytes written 1 MiB at a time, so generating them needs no 100 MB buffer either. */
async function writeNoise(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  const chunk = new Uint8Array(1024 * 1024);
  let state = 0x12345678;
  try {
    for (let written = 0; written < bytes; written += chunk.length) {
      const words = new Uint32Array(chunk.buffer);
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state >>> 0;
      }
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
}
