import { describe, expect, test } from "bun:test";
import { type EditFlags, editFlagsToYq } from "../../../lib/config/edit-flags.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";

const ctx = { home: "/home/u", cwd: "/work", params: ["containerdSnapshotter", "version"] };

interface ExprRow {
  name: string;
  flags: EditFlags;
  exprs: string[];
  warnings?: string[];
  newInstance?: boolean;
}

const exprRows: ExprRow[] = [
  { name: "no flags", flags: {}, exprs: [] },
  { name: "--cpus", flags: { cpus: "4" }, exprs: [".cpus = 4"] },
  { name: "--memory in whole GiB", flags: { memory: "8" }, exprs: ['.memory = "8GiB"'] },
  { name: "--memory as a fraction", flags: { memory: "0.5" }, exprs: ['.memory = "0.5GiB"'] },
  { name: "--memory with trailing zeros", flags: { memory: "1.50" }, exprs: ['.memory = "1.5GiB"'] },
  { name: "--disk", flags: { disk: "100" }, exprs: ['.disk = "100GiB"'] },
  {
    name: "--mount of a writable folder",
    flags: { mount: ["/src:w"] },
    exprs: ['.mounts = [{"location": "/src", "mountPoint": "/src", "writable": true}] + .mounts'],
  },
  {
    name: "--mount expands ~ and reverses the order",
    flags: { mount: ["~/a,~"] },
    exprs: ['.mounts = [{"location": "/home/u", "mountPoint": "/home/u", "writable": false}, {"location": "/home/u/a", "mountPoint": "/home/u/a", "writable": false}] + .mounts'],
  },
  {
    name: "repeated --mount with a relative path",
    flags: { mount: ["/x", "rel:w"] },
    exprs: ['.mounts = [{"location": "/work/rel", "mountPoint": "/work/rel", "writable": true}, {"location": "/x", "mountPoint": "/x", "writable": false}] + .mounts'],
  },
  { name: "--mount-type", flags: { mountType: "9p" }, exprs: ['.mountType = "9p"'] },
  { name: "--mount-writable", flags: { mountWritable: true }, exprs: [".mounts[].writable = true"] },
  { name: "--mount-none", flags: { mountNone: true }, exprs: [".mounts = null"] },
  { name: "--mount-inotify", flags: { mountInotify: true }, exprs: [".mountInotify = true"], warnings: ["Flag --mount-inotify is experimental"] },
  {
    name: "--port-forward",
    flags: { portForward: ["8080:80"] },
    exprs: ['.portForwards += [{"guestPort": 80, "hostPort": 8080, "static": false}]'],
  },
  {
    name: "--port-forward with static=true, repeated",
    flags: { portForward: ["8080:80,static=true", "2222:22"] },
    exprs: ['.portForwards += [{"guestPort": 80, "hostPort": 8080, "static": true}, {"guestPort": 22, "hostPort": 2222, "static": false}]'],
  },
  { name: "--vm-type", flags: { vmType: "vz" }, exprs: ['.vmType = "vz"'] },
  { name: "--arch", flags: { arch: "aarch64" }, exprs: ['.arch = "aarch64"'] },
  { name: "--param", flags: { param: ["containerdSnapshotter=true"] }, exprs: ['.param["containerdSnapshotter"] = "true"'] },
  { name: "--param with = in the value", flags: { param: ["version=a=b"] }, exprs: ['.param["version"] = "a=b"'] },
  { name: "--containerd user", flags: { containerd: "user" }, exprs: [".containerd.user = true | .containerd.system = false"] },
  { name: "--containerd system", flags: { containerd: "system" }, exprs: [".containerd.user = false | .containerd.system = true"] },
  { name: "--containerd user+system", flags: { containerd: "user+system" }, exprs: [".containerd.user = true | .containerd.system = true"] },
  { name: "--containerd none", flags: { containerd: "none" }, exprs: [".containerd.user = false | .containerd.system = false"] },
  { name: "--plain", flags: { plain: true }, exprs: [".plain = true"] },
  { name: "--ssh-port", flags: { sshPort: "2222" }, exprs: [".ssh.localPort = 2222"] },
  { name: "--ssh-port 0", flags: { sshPort: "0" }, exprs: [".ssh.localPort = 0"] },
  {
    name: "--dns",
    flags: { dns: ["1.1.1.1,8.8.8.8"] },
    exprs: ['.dns += ["1.1.1.1", "8.8.8.8"] | .dns |= unique | .hostResolver.enabled = false'],
    warnings: ["Disabling the host resolver, as custom DNS addresses (1.1.1.1, 8.8.8.8) are given"],
  },
  { name: "--network", flags: { network: ["vzNAT", "lima:shared"] }, exprs: ['.networks += [{"vzNAT": true}, {"lima": "shared"}] | .networks |= unique_by(.lima)'] },
  { name: "--nested-virt", flags: { nestedVirt: true }, exprs: [".nestedVirtualization = true"] },
  { name: "--video", flags: { video: true }, exprs: ['.video.display = "default"'] },
  { name: "--shell", flags: { shell: "/bin/zsh" }, exprs: ['.user.shell = "/bin/zsh"'] },
  { name: "--set, repeated, after the other flags", flags: { set: [".a = 1", ".b = 2"], cpus: "2" }, exprs: [".cpus = 2", ".a = 1", ".b = 2"] },
  { name: "a quote in a value stays inside the string", flags: { shell: '/bin/a"b' }, exprs: ['.user.shell = "/bin/a\\"b"'] },
  {
    name: "create-only flags on an existing instance",
    flags: { arch: "x86_64", cpus: "2" },
    newInstance: false,
    exprs: [".cpus = 2"],
    warnings: ["Flag --arch only applies when an instance is created; ignoring it"],
  },
];

