import { describe, expect, test } from "bun:test";
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type DiskLockState, diskLockDecision, holderInstanceName, lockDisks, readLockState, releaseDisks, unlockDisk } from "../../../lib/disks/disk-lock.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeDiskHome, recordingLogger } from "./disk-home.ts";

describe("diskLockDecision()", () => {
  test.each([
    { name: "a free disk is taken", state: { holder: undefined }, want: { action: "take" } },
    { name: "a disk the instance holds is kept", state: { holder: "/d/dev", holderExists: true }, want: { action: "keep" } },
    { name: "the same folder spelled differently is the same holder", state: { holder: "/d/x/../dev/", holderExists: true }, want: { action: "keep" } },
    { name: "a disk another instance holds is refused", state: { holder: "/d/other", holderExists: true }, want: { action: "refuse", holder: "/d/other" } },
    { name: "a lock whose instance folder is gone is stale", state: { holder: "/d/deleted", holderExists: false }, want: { action: "replace-stale", holder: "/d/deleted" } },
  ] satisfies { name: string; state: DiskLockState; want: unknown }[])("diskLockDecision(): $name", ({ state, want }) => {
    expect(diskLockDecision(state, "/d/dev")).toEqual(want as never);
  });
});

describe("lockDisks()", () => {
  test("lockDisks() links in_use_by to the instance folder and keeps its own lock on a second start", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    fx.disk("scratch");
    const dev = fx.instance("dev");
    await lockDisks(fx.home, dev, ["data", "scratch"]);
    await lockDisks(fx.home, dev, ["data", "scratch"]);
    expect(readlinkSync(join(fx.home, "_disks/data/in_use_by"))).toBe(dev);
    expect(readlinkSync(join(fx.home, "_disks/scratch/in_use_by"))).toBe(dev);
  });

  test("lockDisks() refuses a disk another instance holds, naming both, and takes none of the others", async () => {
    await using fx = makeDiskHome();
    fx.disk("free");
    fx.disk("data");
    const other = fx.instance("other");
    fx.lock("data", other);
    const error = await rejectedDenError(lockDisks(fx.home, fx.instance("dev"), ["free", "data"]));
    expect(error.code).toBe("DISK_IN_USE");
    expect(error.message).toBe(`Cannot attach disk "data" to instance "dev": it is in use by instance "other" (${other})`);
    expect(error.hint).toBe('stop "other" first (den stop other); if it does not run, release the disk with den disk unlock data');
    expect(existsSync(join(fx.home, "_disks/free/in_use_by"))).toBe(false);
    expect(readlinkSync(join(fx.home, "_disks/data/in_use_by"))).toBe(other);
  });

  test("lockDisks() takes over a stale lock whose instance folder is gone, with a warning", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const gone = join(fx.home, "deleted");
    fx.lock("data", gone);
    const logger = recordingLogger();
    const dev = fx.instance("dev");
    await lockDisks(fx.home, dev, ["data"], { logger });
    expect(readlinkSync(join(fx.home, "_disks/data/in_use_by"))).toBe(dev);
    expect(logger.lines).toEqual([`warn: Disk "data" was locked by "${gone}", which no longer exists; taking it over`]);
  });

  test("lockDisks() refuses a disk that does not exist and releases what it took", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const error = await rejectedDenError(lockDisks(fx.home, fx.instance("dev"), ["data", "missing"]));
    expect(error.code).toBe("DISK_NOT_FOUND");
    expect(error.message).toBe('Cannot attach disk "missing" to instance "dev": it does not exist');
    expect(existsSync(join(fx.home, "_disks/data/in_use_by"))).toBe(false);
  });

  test("lockDisks() refuses a disk listed twice", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const error = await rejectedDenError(lockDisks(fx.home, fx.instance("dev"), ["data", "data"]));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toBe('Cannot attach disk "data" twice to instance "dev"');
  });

  test("lockDisks() refuses a name that is not a disk name before touching anything", async () => {
    await using fx = makeDiskHome();
    expect((await rejectedDenError(lockDisks(fx.home, fx.instance("dev"), ["../dev"]))).code).toBe("DISK_NAME_INVALID");
  });
});

describe("releaseDisks()", () => {
  test("releaseDisks() removes only the locks that name the instance", async () => {
    await using fx = makeDiskHome();
    const dev = fx.instance("dev");
    const other = fx.instance("other");
    for (const name of ["a", "b", "c", "d"]) fx.disk(name);
    fx.lock("a", dev);
    fx.lock("b", other);
    fx.lock("c", `${dev}/`);
    expect(await releaseDisks(fx.home, dev)).toEqual(["a", "c"]);
    expect(existsSync(join(fx.home, "_disks/a/in_use_by"))).toBe(false);
    expect(readlinkSync(join(fx.home, "_disks/b/in_use_by"))).toBe(other);
  });

  test("releaseDisks() has nothing to do without a _disks folder", async () => {
    await using fx = makeDiskHome();
    expect(await releaseDisks(fx.home, fx.instance("dev"))).toEqual([]);
  });
});

test("unlockDisk() removes the lock whoever holds it, and is quiet when there is none", async () => {
  await using fx = makeDiskHome();
  fx.disk("data");
  fx.lock("data", fx.instance("other"));
  await unlockDisk(fx.home, "data");
  await unlockDisk(fx.home, "data");
  expect(await readLockState(join(fx.home, "_disks/data"))).toEqual({ holder: undefined });
});

test.each([
  { name: "an instance of this DEN_HOME", holder: "/d/dev", want: "dev" },
  { name: "a folder elsewhere", holder: "/elsewhere/dev", want: undefined },
])("holderInstanceName() names $name", ({ holder, want }) => {
  expect(holderInstanceName("/d", holder)).toBe(want as never);
});
