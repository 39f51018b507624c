import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import type { DenYaml } from "../../lib/config/schema.ts";
import { mountTag, proxyViaGateway, seedArgsFrom } from "../../cidata/seed-args.ts";
import { argsFor, filledConfig, seedFacts } from "./seed-fixture.ts";

describe("seedArgsFrom()", () => {
  test("seedArgsFrom() takes name, hostname, iid and keys from the facts", () => {
    const args = argsFor({}, { instanceName: "my.box_1", iid: "iid-42", sshPublicKeys: ["a", "b"] });
    expect(args).toMatchObject({ name: "my.box_1", hostname: "den-my-box-1", iid: "iid-42", sshPublicKeys: ["a", "b"] });
  });

  test("seedArgsFrom() copies the filled user", () => {
    expect(argsFor().user).toEqual({ name: "alice", comment: "Alice Liddell", uid: 1000, home: "/home/alice.guest", shell: "/bin/bash", passwordlessSudo: true });
  });

  test.each<{ label: string; raw: DenYaml; type: string; options: string }>([
    { label: "qemu's default", raw: {}, type: "9p", options: "ro,trans=virtio,version=9p2000.L,msize=131072,cache=fscache,nofail" },
    { label: "mountType 9p", raw: { mountType: "9p" }, type: "9p", options: "ro,trans=virtio,version=9p2000.L,msize=131072,cache=fscache,nofail" },
    { label: "vz's default", raw: { vmType: "vz" }, type: "virtiofs", options: "ro,nofail" },
    { label: "mountType reverse-sshfs", raw: { mountType: "reverse-sshfs" }, type: "reverse-sshfs", options: "" },
    { label: "mountType wsl2", raw: { mountType: "wsl2" }, type: "wsl2", options: "" },
  ])("seedArgsFrom() gives a read-only mount with $label type $type and options \"$options\"", ({ raw, type, options }) => {
    const [mount] = argsFor({ ...raw, mounts: [{ location: "/srv/data" }] }).mounts;
    expect(mount).toEqual({ tag: mountTag("/srv/data", "/srv/data"), location: "/srv/data", mountPoint: "/srv/data", type: type as never, writable: false, options });
  });

  test.each([
    { ninep: { msize: "1MiB", cache: "none", protocolVersion: "9p2000.u" }, options: "rw,trans=virtio,version=9p2000.u,msize=1048576,cache=none,nofail" },
    { ninep: { msize: "262144" }, options: "rw,trans=virtio,version=9p2000.L,msize=262144,cache=mmap,nofail" },
  ])("seedArgsFrom() writes the 9p settings into the options $options", ({ ninep, options }) => {
    const [mount] = argsFor({ mounts: [{ location: "/srv", writable: true, "9p": ninep }] }).mounts;
    expect(mount?.options).toBe(options);
  });

  test.each<{ mounts: DenYaml["mounts"]; want: string }>([
    { mounts: [{ location: "~" }], want: "/home/alice" },
    { mounts: [{ location: "~", mountPoint: "/host" }], want: "/host" },
    { mounts: [{ location: "/srv" }, { location: "~/", mountPoint: "/h" }], want: "/h" },
    { mounts: [{ location: "~/src" }], want: "" },
    { mounts: [], want: "" },
  ])("seedArgsFrom() finds the host home mount point $want", ({ mounts, want }) => {
    expect(argsFor({ mounts }).hostHomeMountPoint).toBe(want);
  });

  test("seedArgsFrom() puts eth0 first with the facts' MAC and metric 200, then the extra networks", () => {
    const args = argsFor({ networks: [{ lima: "shared", macAddress: "52:55:55:aa:bb:cc", metric: 50 }, { socket: "/run/x.sock" }] });
    expect(args.networks[0]).toEqual({ interface: "eth0", macAddress: "52:55:55:12:34:56", metric: 200 });
    expect(args.networks[1]).toEqual({ interface: "lima0", macAddress: "52:55:55:aa:bb:cc", metric: 50 });
    expect(args.networks[2]).toMatchObject({ interface: "lima1", metric: 100 });
  });

  test.each<{ raw: DenYaml; want: string[] }>([
    { raw: { dns: ["8.8.8.8"], hostResolver: { enabled: false } }, want: ["8.8.8.8"] },
    { raw: { dns: ["8.8.8.8"] }, want: [] },
    { raw: { hostResolver: { enabled: false } }, want: [] },
  ])("seedArgsFrom() passes dns $want to the guest", ({ raw, want }) => {
    expect(argsFor(raw).dnsAddresses).toEqual(want);
  });

  test.each<{ provision: DenYaml["provision"]; want: boolean }>([
    { provision: [{ mode: "dependency", script: "x", skipDefaultDependencyResolution: true }], want: true },
    { provision: [{ mode: "dependency", script: "x" }], want: false },
    { provision: [{ script: "x" }], want: false },
  ])("seedArgsFrom() sets skipDefaultDependencyResolution to $want", ({ provision, want }) => {
    expect(argsFor({ provision }).skipDefaultDependencyResolution).toBe(want);
  });

  test("seedArgsFrom() trusts the CA files before the inline certificates, each trimmed", () => {
    const args = seedArgsFrom(filledConfig({ caCerts: { certs: ["  B1\n\n  B2  \n"], removeDefaults: true } }), seedFacts({ caCertFiles: ["A1\r\nA2\n"] }));
    expect(args.caCerts).toEqual({ removeDefaults: true, trusted: ["A1\nA2\n", "B1\nB2\n"] });
  });

  test("seedArgsFrom() does not share arrays with the config", () => {
    const config = filledConfig({ provision: [{ script: "x" }], param: { A: "1" } });
    const args = seedArgsFrom(config, seedFacts());
    args.provision.push({ mode: "system", script: "y" });
    args.param.B = "2";
    expect(config.provision).toHaveLength(1);
    expect(config.param).toEqual({ A: "1" });
  });

  test("seedArgsFrom() takes the flags from the config", () => {
    const args = argsFor({ plain: true, upgradePackages: true, containerd: { system: true, user: false } }, { debug: true });
    expect(args).toMatchObject({ plain: true, upgradePackages: true, containerd: { system: false, user: false }, debug: true, timezone: "", mounts: [] });
  });
});

