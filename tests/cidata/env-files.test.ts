import { describe, expect, test } from "bun:test";
import type { DenYaml } from "../../lib/config/schema.ts";
import { denEnv, EtcEnvironmentEnd, EtcEnvironmentStart, etcEnvironment, paramEnv, paramLines } from "../../cidata/env-files.ts";
import { ConfigError, DenError } from "../../lib/errors.ts";
import { caughtError } from "../support/caught-den-error.ts";
import { argsFor, HostileValues, ShellOwnVariables, SingleLineValues, sourceShellFile } from "./seed-fixture.ts";

const Shells = ["sh", "bash"];

/** The variables the file defined: everything the shell exported except what the shell sets itself. */
function defined(env: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...env].filter(([key]) => !ShellOwnVariables.has(key)));
}

describe("denEnv()", () => {
  test("denEnv() writes the contract's keys in order", () => {
    const args = argsFor({
      mounts: [{ location: "~" }, { location: "/srv/data", mountPoint: "/mnt/data", writable: true }],
      provision: [{ mode: "data", path: "/etc/a", content: "x" }, { mode: "yq", path: "/etc/b.json", expression: ".a = 1" }],
    });
    const keys = denEnv(args)
      .trimEnd()
      .split("\n")
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(keys).toEqual(
      [
        "NAME",
        "HOSTNAME",
        "IID",
        "USER",
        "UID",
        "COMMENT",
        "HOME",
        "SHELL",
        "PASSWORDLESS_SUDO",
        "HOSTHOME_MOUNTPOINT",
        "MOUNTTYPE",
        "MOUNTS",
        "MOUNTS_0_MOUNTPOINT",
        "MOUNTS_0_TYPE",
        "MOUNTS_0_WRITABLE",
        "MOUNTS_1_MOUNTPOINT",
        "MOUNTS_1_TYPE",
        "MOUNTS_1_WRITABLE",
        "PLAIN",
        "TIMEZONE",
        "UPGRADE_PACKAGES",
        "BOOT_BESIDE_INIT",
        "CONTAINERD_SYSTEM",
        "CONTAINERD_USER",
        "CONTAINERD_ARCHIVE",
        "CONTAINERD_ARCHIVE_SHA256",
        "GUEST_INSTALL_PREFIX",
        "SKIP_DEFAULT_DEPENDENCY_RESOLUTION",
        "VMTYPE",
        "ROSETTA_ENABLED",
        "ROSETTA_BINFMT",
        "VIRTIO_PORT",
        "SLIRP_GATEWAY",
        "SLIRP_DNS",
        "SLIRP_IP_ADDRESS",
        "DEBUG",
        "DATAFILE_00000000_PATH",
        "DATAFILE_00000000_OWNER",
        "DATAFILE_00000000_PERMISSIONS",
        "DATAFILE_00000000_OVERWRITE",
        "YQ_PROVISION_00000001_PATH",
        "YQ_PROVISION_00000001_OWNER",
        "YQ_PROVISION_00000001_PERMISSIONS",
        "YQ_PROVISION_00000001_FORMAT",
      ].map((key) => `DEN_CIDATA_${key}`),
    );
  });

  test.each(Shells)("denEnv() sourced by %s gives the expected values", async (shell) => {
    const args = argsFor({ mounts: [{ location: "~" }, { location: "/srv/data", mountPoint: "/mnt/data", writable: true }], upgradePackages: true }, { debug: true });
    const env = defined((await sourceShellFile(shell, denEnv(args))).env);
    expect(env).toMatchObject({
      DEN_CIDATA_NAME: "dev",
      DEN_CIDATA_HOSTNAME: "den-dev",
      DEN_CIDATA_IID: "iid-1700000000",
      DEN_CIDATA_USER: "alice",
      DEN_CIDATA_UID: "1000",
      DEN_CIDATA_COMMENT: "Alice Liddell",
      DEN_CIDATA_HOME: "/home/alice.guest",
      DEN_CIDATA_SHELL: "/bin/bash",
      DEN_CIDATA_PASSWORDLESS_SUDO: "1",
      DEN_CIDATA_HOSTHOME_MOUNTPOINT: "/home/alice",
      DEN_CIDATA_MOUNTTYPE: "9p",
      DEN_CIDATA_MOUNTS: "2",
      DEN_CIDATA_MOUNTS_0_WRITABLE: "",
      DEN_CIDATA_MOUNTS_1_MOUNTPOINT: "/mnt/data",
      DEN_CIDATA_MOUNTS_1_TYPE: "9p",
      DEN_CIDATA_MOUNTS_1_WRITABLE: "1",
      DEN_CIDATA_PLAIN: "",
      DEN_CIDATA_TIMEZONE: "Europe/Berlin",
      DEN_CIDATA_UPGRADE_PACKAGES: "1",
      DEN_CIDATA_CONTAINERD_USER: "1",
      DEN_CIDATA_VMTYPE: "qemu",
      DEN_CIDATA_VIRTIO_PORT: "io.den.agent.0",
      DEN_CIDATA_SLIRP_GATEWAY: "10.0.2.2",
      DEN_CIDATA_SLIRP_DNS: "10.0.2.3",
      DEN_CIDATA_SLIRP_IP_ADDRESS: "10.0.2.15",
      DEN_CIDATA_DEBUG: "1",
    });
  });

  // Each hostile value in every free-text field at once; the shell must define exactly these variables, unchanged.
  const fieldCases = Shells.flatMap((shell) => HostileValues.map(({ label, value }) => ({ shell, label, value })));
  test.each(fieldCases)("denEnv() sourced by $shell keeps user, mount and data fields with $label exact", async ({ shell, value }) => {
    const raw: DenYaml = {
      user: { name: value, comment: value, home: `/home/${value}`, shell: value },
      mounts: [{ location: "/srv/x", mountPoint: `/mnt/${value}` }],
      provision: [{ mode: "data", path: `/etc/${value}`, owner: value, permissions: "600", content: value }],
    };
    const args = argsFor(raw);
    const sourced = await sourceShellFile(shell, denEnv(args));
    expect(sourced.strayFiles).toEqual([]);
    const env = defined(sourced.env);
    const expected = Object.fromEntries(
      denEnv(argsFor({ ...raw, user: { name: "u", comment: "c", home: "/h", shell: "s" }, mounts: [{ location: "/srv/x", mountPoint: "/m" }], provision: [{ mode: "data", path: "/p", owner: "o", permissions: "600" }] }))
        .trimEnd()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), ""]),
    );
    expect(Object.keys(env).sort()).toEqual(Object.keys(expected).sort());
    expect(env.DEN_CIDATA_USER).toBe(value);
    expect(env.DEN_CIDATA_COMMENT).toBe(value);
    expect(env.DEN_CIDATA_HOME).toBe(`/home/${value}`);
    expect(env.DEN_CIDATA_SHELL).toBe(value);
    expect(env.DEN_CIDATA_MOUNTS_0_MOUNTPOINT).toBe(`/mnt/${value}`);
    expect(env.DEN_CIDATA_DATAFILE_00000000_PATH).toBe(`/etc/${value}`);
    expect(env.DEN_CIDATA_DATAFILE_00000000_OWNER).toBe(value);
  });

  test("denEnv() refuses a value with NUL", () => {
    expect(() => denEnv(argsFor({ user: { comment: "a\0b" } }))).toThrow("Cannot write DEN_CIDATA_COMMENT to den.env: the value contains a NUL character");
  });
});

