import { describe, expect, test } from "bun:test";
import { embeddedVzHelper } from "../../../drivers/vz/embedded-helper.ts";

const sha256 = "a".repeat(64);
const named = (name: string, text: string) => Object.assign(new Blob([text]), { name });

describe("embeddedVzHelper()", () => {
  test("embeddedVzHelper() finds the helper for this arch among the embedded files and reads it on demand", async () => {
    const files = [named("den-guestagent-linux-x64-1a2b3c4d.zst", "agent"), named("den-vz-helper-darwin-arm64-0f9e8d7c.", "helper bytes")];
    const helper = embeddedVzHelper({ embeddedFiles: files, sha256, arch: "arm64" });
    expect(helper?.sha256).toBe(sha256);
    expect(new TextDecoder().decode(await helper?.bytes())).toBe("helper bytes");
  });

  test.each([
    { name: "den run from source (no build define)", files: [named("den-vz-helper-darwin-arm64-0f9e8d7c.", "x")], sha256: undefined, arch: "arm64" },
    { name: "a build that embedded no helper", files: [named("den-guestagent-linux-arm64-1a2b3c4d.zst", "agent")], sha256, arch: "arm64" },
    { name: "a helper for another arch", files: [named("den-vz-helper-darwin-x64-0f9e8d7c.", "x")], sha256, arch: "arm64" },
    { name: "a define that is no sha256", files: [named("den-vz-helper-darwin-arm64-0f9e8d7c.", "x")], sha256: "not-a-digest", arch: "arm64" },
  ])("embeddedVzHelper() returns null for $name", ({ files, sha256: digest, arch }) => {
    expect(embeddedVzHelper({ embeddedFiles: files, sha256: digest, arch })).toBeNull();
  });

  test("embeddedVzHelper() returns null in this den, run from source", () => {
    expect(embeddedVzHelper()).toBeNull();
  });
});