describe("seedArgsFrom() proxy environment", () => {
  test.each<{ label: string; raw: DenYaml; hostEnv: Record<string, string>; want: Record<string, string> }>([
    { label: "copies host proxies and mirrors the case", raw: {}, hostEnv: { http_proxy: "http://p:1", NO_PROXY: "a,b", HOME: "/x" }, want: { http_proxy: "http://p:1", HTTP_PROXY: "http://p:1", no_proxy: "a,b", NO_PROXY: "a,b" } },
    { label: "ignores host proxies when propagateProxyEnv is off", raw: { propagateProxyEnv: false }, hostEnv: { http_proxy: "http://p:1" }, want: {} },
    { label: "lets the host override env:", raw: { env: { https_proxy: "http://a:1" } }, hostEnv: { https_proxy: "http://b:2" }, want: { https_proxy: "http://b:2", HTTPS_PROXY: "http://b:2" } },
    { label: "keeps env: when the host has none", raw: { env: { ftp_proxy: "http://a:1", EDITOR: "vi" } }, hostEnv: {}, want: { ftp_proxy: "http://a:1", FTP_PROXY: "http://a:1", EDITOR: "vi" } },
    { label: "prefers the lower-case value", raw: {}, hostEnv: { http_proxy: "http://low:1", HTTP_PROXY: "http://up:1" }, want: { http_proxy: "http://low:1", HTTP_PROXY: "http://low:1" } },
    { label: "drops an empty proxy", raw: { env: { http_proxy: "http://a:1" } }, hostEnv: { http_proxy: "" }, want: {} },
    { label: "points a loopback proxy at the gateway", raw: {}, hostEnv: { HTTPS_PROXY: "http://127.0.0.1:3128" }, want: { https_proxy: "http://10.0.2.2:3128", HTTPS_PROXY: "http://10.0.2.2:3128" } },
    { label: "leaves no_proxy alone", raw: {}, hostEnv: { no_proxy: "localhost,127.0.0.1" }, want: { no_proxy: "localhost,127.0.0.1", NO_PROXY: "localhost,127.0.0.1" } },
  ])("seedArgsFrom() $label", ({ raw, hostEnv, want }) => {
    expect(argsFor(raw, { hostEnv }).env).toEqual(want);
  });

  test.each([
    { value: "http://localhost:3128", want: "http://10.0.2.2:3128" },
    { value: "http://LOCALHOST", want: "http://10.0.2.2" },
    { value: "socks5://user:pa%40ss@127.0.0.53:1080/path?q=1", want: "socks5://user:pa%40ss@10.0.2.2:1080/path?q=1" },
    { value: "http://[::1]:8080/", want: "http://10.0.2.2:8080/" },
    { value: "http://proxy.example:3128", want: "http://proxy.example:3128" },
    { value: "http://127.example.com:1", want: "http://127.example.com:1" },
    { value: "localhost:3128", want: "localhost:3128" },
    { value: "not a url", want: "not a url" },
  ])("proxyViaGateway() turns $value into $want", ({ value, want }) => {
    expect(proxyViaGateway(value)).toBe(want);
  });
});

describe("mountTag()", () => {
  test.each([
    { location: "/home/alice", mountPoint: "/home/alice" },
    { location: "/srv/data", mountPoint: "/mnt/data" },
    { location: "/a b", mountPoint: "/ü" },
  ])("mountTag() is den- and 8 hex digits of sha256($location:$mountPoint)", ({ location, mountPoint }) => {
    const hex = createHash("sha256").update(`${location}:${mountPoint}`).digest("hex");
    expect(mountTag(location, mountPoint)).toBe(`den-${hex.slice(0, 8)}`);
    expect(mountTag(location, mountPoint)).toMatch(/^den-[0-9a-f]{8}$/);
  });

  test("mountTag() differs when only the mount point differs", () => {
    expect(mountTag("/srv", "/a")).not.toBe(mountTag("/srv", "/b"));
  });
});
