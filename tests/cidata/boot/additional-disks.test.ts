// cidata/boot/linux/05-additional-disks.sh through boot.sh in a fake root (see boot-fixture.ts). The disks are
// /sys/block/*/serial files, and blkid, sfdisk, mkfs, mount and friends are fakes on PATH that record their argv, so
// what the script would do to a real guest's disks is the list of commands it ran.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type GuestDisk, guestDiskEnv } from "../../../lib/disks/guest-disks.ts";
import { shellQuote } from "../../../lib/shell/quote.ts";
import { type BootFixture, makeBootFixture, writeFakeBin } from "./boot-fixture.ts";

const scripts = ["boot/linux/05-additional-disks.sh"];

function disk(name: string, overrides: Partial<GuestDisk> = {}): GuestDisk {
  return { name, serial: `lima-${name}`, format: true, fsType: "ext4", fsArgs: [], ...overrides };
}

interface Scenario {
  disks: readonly GuestDisk[];
  /** Device name → its virtio serial (the seed, the runtime disk and the additional disks). */
  serials?: Record<string, string>;
  /** What blkid prints. */
  blkid?: string;
  growpartExit?: number;
}

interface Outcome {
  exitCode: number;
  console: string;
  /** Every fake tool call, "<tool> <args>", with the fake root shown as $ROOT. */
  calls: string[];
  fx: BootFixture;
}

