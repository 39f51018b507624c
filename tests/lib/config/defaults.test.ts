import { describe, expect, test } from "bun:test";
import { type DefaultsContext, defaultUserName, defaultVmType, fillDefaults, macAddress, resolveMountType } from "../../../lib/config/defaults.ts";
import type { HostInfo } from "../../../lib/config/host-info.ts";
import type { DenYaml, FilledDenYaml } from "../../../lib/config/schema.ts";
import { linuxHost, macHost } from "../../fixtures/host-info.ts";

const GiB = 2 ** 30;

function fill(config: DenYaml, host: Partial<HostInfo> = {}, extra: Partial<DefaultsContext> = {}): FilledDenYaml {
  return fillDefaults(config, {
    host: { ...linuxHost, ...host },
    instanceName: "dev.box",
    instanceDir: "/home/alice/.den/dev.box",
    denHome: "/home/alice/.den",
    ...extra,
  });
}

describe("fillDefaults() builtin values", () => {
  const empty = fill({});
  test.each([
    { field: "vmType", want: "qemu" },
    { field: "os", want: "Linux" },
    { field: "arch", want: "x86_64" },
    { field: "cpus", want: 4 },
    { field: "memory", want: "4GiB" },
    { field: "disk", want: "100GiB" },
    { field: "mountType", want: "9p" },
    { field: "mountInotify", want: false },
    { field: "upgradePackages", want: false },
    { field: "guestInstallPrefix", want: "/usr/local" },
    { field: "propagateProxyEnv", want: true },
    { field: "plain", want: false },
    { field: "timezone", want: "Europe/Berlin" },
    { field: "nestedVirtualization", want: false },
    { field: "tpm", want: false },
    { field: "message", want: "" },
    { field: "images", want: [] },
    { field: "mounts", want: [] },
    { field: "dns", want: [] },
    { field: "env", want: {} },
    { field: "ssh", want: { localPort: 0, loadDotSSHPubKeys: false, forwardAgent: false, forwardX11: false, forwardX11Trusted: false, overVsock: false } },
    { field: "firmware", want: { legacyBIOS: false, images: [] } },
    { field: "audio", want: { device: "" } },
    { field: "video", want: { display: "none", vnc: { display: "127.0.0.1:0,to=9" } } },
    { field: "hostResolver", want: { enabled: true, ipv6: false, hosts: {} } },
    { field: "caCerts", want: { removeDefaults: false, files: [], certs: [] } },
    {
      field: "user",
      want: { name: "alice", comment: "Alice Liddell", uid: 1000, home: "/home/alice.guest", shell: "/bin/bash", passwordlessSudo: true },
    },
  ])("fillDefaults() sets $field to its builtin default", ({ field, want }) => {
    expect(empty[field as keyof FilledDenYaml]).toEqual(want as never);
  });

  test("fillDefaults() enables rootless containerd with the default nerdctl archives on x86_64 Linux", () => {
    expect(empty.containerd.system).toBe(false);
    expect(empty.containerd.user).toBe(true);
    expect(empty.containerd.archives.map((file) => file.arch)).toEqual(["x86_64", "aarch64"]);
  });

  test("fillDefaults() drops the deprecated top-level cpuType and rosetta into vmOpts", () => {
    const filled = fill({ cpuType: { x86_64: "qemu64" }, rosetta: { enabled: true } });
    expect(filled.vmOpts.qemu.cpuType).toEqual({ x86_64: "qemu64" });
    expect(filled.vmOpts.vz.rosetta).toEqual({ enabled: true, binfmt: false });
    expect("cpuType" in filled).toBe(false);
    expect("rosetta" in filled).toBe(false);
  });

  test("fillDefaults() keeps vmOpts.qemu.cpuType over the deprecated top-level one", () => {
    expect(fill({ cpuType: { x86_64: "a" }, vmOpts: { qemu: { cpuType: { x86_64: "b" } } } }).vmOpts.qemu.cpuType).toEqual({ x86_64: "b" });
  });
});