describe("paramEnv()", () => {
  const cases = Shells.flatMap((shell) => HostileValues.map(({ label, value }) => ({ shell, label, value })));
  test.each(cases)("paramEnv() sourced by $shell keeps a value with $label exact", async ({ shell, value }) => {
    const sourced = await sourceShellFile(shell, paramEnv({ VALUE: value, OTHER: "x" }));
    expect(sourced.strayFiles).toEqual([]);
    expect(defined(sourced.env)).toEqual({ PARAM_VALUE: value, PARAM_OTHER: "x" });
  });

  test("paramEnv() writes sorted PARAM_ lines", () => {
    expect(paramEnv({ B: "two words", A: "1", _c: "" })).toBe("PARAM_A=1\nPARAM_B='two words'\nPARAM__c=''\n");
  });

  test("paramEnv() is empty without params", () => {
    expect(paramEnv({})).toBe("");
  });

  test.each([
    { key: "1A", why: "a leading digit" },
    { key: "A-B", why: "a dash" },
    { key: "A B", why: "a space" },
    { key: "A;touch x", why: "a command" },
    { key: "", why: "nothing" },
    { key: "Ä", why: "a non-ASCII letter" },
  ])("paramLines() refuses a key with $why", ({ key }) => {
    const error = caughtError(() => paramLines({ [key]: "v" }), ConfigError);
    expect(error.issues[0]?.path).toEqual(["param", key]);
    expect(error.message).toContain(`Invalid param name "${key}"`);
  });

  test("paramLines() refuses a value with NUL", () => {
    expect(() => paramLines({ A: "a\0b" })).toThrow("param.A: Value contains a NUL character");
  });

  test("paramLines() reports every bad key at once", () => {
    expect(() => paramLines({ "a-b": "", "c d": "" })).toThrow(/param\.a-b.*\n.*param\.c d/);
  });
});

