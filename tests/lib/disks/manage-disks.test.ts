// den disk's work on a temporary DEN_HOME with the real qemu-img.
import { describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDisk, deleteDisks, importDisk, instanceDisksOf, listDisks, resizeDisk, unlockDisks } from "../../../lib/disks/manage-disks.ts";
import type { InstanceStatus } from "../../../lib/status/instance-info.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeDiskHome, recordingLogger } from "./disk-home.ts";

const GiB = 2 ** 30;

function context(home: string, extra: { statuses?: Record<string, InstanceStatus>; references?: Record<string, string[]> } = {}) {
  const logger = recordingLogger();
  return {
    logger,
    ctx: {
      denHome: home,
      logger,
      statusOf: async (name: string) => extra.statuses?.[name] ?? "Stopped",
      instanceDisks: async () => new Map(Object.entries(extra.references ?? {})),
    },
  };
}

describe("createDisk()", () => {
  test.each([{ format: "qcow2" as const }, { format: "raw" as const }])("createDisk() makes _disks/NAME/datadisk as $format in a private folder", async ({ format }) => {
    await using fx = makeDiskHome();
    const { ctx, logger } = context(fx.home);
    const disk = await createDisk("data", { ...ctx, sizeBytes: GiB, format });
    expect(disk).toEqual({ name: "data", size: GiB, format, dir: join(fx.home, "_disks/data"), instance: "", instanceDir: "", mountPoint: "/mnt/lima-data" });
    expect(statSync(join(fx.home, "_disks/data")).mode & 0o777).toBe(0o700);
    expect(logger.lines).toEqual([`info: Creating ${format} disk "data" with size 1GiB`]);
  });

  test("createDisk() refuses an existing disk, size 0 and a bad name", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const { ctx } = context(fx.home);
    const exists = await rejectedDenError(createDisk("data", { ...ctx, sizeBytes: GiB, format: "raw" }));
    expect(exists.code).toBe("DISK_EXISTS");
    expect(exists.message).toBe(`Cannot create disk "data": it already exists (${join(fx.home, "_disks/data")})`);
    expect((await rejectedDenError(createDisk("new", { ...ctx, sizeBytes: 0, format: "raw" }))).code).toBe("USAGE");
    expect((await rejectedDenError(createDisk("_x", { ...ctx, sizeBytes: GiB, format: "raw" }))).code).toBe("DISK_NAME_INVALID");
    expect(existsSync(join(fx.home, "_disks/new"))).toBe(false);
  });
});

describe("resizeDisk()", () => {
  test("resizeDisk() grows a disk and refuses to shrink it", async () => {
    await using fx = makeDiskHome();
    const { ctx } = context(fx.home);
    await createDisk("data", { ...ctx, sizeBytes: GiB, format: "qcow2" });
    expect((await resizeDisk("data", { ...ctx, sizeBytes: 2 * GiB })).size).toBe(2 * GiB);
    const shrink = await rejectedDenError(resizeDisk("data", { ...ctx, sizeBytes: GiB }));
    expect(shrink.code).toBe("USAGE");
    expect(shrink.message).toBe('Cannot resize disk "data" to 1GiB: it is 2GiB, and a disk cannot shrink');
  });

  test.each([
    { status: "Running" as const, refused: true },
    { status: "Paused" as const, refused: true },
    { status: "Stopped" as const, refused: false },
  ])("resizeDisk() of a disk held by a $status instance is refused: $refused", async ({ status, refused }) => {
    await using fx = makeDiskHome();
    fx.disk("data", 4096);
    fx.lock("data", fx.instance("dev"));
    const { ctx } = context(fx.home, { statuses: { dev: status } });
    const done = resizeDisk("data", { ...ctx, sizeBytes: 8192 });
    if (refused) {
      const error = await rejectedDenError(done);
      expect(error.code).toBe("DISK_IN_USE");
      expect(error.message).toBe(`Cannot resize disk "data": instance "dev" that uses it is ${status}`);
    } else {
      expect((await done).size).toBe(8192);
    }
  });

  test("resizeDisk() of a missing disk says so", async () => {
    await using fx = makeDiskHome();
    const error = await rejectedDenError(resizeDisk("nope", { ...context(fx.home).ctx, sizeBytes: GiB }));
    expect(error.message).toBe('Cannot resize disk "nope": it does not exist');
  });
});

describe("importDisk()", () => {
  test("importDisk() copies an image into a new disk and refuses an existing name", async () => {
    await using fx = makeDiskHome();
    const source = join(fx.home, "image.raw");
    writeFileSync(source, new Uint8Array(65536));
    const { ctx, logger } = context(fx.home);
    expect(await importDisk("data", { ...ctx, file: source })).toMatchObject({ name: "data", size: 65536, format: "raw" });
    expect(logger.lines).toEqual(['info: Imported raw disk "data" with size 64KiB']);
    expect((await rejectedDenError(importDisk("data", { ...ctx, file: source }))).code).toBe("DISK_EXISTS");
  });

  test("importDisk() refuses a path that is not a file and leaves no disk", async () => {
    await using fx = makeDiskHome();
    const { ctx } = context(fx.home);
    expect((await rejectedDenError(importDisk("data", { ...ctx, file: join(fx.home, "missing") }))).code).toBe("IO");
    expect((await rejectedDenError(importDisk("data", { ...ctx, file: "not-a-disk\0" }))).code).toBe("IO");
    expect(existsSync(join(fx.home, "_disks/data"))).toBe(false);
  });
});