describe("fillDefaults() host-dependent values", () => {
  test.each([
    { name: "a small host's CPU count", host: { cpus: 2 }, field: "cpus", want: 2 },
    { name: "half of a small host's memory", host: { memoryBytes: 3 * GiB }, field: "memory", want: "1.5GiB" },
    { name: "vz on a Mac", host: macHost, field: "vmType", want: "vz" },
    { name: "virtiofs on a Mac", host: macHost, field: "mountType", want: "virtiofs" },
    { name: "aarch64 on an Apple silicon Mac", host: macHost, field: "arch", want: "aarch64" },
    { name: "an empty timezone when the host has none", host: { timezone: "" }, field: "timezone", want: "" },
  ])("fillDefaults() uses $name", ({ host, field, want }) => {
    expect(fill({}, host)[field as keyof FilledDenYaml]).toEqual(want as never);
  });

  test.each([
    { name: "alice", uid: 1000, wantName: "alice", wantUid: 1000 },
    { name: "root", uid: 0, wantName: "den", wantUid: 1000 },
    { name: "admin", uid: 501, wantName: "den", wantUid: 501 },
    { name: "Alice", uid: 501, wantName: "den", wantUid: 501 },
    { name: "john.doe", uid: 1001, wantName: "den", wantUid: 1001 },
    { name: "_svc-1", uid: 300, wantName: "_svc-1", wantUid: 300 },
  ])("fillDefaults() maps host user $name (uid $uid) to guest user $wantName", ({ name, uid, wantName, wantUid }) => {
    const user = fill({}, { username: name, uid }).user;
    expect(user.name).toBe(wantName);
    expect(user.uid).toBe(wantUid);
    expect(user.home).toBe(`/home/${wantName}.guest`);
  });

  test.each([
    { os: "Darwin", shell: "/bin/zsh", home: "/Users/alice.guest", sudo: false, owner: "root:wheel" },
    { os: "FreeBSD", shell: "/bin/sh", home: "/home/alice.guest", sudo: true, owner: "root:wheel" },
    { os: "Linux", shell: "/bin/bash", home: "/home/alice.guest", sudo: true, owner: "root:root" },
  ])("fillDefaults() picks the $os guest's shell, home, sudo and file owner", ({ os, shell, home, sudo, owner }) => {
    const filled = fill({ os, provision: [{ mode: "data", path: "/x", content: "y" }] });
    expect(filled.user).toMatchObject({ shell, home, passwordlessSudo: sudo });
    expect(filled.provision[0]?.owner).toBe(owner);
  });

  const noHelper = "this den was built without the VZ helper (built on Linux); install den from Homebrew or a release tarball";
  const macos12 = "VZ needs macOS 13 or later (this is macOS 12.7)";
  const intelMac: HostInfo = { ...macHost, arch: "x86_64" };
  test.each([
    { name: "x86_64 on an aarch64 Mac uses qemu", host: macHost, arch: "x86_64", want: { vmType: "qemu" } },
    { name: "a native Mac guest uses vz", host: macHost, arch: "aarch64", want: { vmType: "vz" } },
    { name: "a native guest on an Intel Mac uses vz", host: intelMac, arch: "x86_64", want: { vmType: "vz" } },
    { name: "an aarch64 guest on an Intel Mac uses qemu", host: intelMac, arch: "aarch64", want: { vmType: "qemu" } },
    {
      name: "a Mac without the VZ helper uses qemu and says why",
      host: { ...macHost, driverAvailability: { qemu: { available: true }, vz: { available: false, reason: noHelper } } },
      arch: "aarch64",
      want: { vmType: "qemu", fallback: noHelper },
    },
    {
      name: "macOS 12 uses qemu and says why",
      host: { ...macHost, macosVersion: "12.7", driverAvailability: { qemu: { available: true }, vz: { available: false, reason: macos12 } } },
      arch: "aarch64",
      want: { vmType: "qemu", fallback: macos12 },
    },
    {
      name: "macOS 13.4 uses qemu, as Lima, and says vz is the default from 13.5",
      host: { ...macHost, macosVersion: "13.4.1" },
      arch: "aarch64",
      want: {
        vmType: "qemu",
        fallback: "vz is the default only from macOS 13.5, whose Virtualization.framework boots Linux 6.2 and later (this is macOS 13.4.1); set vmType: vz to use it anyway",
      },
    },
    { name: "macOS 13.5 uses vz", host: { ...macHost, macosVersion: "13.5" }, arch: "aarch64", want: { vmType: "vz" } },
    {
      name: "a den without a VZ driver uses qemu on a Mac",
      host: { ...macHost, driverAvailability: { qemu: { available: true } } },
      arch: "aarch64",
      want: { vmType: "qemu", fallback: "this den has no VZ driver" },
    },
    { name: "Linux always uses qemu", host: linuxHost, arch: "x86_64", want: { vmType: "qemu" } },
    {
      name: "Linux uses qemu even when DEN_VZ_HELPER makes vz available",
      host: { ...linuxHost, driverAvailability: { qemu: { available: true }, vz: { available: true } } },
      arch: "x86_64",
      want: { vmType: "qemu" },
    },
    { name: "Windows uses qemu", host: { ...linuxHost, os: "win32" }, arch: "x86_64", want: { vmType: "qemu" } },
  ])("defaultVmType(): $name", ({ host, arch, want }) => {
    expect(defaultVmType(host as HostInfo, arch)).toEqual(want);
  });

  test.each([
    { name: "vz with virtiofs on a Mac that runs vz", host: macHost, config: {}, want: { vmType: "vz", mountType: "virtiofs" }, notices: [] },
    {
      name: "qemu with 9p and one line on a Mac without the VZ helper",
      host: { ...macHost, driverAvailability: { qemu: { available: true }, vz: { available: false, reason: noHelper } } },
      config: {},
      want: { vmType: "qemu", mountType: "9p" },
      notices: [`vmType: using "qemu": ${noHelper}`],
    },
    {
      name: "qemu with 9p and one line on macOS 12",
      host: { ...macHost, macosVersion: "12.7", driverAvailability: { qemu: { available: true }, vz: { available: false, reason: macos12 } } },
      config: {},
      want: { vmType: "qemu", mountType: "9p" },
      notices: [`vmType: using "qemu": ${macos12}`],
    },
    {
      name: "an explicit vmType on macOS 12 is kept, without a line",
      host: { ...macHost, macosVersion: "12.7", driverAvailability: { qemu: { available: true }, vz: { available: false, reason: macos12 } } },
      config: { vmType: "vz" },
      want: { vmType: "vz", mountType: "virtiofs" },
      notices: [],
    },
    {
      name: "vmType default on macOS 12 falls back with a line",
      host: { ...macHost, macosVersion: "12.7", driverAvailability: { qemu: { available: true }, vz: { available: false, reason: macos12 } } },
      config: { vmType: "default" },
      want: { vmType: "qemu", mountType: "9p" },
      notices: [`vmType: using "qemu": ${macos12}`],
    },
    {
      name: "an explicit mountType is kept when vmType falls back",
      host: { ...macHost, driverAvailability: { qemu: { available: true }, vz: { available: false, reason: noHelper } } },
      config: { mountType: "reverse-sshfs" },
      want: { vmType: "qemu", mountType: "reverse-sshfs" },
      notices: [`vmType: using "qemu": ${noHelper}`],
    },
    { name: "an x86_64 guest on an aarch64 Mac uses qemu without a line", host: macHost, config: { arch: "x86_64" }, want: { vmType: "qemu", mountType: "9p" }, notices: [] },
    { name: "qemu with 9p on Linux without a line", host: linuxHost, config: {}, want: { vmType: "qemu", mountType: "9p" }, notices: [] },
  ] satisfies { name: string; host: HostInfo; config: DenYaml; want: object; notices: string[] }[])(
    "fillDefaults() resolves $name",
    ({ host, config, want, notices }) => {
      const seen: string[] = [];
      const filled = fill(config, host, { notice: (line) => seen.push(line) });
      expect({ vmType: filled.vmType, mountType: filled.mountType as string }).toEqual(want);
      expect(seen).toEqual(notices);
    },
  );

  test.each([
    { value: null, vmType: "qemu", os: "linux", unsupported: [], want: "9p" },
    { value: "default", vmType: "vz", os: "darwin", unsupported: [], want: "virtiofs" },
    { value: null, vmType: "wsl2", os: "win32", unsupported: [], want: "wsl2" },
    { value: null, vmType: "qemu", os: "win32", unsupported: [], want: "reverse-sshfs" },
    { value: null, vmType: "qemu", os: "linux", unsupported: ["9p"], want: "reverse-sshfs" },
    { value: "virtiofs", vmType: "qemu", os: "linux", unsupported: [], want: "virtiofs" },
  ])("resolveMountType($value) for $vmType on $os is $want", ({ value, vmType, os, unsupported, want }) => {
    expect(resolveMountType(value, vmType, os, unsupported)).toBe(want);
  });

  test.each([
    { username: "alice", uid: 1000, want: "alice" },
    { username: "admin", uid: 1000, want: "den" },
    { username: "alice", uid: 0, want: "den" },
    { username: "9lives", uid: 1000, want: "den" },
  ])("defaultUserName($username, $uid) is $want", ({ username, uid, want }) => {
    expect(defaultUserName({ username, uid })).toBe(want);
  });
});

