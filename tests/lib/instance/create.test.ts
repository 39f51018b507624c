import { describe, expect, test } from "bun:test";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { createInstance } from "../../../lib/instance/create.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const accept = async () => {};

describe("createInstance()", () => {
  test("writes den.yaml and lima-version into a 0700 folder", async () => {
    const home = await makeTempDir("den-create-");
    const { dir } = await createInstance("vm1", { denHome: home, yamlText: "cpus: 2\n", check: accept });
    expect(dir).toBe(join(home, "vm1"));
    expect(await readFile(join(dir, "den.yaml"), "utf8")).toBe("cpus: 2\n");
    expect((await readFile(join(dir, "lima-version"), "utf8")).trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  test("refuses an existing instance and leaves it alone", async () => {
    const home = await makeTempDir("den-create-");
    await mkdir(join(home, "vm1"));
    const error = await createInstance("vm1", { denHome: home, yamlText: "x: 1\n", check: accept }).catch((e) => e);
    expect(error).toBeInstanceOf(DenError);
    expect(error.code).toBe("INSTANCE_EXISTS");
    expect(await readdir(join(home, "vm1"))).toEqual([]);
  });

  test("writes nothing when the check fails", async () => {
    const home = await makeTempDir("den-create-");
    const check = async () => {
      throw new DenError("CONFIG_INVALID", "bad");
    };
    await expect(createInstance("vm1", { denHome: home, yamlText: "x: 1\n", check })).rejects.toThrow("bad");
    expect(await readdir(home)).toEqual([]);
  });

  test("one of two racing creates wins and no staging folder is left", async () => {
    const home = await makeTempDir("den-create-");
    const results = await Promise.allSettled([
      createInstance("vm1", { denHome: home, yamlText: "a: 1\n", check: accept }),
      createInstance("vm1", { denHome: home, yamlText: "b: 1\n", check: accept }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await readdir(home)).toEqual(["vm1"]);
  });
});
