import { expect, test } from "bun:test";
import { ChangeFingerprints, type FileFingerprint } from "../../../../lib/mounts/inotify/change-fingerprints.ts";
import { classifyChanges, type HostChange } from "../../../../lib/mounts/inotify/classify-changes.ts";
import type { PendingChange } from "../../../../lib/mounts/inotify/fs-change-coalescer.ts";

const print = (mtimeNs: bigint, size = 1n): FileFingerprint => ({ mtimeNs, size, mode: 0o100644n, ino: 7n });

test.each<{ name: string; known: FileFingerprint | undefined; hint: PendingChange["hint"]; now: FileFingerprint | undefined; expected: HostChange["kind"] | undefined }>([
  { name: "a new path that exists is a create", known: undefined, hint: "rename", now: print(1n), expected: "create" },
  { name: "a changed file is a modify", known: print(1n), hint: "change", now: print(2n), expected: "modify" },
  { name: "a change notification for an unknown file is a modify", known: undefined, hint: "change", now: print(1n), expected: "modify" },
  { name: "a file that is gone is a delete", known: print(1n), hint: "change", now: undefined, expected: "delete" },
  { name: "a rename of a path gone now is a delete", known: undefined, hint: "rename", now: undefined, expected: "delete" },
  { name: "the guest's own touch (same mtime, size, mode, inode) is dropped", known: print(1n), hint: "change", now: print(1n), expected: undefined },
  { name: "a same-size rewrite with a new mtime is a modify", known: print(1n, 5n), hint: "change", now: print(2n, 5n), expected: "modify" },
  { name: "a file replaced by rename over it is a create", known: print(1n), hint: "rename", now: { ...print(1n), ino: 8n }, expected: "create" },
])(
  "classifyChanges(): $name",
  async ({ known, hint, now, expected }) => {
    const fingerprints = new ChangeFingerprints();
    if (known !== undefined) fingerprints.same("/h/f", known);
    const changes = await classifyChanges([{ path: "/h/f", hint }], { stat: async () => now, fingerprints });
    expect(changes).toEqual(expected === undefined ? [] : [{ path: "/h/f", kind: expected }]);
  },
);

test("classifyChanges() forgets a deleted path so it comes back as a create", async () => {
  const fingerprints = new ChangeFingerprints();
  let current: FileFingerprint | undefined = print(1n);
  const ctx = { stat: async () => current, fingerprints };
  expect(await classifyChanges([{ path: "/h/f", hint: "change" }], ctx)).toEqual([{ path: "/h/f", kind: "modify" }]);
  current = undefined;
  expect(await classifyChanges([{ path: "/h/f", hint: "rename" }], ctx)).toEqual([{ path: "/h/f", kind: "delete" }]);
  current = print(1n);
  expect(await classifyChanges([{ path: "/h/f", hint: "rename" }], ctx)).toEqual([{ path: "/h/f", kind: "create" }]);
});

test("ChangeFingerprints forgets the least recently reported path beyond its limit", () => {
  const fingerprints = new ChangeFingerprints(2);
  fingerprints.same("/a", print(1n));
  fingerprints.same("/b", print(1n));
  fingerprints.same("/a", print(1n));
  fingerprints.same("/c", print(1n));
  expect(fingerprints.same("/a", print(1n))).toBe(true);
  expect(fingerprints.same("/b", print(1n))).toBe(false);
});