describe("fillDefaults() mounts", () => {
  test.each([
    { name: "expands ~ to the host home", mount: { location: "~" }, want: { location: "/home/alice", mountPoint: "/home/alice" } },
    { name: "expands ~/x", mount: { location: "~/src/" }, want: { location: "/home/alice/src", mountPoint: "/home/alice/src" } },
    { name: "expands host templates in location", mount: { location: "{{.GlobalTempDir}}/{{.Name}}" }, want: { location: "/tmp/dev.box", mountPoint: "/tmp/dev.box" } },
    { name: "expands {{.Dir}} and {{.TempDir}}", mount: { location: "{{.TempDir}}/{{.UID}}" }, want: { location: "/tmp/user/1000" } },
    { name: "expands guest templates in mountPoint", mount: { location: "/data", mountPoint: "{{.Home}}/data" }, want: { mountPoint: "/home/alice.guest/data" } },
    { name: "leaves a relative location for validation", mount: { location: "src" }, want: { location: "src" } },
    {
      name: "fills 9p and sshfs options for a read-only mount",
      mount: { location: "/data" },
      want: { writable: false, sshfs: { cache: true, followSymlinks: false, sftpDriver: "" }, "9p": { securityModel: "none", protocolVersion: "9p2000.L", msize: "128KiB", cache: "fscache" } },
    },
    { name: "uses mmap caching for a writable 9p mount", mount: { location: "/data", writable: true }, want: { writable: true, "9p": { cache: "mmap" } } },
    { name: "keeps explicit options", mount: { location: "/data", "9p": { cache: "none", msize: "512KiB" }, sshfs: { sftpDriver: "builtin" as const } }, want: { "9p": { cache: "none", msize: "512KiB" }, sshfs: { sftpDriver: "builtin" } } },
  ])("fillDefaults() $name", ({ mount, want }) => {
    expect(fill({ mounts: [mount] }).mounts[0]).toMatchObject(want);
  });

  test("fillDefaults() expands params in templates", () => {
    expect(fill({ param: { Dir: "work" }, mounts: [{ location: "/{{.Param.Dir}}" }] }).mounts[0]?.location).toBe("/work");
  });

  test("fillDefaults() keeps a template it cannot expand and warns", () => {
    const warnings: string[] = [];
    const filled = fill({ provision: [{ script: "docker ps --format '{{.Names' " }] }, {}, { warn: (message) => warnings.push(message) });
    expect(filled.provision[0]?.script).toBe("docker ps --format '{{.Names' ");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("provision[0].script");
  });

  test("fillDefaults() drops mounts, dynamic forwards, containerd and the timezone in plain mode", () => {
    const filled = fill({ plain: true, mounts: [{ location: "~" }], portForwards: [{ guestPort: 80 }, { guestPort: 81, static: true }] });
    expect(filled.mounts).toEqual([]);
    expect(filled.portForwards.map((rule) => rule.guestPort)).toEqual([81]);
    expect(filled.containerd).toMatchObject({ system: false, user: false });
    expect(filled.timezone).toBe("");
  });
});

