import { expect, test } from "bun:test";
import { existsSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockInstanceDisks, releaseInstanceDisks } from "../../../lib/disks/instance-disks.ts";
import { fillDefaults } from "../../../lib/config/defaults.ts";
import { linuxHost } from "../../fixtures/host-info.ts";
import { forceStopInstance, stopInstance } from "../../../lib/instance/stop.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDiskHome, recordingLogger } from "./disk-home.ts";

test("lockInstanceDisks() locks the additionalDisks and releaseInstanceDisks() frees them, saying which", async () => {
  await using fx = makeDiskHome();
  fx.disk("data");
  fx.disk("cache");
  const dev = fx.instance("dev");
  const config = fillDefaults({ additionalDisks: ["data", { name: "cache", format: false }] }, { host: linuxHost, instanceName: "dev", instanceDir: dev, denHome: fx.home });
  const logger = recordingLogger();
  await lockInstanceDisks(fx.home, dev, { disks: config.additionalDisks, logger });
  expect(readlinkSync(join(fx.home, "_disks/cache/in_use_by"))).toBe(dev);
  await releaseInstanceDisks(fx.home, dev, { logger });
  expect(existsSync(join(fx.home, "_disks/data/in_use_by"))).toBe(false);
  expect(logger.lines).toEqual(['info: Released disk "cache", "data"']);
});

test("releaseInstanceDisks() warns instead of throwing when a lock cannot be read, and still frees the others", async () => {
  await using fx = makeDiskHome();
  const dev = fx.instance("dev");
  fx.disk("data");
  fx.lock("data", dev);
  // A file where a disk folder belongs: reading its in_use_by fails with ENOTDIR, whoever runs the test.
  writeFileSync(join(fx.home, "_disks/broken"), "");
  const logger = recordingLogger();
  await releaseInstanceDisks(fx.home, dev, { logger });
  expect(existsSync(join(fx.home, "_disks/data/in_use_by"))).toBe(false);
  expect(logger.lines).toHaveLength(1);
  expect(logger.lines[0]).toStartWith(`warn: Cannot unlock the disks of "${dev}": broken: `);
  expect(logger.lines[0]).toEndWith("(run den disk unlock NAME for each disk once the instance is stopped)");
});

test("den stop -f of a stopped instance and forceStopInstance() release the instance's disk locks, and only those", async () => {
  await using fx = makeDiskHome();
  const vm = await makeInstance(fx.home, "vm");
  const other = fx.instance("other");
  fx.disk("mine");
  fx.disk("theirs");
  fx.lock("mine", vm);
  fx.lock("theirs", other);
  expect(await stopInstance(fx.home, "vm", { logger: createMemoryLogger(), force: true })).toBe("already-stopped");
  expect(existsSync(join(fx.home, "_disks/mine/in_use_by"))).toBe(false);
  expect(readlinkSync(join(fx.home, "_disks/theirs/in_use_by"))).toBe(other);
  fx.lock("mine", vm);
  await forceStopInstance(vm, { logger: createMemoryLogger() });
  expect(existsSync(join(fx.home, "_disks/mine/in_use_by"))).toBe(false);
});
