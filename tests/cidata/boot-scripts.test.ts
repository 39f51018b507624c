import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { bootScriptEntries } from "../../cidata/boot-scripts.ts";

const BOOT_DIR = join(import.meta.dir, "../../cidata/boot");

/** Every *.sh under cidata/boot/, as its ISO path (boot/boot.sh is the ISO's top-level boot.sh). */
function scriptsOnDisk(): string[] {
  return readdirSync(BOOT_DIR, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".sh"))
    .map((path) => (path === "boot.sh" ? "boot.sh" : `boot/${relative(".", path)}`))
    .sort();
}

function diskPath(isoPath: string): string {
  return isoPath === "boot.sh" ? join(BOOT_DIR, "boot.sh") : join(BOOT_DIR, isoPath.slice("boot/".length));
}

const entries = bootScriptEntries();

describe("bootScriptEntries()", () => {
  test("bootScriptEntries() lists every script under cidata/boot exactly once", () => {
    expect(entries.map((entry) => entry.path).sort()).toEqual(scriptsOnDisk());
  });

  test("bootScriptEntries() puts boot scripts in name order, as boot.sh runs them", () => {
    const paths = entries.map((entry) => entry.path).filter((path) => path !== "boot.sh");
    expect(paths).toEqual([...paths].sort());
  });

  test.each(entries.map((entry) => ({ path: entry.path, entry })))("bootScriptEntries() embeds $path byte for byte, mode 0755", ({ path, entry }) => {
    const disk = readFileSync(diskPath(path));
    const source = entry.source();
    expect(entry.kind).toBe("file");
    expect(entry.mode).toBe(0o755);
    expect(entry.size).toBe(disk.byteLength);
    expect(source instanceof Uint8Array ? Buffer.from(source).equals(disk) : false).toBe(true);
  });
});

describe("boot scripts", () => {
  test.each(scriptsOnDisk())("shellcheck -s bash finds nothing in %s", (path) => {
    if (!Bun.which("shellcheck")) throw new Error("shellcheck is missing: run scripts/setup.sh (apt-get install -y shellcheck)");
    const child = Bun.spawnSync(["shellcheck", "-s", "bash", "--format=gcc", diskPath(path)]);
    expect(child.stdout.toString() + child.stderr.toString()).toBe("");
    expect(child.exitCode).toBe(0);
  });

  test.each(scriptsOnDisk())("%s is a bash script that stops on errors", (path) => {
    const text = readFileSync(diskPath(path), "utf8");
    expect(text).toStartWith("#!/bin/bash\n");
    expect(text).toContain("\nset -eu\n");
    // Values from den.env are data: nothing in the boot scripts may evaluate text.
    expect(text).not.toMatch(/\beval\b/);
  });
});