describe("fillDefaults() port forwards", () => {
  test.each([
    {
      name: "an empty rule covers every port",
      rule: {},
      want: { guestIP: "127.0.0.1", guestIPMustBeZero: false, guestPortRange: [1, 65535], hostIP: "127.0.0.1", hostPortRange: [1, 65535], proto: "any" },
    },
    { name: "guestPort sets both ranges", rule: { guestPort: 80 }, want: { guestPortRange: [80, 80], hostPortRange: [80, 80] } },
    { name: "hostPort sets the host range", rule: { guestPort: 80, hostPort: 8080 }, want: { guestPortRange: [80, 80], hostPortRange: [8080, 8080] } },
    { name: "a guest range is copied to the host", rule: { guestPortRange: [3000, 3009] as [number, number] }, want: { hostPortRange: [3000, 3009] } },
    { name: "guestIPMustBeZero picks 0.0.0.0", rule: { guestIPMustBeZero: true }, want: { guestIP: "0.0.0.0", guestIPMustBeZero: true } },
    { name: "guestIP 0.0.0.0 implies guestIPMustBeZero", rule: { guestIP: "0.0.0.0" }, want: { guestIPMustBeZero: true } },
    { name: "guestIP 0.0.0.0 keeps an explicit false", rule: { guestIP: "0.0.0.0", guestIPMustBeZero: false }, want: { guestIPMustBeZero: false } },
    { name: "a relative hostSocket lands in the instance sock folder", rule: { guestSocket: "/run/docker.sock", hostSocket: "docker.sock" }, want: { hostSocket: "/home/alice/.den/dev.box/sock/docker.sock", hostPortRange: [0, 0] } },
    { name: "hostSocket expands host templates", rule: { guestSocket: "/run/user/{{.UID}}/d.sock", hostSocket: "{{.Dir}}/d.sock" }, want: { guestSocket: "/run/user/1000/d.sock", hostSocket: "/home/alice/.den/dev.box/d.sock" } },
    { name: "flags default to false", rule: {}, want: { reverse: false, ignore: false, static: false } },
  ])("fillDefaults() fills $name", ({ rule, want }) => {
    expect(fill({ portForwards: [rule] }).portForwards[0]).toMatchObject(want);
  });
});

