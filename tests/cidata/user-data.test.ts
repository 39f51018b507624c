import { beforeAll, describe, expect, test } from "bun:test";
import { parse } from "yaml";
import type { DenYaml } from "../../lib/config/schema.ts";
import type { SeedArgs } from "../../cidata/seed-args.ts";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BesideInitLine, BootHookPath, bootCmds, cloudConfig, cloudYaml, CloudConfigAppliedMarker, EarlyBootCommand, escapeFstab, GuestCidataMount, userData } from "../../cidata/user-data.ts";
import { ConfigError } from "../../lib/errors.ts";
import { argsFor, HostileValues, pyYamlLoadAll, requirePyYaml } from "./seed-fixture.ts";

beforeAll(requirePyYaml);

// PyYAML runs in one python3 process per batch: the texts of the big tables are parsed up front.
const pyCache = new Map<string, unknown>();
function prefetch(texts: string[]): void {
  const fresh = [...new Set(texts)].filter((text) => !pyCache.has(text));
  pyYamlLoadAll(fresh).forEach((loaded, i) => pyCache.set(fresh[i]!, loaded));
}
function pyYamlLoad(text: string): unknown {
  if (!pyCache.has(text)) prefetch([text]);
  return pyCache.get(text);
}

type Users = { users: Record<string, unknown>[] };

/** Parsed by both readers; both must see exactly what cloudConfig() built. */
function parsedBoth(args: SeedArgs): Record<string, unknown> {
  const text = userData(args);
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  const viaPy = pyYamlLoad(text) as Record<string, unknown>;
  expect(parse(text, { version: "1.1" })).toEqual(viaPy);
  expect(viaPy).toEqual(JSON.parse(JSON.stringify(cloudConfig(args))));
  return viaPy;
}

