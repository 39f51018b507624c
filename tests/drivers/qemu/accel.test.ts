import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AccelState,
  BrokenKvmWarning,
  type ChooseInput,
  chooseAccelerator,
  DeniedKvmWarning,
  type ProbeContext,
  type ProbeResult,
  probeAccelerator,
  readAccelCache,
  resolveAccelerator,
} from "../../../drivers/qemu/accel.ts";
import { DenError } from "../../../lib/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "den-accel-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const qemuBinary = Bun.which("qemu-system-x86_64") ?? "/usr/bin/qemu-system-x86_64";

const linux: ChooseInput = { hostOs: "Linux", hostArch: "x86_64", guestArch: "x86_64", kvm: "usable", hvf: "absent" };
const mac: ChooseInput = { hostOs: "Darwin", hostArch: "aarch64", guestArch: "aarch64", kvm: "absent", hvf: "usable" };

describe("chooseAccelerator()", () => {
  test.each([
    { name: "kvm for a native guest on Linux", input: linux, want: { accel: "kvm" } },
    { name: "hvf for a native guest on macOS", input: mac, want: { accel: "hvf" } },
    { name: "tcg for a foreign guest on Linux", input: { ...linux, guestArch: "aarch64" }, want: { accel: "tcg" } },
    { name: "tcg for a foreign guest on macOS", input: { ...mac, guestArch: "x86_64" }, want: { accel: "tcg" } },
    { name: "tcg without a warning when KVM is absent", input: { ...linux, kvm: "absent" as AccelState }, want: { accel: "tcg" } },
    { name: "tcg with a warning when KVM is broken", input: { ...linux, kvm: "broken" as AccelState }, want: { accel: "tcg", warning: BrokenKvmWarning } },
    { name: "tcg with a warning when /dev/kvm is denied", input: { ...linux, kvm: "denied" as AccelState }, want: { accel: "tcg", warning: DeniedKvmWarning } },
    { name: "tcg when HVF is absent", input: { ...mac, hvf: "absent" as AccelState }, want: { accel: "tcg" } },
    { name: "DEN_QEMU_ACCEL=tcg over a usable KVM", input: { ...linux, envAccel: "tcg" }, want: { accel: "tcg" } },
    { name: "DEN_QEMU_ACCEL=kvm over a broken KVM", input: { ...linux, kvm: "broken" as AccelState, envAccel: "kvm" }, want: { accel: "kvm" } },
    { name: "vmOpts accel when DEN_QEMU_ACCEL is unset", input: { ...linux, vmOptsAccel: "tcg" }, want: { accel: "tcg" } },
    { name: "DEN_QEMU_ACCEL over vmOpts accel", input: { ...linux, kvm: "broken" as AccelState, envAccel: "kvm", vmOptsAccel: "tcg" }, want: { accel: "kvm" } },
  ])("chooseAccelerator() picks $name", ({ input, want }) => {
    expect(chooseAccelerator(input)).toEqual(want);
  });

  test.each([
    { name: "an unknown name", input: { ...linux, envAccel: "xen" }, message: 'Unknown accelerator "xen" in DEN_QEMU_ACCEL: expected kvm, hvf or tcg' },
    { name: "hvf on Linux", input: { ...linux, envAccel: "hvf" }, message: 'Cannot use accelerator "hvf" on Linux: it only exists on macOS' },
    { name: "kvm on macOS", input: { ...mac, vmOptsAccel: "kvm" }, message: 'Cannot use accelerator "kvm" on Darwin: it only exists on Linux' },
    { name: "kvm for a foreign guest", input: { ...linux, guestArch: "aarch64", envAccel: "kvm" }, message: 'Cannot use accelerator "kvm" for an aarch64 guest on an x86_64 host' },
  ])("chooseAccelerator() refuses $name", ({ input, message }) => {
    expect(() => chooseAccelerator(input)).toThrow(new DenError("CONFIG_INVALID", message));
  });
});