describe("fillDefaults() lists", () => {
  test.each([
    { name: "provision mode system", config: { provision: [{ script: "#!/bin/sh" }] }, pick: (f: FilledDenYaml) => f.provision[0]?.mode, want: "system" },
    { name: "data content, overwrite, permissions", config: { provision: [{ mode: "data" as const, path: "/etc/x" }] }, pick: (f: FilledDenYaml) => f.provision[0], want: { content: "", overwrite: true, permissions: "644", owner: "root:root" } },
    { name: "dependency skipDefaultDependencyResolution", config: { provision: [{ mode: "dependency" as const, script: "x" }] }, pick: (f: FilledDenYaml) => f.provision[0]?.skipDefaultDependencyResolution, want: false },
    { name: "yq format auto", config: { provision: [{ mode: "yq" as const, path: "/x", expression: ".a" }] }, pick: (f: FilledDenYaml) => f.provision[0]?.format, want: "auto" },
    { name: "provision templates", config: { provision: [{ mode: "data" as const, path: "{{.Home}}/f", owner: "{{.User}}", content: "{{.Hostname}}" }] }, pick: (f: FilledDenYaml) => f.provision[0], want: { path: "/home/alice.guest/f", owner: "alice", content: "den-dev-box" } },
    { name: "probe descriptions", config: { probes: [{ script: "#!/bin/sh" }, { script: "#!/bin/sh", description: "mine" }] }, pick: (f: FilledDenYaml) => f.probes.map((p) => p.description), want: ["user probe 1/2", "mine"] },
    { name: "probe mode", config: { probes: [{ script: "#!/bin/sh" }] }, pick: (f: FilledDenYaml) => f.probes[0]?.mode, want: "readiness" },
    { name: "image arch from the instance arch", config: { arch: "aarch64", images: [{ location: "a", kernel: { location: "k" } }] }, pick: (f: FilledDenYaml) => [f.images[0]?.arch, f.images[0]?.kernel?.arch], want: ["aarch64", "aarch64"] },
    { name: "named disks as objects", config: { additionalDisks: ["data"] }, pick: (f: FilledDenYaml) => f.additionalDisks, want: [{ name: "data", format: true, fsType: "ext4", fsArgs: [] }] },
    { name: "network interface, metric and MAC", config: { networks: [{ lima: "shared" }, { vzNAT: true, interface: "en1", metric: 50 }] }, pick: (f: FilledDenYaml) => f.networks.map((n) => [n.interface, n.metric, /^52:55:55(:[0-9a-f]{2}){3}$/.test(n.macAddress)]), want: [["lima0", 100, true], ["en1", 50, true]] },
    { name: "copyToHost templates", config: { copyToHost: [{ guest: "{{.Home}}/k", host: "{{.Dir}}/k" }] }, pick: (f: FilledDenYaml) => f.copyToHost[0], want: { guest: "/home/alice.guest/k", host: "/home/alice/.den/dev.box/k", skipIfMissing: false, deleteOnStop: false } },
    { name: "unique CA files", config: { caCerts: { files: ["a", "b", "a"] } }, pick: (f: FilledDenYaml) => f.caCerts.files, want: ["a", "b"] },
    { name: "containerd user off on riscv64", config: { arch: "riscv64" }, pick: (f: FilledDenYaml) => f.containerd.user, want: false },
    { name: "ssh over vsock for vz Linux guests", config: { vmType: "vz" }, pick: (f: FilledDenYaml) => f.ssh.overVsock, want: true },
  ])("fillDefaults() fills $name", ({ config, pick, want }) => {
    const got = pick(fill(config as DenYaml));
    if (typeof want === "object" && want !== null && !Array.isArray(want)) expect(got).toMatchObject(want);
    else expect(got).toEqual(want as never);
  });
});

test.each([
  { machineId: "m", id: "/x/lima.yaml#0", want: "52:55:55:" },
  { machineId: "other", id: "/x/lima.yaml#0", want: "52:55:55:" },
])("macAddress() starts with Lima's 52:55:55 prefix ($machineId)", ({ machineId, id, want }) => {
  const mac = macAddress(machineId, id);
  expect(mac.startsWith(want)).toBe(true);
  expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
});

test("macAddress() is stable and differs by interface index", () => {
  expect(macAddress("m", "a#0")).toBe(macAddress("m", "a#0"));
  expect(macAddress("m", "a#0")).not.toBe(macAddress("m", "a#1"));
});
