import { expect, test } from "bun:test";
import type { GuestFsEvent } from "../../../../agent/protocol/messages.ts";
import { collapseToFolders } from "../../../../lib/mounts/inotify/collapse-to-folders.ts";

const modify = (path: string): GuestFsEvent => ({ path, kind: "modify" });
const files = (folder: string, count: number) => Array.from({ length: count }, (_, i) => modify(`${folder}/f${i}`));

test.each<{ name: string; events: GuestFsEvent[]; maxEvents: number; expected: GuestFsEvent[] }>([
  {
    name: "a batch within the limit is passed through",
    events: [modify("/m/a"), { path: "/m/b", kind: "delete" }],
    maxEvents: 5,
    expected: [modify("/m/a"), { path: "/m/b", kind: "delete" }],
  },
  {
    name: "the last event for a path wins at the position of the first",
    events: [{ path: "/m/a", kind: "create" }, modify("/m/b"), { path: "/m/a", kind: "delete" }],
    maxEvents: 5,
    expected: [{ path: "/m/a", kind: "delete" }, modify("/m/b")],
  },
  {
    name: "the busiest folder is folded first",
    events: [...files("/m/big", 6), modify("/m/small/x"), modify("/m/small/y"), modify("/m/top")],
    maxEvents: 4,
    expected: [modify("/m/big"), modify("/m/small/x"), modify("/m/small/y"), modify("/m/top")],
  },
  {
    name: "folders with one entry each are folded one level up",
    events: [modify("/m/a/1/x"), modify("/m/a/2/x"), modify("/m/a/3/x")],
    maxEvents: 2,
    expected: [modify("/m/a")],
  },
  {
    name: "a fold never goes above the mount point",
    events: [modify("/m/x"), modify("/m/y"), modify("/n/z")],
    maxEvents: 1,
    expected: [modify("/m"), modify("/n")],
  },
  {
    name: "mount points themselves are kept even over the limit",
    events: [modify("/m"), modify("/n")],
    maxEvents: 1,
    expected: [modify("/m"), modify("/n")],
  },
  {
    name: "deletes fold into a modify of their folder",
    events: [{ path: "/m/d/a", kind: "delete" }, { path: "/m/d/b", kind: "delete" }, { path: "/m/d/c", kind: "delete" }],
    maxEvents: 1,
    expected: [modify("/m/d")],
  },
])(
  "collapseToFolders(): $name",
  ({ events, maxEvents, expected }) => {
    expect(collapseToFolders(events, { maxEvents, roots: ["/m", "/n"] })).toEqual(expected);
  },
);

test("collapseToFolders() turns a 10,000-file checkout over 20 folders into at most the limit", () => {
  const events = Array.from({ length: 20 }, (_, folder) => files(`/repo/src/d${folder}`, 500)).flat();
  const collapsed = collapseToFolders(events, { maxEvents: 1000, roots: ["/repo"] });
  expect(collapsed.length).toBeLessThanOrEqual(1000);
  // Only as many folders are folded as needed (19 × 499 entries saved), the last one keeps its 500 files.
  expect(collapsed).toHaveLength(519);
  expect(collapsed.slice(0, 19)).toEqual(Array.from({ length: 19 }, (_, folder) => modify(`/repo/src/d${folder}`)));
});