describe("etcEnvironment()", () => {
  function readBlock(text: string): Record<string, string> {
    const lines = text.split("\n");
    expect(lines[0]).toBe(EtcEnvironmentStart);
    expect(lines.at(-2)).toBe(EtcEnvironmentEnd);
    expect(lines.at(-1)).toBe("");
    return Object.fromEntries(lines.slice(1, -2).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
  }

  test("etcEnvironment() wraps sorted KEY=VALUE lines in the DEN markers", () => {
    expect(etcEnvironment({ B: "2", A: "1" })).toBe("#DEN-START\nA=1\nB=2\n#DEN-END\n");
  });

  test("etcEnvironment() writes only the markers for an empty env", () => {
    expect(etcEnvironment({})).toBe("#DEN-START\n#DEN-END\n");
  });

  test.each(SingleLineValues)("etcEnvironment() keeps a one-line value with $label as one exact line", ({ value }) => {
    expect(readBlock(etcEnvironment({ VALUE: value, Z: "z" }))).toEqual({ VALUE: value, Z: "z" });
  });

  test.each(HostileValues.filter(({ value }) => /[\n\r]/.test(value)))("etcEnvironment() refuses a value with $label naming env.KEY", ({ value }) => {
    const error = caughtError(() => etcEnvironment({ MY_VAR: value }), ConfigError);
    expect(error.message).toBe("env.MY_VAR: Value contains a line break, which /etc/environment cannot hold");
    expect(error.hint).toContain("mode: data");
  });

  test.each([
    { key: "1A", message: 'env.1A: Invalid environment variable name "1A"' },
    { key: "A=B", message: 'env.A=B: Invalid environment variable name "A=B"' },
    { key: "A\nB", message: 'env.A\\nB: Invalid environment variable name "A\\nB"' },
  ].map((row) => ({ ...row, shown: JSON.stringify(row.key) })))("etcEnvironment() refuses the key $shown", ({ key, message }) => {
    expect(() => etcEnvironment({ [key]: "v" })).toThrow(message);
  });

  test("etcEnvironment() refuses a value with NUL", () => {
    expect(() => etcEnvironment({ A: "a\0b" })).toThrow("env.A: Value contains a NUL character");
  });

  test("etcEnvironment() of the seed args carries env: and the proxy variables", () => {
    const args = argsFor({ env: { EDITOR: "vim -u NONE" } }, { hostEnv: { https_proxy: "http://proxy:3128" } });
    expect(readBlock(etcEnvironment(args.env))).toEqual({ EDITOR: "vim -u NONE", HTTPS_PROXY: "http://proxy:3128", https_proxy: "http://proxy:3128" });
  });

  test("etcEnvironment() errors are DenErrors with code CONFIG_INVALID", () => {
    expect(() => etcEnvironment({ A: "\n" })).toThrow(DenError);
  });
});

describe("denEnv() Rosetta settings", () => {
  test.each([
    { name: "a VZ guest with Rosetta and binfmt", raw: { vmType: "vz", vmOpts: { vz: { rosetta: { enabled: true, binfmt: true } } } }, enabled: "1", binfmt: "1" },
    { name: "a VZ guest with Rosetta only", raw: { vmType: "vz", vmOpts: { vz: { rosetta: { enabled: true, binfmt: false } } } }, enabled: "1", binfmt: "" },
    { name: "a QEMU guest, whose VM has no Rosetta share", raw: { vmType: "qemu", vmOpts: { vz: { rosetta: { enabled: true, binfmt: true } } } }, enabled: "", binfmt: "" },
  ] as const)("denEnv() writes ROSETTA_ENABLED=$enabled ROSETTA_BINFMT=$binfmt for $name", ({ raw, enabled, binfmt }) => {
    const text = denEnv(argsFor(raw as DenYaml));
    expect(text).toContain(`DEN_CIDATA_ROSETTA_ENABLED=${enabled === "" ? "''" : enabled}\n`);
    expect(text).toContain(`DEN_CIDATA_ROSETTA_BINFMT=${binfmt === "" ? "''" : binfmt}\n`);
  });
});
