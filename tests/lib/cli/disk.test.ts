// `den disk …` run as a user would (runDen), on a temporary DEN_HOME with the real qemu-img.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { diskFormat, diskSize } from "../../../lib/cli/disk.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

describe("disk flags", () => {
  test.each([
    { text: "10GiB", want: 10 * 2 ** 30 },
    { text: "512M", want: 512 * 2 ** 20 },
    { text: "1073741824", want: 2 ** 30 },
  ])("diskSize() reads $text with den's size parser", ({ text, want }) => {
    expect(diskSize(text)).toBe(want);
  });

  test("diskSize() turns a bad size into a usage error naming --size", () => {
    const error = caughtDenError(() => diskSize("4XB"));
    expect(error.code).toBe("USAGE");
    expect(error.message).toBe('Cannot parse size "4XB": unknown unit (--size)');
  });

  test.each([{ text: "qcow2" }, { text: "raw" }])("diskFormat() accepts $text", ({ text }) => {
    expect(diskFormat(text)).toBe(text as never);
  });

  test.each([{ text: "vmdk" }, { text: "QCOW2" }, { text: "" }])("diskFormat() refuses \"$text\" as Lima does", ({ text }) => {
    const error = caughtDenError(() => diskFormat(text));
    expect(error.message).toBe(`Cannot create a disk of format "${text}": not supported`);
    expect(error.hint).toBe('use "qcow2" or "raw"');
  });
});

describe("den disk", () => {
  test("den disk create, ls, ls --json, resize, delete work end to end", async () => {
    const denHome = await makeDenHome();
    expect(await runDen(["disk", "create", "data", "--size", "1GiB"], { denHome })).toMatchObject({ exitCode: 0, stderr: 'info: Creating qcow2 disk "data" with size 1GiB\n' });
    expect((await runDen(["disk", "create", "scratch", "--size", "64MiB", "--format", "raw"], { denHome })).exitCode).toBe(0);
    const dir = join(denHome, "_disks");
    const table = await runDen(["disk", "ls"], { denHome });
    const pad = " ".repeat(join(dir, "scratch").length - join(dir, "data").length);
    expect(table.stdout).toBe(
      `NAME       SIZE     FORMAT    DIR${" ".repeat(join(dir, "scratch").length + 1)}IN-USE-BY\n` +
        `data       1GiB     qcow2     ${join(dir, "data")}${pad}    \n` +
        `scratch    64MiB    raw       ${join(dir, "scratch")}    \n`,
    );
    const json = await runDen(["disk", "list", "--json", "scratch"], { denHome });
    expect(JSON.parse(json.stdout)).toEqual({ name: "scratch", size: 64 * 2 ** 20, format: "raw", dir: join(dir, "scratch"), instance: "", instanceDir: "", mountPoint: "/mnt/lima-scratch" });
    expect((await runDen(["disk", "resize", "data", "--size", "2GiB"], { denHome })).exitCode).toBe(0);
    expect(JSON.parse((await runDen(["disk", "ls", "--json", "data"], { denHome })).stdout).size).toBe(2 * 2 ** 30);
    const deleted = await runDen(["disk", "rm", "data", "scratch"], { denHome });
    expect(deleted.exitCode).toBe(0);
    expect(existsSync(join(dir, "data"))).toBe(false);
  });

  test("den disk delete refuses a disk in use without --force, and deletes it with --force", async () => {
    const denHome = await makeDenHome();
    expect((await runDen(["disk", "create", "data", "--size", "1M"], { denHome })).exitCode).toBe(0);
    mkdirSync(join(denHome, "dev"));
    symlinkSync(join(denHome, "dev"), join(denHome, "_disks/data/in_use_by"));
    const refused = await runDen(["disk", "delete", "data"], { denHome });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(`error: Cannot delete disk "data": it is in use by instance "dev" (${join(denHome, "dev")})`);
    expect((await runDen(["disk", "remove", "--force", "data"], { denHome })).exitCode).toBe(0);
    expect(existsSync(join(denHome, "_disks/data"))).toBe(false);
  });

  test("den disk unlock frees a disk whose instance is stopped", async () => {
    const denHome = await makeDenHome();
    expect((await runDen(["disk", "create", "data", "--size", "1M"], { denHome })).exitCode).toBe(0);
    await makeInstance(denHome, "dev", "images:\n- location: https://example.org/a.img\n  arch: x86_64\nadditionalDisks: [data]\n");
    symlinkSync(join(denHome, "dev"), join(denHome, "_disks/data/in_use_by"));
    const run = await runDen(["disk", "unlock", "data"], { denHome });
    expect(run).toMatchObject({ exitCode: 0, stderr: `info: Unlocked disk "data" (${join(denHome, "_disks/data")})\n` });
  });

  test("den disk import copies an image into a disk", async () => {
    const denHome = await makeDenHome();
    const image = join(denHome, "image.qcow2");
    Bun.spawnSync(["qemu-img", "create", "-f", "qcow2", image, "3M"]);
    const run = await runDen(["disk", "import", "copy", "image.qcow2"], { denHome });
    expect(run).toMatchObject({ exitCode: 0, stderr: 'info: Imported qcow2 disk "copy" with size 3MiB\n' });
  });

  test.each([
    { name: "a missing --size", args: ["disk", "create", "data"], want: "required option '--size <size>' not specified" },
    { name: "an unknown format", args: ["disk", "create", "data", "--size", "1G", "--format", "vmdk"], want: 'Cannot create a disk of format "vmdk": not supported' },
    { name: "a bad size", args: ["disk", "resize", "data", "--size", "big"], want: 'Cannot parse size "big": not a number (--size)' },
    { name: "a bad name", args: ["disk", "create", "../x", "--size", "1G"], want: 'Invalid disk name "../x": must not contain "/" or "\\"' },
  ])("den disk refuses $name", async ({ args, want }) => {
    const run = await runDen(args, { denHome: await makeDenHome() });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain(want);
  });
});
