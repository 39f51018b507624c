import { describe, expect, test } from "bun:test";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkInstanceName, existingInstanceDir, instanceDirOf, isInstanceName, validateInstanceName } from "../../../lib/store/instance-name.ts";
import { caughtDenError, rejectedDenError } from "../../support/caught-den-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

describe("checkInstanceName()", () => {
  test.each([{ name: "default" }, { name: "ubuntu-24.04" }, { name: "my_vm" }, { name: "A1" }, { name: "x".repeat(76) }])("accepts $name", ({ name }) => {
    expect(() => checkInstanceName(name)).not.toThrow();
    expect(isInstanceName(name)).toBe(true);
  });

  test.each([
    { name: "", message: 'Invalid instance name "": must not be empty' },
    { name: ".", message: 'Invalid instance name ".": names the folder itself, not an instance' },
    { name: "..", message: 'Invalid instance name "..": names the folder itself, not an instance' },
    { name: "../../victim", message: 'Invalid instance name "../../victim": must not contain "/" or "\\"' },
    { name: "/abs", message: 'Invalid instance name "/abs": must not contain "/" or "\\"' },
    { name: "a\\b", message: 'Invalid instance name "a\\\\b": must not contain "/" or "\\"' },
    { name: "_config", message: "Invalid instance name \"_config\": names starting with \"_\" or \".\" are den's own folders" },
    { name: ".hidden", message: "Invalid instance name \".hidden\": names starting with \"_\" or \".\" are den's own folders" },
    { name: "a\0b", message: 'Invalid instance name "a\\0b": use letters and digits, separated by single ".", "_" or "-"' },
    { name: "a b", message: 'Invalid instance name "a b": use letters and digits, separated by single ".", "_" or "-"' },
    { name: "a..b", message: 'Invalid instance name "a..b": use letters and digits, separated by single ".", "_" or "-"' },
    { name: "\u001b[31mred", message: 'Invalid instance name "\\u{1b}[31mred": use letters and digits, separated by single ".", "_" or "-"' },
    { name: "x".repeat(77), message: `Invalid instance name "${"x".repeat(40)}…": longer than 76 characters` },
  ].map((row) => ({ ...row, label: JSON.stringify(row.name) })))("refuses $label with a short, escaped excerpt", ({ name, message }) => {
    const error = caughtDenError(() => checkInstanceName(name));
    expect(error.code).toBe("INSTANCE_NAME_INVALID");
    expect(error.message).toBe(message);
    expect(error.hint).toBeString();
    expect(isInstanceName(name)).toBe(false);
  });
});

describe("validateInstanceName()", () => {
  test.each([
    { name: "dev.yaml", message: 'must not end with ".yaml" or ".yml"' },
    { name: "x".repeat(70), message: "the socket path" },
    { name: "_config", message: "den's own folders" },
  ])("refuses $name for a new instance", ({ name, message }) => {
    const error = caughtDenError(() => validateInstanceName(name, { denHome: "/home/alice/.den", platform: "linux" }));
    expect(error.code).toBe("INSTANCE_NAME_INVALID");
    expect(error.message).toContain(message);
  });
});

describe("instanceDirOf()", () => {
  test("joins a valid name to DEN_HOME", () => {
    expect(instanceDirOf("/home/alice/.den/", "dev")).toBe("/home/alice/.den/dev");
  });
  test.each([{ name: "../x" }, { name: "" }, { name: "." }, { name: "_disks" }])("refuses $name before joining", ({ name }) => {
    expect(caughtDenError(() => instanceDirOf("/home/alice/.den", name)).code).toBe("INSTANCE_NAME_INVALID");
  });
});

describe("existingInstanceDir()", () => {
  test("returns the folder of an existing instance", async () => {
    const home = await makeTempDir("den-name-");
    await mkdir(join(home, "vm"));
    expect(await existingInstanceDir(home, "vm")).toBe(join(home, "vm"));
  });

  test.each([
    { name: "a missing folder", setup: async () => {}, message: 'Cannot delete instance "vm": it does not exist' },
    { name: "a file", setup: (home: string) => writeFile(join(home, "vm"), ""), message: '" is not a folder' },
    {
      name: "a symbolic link to a folder outside DEN_HOME",
      setup: async (home: string) => {
        await mkdir(join(home, "_outside"));
        await symlink(join(home, "_outside"), join(home, "vm"));
      },
      message: '" is a symbolic link, not an instance folder',
    },
  ])("refuses $name", async ({ setup, message }) => {
    const home = await makeTempDir("den-name-");
    await setup(home);
    const error = await rejectedDenError(existingInstanceDir(home, "vm", { action: "delete" }));
    expect(error.code).toBe("INSTANCE_NOT_FOUND");
    expect(error.message).toContain(message);
    expect(error.message).toStartWith('Cannot delete instance "vm": ');
  });
});