describe("deleteDisks()", () => {
  test("deleteDisks() refuses a disk in use by an existing instance unless forced", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const dev = fx.instance("dev");
    fx.lock("data", dev);
    const { ctx } = context(fx.home);
    const error = await rejectedDenError(deleteDisks(["data"], { ...ctx, force: false }));
    expect(error.code).toBe("DISK_IN_USE");
    expect(error.message).toBe(`Cannot delete disk "data": it is in use by instance "dev" (${dev})`);
    expect(error.hint).toBe("stop that instance first, or delete the disk anyway with den disk delete --force data");
    expect(await deleteDisks(["data"], { ...ctx, force: true })).toEqual(["data"]);
    expect(existsSync(join(fx.home, "_disks/data"))).toBe(false);
  });

  test("deleteDisks() deletes a disk whose lock is stale, skips one a stopped instance lists, and ignores missing ones", async () => {
    await using fx = makeDiskHome();
    fx.disk("stale");
    fx.lock("stale", join(fx.home, "deleted-instance"));
    fx.disk("listed");
    const { ctx, logger } = context(fx.home, { references: { dev: ["listed"], other: [] } });
    expect(await deleteDisks(["stale", "listed", "missing"], { ...ctx, force: false })).toEqual(["stale"]);
    expect(existsSync(join(fx.home, "_disks/listed/datadisk"))).toBe(true);
    expect(logger.lines).toEqual([
      `info: Deleted "stale" (${join(fx.home, "_disks/stale")})`,
      'warn: Skipping deleting disk "listed": it is listed in additionalDisks of "dev"; to delete anyway, run den disk delete --force listed',
      'warn: Ignoring non-existent disk "missing"',
    ]);
  });

  test("deleteDisks() checks every name before deleting any", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    expect((await rejectedDenError(deleteDisks(["data", "../.."], { ...context(fx.home).ctx, force: true }))).code).toBe("DISK_NAME_INVALID");
    expect(existsSync(join(fx.home, "_disks/data"))).toBe(true);
  });
});

describe("unlockDisks()", () => {
  test.each([
    { name: "a stopped holder", status: "Stopped" as const, holderExists: true, unlocked: true },
    { name: "a running holder", status: "Running" as const, holderExists: true, unlocked: false },
    { name: "a broken holder", status: "Broken" as const, holderExists: true, unlocked: false },
    { name: "a holder whose folder is gone", status: "Running" as const, holderExists: false, unlocked: true },
  ])("unlockDisks() with $name unlocks: $unlocked", async ({ status, holderExists, unlocked }) => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const holder = holderExists ? fx.instance("dev") : join(fx.home, "dev");
    fx.lock("data", holder);
    const { ctx, logger } = context(fx.home, { statuses: { dev: status } });
    expect(await unlockDisks(["data"], ctx)).toEqual(unlocked ? ["data"] : []);
    expect(existsSync(join(fx.home, "_disks/data/in_use_by"))).toBe(!unlocked);
    if (!unlocked) expect(logger.lines).toEqual([`warn: Cannot unlock disk "data": instance "dev" that uses it is ${status}`]);
  });

  test("unlockDisks() warns about a free disk and a missing one", async () => {
    await using fx = makeDiskHome();
    fx.disk("data");
    const { ctx, logger } = context(fx.home);
    expect(await unlockDisks(["data", "missing"], ctx)).toEqual([]);
    expect(logger.lines).toEqual(['warn: Ignoring unlocked disk "data"', 'warn: Ignoring non-existent disk "missing"']);
  });
});

describe("listDisks()", () => {
  test("listDisks() lists every disk, or the named ones with a warning for a name without a disk", async () => {
    await using fx = makeDiskHome();
    fx.disk("b");
    fx.disk("a");
    const { ctx, logger } = context(fx.home);
    expect((await listDisks([], ctx)).map((disk) => disk.name)).toEqual(["a", "b"]);
    expect((await listDisks(["b", "zz"], ctx)).map((disk) => disk.name)).toEqual(["b"]);
    expect(logger.lines).toEqual(['warn: No disk matching "zz" found']);
  });

  test("listDisks() hints at den disk create when there are no disks", async () => {
    await using fx = makeDiskHome();
    const { ctx, logger } = context(fx.home);
    expect(await listDisks([], ctx)).toEqual([]);
    expect(logger.lines).toEqual(["warn: No disk found. Run `den disk create DISK --size SIZE` to create a disk."]);
  });
});

test("instanceDisksOf() reads each instance's additionalDisks and skips an instance whose den.yaml does not load", async () => {
  await using fx = makeDiskHome();
  writeFileSync(join(fx.instance("dev"), "den.yaml"), "images: [{location: /x.img, arch: x86_64}]\nadditionalDisks: [data, {name: cache, format: false}]\n");
  writeFileSync(join(fx.instance("broken"), "den.yaml"), "cpus: [not, a, number]\n");
  expect(await instanceDisksOf(fx.home)).toEqual(new Map([["dev", ["data", "cache"]]]));
});
