import { describe, expect, test } from "bun:test";
import { containerdArchiveCandidates, containerdWanted } from "../../../lib/containerd/containerd-archive-candidates.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { caughtError } from "../../support/caught-den-error.ts";

const amd = { location: "https://example.com/nerdctl-full-amd64.tar.gz", arch: "x86_64", digest: "sha256:" + "a".repeat(64) };
const amdFallback = { location: "https://mirror.example.com/nerdctl-full-amd64.tar.gz", arch: "x86_64", digest: null };
const arm = { location: "https://example.com/nerdctl-full-arm64.tar.gz", arch: "aarch64", digest: null };

type Archive = { location: string; arch: string; digest: string | null };

function config(overrides: { system?: boolean; user?: boolean; plain?: boolean; arch?: string; archives?: readonly Archive[] }) {
  return {
    arch: overrides.arch ?? "x86_64",
    plain: overrides.plain ?? false,
    containerd: { system: overrides.system ?? false, user: overrides.user ?? true, archives: [...(overrides.archives ?? [amd, arm, amdFallback])] },
  };
}

describe("containerdWanted()", () => {
  test.each([
    { name: "user only", system: false, user: true, plain: false, want: true },
    { name: "system only", system: true, user: false, plain: false, want: true },
    { name: "both", system: true, user: true, plain: false, want: true },
    { name: "neither", system: false, user: false, plain: false, want: false },
    { name: "plain mode with both on", system: true, user: true, plain: true, want: false },
  ])("containerdWanted() is $want for $name", ({ system, user, plain, want }) => {
    expect(containerdWanted(config({ system, user, plain }))).toBe(want);
  });
});

describe("containerdArchiveCandidates()", () => {
  test.each([
    { name: "the guest arch's archives in the order written", overrides: {}, want: [amd.location, amdFallback.location] },
    { name: "the aarch64 archive for an aarch64 guest", overrides: { arch: "aarch64" }, want: [arm.location] },
    { name: "nothing when containerd is off", overrides: { user: false }, want: [] },
    { name: "nothing in plain mode", overrides: { system: true, plain: true }, want: [] },
    { name: "nothing when containerd is off, even without an archive for the arch", overrides: { user: false, arch: "riscv64" }, want: [] },
  ])("containerdArchiveCandidates() gives $name", ({ overrides, want }) => {
    expect(containerdArchiveCandidates(config(overrides)).map((archive) => archive.location)).toEqual([...want]);
  });

  test.each([
    { name: "an arch without an archive", overrides: { arch: "riscv64" }, message: 'containerd.archives: No archive for arch "riscv64" (containerd.user is enabled); archives are listed for "x86_64", "aarch64"' },
    { name: "an empty list with system and user on", overrides: { system: true, archives: [] }, message: 'containerd.archives: No archive for arch "x86_64" (containerd.system and containerd.user are enabled)' },
    { name: "a system-only guest", overrides: { system: true, user: false, arch: "aarch64", archives: [amd] }, message: 'containerd.archives: No archive for arch "aarch64" (containerd.system is enabled); archives are listed for "x86_64"' },
  ])("containerdArchiveCandidates() refuses $name with a ConfigError naming the field and arch", ({ overrides, message }) => {
    const error = caughtError(() => containerdArchiveCandidates(config(overrides)), ConfigError);
    expect(error.message).toBe(message);
    expect(error.issues[0]?.path).toEqual(["containerd", "archives"]);
    expect(error.hint).toContain("add a containerd.archives entry with arch:");
  });
});