describe("userData() document", () => {
  test("userData() starts with #cloud-config and reads back as the built object", () => {
    parsedBoth(argsFor({ mounts: [{ location: "~" }], provision: [{ mode: "boot", script: "echo hi" }], param: { A: "1" } }));
  });

  test("userData() grows the root partition", () => {
    expect(parsedBoth(argsFor()).growpart).toEqual({ mode: "auto", devices: ["/"] });
  });

  test.each([
    { upgradePackages: true, want: true },
    { upgradePackages: false, want: undefined },
  ])("userData() sets package_update/upgrade only when upgradePackages is $upgradePackages", ({ upgradePackages, want }) => {
    const doc = parsedBoth(argsFor({ upgradePackages }));
    expect(doc.package_update).toBe(want);
    expect(doc.package_upgrade).toBe(want);
    expect(doc.package_reboot_if_required).toBe(want);
  });

  test.each([
    { timezone: "Asia/Tokyo", want: "Asia/Tokyo" },
    { timezone: "", want: undefined },
  ])('userData() writes timezone "$timezone" only when set', ({ timezone, want }) => {
    expect(parsedBoth(argsFor({ timezone })).timezone).toBe(want);
  });

  test.each([
    { passwordlessSudo: true, sudo: "ALL=(ALL) NOPASSWD:ALL" },
    { passwordlessSudo: false, sudo: undefined },
  ])("userData() grants sudo only when passwordlessSudo is $passwordlessSudo", ({ passwordlessSudo, sudo }) => {
    const [user] = (parsedBoth(argsFor({ user: { passwordlessSudo } })) as Users).users;
    expect(user?.sudo).toBe(sudo);
  });

  test("userData() describes the guest user with a string uid and a locked password", () => {
    const args = argsFor({ user: { name: "bob", uid: 1234, comment: "Bob", home: "/home/bob", shell: "/bin/zsh" } }, { sshPublicKeys: ["k1", "k2"] });
    expect((parsedBoth(args) as Users).users).toEqual([
      {
        name: "bob",
        uid: "1234",
        gecos: "Bob",
        homedir: "/home/bob",
        shell: "/bin/zsh",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: ["k1", "k2"],
      },
    ]);
  });

  test.each<{ mountType: DenYaml["mountType"]; writable: boolean; want: string | undefined }>([
    { mountType: "9p", writable: false, want: "ro,trans=virtio,version=9p2000.L,msize=131072,cache=fscache,nofail" },
    { mountType: "9p", writable: true, want: "rw,trans=virtio,version=9p2000.L,msize=131072,cache=mmap,nofail" },
    { mountType: "virtiofs", writable: false, want: "ro,nofail" },
    { mountType: "virtiofs", writable: true, want: "rw,nofail" },
    { mountType: "reverse-sshfs", writable: true, want: undefined },
  ])("userData() mounts a $mountType folder (writable: $writable) through fstab options $want", ({ mountType, writable, want }) => {
    const args = argsFor({ mountType, mounts: [{ location: "/srv/data", mountPoint: "/mnt/data", writable }] });
    const mounts = parsedBoth(args).mounts as string[][] | undefined;
    if (want === undefined) expect(mounts).toBeUndefined();
    else expect(mounts).toEqual([[args.mounts[0]!.tag, "/mnt/data", mountType!, want, "0", "0"]]);
  });

  test("userData() installs the per-boot hook that mounts the seed and execs boot.sh", () => {
    const [file] = parsedBoth(argsFor()).write_files as Record<string, string>[];
    expect(file?.path).toBe(BootHookPath);
    expect(file?.permissions).toBe("0755");
    expect(file?.owner).toBe("root:root");
    expect(file?.content).toContain('mount -o ro,mode=0700,dmode=0700,overriderockperm,exec,uid=0 "$DEN_CIDATA_DEV" "$DEN_CIDATA_MNT"');
    expect(file?.content).toContain('umount "$DEN_CIDATA_MNT"');
    expect(file?.content).toContain('exec "$DEN_CIDATA_MNT/boot.sh"');
    const syntax = Bun.spawnSync(["sh", "-n", "-c", file?.content ?? ""]);
    expect(syntax.exitCode).toBe(0);
  });

  test.each([
    { upgradePackages: false, want: [EarlyBootCommand] },
    { upgradePackages: true, want: undefined },
  ])("userData() starts boot.sh early from bootcmd only when upgradePackages is $upgradePackages", ({ upgradePackages, want }) => {
    expect(parsedBoth(argsFor({ upgradePackages })).bootcmd).toEqual(want);
  });

  test("userData() queues den-boot.service after cloud-init's init stage with a command sh accepts", () => {
    expect(EarlyBootCommand).toContain("systemd-run --no-block --unit=den-boot.service");
    expect(EarlyBootCommand).toContain("--property=After=cloud-init.service");
    expect(EarlyBootCommand).toContain("--setenv=DEN_BOOT_EARLY=1");
    expect(EarlyBootCommand).toContain(BootHookPath);
    expect(Bun.spawnSync(["sh", "-n", "-c", EarlyBootCommand]).exitCode).toBe(0);
  });

  test.each<{ raw: DenYaml; want: string[] | undefined }>([
    { raw: { dns: ["1.1.1.1", "2606:4700::1111"], hostResolver: { enabled: false } }, want: ["1.1.1.1", "2606:4700::1111"] },
    { raw: { dns: [], hostResolver: { enabled: false } }, want: undefined },
    { raw: { dns: ["1.1.1.1"] }, want: undefined },
  ])("userData() manages resolv.conf only for dns with the host resolver off ($want)", ({ raw, want }) => {
    const doc = parsedBoth(argsFor(raw));
    expect((doc.resolv_conf as { nameservers?: string[] } | undefined)?.nameservers).toEqual(want);
    expect(doc.manage_resolv_conf).toBe(want ? true : undefined);
  });

  test.each<{ label: string; caCerts: DenYaml["caCerts"]; want: unknown }>([
    { label: "no ca_certs by default", caCerts: {}, want: undefined },
    { label: "remove_defaults alone", caCerts: { removeDefaults: true }, want: { remove_defaults: true } },
    { label: "trimmed trusted certificates", caCerts: { certs: ["  -----BEGIN-----\n\n  abc\n-----END-----  "] }, want: { trusted: ["-----BEGIN-----\nabc\n-----END-----\n"] } },
  ])("userData() writes $label", ({ caCerts, want }) => {
    expect(parsedBoth(argsFor({ caCerts })).ca_certs).toEqual(want);
  });
});

