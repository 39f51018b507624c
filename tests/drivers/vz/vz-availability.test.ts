import { expect, test } from "bun:test";
import type { DriverAvailability, DriverHost, HelperFacts } from "../../../drivers/driver.ts";
import { runningHost } from "../../../drivers/registry.ts";
import { vzAvailability } from "../../../drivers/vz/vz-availability.ts";

const signed: HelperFacts = { source: "beside", path: "/opt/homebrew/bin/den-vz-helper", executable: true, entitled: true };
const embedded: HelperFacts = { source: "embedded", path: "/Users/alice/.den/_cache/vz-helper/ab/den-vz-helper", executable: true, entitled: null };
const none: HelperFacts = { source: null, path: null, executable: false, entitled: null };
const standIn: HelperFacts = { source: "env", path: "/work/standin.ts", executable: true, entitled: null };
const mac = (macosVersion: string | undefined, vzHelper: HelperFacts | undefined, arch = "aarch64"): DriverHost => ({
  os: "darwin",
  arch,
  ...(macosVersion !== undefined && { macosVersion }),
  ...(vzHelper !== undefined && { vzHelper }),
});
const available: DriverAvailability = { available: true };
const unavailable = (reason: string): DriverAvailability => ({ available: false, reason });

test.each([
  { name: "a Mac on macOS 14 with a signed helper beside den", host: mac("14.5", signed), want: available },
  { name: "a Mac on macOS 13.0 with a signed helper", host: mac("13.0", signed), want: available },
  { name: "a Mac with the helper embedded in den", host: mac("15.1", embedded), want: available },
  { name: "an Intel Mac (its guests are x86_64, which VZ runs natively)", host: mac("14.5", signed, "x86_64"), want: available },
  { name: "a Mac whose codesign could not be asked", host: mac("14.5", { ...signed, entitled: null }), want: available },
  {
    name: "a Mac without a helper",
    host: mac("14.5", none),
    want: unavailable("this den was built without the VZ helper (built on Linux); install den from Homebrew or a release tarball"),
  },
  {
    name: "a Mac nobody looked for a helper on",
    host: mac("14.5", undefined),
    want: unavailable("this den was built without the VZ helper (built on Linux); install den from Homebrew or a release tarball"),
  },
  {
    name: "a Mac with an unsigned helper",
    host: mac("14.5", { ...signed, entitled: false }),
    want: unavailable(
      'the VZ helper "/opt/homebrew/bin/den-vz-helper" is not signed with com.apple.security.virtualization (sign it: codesign --force --sign - --entitlements FILE.plist "/opt/homebrew/bin/den-vz-helper")',
    ),
  },
  { name: "macOS 12", host: mac("12.7", signed), want: unavailable("VZ needs macOS 13 or later (this is macOS 12.7)") },
  { name: "macOS 12 also without a helper names the version first", host: mac("12.7.6", none), want: unavailable("VZ needs macOS 13 or later (this is macOS 12.7.6)") },
  { name: "a Mac whose version is unknown", host: mac(undefined, signed), want: unavailable("VZ needs macOS 13 or later, and den could not read this Mac's version") },
  {
    name: "a Mac whose DEN_VZ_HELPER is not executable",
    host: mac("14.5", { ...standIn, executable: false }),
    want: unavailable('DEN_VZ_HELPER names "/work/standin.ts", which is not an executable file'),
  },
  { name: "a Mac whose DEN_VZ_HELPER names a signed helper", host: mac("14.5", { ...standIn, entitled: true }), want: available },
  {
    name: "Linux without DEN_VZ_HELPER",
    host: { os: "linux", arch: "x86_64" },
    want: unavailable("VZ needs macOS (set DEN_VZ_HELPER to a helper speaking drivers/vz/helper/PROTOCOL.md to use a stand-in)"),
  },
  {
    name: "Linux with a den-vz-helper beside den (not a stand-in anyone asked for)",
    host: { os: "linux", arch: "x86_64", vzHelper: { ...signed, entitled: null } },
    want: unavailable("VZ needs macOS (set DEN_VZ_HELPER to a helper speaking drivers/vz/helper/PROTOCOL.md to use a stand-in)"),
  },
  { name: "Linux with DEN_VZ_HELPER naming an executable stand-in", host: { os: "linux", arch: "x86_64", vzHelper: standIn }, want: available },
  {
    name: "Linux with DEN_VZ_HELPER naming a missing file",
    host: { os: "linux", arch: "aarch64", vzHelper: { ...standIn, executable: false } },
    want: unavailable('DEN_VZ_HELPER names "/work/standin.ts", which is not an executable file'),
  },
])("vzAvailability() on $name", ({ host, want }) => {
  expect(vzAvailability(host)).toEqual(want);
});

test("runningHost() reads this machine once and says what it found of the VZ helper", () => {
  const host = runningHost();
  expect(runningHost()).toBe(host);
  expect(host.os).toBe(process.platform);
  expect(host.vzHelper).toBeDefined();
  if (host.os !== "darwin") expect(host.macosVersion).toBeUndefined();
});
