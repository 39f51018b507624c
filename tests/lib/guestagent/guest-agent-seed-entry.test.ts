import { expect, test } from "bun:test";
import { guestAgentSeedEntries, runtimeIdLine } from "../../../lib/guestagent/guest-agent-seed-entry.ts";

const runtime = { sha256: "a".repeat(64), target: "linux-arm64" as const, bunVersion: "1.4.5" };

test("runtimeIdLine() is the runtime's sha256, target and Bun version on one line", () => {
  expect(runtimeIdLine(runtime)).toBe(`${"a".repeat(64)} linux-arm64 1.4.5\n`);
});

test("guestAgentSeedEntries() are the bundle and the runtime line, both 0644, with no runtime bytes", () => {
  const bundle = new TextEncoder().encode("console.log(1)");
  const entries = guestAgentSeedEntries({ bundle, runtime });
  expect(entries.map(({ path, mode, size }) => ({ path, mode, size }))).toEqual([
    { path: "den-guestagent.js", mode: 0o644, size: bundle.byteLength },
    { path: "den-guestagent.runtime", mode: 0o644, size: 64 + 19 },
  ]);
  expect(entries.map((entry) => entry.source())).toEqual([bundle, new TextEncoder().encode(runtimeIdLine(runtime))]);
});

test("guestAgentSeedEntries() with a musl runtime add its line as den-guestagent.runtime-musl, leaving the first line as it was", () => {
  const bundle = new TextEncoder().encode("console.log(1)");
  const muslRuntime = { sha256: "b".repeat(64), target: "linux-arm64-musl" as const, bunVersion: "1.4.5" };
  const entries = guestAgentSeedEntries({ bundle, runtime, muslRuntime });
  expect(entries.map(({ path, mode }) => ({ path, mode }))).toEqual([
    { path: "den-guestagent.js", mode: 0o644 },
    { path: "den-guestagent.runtime", mode: 0o644 },
    { path: "den-guestagent.runtime-musl", mode: 0o644 },
  ]);
  const decoder = new TextDecoder();
  expect(entries.slice(1).map((entry) => decoder.decode(entry.source() as Uint8Array))).toEqual([`${"a".repeat(64)} linux-arm64 1.4.5\n`, `${"b".repeat(64)} linux-arm64-musl 1.4.5\n`]);
});
