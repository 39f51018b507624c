import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createQemuDriver } from "../../../drivers/qemu/qemu-driver.ts";
import { checkSnapshotTag, checkTagAgainst, snapshotTags } from "../../../lib/cli/snapshot.ts";
import { loadInstanceConfig } from "../../../lib/config/load.ts";
import { DenError } from "../../../lib/errors.ts";
import { startApiServer } from "../../../lib/hostagent/api-server.ts";
import { snapshotHandlers } from "../../../lib/hostagent/snapshot-handlers.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { makeInstance, ownerProcess, writePid } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

describe("checkSnapshotTag()", () => {
  test.each([
    { tag: "before-upgrade", want: "before-upgrade" },
    { tag: "v1.2_rc", want: "v1.2_rc" },
    { tag: "a1", want: "a1" },
  ])("checkSnapshotTag() accepts $tag", ({ tag, want }) => {
    expect(checkSnapshotTag(tag, { action: "create", name: "vm" })).toBe(want);
  });

  test.each([
    { tag: undefined, message: 'Cannot create a snapshot of instance "vm": --tag is missing' },
    { tag: "", message: 'Cannot create a snapshot of instance "vm": --tag is missing' },
    { tag: "12", message: 'Cannot create a snapshot of instance "vm": invalid tag "12": digits alone would be taken for a snapshot ID' },
    { tag: "-x", message: 'Cannot create a snapshot of instance "vm": invalid tag "-x": use letters, digits, ".", "_" and "-", starting with a letter or digit' },
    { tag: "a b", message: 'Cannot create a snapshot of instance "vm": invalid tag "a b": use letters, digits, ".", "_" and "-", starting with a letter or digit' },
    { tag: "a\u001b[2J", message: 'Cannot create a snapshot of instance "vm": invalid tag "a\\x1b[2J": use letters, digits, ".", "_" and "-", starting with a letter or digit' },
    { tag: "x".repeat(129), message: `Cannot create a snapshot of instance "vm": invalid tag "${"x".repeat(79)}…": longer than 128 characters` },
  ])("checkSnapshotTag() refuses $tag", ({ tag, message }) => {
    const error = (() => {
      try {
        checkSnapshotTag(tag, { action: "create", name: "vm" });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DenError);
    expect((error as DenError).code).toBe("USAGE");
    expect((error as DenError).message).toBe(message);
    expect((error as DenError).hint).toBeDefined();
  });
});

describe("snapshotTags()", () => {
  const qemuImgTable = [
    "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT",
    "1         t1                    0 B 2026-01-01 10:00:00 00:00:00.000          0",
    "2         before-upgrade        0 B 2026-01-01 10:00:01 00:00:00.000          0",
    "",
  ].join("\n");
  const hmpTable = [
    "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT",
    "--        live              1.2 MiB 2026-01-01 10:00:00 00:00:03.123          ",
    "",
  ].join("\n");
  test.each([
    { name: "reads the tags of qemu-img's table", table: qemuImgTable, want: ["t1", "before-upgrade"] },
    { name: "reads the tags of HMP's table, whose ID column is --", table: hmpTable, want: ["live"] },
    { name: "reads nothing from an empty list", table: "", want: [] },
    { name: "skips blank lines", table: `\n${qemuImgTable}\n\n`, want: ["t1", "before-upgrade"] },
  ])("snapshotTags() $name", ({ table, want }) => {
    expect(snapshotTags(table)).toEqual([...want]);
  });

  test("snapshotTags() refuses a table whose header it does not know", () => {
    expect(() => snapshotTags("Snapshot list:\nID TAG\n")).toThrow('Cannot read the snapshot list: unknown header "Snapshot list:"');
  });
});

describe("checkTagAgainst()", () => {
  test.each([
    { action: "create" as const, tags: [], tag: "a", error: undefined },
    { action: "create" as const, tags: ["a"], tag: "a", error: 'Cannot create a snapshot of instance "vm": it already has a snapshot "a"' },
    { action: "apply" as const, tags: ["a"], tag: "a", error: undefined },
    { action: "apply" as const, tags: ["a", "b"], tag: "c", error: 'Cannot apply a snapshot to instance "vm": it has no snapshot "c"' },
    { action: "delete" as const, tags: [], tag: "c", error: 'Cannot delete a snapshot of instance "vm": it has no snapshot "c"' },
  ])("checkTagAgainst() with $action of $tag among $tags", ({ action, tags, tag, error }) => {
    const run = () => checkTagAgainst(tags, "vm", { action, tag });
    if (error === undefined) expect(run).not.toThrow();
    else expect(run).toThrow(error);
  });
});

describe("den snapshot of a stopped instance", () => {
  test("den snapshot create, list, apply and delete work on the disk with qemu-img", async () => {
    const denHome = await makeDenHome();
    const dir = await makeInstance(denHome, "vm");
    await qemuImg(["create", "-f", "qcow2", join(dir, "disk"), "16M"]);
    for (const tag of ["first", "second"]) {
      const run = await runDen(["snapshot", "create", "vm", "--tag", tag], { denHome });
      expect(run.stderr).toContain(`Created snapshot "${tag}" of instance "vm"`);
      expect(run.exitCode).toBe(0);
    }
    const table = await runDen(["snapshot", "list", "vm"], { denHome });
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+TAG\s+VM SIZE\s+DATE\s+VM CLOCK\s+ICOUNT$/);
    expect((await runDen(["snapshot", "ls", "vm", "--quiet"], { denHome })).stdout).toBe("first\nsecond\n");
    const applied = await runDen(["snapshot", "load", "vm", "--tag", "first"], { denHome });
    expect(applied.exitCode).toBe(0);
    expect(applied.stderr).toContain('Applied snapshot "first" to instance "vm"');
    expect((await runDen(["snapshot", "del", "vm", "--tag", "second"], { denHome })).exitCode).toBe(0);
    expect(await qemuImg(["snapshot", "-l", join(dir, "disk")])).not.toContain("second");
    expect((await runDen(["snapshot", "list", "vm", "-q"], { denHome })).stdout).toBe("first\n");
  });

  test.each([
    { args: ["snapshot", "create", "vm"], message: 'error: Cannot create a snapshot of instance "vm": --tag is missing' },
    { args: ["snapshot", "apply", "vm", "--tag", "7"], message: 'error: Cannot apply a snapshot to instance "vm": invalid tag "7"' },
    { args: ["snapshot", "delete", "nope", "--tag", "t"], message: 'error: Cannot delete a snapshot of instance "nope": it does not exist' },
    { args: ["snapshot", "list", "../x"], message: 'error: Invalid instance name "../x"' },
  ])("den $args fails with a usage error", async ({ args, message }) => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm");
    const run = await runDen(args, { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("hint: ");
  });

  test("den snapshot names the vmType of a driver without snapshots", async () => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm", "vmType: vz\nimages:\n- location: /nonexistent/den-test.img\n");
    const run = await runDen(["snapshot", "list", "vm"], { denHome });
    expect(run.exitCode).toBe(1);
    // On Linux the vz driver is not available at all, which den says before anything about snapshots.
    expect(run.stderr).toMatch(/error: Cannot (list the snapshots of instance "vm": vmType "vz" has no snapshots|run vmType "vz")/);
  });
});

// QEMU without a guest OS sits in its firmware; savevm, loadvm, delvm and info snapshots all work on it, so the whole
// running path (den → ha.sock → snapshot handlers → the QEMU driver → QMP) is exercised without booting anything.
describe("den snapshot of a running instance", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test("den snapshot create, list, apply and delete go through the host agent to QEMU's monitor", async () => {
    const denHome = await makeDenHome();
    const dir = await makeInstance(denHome, "vm");
    await qemuImg(["create", "-f", "qcow2", join(dir, "disk"), "16M"]);
    const qemu = Bun.spawn(
      [
        "qemu-system-x86_64",
        ...["-machine", "q35,accel=tcg", "-display", "none", "-nodefaults", "-m", "128"],
        ...["-drive", `file=${join(dir, "disk")},if=virtio,format=qcow2`],
        ...["-qmp", `unix:${join(dir, "qmp.sock")},server,nowait`, "-pidfile", join(dir, "qemu.pid")],
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    cleanups.push(async () => {
      qemu.kill("SIGKILL");
      await qemu.exited;
    });
    for (const deadline = Date.now() + 20_000; !(existsSync(join(dir, "qmp.sock")) && existsSync(join(dir, "qemu.pid"))); await Bun.sleep(50)) {
      if (Date.now() > deadline || qemu.exitCode !== null) throw new Error(`QEMU did not start: ${await new Response(qemu.stderr).text()}`);
    }
    const hostAgent = ownerProcess(dir, "ha.pid");
    cleanups.push(() => hostAgent.kill());
    await writePid(dir, "ha.pid", hostAgent.pid);
    const config = await loadInstanceConfig(denHome, "vm");
    const driver = createQemuDriver({ instanceName: "vm", instanceDir: dir, denHome, config, sshLocalPort: 0, env: process.env, logger: createMemoryLogger() });
    const server = await startApiServer(join(dir, "ha.sock"), {
      info: () => ({ sshLocalPort: 60022, status: "Running", degraded: false, errors: [], services: {} }),
      pause: async () => {},
      resume: async () => {},
      stop: () => {},
      snapshots: snapshotHandlers(() => driver),
    });
    cleanups.push(() => server.close());

    const created = await runDen(["snapshot", "create", "vm", "--tag", "live"], { denHome, killAfterMs: 60_000 });
    expect(created.stderr).toContain('Created snapshot "live" of instance "vm"');
    expect(created.exitCode).toBe(0);
    const table = await runDen(["snapshot", "list", "vm"], { denHome });
    expect(table.stdout).toMatch(/^ID\s+TAG\s+VM SIZE\s+DATE\s+VM CLOCK\s+ICOUNT\n--\s+live\s+/);
    expect((await runDen(["snapshot", "list", "vm", "--quiet"], { denHome })).stdout).toBe("live\n");
    const duplicate = await runDen(["snapshot", "create", "vm", "--tag", "live"], { denHome });
    expect(duplicate.stderr).toContain('error: Cannot create a snapshot of instance "vm": it already has a snapshot "live"');
    const applied = await runDen(["snapshot", "apply", "vm", "--tag", "live"], { denHome, killAfterMs: 60_000 });
    expect(applied.stderr).toContain('Applied snapshot "live" to instance "vm"');
    expect(applied.exitCode).toBe(0);
    expect((await runDen(["snapshot", "delete", "vm", "--tag", "live"], { denHome })).exitCode).toBe(0);
    expect((await runDen(["snapshot", "list", "vm", "-q"], { denHome })).stdout).toBe("");
    // QEMU still runs the VM after all of it.
    expect(qemu.exitCode).toBeNull();
  }, 120_000);
});

async function qemuImg(args: string[]): Promise<string> {
  const child = Bun.spawn(["qemu-img", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`qemu-img ${args.join(" ")}: ${stderr}`);
  return stdout;
}