describe("userData() per-boot hook", () => {
  /** The hook with its guest paths moved under a temp dir, mount faked, and a boot.sh that logs and exits with BOOT_RC. */
  const UserData = "#cloud-config\nusers: []\n";
  const UserDataSum = new Bun.CryptoHasher("sha256").update(UserData).digest("hex");

  /**
   * The hook with its guest paths moved under a temp dir, mount faked, and a seed whose boot.sh logs and exits with
   * BOOT_RC. `denEnv` is the seed's den.env; `applied` the digest an earlier boot recorded (undefined: none).
   */
  function hookFixture(seed: { denEnv?: string; applied?: string } = {}) {
    const dir = mkdtempSync(join(tmpdir(), "den-hook-test-"));
    const [file] = cloudConfig(argsFor()).write_files as Record<string, string>[];
    const hook = (file?.content ?? "")
      .replaceAll("/run/", `${dir}/run/`)
      .replaceAll(GuestCidataMount, `${dir}/mnt`)
      .replaceAll(CloudConfigAppliedMarker, `${dir}/applied`);
    for (const sub of ["run", "mnt", "bin"]) mkdirSync(join(dir, sub));
    const script = (path: string, text: string) => {
      writeFileSync(path, text);
      chmodSync(path, 0o755);
    };
    script(join(dir, "hook"), hook);
    script(join(dir, "bin", "mount"), "#!/bin/sh\nexit 0\n");
    script(join(dir, "bin", "umount"), "#!/bin/sh\nexit 0\n");
    script(join(dir, "mnt", "boot.sh"), `#!/bin/sh\necho "run $DEN_BOOT_EARLY \${DEN_BOOT_BESIDE_INIT:-}" >>${dir}/boot.log\nexit "$BOOT_RC"\n`);
    writeFileSync(join(dir, "mnt", "den.env"), seed.denEnv ?? `DEN_CIDATA_NAME=x\n${BesideInitLine}\n`);
    writeFileSync(join(dir, "mnt", "user-data"), UserData);
    if (seed.applied !== undefined) writeFileSync(join(dir, "applied"), `${seed.applied}\n`);
    const run = (env: Record<string, string>) =>
      Bun.spawnSync([join(dir, "hook")], { env: { PATH: `${dir}/bin:${process.env.PATH}`, BOOT_RC: "0", ...env } }).exitCode;
    const log = () => readFileSync(join(dir, "boot.log"), "utf8").split("\n").filter((line) => line !== "");
    const runs = () => log().length;
    return { dir, run, runs, log, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
  }

  const besideInit = { DEN_BOOT_EARLY: "1", DEN_BOOT_BESIDE_INIT: "1" };

  test("a run beside cloud-init's init stage runs boot.sh when the seed allows it and an earlier boot applied the same user-data; the later callers only report its code", () => {
    using fx = hookFixture({ applied: UserDataSum });
    expect(fx.run({ ...besideInit, BOOT_RC: "4" })).toBe(0);
    expect(fx.log()).toEqual(["run 1 1"]);
    // den-boot.service, queued by bootcmd, finds the boot done; the per-boot stage reports boot.sh's code.
    expect(fx.run({ DEN_BOOT_EARLY: "1" })).toBe(0);
    expect(fx.run({})).toBe(4);
    expect(fx.runs()).toBe(1);
  });

  test.each([
    { name: "the seed does not allow it (package upgrades or mode: boot scripts)", denEnv: "DEN_CIDATA_NAME=x\nDEN_CIDATA_BOOT_BESIDE_INIT=\n", applied: UserDataSum },
    { name: "no earlier boot applied a user-data", denEnv: undefined, applied: undefined },
    { name: "the user-data changed since", denEnv: undefined, applied: "0".repeat(64) },
  ])("a run beside cloud-init's init stage leaves the boot to den-boot.service when $name", ({ denEnv, applied }) => {
    using fx = hookFixture({ ...(denEnv !== undefined && { denEnv }), ...(applied !== undefined && { applied }) });
    expect(fx.run(besideInit)).toBe(0);
    expect(existsSync(join(fx.dir, "boot.log"))).toBe(false);
    expect(fx.run({ DEN_BOOT_EARLY: "1", BOOT_RC: "2" })).toBe(0);
    expect(fx.log()).toEqual(["run 1 "]);
    expect(fx.run({})).toBe(2);
    expect(fx.runs()).toBe(1);
  });

  test("the per-boot hook after an early run exits with its code without running boot.sh again; a third run does", () => {
    using fx = hookFixture();
    expect(fx.run({ DEN_BOOT_EARLY: "1", BOOT_RC: "3" })).toBe(0);
    expect(fx.runs()).toBe(1);
    expect(fx.run({ BOOT_RC: "0" })).toBe(3);
    expect(fx.runs()).toBe(1);
    expect(fx.run({ BOOT_RC: "5" })).toBe(5);
    expect(fx.runs()).toBe(2);
  });

  test("an early run after the per-boot hook already ran boot.sh does nothing", () => {
    using fx = hookFixture();
    expect(fx.run({ BOOT_RC: "0" })).toBe(0);
    expect(fx.run({ DEN_BOOT_EARLY: "1" })).toBe(0);
    expect(fx.runs()).toBe(1);
  });
});

describe("bootCmds()", () => {
  test("bootCmds() makes one entry per boot script, in provision order, with the params exported first", () => {
    const args = argsFor({ param: { B: "2", A: "1" }, provision: [{ mode: "boot", script: "one" }, { script: "sys" }, { mode: "boot", script: "two" }] });
    expect(bootCmds(args)).toEqual(["export PARAM_A=1\nexport PARAM_B=2\none", "export PARAM_A=1\nexport PARAM_B=2\ntwo"]);
    expect(parsedBoth(args).bootcmd).toEqual([...bootCmds(args), EarlyBootCommand]);
  });

  test("bootCmds() is empty without boot scripts", () => {
    expect(bootCmds(argsFor({ provision: [{ script: "x" }] }))).toEqual([]);
    expect(parsedBoth(argsFor({ upgradePackages: true })).bootcmd).toBeUndefined();
  });

  test("bootCmds() refuses a param name that is no shell variable", () => {
    expect(() => bootCmds(argsFor({ param: { "A-B": "x" }, provision: [{ mode: "boot", script: "x" }] }))).toThrow(ConfigError);
  });

  test.each(HostileValues)("bootCmds() hands a param value with $label to the script unchanged", ({ value }) => {
    const args = argsFor({ param: { VALUE: value }, provision: [{ mode: "boot", script: 'printf %s "$PARAM_VALUE"' }] });
    const [command] = (parsedBoth(args).bootcmd as string[]) ?? [];
    const child = Bun.spawnSync(["sh", "-c", command ?? "exit 9"], { cwd: "/tmp" });
    expect(child.exitCode).toBe(0);
    expect(child.stdout.toString()).toBe(value);
  });
});

// Every field a user controls, each filled with every hostile value: PyYAML must read back exactly that value.
const fields: { field: string; raw: (value: string) => DenYaml; read: (doc: Record<string, unknown>) => unknown }[] = [
  { field: "user name", raw: (value) => ({ user: { name: value } }), read: (doc) => (doc as Users).users[0]?.name },
  { field: "user comment", raw: (value) => ({ user: { comment: value } }), read: (doc) => (doc as Users).users[0]?.gecos },
  { field: "user home", raw: (value) => ({ user: { home: value } }), read: (doc) => (doc as Users).users[0]?.homedir },
  { field: "user shell", raw: (value) => ({ user: { shell: value } }), read: (doc) => (doc as Users).users[0]?.shell },
  { field: "timezone", raw: (value) => ({ timezone: `Zone/${value}` }), read: (doc) => (doc.timezone as string).slice(5) },
  { field: "boot script", raw: (value) => ({ provision: [{ mode: "boot", script: value }] }), read: (doc) => (doc.bootcmd as string[])[0] },
  { field: "CA certificate", raw: (value) => ({ caCerts: { certs: [`x${value}x`] } }), read: (doc) => (doc.ca_certs as { trusted: string[] }).trusted[0] },
];

describe("userData() escaping", () => {
  const cases = fields.flatMap(({ field, raw, read }) => HostileValues.map(({ label, value }) => ({ field, label, value, raw, read })));
  beforeAll(() => {
    prefetch(cases.map(({ raw, value }) => userData(argsFor(raw(value)))));
    prefetch(HostileValues.map(({ value }) => userData(argsFor({ mounts: [{ location: "/srv/x", mountPoint: `/mnt/${value}` }] }, { sshPublicKeys: [value] }))));
  });
  test.each(cases)("userData() keeps a $field with $label intact", ({ raw, read, value, field }) => {
    const args = argsFor(raw(value));
    const doc = parsedBoth(args);
    if (field === "boot script") expect(read(doc)).toBe(value);
    else if (field === "CA certificate") expect(read(doc)).toBe(args.caCerts.trusted[0]);
    else expect(read(doc)).toBe(value);
    expect(Object.keys(doc).every((key) => key !== "EVIL" && !key.includes("\n"))).toBe(true);
  });

  test.each(HostileValues)("userData() keeps an SSH key and a mount point with $label intact", ({ value }) => {
    const args = argsFor({ mounts: [{ location: "/srv/x", mountPoint: `/mnt/${value}` }] }, { sshPublicKeys: [value] });
    const doc = parsedBoth(args);
    expect((doc as Users).users[0]?.ssh_authorized_keys).toEqual([value]);
    expect((doc.mounts as string[][])[0]?.[1]).toBe(escapeFstab(`/mnt/${value}`));
  });
});

describe("cloudYaml()", () => {
  const strings = [
    ...HostileValues.map(({ value }) => value),
    "\u0000nul",
    "lone \ud800 surrogate",
    "trail \n",
    "\n\nleading newlines",
    "  indented\nblock",
    "true",
    "No",
    "off",
    "1_000",
    "0x1f",
    "1e3",
    ".inf",
    "2001-12-14",
    "12:30:00",
    "-",
    "? key",
    "#comment",
  ];
  beforeAll(() => prefetch(strings.map((value) => cloudYaml({ [value]: [value, { value }] }))));
  test.each(strings.map((value) => ({ value, shown: JSON.stringify(value) })))("cloudYaml() writes $shown so PyYAML reads the same string", ({ value }) => {
    const loaded = pyYamlLoad(cloudYaml({ [value]: [value, { value }] }));
    expect(loaded).toEqual({ [value]: [value, { value }] });
  });

  test("cloudYaml() writes 20000 random strings, as values and as keys, so PyYAML reads them back unchanged", () => {
    let state = 20240601;
    const random = () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
    const alphabet = [..."ab  \t\n\n#:-'\"\\?!&*|>%@`01.,[]{}~=<é", "\r", "\u0085", "\u2028", "\u007f", "\u0000", "😀"];
    const values = Array.from({ length: 20000 }, () => Array.from({ length: Math.floor(random() * 16) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(""));
    const doc = { list: values, map: Object.fromEntries(values.map((value, i) => [value, i])) };
    expect(pyYamlLoad(cloudYaml(doc))).toEqual(doc);
  });

  test("cloudYaml() keeps numbers and booleans typed", () => {
    expect(pyYamlLoad(cloudYaml({ n: 200, b: true, s: "200" }))).toEqual({ n: 200, b: true, s: "200" });
  });
});

describe("escapeFstab()", () => {
  test.each([
    { field: "/mnt/plain", want: "/mnt/plain" },
    { field: "/mnt/a b", want: "/mnt/a\\040b" },
    { field: "/mnt/a\tb", want: "/mnt/a\\011b" },
    { field: "/mnt/a\nb", want: "/mnt/a\\012b" },
    { field: "/mnt/a\\b", want: "/mnt/a\\134b" },
  ].map((row) => ({ ...row, shown: JSON.stringify(row.field) })))("escapeFstab() writes $shown as $want", ({ field, want }) => {
    expect(escapeFstab(field)).toBe(want);
  });
});
