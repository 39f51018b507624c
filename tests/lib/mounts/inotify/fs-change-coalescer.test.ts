import { expect, test } from "bun:test";
import { FsChangeCoalescer, type ChangeHint, type PendingChange } from "../../../../lib/mounts/inotify/fs-change-coalescer.ts";

const timing = { quietMs: 20, maxDelayMs: 100 };

test.each<{ name: string; adds: [string, ChangeHint, number][]; dueAt: number; batch: PendingChange[] }>([
  {
    name: "one notification is due after the quiet time",
    adds: [["/a", "change", 0]],
    dueAt: 20,
    batch: [{ path: "/a", hint: "change" }],
  },
  {
    name: "notifications for one path merge into one entry",
    adds: [["/a", "change", 0], ["/a", "change", 5], ["/a", "change", 6]],
    dueAt: 26,
    batch: [{ path: "/a", hint: "change" }],
  },
  {
    name: "a rename anywhere in the burst makes the entry a rename",
    adds: [["/a", "rename", 0], ["/a", "change", 1]],
    dueAt: 21,
    batch: [{ path: "/a", hint: "rename" }],
  },
  {
    name: "a busy folder is still sent after the maximum delay",
    adds: Array.from({ length: 20 }, (_, i) => [`/f${i}`, "change", i * 10]),
    dueAt: 100,
    batch: Array.from({ length: 20 }, (_, i) => ({ path: `/f${i}`, hint: "change" })),
  },
  {
    name: "paths are listed in the order they last changed",
    adds: [["/a", "change", 0], ["/b", "change", 1], ["/a", "change", 2]],
    dueAt: 22,
    batch: [{ path: "/b", hint: "change" }, { path: "/a", hint: "change" }],
  },
])(
  "FsChangeCoalescer: $name",
  ({ adds, dueAt, batch }) => {
    const coalescer = new FsChangeCoalescer(timing);
    for (const [path, hint, now] of adds) coalescer.add(path, hint, now);
    expect(coalescer.dueAt()).toBe(dueAt);
    expect(coalescer.takeDue(dueAt - 1)).toEqual([]);
    expect(coalescer.takeDue(dueAt)).toEqual(batch);
    expect(coalescer.dueAt()).toBeUndefined();
    expect(coalescer.size).toBe(0);
  },
);

test("FsChangeCoalescer keeps one entry per path for a 10,000-file checkout", () => {
  const coalescer = new FsChangeCoalescer(timing);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10_000; i++) coalescer.add(`/repo/src/f${i}`, round === 0 ? "rename" : "change", round);
  }
  const batch = coalescer.takeAll();
  expect(batch).toHaveLength(10_000);
  expect(batch.every((entry) => entry.hint === "rename")).toBe(true);
});

test("FsChangeCoalescer starts a new batch after a take", () => {
  const coalescer = new FsChangeCoalescer(timing);
  coalescer.add("/a", "change", 0);
  coalescer.takeAll();
  coalescer.add("/b", "change", 500);
  expect(coalescer.dueAt()).toBe(520);
});

test("FsChangeCoalescer holds a batch back until the given time", () => {
  const coalescer = new FsChangeCoalescer(timing);
  coalescer.holdUntil(600);
  coalescer.add("/a", "change", 100);
  expect(coalescer.dueAt()).toBe(600);
  expect(coalescer.takeDue(599)).toEqual([]);
  expect(coalescer.takeDue(600)).toEqual([{ path: "/a", hint: "change" }]);
});
