import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { fillDefaults } from "../../../lib/config/defaults.ts";
import { DenYamlSchema, FilledDenYamlSchema } from "../../../lib/config/schema.ts";
import { linuxHost } from "../../fixtures/host-info.ts";

const fixture = readFileSync(join(import.meta.dir, "../../fixtures/config/every-key.yaml"), "utf8");

describe("DenYamlSchema", () => {
  test("DenYamlSchema accepts a file that uses every key of Lima's lima.yaml", () => {
    const result = DenYamlSchema.safeParse(parse(fixture));
    expect(result.error?.issues).toBeUndefined();
    expect(result.data?.env).toEqual({ FOO: "bar", COUNT: "3", ENABLED: "true" });
    expect(result.data?.provision?.[4]?.permissions).toBe("644");
  });

  test("DenYamlSchema accepts an empty configuration", () => {
    expect(DenYamlSchema.parse({})).toEqual({});
  });

  test.each(Object.keys(DenYamlSchema.shape).map((key) => ({ key })))("DenYamlSchema accepts null for $key", ({ key }) => {
    expect(DenYamlSchema.safeParse({ [key]: null }).success).toBe(true);
  });

  test.each([
    { name: "base as one string", value: { base: "template:default" } },
    { name: "base as a locator object", value: { base: { url: "https://x/y.yaml", digest: "sha256:abc" } } },
    { name: "base as a mixed list", value: { base: ["template:a", { url: "b.yaml" }] } },
    { name: "a provision file as a string", value: { provision: [{ file: "a.sh" }] } },
    { name: "a disk as a name", value: { additionalDisks: ["data"] } },
    { name: "memory as a number of bytes", value: { memory: 4294967296 } },
    { name: "an IPv6 guestIP", value: { portForwards: [{ guestIP: "::1" }] } },
    { name: "mountType default", value: { mountType: "default" } },
    { name: "an empty env value", value: { env: { EMPTY: null } } },
  ])("DenYamlSchema accepts $name", ({ value }) => {
    expect(DenYamlSchema.safeParse(value).success).toBe(true);
  });

  test.each([
    { name: "an unknown top-level key", value: { mountTyp: "9p" }, path: [] },
    { name: "an unknown key in a mount", value: { mounts: [{ location: "/x", writeable: true }] }, path: ["mounts", 0] },
    { name: "an unknown key in ssh", value: { ssh: { port: 22 } }, path: ["ssh"] },
    { name: "an unknown key in vmOpts.vz", value: { vmOpts: { vz: { rosseta: {} } } }, path: ["vmOpts", "vz"] },
    { name: "an unknown key in a port forward", value: { portForwards: [{ guestport: 80 }] }, path: ["portForwards", 0] },
    { name: "an unknown key in a locator", value: { base: { url: "x", sha: "y" } }, path: ["base"] },
  ])("DenYamlSchema reports $name", ({ value, path }) => {
    const result = DenYamlSchema.safeParse(value);
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((item) => item.code === "unrecognized_keys" || item.code === "invalid_union");
    expect(issue?.path).toEqual([...path]);
  });

  test.each([
    { name: "a string for cpus", value: { cpus: "4" } },
    { name: "a fractional cpus", value: { cpus: 1.5 } },
    { name: "an unknown provision mode", value: { provision: [{ mode: "root" }] } },
    { name: "an unknown proto", value: { portForwards: [{ proto: "sctp" }] } },
    { name: "a one-element port range", value: { portForwards: [{ guestPortRange: [80] }] } },
    { name: "a port above 65535", value: { portForwards: [{ guestPort: 70000 }] } },
    { name: "an invalid IP", value: { dns: ["1.1.1"] } },
    { name: "a mount without location", value: { mounts: [{ writable: true }] } },
    { name: "an image without location", value: { images: [{ arch: "x86_64" }] } },
    { name: "a yes/no boolean", value: { plain: "yes" } },
  ])("DenYamlSchema rejects $name", ({ value }) => {
    expect(DenYamlSchema.safeParse(value).success).toBe(false);
  });
});

describe("FilledDenYamlSchema", () => {
  const ctx = { host: linuxHost, instanceName: "dev", instanceDir: "/home/alice/.den/dev", denHome: "/home/alice/.den" };

  test("FilledDenYamlSchema accepts what fillDefaults() returns for the every-key file", () => {
    const filled = fillDefaults(DenYamlSchema.parse(parse(fixture)), ctx);
    const result = FilledDenYamlSchema.safeParse(filled);
    expect(result.error?.issues).toBeUndefined();
  });

  test("FilledDenYamlSchema accepts what fillDefaults() returns for an empty file", () => {
    expect(FilledDenYamlSchema.safeParse(fillDefaults({}, ctx)).success).toBe(true);
  });

  test("FilledDenYamlSchema requires the fields the defaults always set", () => {
    const result = FilledDenYamlSchema.safeParse({});
    const missing = new Set(result.error?.issues.map((issue) => issue.path.join(".")));
    for (const key of ["vmType", "os", "arch", "cpus", "memory", "disk", "user", "ssh", "mounts", "portForwards", "timezone"]) {
      expect(missing.has(key)).toBe(true);
    }
  });
});