describe("probeAccelerator()", () => {
  const base: ProbeContext = { qemuBinary, hostOs: "Linux", hostArch: "x86_64", tmpDir: dir, bootId: async () => "boot-1" };

  test("probeAccelerator() runs the probe guest under tcg and finds it usable", async () => {
    expect(await probeAccelerator("tcg", { ...base, timeoutMs: 10_000 })).toEqual({ state: "usable" });
  });

  test("probeAccelerator() calls kvm absent when the device does not exist", async () => {
    expect(await probeAccelerator("kvm", { ...base, kvmDevice: join(dir, "no-kvm") })).toEqual({ state: "absent", reason: `cannot open ${join(dir, "no-kvm")}: ENOENT` });
  });

  test.each([
    { accel: "kvm" as const, hostOs: "Darwin" as const, reason: "KVM exists only on Linux" },
    { accel: "hvf" as const, hostOs: "Linux" as const, reason: "HVF exists only on macOS" },
  ])("probeAccelerator() calls $accel absent on $hostOs", async ({ accel, hostOs, reason }) => {
    expect(await probeAccelerator(accel, { ...base, hostOs })).toEqual({ state: "absent", reason });
  });

  test("probeAccelerator() writes its result to the cache keyed by boot, binary and mtime", async () => {
    const cachePath = join(dir, "cache-write", "accel.json");
    expect(await probeAccelerator("tcg", { ...base, cachePath, timeoutMs: 10_000 })).toEqual({ state: "usable" });
    expect(await readAccelCache(cachePath)).toEqual({
      entries: { tcg: { bootId: "boot-1", qemuBinary, qemuMtimeMs: statSync(qemuBinary).mtimeMs, result: { state: "usable" } } },
    });
  });

  test("probeAccelerator() answers from the cache for the same boot and binary", async () => {
    const cachePath = join(dir, "cache-hit.json");
    const cached: ProbeResult = { state: "broken", reason: "from the cache" };
    writeFileSync(cachePath, JSON.stringify({ entries: { tcg: { bootId: "boot-1", qemuBinary, qemuMtimeMs: statSync(qemuBinary).mtimeMs, result: cached } } }));
    expect(await probeAccelerator("tcg", { ...base, cachePath })).toEqual(cached);
  });

  test("probeAccelerator() probes again after a reboot", async () => {
    const cachePath = join(dir, "cache-stale.json");
    const stale = { bootId: "boot-0", qemuBinary, qemuMtimeMs: statSync(qemuBinary).mtimeMs, result: { state: "broken", reason: "old boot" } };
    writeFileSync(cachePath, JSON.stringify({ entries: { tcg: stale } }));
    expect(await probeAccelerator("tcg", { ...base, cachePath, timeoutMs: 10_000 })).toEqual({ state: "usable" });
    expect((await readAccelCache(cachePath)).entries.tcg?.bootId).toBe("boot-1");
  });

  test("readAccelCache() treats a corrupt file as an empty cache", async () => {
    const cachePath = join(dir, "corrupt.json");
    writeFileSync(cachePath, "{not json");
    expect(await readAccelCache(cachePath)).toEqual({ entries: {} });
  });
});

describe("resolveAccelerator()", () => {
  const ctx: ProbeContext = { qemuBinary, hostOs: "Linux", hostArch: "x86_64", tmpDir: dir };

  test("resolveAccelerator() takes a forced accelerator without probing", async () => {
    // A binary that does not exist proves no probe ran.
    expect(await resolveAccelerator({ hostOs: "Linux", hostArch: "x86_64", guestArch: "x86_64", envAccel: "tcg" }, { ...ctx, qemuBinary: "/nonexistent" })).toEqual({ accel: "tcg" });
  });

  test("resolveAccelerator() falls back to tcg silently when /dev/kvm is absent", async () => {
    const request = { hostOs: "Linux" as const, hostArch: "x86_64", guestArch: "x86_64" };
    expect(await resolveAccelerator(request, { ...ctx, kvmDevice: join(dir, "no-kvm") })).toEqual({ accel: "tcg" });
  });
});
