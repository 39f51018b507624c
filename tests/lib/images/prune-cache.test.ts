import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheEntry } from "../../../lib/images/cache-layout.ts";
import { pruneCache } from "../../../lib/images/prune-cache.ts";
import { acquireInstanceLock } from "../../../lib/store/instance-lock.ts";

const root = mkdtempSync(join(tmpdir(), "den-prune-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A cache with a complete entry for a.img, a complete one with a stale partial for b.img, and a half-done c.img. */
function cache(): { dir: string; entries: Record<string, ReturnType<typeof cacheEntry>> } {
  const dir = join(root, `cache-${++counter}`);
  const entries: Record<string, ReturnType<typeof cacheEntry>> = {};
  for (const name of ["a.img", "b.img", "c.img"]) {
    const url = `https://example.org/${name}`;
    const entry = cacheEntry(dir, url);
    mkdirSync(entry.dir, { recursive: true });
    writeFileSync(entry.url, url);
    if (name !== "c.img") writeFileSync(entry.data, "0123456789");
    if (name !== "a.img") {
      writeFileSync(entry.partial, "01234");
      writeFileSync(entry.partialInfo, "{}");
      writeFileSync(join(entry.dir, "data.tmp.1.2"), "x");
    }
    entries[name] = entry;
  }
  return { dir, entries };
}

test("pruneCache() removes every entry without a keep list", async () => {
  const { dir, entries } = cache();
  const result = await pruneCache(dir);
  expect(result).toEqual({ removedEntries: 3, keptEntries: 0, removedPartials: 0, busyEntries: 0, freedBytes: expect.any(Number) });
  expect(Object.values(entries).some((entry) => existsSync(entry.dir))).toBe(false);
});

test.each([
  { name: "a.img and b.img", keep: ["https://example.org/a.img", "https://example.org/b.img"], removed: 1, kept: 2, partials: 3, left: ["a.img", "b.img"] },
  { name: "nothing", keep: [], removed: 3, kept: 0, partials: 0, left: [] },
])("pruneCache() keeping $name removes the rest and the stale partial files of what it keeps", async ({ keep, removed, kept, partials, left }) => {
  const { dir, entries } = cache();
  const result = await pruneCache(dir, { keep: new Set(keep) });
  expect(result).toMatchObject({ removedEntries: removed, keptEntries: kept, removedPartials: partials, busyEntries: 0 });
  expect(Object.keys(entries).filter((name) => existsSync(entries[name]!.dir))).toEqual([...left]);
  for (const name of left) expect(readdirSync(entries[name]!.dir).sort()).toEqual(["data", "url"]);
});

test("pruneCache() leaves an entry alone while a download holds its lock", async () => {
  const { dir, entries } = cache();
  const lock = await acquireInstanceLock(entries["c.img"]!.dir, { timeoutMs: 0, owner: "den download" });
  try {
    const result = await pruneCache(dir);
    expect(result).toMatchObject({ removedEntries: 2, busyEntries: 1 });
    expect(existsSync(entries["c.img"]!.partial)).toBe(true);
  } finally {
    await lock.release();
  }
});

test("pruneCache() of a cache that does not exist removes nothing", async () => {
  expect(await pruneCache(join(root, "nowhere"))).toEqual({ removedEntries: 0, keptEntries: 0, removedPartials: 0, busyEntries: 0, freedBytes: 0 });
});