async function runScenario(fx: BootFixture, scenario: Scenario): Promise<Outcome> {
  const serials = scenario.serials ?? { vda: "", vdb: "", vdc: "lima-data" };
  for (const [device, serial] of Object.entries(serials)) fx.write(`sys/block/${device}/serial`, `${serial}\n`);
  const bin = join(fx.dir, "bin");
  const log = join(fx.dir, "calls.log");
  writeFileSync(log, "");
  for (const tool of ["sfdisk", "udevadm", "mkfs.ext4", "mkfs.xfs", "mkswap", "swapon", "mount", "resize2fs", "xfs_growfs"]) writeFakeBin(bin, tool, { log });
  writeFakeBin(bin, "mountpoint", { log, exitCode: 1 });
  writeFakeBin(bin, "growpart", { log, exitCode: scenario.growpartExit ?? 1 });
  const blkidOut = join(fx.dir, "blkid.out");
  writeFileSync(blkidOut, scenario.blkid ?? "");
  writeFileSync(join(bin, "blkid"), `#!/bin/bash\ncat ${shellQuote(blkidOut)}\n`, { mode: 0o755 });
  const run = fx.boot({ PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` });
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("mountpoint "))
    .map((line) => line.replaceAll(fx.root, "$ROOT"));
  return { exitCode: run.exitCode, console: run.console, calls, fx };
}

function fixture(disks: readonly GuestDisk[]): BootFixture {
  return makeBootFixture({ scripts, env: Object.fromEntries(guestDiskEnv(disks)) });
}

interface Row {
  name: string;
  scenario: Scenario;
  wantExit: number;
  wantCalls: string[];
  wantConsole: string[];
}

describe("linux/05-additional-disks.sh", () => {
  test.each<Row>([
    {
      name: "formats a new disk found by its serial and mounts it at /mnt/lima-<name>",
      scenario: { disks: [disk("data")] },
      wantExit: 0,
      wantCalls: [
        "sfdisk --label gpt $ROOT/dev/vdc",
        "udevadm settle",
        "mkfs.ext4 -L lima-data $ROOT/dev/vdc1",
        "mount -t ext4 $ROOT/dev/vdc1 $ROOT/mnt/lima-data",
        "growpart $ROOT/dev/vdc 1",
      ],
      wantConsole: ["formatting disk data (vdc) as ext4", "disk data (vdc) is mounted at /mnt/lima-data"],
    },
    {
      name: "passes each fsArgs entry as one argument",
      scenario: { disks: [disk("data", { fsType: "xfs", fsArgs: ["-m", "crc=1,finobt=1", "a b"] })] },
      wantExit: 0,
      wantCalls: [
        "sfdisk --label gpt $ROOT/dev/vdc",
        "udevadm settle",
        "mkfs.xfs -m crc=1,finobt=1 a b -L lima-data $ROOT/dev/vdc1",
        "mount -t xfs $ROOT/dev/vdc1 $ROOT/mnt/lima-data",
        "growpart $ROOT/dev/vdc 1",
      ],
      wantConsole: ["disk data (vdc) is mounted at /mnt/lima-data"],
    },
    {
      name: "never formats a partition that has a filesystem",
      scenario: { disks: [disk("data")], blkid: '/dev/vda1: UUID="r" TYPE="ext4"\n/dev/vdc1: UUID="d" BLOCK_SIZE="4096" TYPE="ext4" PARTLABEL="lima-data"\n' },
      wantExit: 0,
      wantCalls: ["mount -t ext4 $ROOT/dev/vdc1 $ROOT/mnt/lima-data", "growpart $ROOT/dev/vdc 1"],
      wantConsole: ["disk data (vdc) is mounted at /mnt/lima-data"],
    },
    {
      name: "mounts a filesystem of another type as what it is",
      scenario: { disks: [disk("data")], blkid: '/dev/vdc1: UUID="d" TYPE="xfs"\n' },
      wantExit: 0,
      wantCalls: ["mount -t xfs $ROOT/dev/vdc1 $ROOT/mnt/lima-data", "growpart $ROOT/dev/vdc 1"],
      wantConsole: ["disk data (vdc) holds xfs, not ext4: used as xfs"],
    },
    {
      name: "formats a partition that has no filesystem yet (a first boot cut short after sfdisk)",
      scenario: { disks: [disk("data")], blkid: '/dev/vdc: PTUUID="p" PTTYPE="gpt"\n/dev/vdc1: PARTLABEL="lima-data" PARTUUID="q"\n' },
      wantExit: 0,
      wantCalls: ["sfdisk --label gpt $ROOT/dev/vdc", "udevadm settle", "mkfs.ext4 -L lima-data $ROOT/dev/vdc1", "mount -t ext4 $ROOT/dev/vdc1 $ROOT/mnt/lima-data", "growpart $ROOT/dev/vdc 1"],
      wantConsole: ["formatting disk data (vdc) as ext4"],
    },
    {
      name: "leaves a disk without a filesystem alone when format is off",
      scenario: { disks: [disk("data", { format: false })] },
      wantExit: 0,
      wantCalls: [],
      wantConsole: ["disk data (vdc) has no filesystem and format is off: left as it is, not mounted"],
    },
    {
      name: "refuses to partition a disk whose whole device carries a filesystem",
      scenario: { disks: [disk("data")], blkid: '/dev/vdc: UUID="w" TYPE="ext4"\n' },
      wantExit: 1,
      wantCalls: [],
      wantConsole: ["WARNING disk data (vdc) has a filesystem on the whole disk, not in a partition: not formatted, not mounted"],
    },
    {
      name: "sets up swap with mkswap and swapon",
      scenario: { disks: [disk("swap0", { fsType: "swap" })], serials: { vda: "", vdb: "lima-swap0" } },
      wantExit: 0,
      wantCalls: ["sfdisk --label gpt $ROOT/dev/vdb", "udevadm settle", "mkswap -L lima-swap0 $ROOT/dev/vdb1", "swapon $ROOT/dev/vdb1"],
      wantConsole: ["disk swap0 (vdb) is swap"],
    },
    {
      name: "reports a disk whose serial no device has and still sets up the others",
      scenario: { disks: [disk("gone"), disk("data")] },
      wantExit: 1,
      wantCalls: ["sfdisk --label gpt $ROOT/dev/vdc", "udevadm settle", "mkfs.ext4 -L lima-data $ROOT/dev/vdc1", "mount -t ext4 $ROOT/dev/vdc1 $ROOT/mnt/lima-data", "growpart $ROOT/dev/vdc 1"],
      wantConsole: ["WARNING disk gone: no virtio disk with serial lima-gone", "disk data (vdc) is mounted at /mnt/lima-data"],
    },
    {
      name: "refuses a filesystem type that is not a plain word",
      scenario: { disks: [disk("data", { fsType: "ext4;reboot" })] },
      wantExit: 1,
      wantCalls: [],
      wantConsole: ['WARNING disk 0 has an invalid name "data" or filesystem type "ext4;reboot"'],
    },
    {
      name: "grows the filesystem after growpart grew the partition",
      scenario: { disks: [disk("data")], blkid: '/dev/vdc1: TYPE="ext4"\n', growpartExit: 0 },
      wantExit: 0,
      wantCalls: ["mount -t ext4 $ROOT/dev/vdc1 $ROOT/mnt/lima-data", "growpart $ROOT/dev/vdc 1", "resize2fs $ROOT/dev/vdc1"],
      wantConsole: ["grew the partition of /dev/vdc1"],
    },
    {
      name: "cuts a long name's label to what ext4 takes and finds the disk by its hashed serial",
      scenario: { disks: [disk("a-very-long-disk-name", { serial: "lima-0123456789abcde" })], serials: { vdd: "lima-0123456789abcde" } },
      wantExit: 0,
      wantCalls: [
        "sfdisk --label gpt $ROOT/dev/vdd",
        "udevadm settle",
        "mkfs.ext4 -L lima-a-very-long $ROOT/dev/vdd1",
        "mount -t ext4 $ROOT/dev/vdd1 $ROOT/mnt/lima-a-very-long-disk-name",
        "growpart $ROOT/dev/vdd 1",
      ],
      wantConsole: ["mounted at /mnt/lima-a-very-long-disk-name"],
    },
  ])("05-additional-disks.sh $name", async ({ scenario, wantExit, wantCalls, wantConsole }) => {
    await using fx = fixture(scenario.disks);
    const outcome = await runScenario(fx, scenario);
    expect(outcome.calls).toEqual(wantCalls);
    for (const line of wantConsole) expect(outcome.console).toContain(line);
    expect(outcome.exitCode).toBe(wantExit);
    if (wantCalls.some((call) => call.startsWith("mount "))) expect(existsSync(join(fx.root, "mnt", `lima-${scenario.disks.at(-1)?.name}`))).toBe(true);
  });

  test("05-additional-disks.sh does nothing in a seed without disks", async () => {
    await using fx = makeBootFixture({ scripts });
    const outcome = await runScenario(fx, { disks: [] });
    expect(outcome.calls).toEqual([]);
    expect(outcome.exitCode).toBe(0);
  });

  test("05-additional-disks.sh gives the partition its GPT name, cut to 36 characters", async () => {
    const name = "n".repeat(40);
    await using fx = fixture([disk(name, { serial: "lima-x" })]);
    const bin = join(fx.dir, "bin");
    // sfdisk's script arrives on stdin: keep it.
    await runScenario(fx, { disks: [], serials: { vdb: "lima-x" } });
    writeFileSync(join(bin, "sfdisk"), `#!/bin/bash\ncat >${shellQuote(join(fx.dir, "sfdisk.in"))}\n`, { mode: 0o755 });
    fx.boot({ PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` });
    expect(readFileSync(join(fx.dir, "sfdisk.in"), "utf8")).toBe(`type=linux,name=${`lima-${name}`.slice(0, 36)}\n`);
  });
});