describe("editFlagsToYq()", () => {
  test.each(exprRows)("maps $name", ({ flags, exprs, warnings, newInstance }) => {
    const result = editFlagsToYq(flags, { ...ctx, ...(newInstance !== undefined && { newInstance }) });
    expect(result.exprs).toEqual(exprs);
    expect(result.warnings).toEqual(warnings ?? []);
  });

  test.each([
    { name: "--cpus that is not a number", flags: { cpus: "four" }, message: 'Cannot use --cpus "four": expected a whole number of at least 1' },
    { name: "--cpus 0", flags: { cpus: "0" }, message: 'Cannot use --cpus "0"' },
    { name: "--cpus with a space (Lima's int flag refuses it too)", flags: { cpus: " 2" }, message: 'Cannot use --cpus " 2"' },
    { name: "--memory with a unit", flags: { memory: "4GiB" }, message: 'Cannot use --memory "4GiB": expected a positive number of GiB' },
    { name: "--disk 0", flags: { disk: "0" }, message: 'Cannot use --disk "0"' },
    { name: "--mount-type that is unknown", flags: { mountType: "nfs" }, message: 'Cannot use --mount-type "nfs": expected one of reverse-sshfs, 9p, virtiofs' },
    { name: "--mount of ~user", flags: { mount: ["~bob"] }, message: 'Cannot use --mount "~bob"' },
    { name: "--mount-none with --mount", flags: { mountNone: true, mount: ["/x"] }, message: "Cannot combine --mount-none with --mount" },
    { name: "--port-forward without a colon", flags: { portForward: ["8080"] }, message: 'Cannot use --port-forward "8080": expected HOST:GUEST' },
    { name: "--port-forward with a bad option", flags: { portForward: ["1:2,fast=yes"] }, message: 'unknown option "fast=yes"' },
    { name: "--port-forward above 65535", flags: { portForward: ["70000:80"] }, message: 'Cannot use --port-forward "70000"' },
    { name: "--vm-type that is unknown", flags: { vmType: "kvm" }, message: 'Cannot use --vm-type "kvm"' },
    { name: "--arch that is unknown", flags: { arch: "m68k" }, message: 'Cannot use --arch "m68k"' },
    { name: "--param of a key the template lacks", flags: { param: ["nope=1"] }, message: 'Cannot use --param "nope=1": the template has no parameter "nope"' },
    { name: "--param without =", flags: { param: ["version"] }, message: 'Cannot use --param "version": expected KEY=VALUE' },
    { name: "--containerd that is unknown", flags: { containerd: "root" }, message: 'Cannot use --containerd "root"' },
    { name: "--ssh-port that is too large", flags: { sshPort: "65536" }, message: 'Cannot use --ssh-port "65536"' },
    { name: "--dns that is not an IP", flags: { dns: ["dns.google"] }, message: 'Cannot use --dns "dns.google": expected an IP address' },
    { name: "--network that is unknown", flags: { network: ["shared"] }, message: 'Cannot use --network "shared"' },
    { name: "--shell that is relative", flags: { shell: "zsh" }, message: 'Cannot use --shell "zsh": expected an absolute path' },
    { name: "an empty --set", flags: { set: [" "] }, message: 'Cannot use --set " ": the expression is empty' },
    { name: "a 10,000-digit --port-forward quoted as an excerpt", flags: { portForward: ["9".repeat(10_000)] }, message: `Cannot use --port-forward "${"9".repeat(79)}…": expected HOST:GUEST` },
    { name: "--arch with an escape sequence quoted escaped", flags: { arch: "\u001b[2J" }, message: 'Cannot use --arch "\\x1b[2J"' },
    { name: "--param of a long unknown key quoted as an excerpt", flags: { param: [`${"k".repeat(5000)}=1`] }, message: `the template has no parameter "${"k".repeat(39)}…"` },
  ])("rejects $name", ({ flags, message }) => {
    const error = caughtDenError(() => editFlagsToYq(flags as EditFlags, ctx));
    expect(error.code).toBe("USAGE");
    expect(error.message).toContain(message);
    expect(error.hint).toBeTruthy();
  });

  test("names the template's parameters in the hint of an unknown --param", () => {
    expect(() => editFlagsToYq({ param: ["x=1"] }, { ...ctx, params: [] })).toThrow("the template has no parameter");
    expect(caughtDenError(() => editFlagsToYq({ param: ["x=1"] }, ctx)).hint).toContain("containerdSnapshotter, version");
  });
});
