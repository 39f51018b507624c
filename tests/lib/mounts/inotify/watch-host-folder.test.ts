import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdir, mkdtemp, realpath, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangeHint } from "../../../../lib/mounts/inotify/fs-change-coalescer.ts";
import { watchHostFolder, type HostFolderWatch } from "../../../../lib/mounts/inotify/watch-host-folder.ts";

let root: string;
let watch: HostFolderWatch | undefined;
let seen: { path: string; hint: ChangeHint }[];

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "den-watch-")));
  seen = [];
});

afterEach(async () => {
  watch?.close();
  await rm(root, { recursive: true, force: true });
});

function start(): void {
  watch = watchHostFolder(root, (path, hint) => seen.push({ path, hint }), { onError: (error) => { throw error; } });
}

async function waitFor(path: string, hint?: ChangeHint): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!seen.some((entry) => entry.path === path && (hint === undefined || entry.hint === hint))) {
    if (Date.now() > deadline) throw new Error(`no notification for ${path}; saw ${JSON.stringify(seen)}`);
    await Bun.sleep(5);
  }
}

test.each<{ name: string; prepare: () => Promise<unknown>; act: () => Promise<unknown>; path: string; hint: ChangeHint | undefined }>([
  {
    name: "a file created at the top",
    prepare: async () => {},
    act: async () => writeFile(join(root, "new.txt"), "x"),
    path: "new.txt",
    hint: "rename",
  },
  {
    name: "a file written in a nested folder",
    prepare: async () => {
      await mkdir(join(root, "a/b"), { recursive: true });
      await writeFile(join(root, "a/b/f"), "1");
    },
    act: async () => writeFile(join(root, "a/b/f"), "22"),
    path: "a/b/f",
    hint: "change",
  },
  {
    name: "a file in a folder created after the watch started",
    prepare: async () => {},
    act: async () => {
      await mkdir(join(root, "later/deeper"), { recursive: true });
      await Bun.sleep(50);
      await writeFile(join(root, "later/deeper/f"), "x");
    },
    path: "later/deeper/f",
    hint: undefined,
  },
  {
    name: "a file deleted",
    prepare: async () => writeFile(join(root, "gone"), "x"),
    act: async () => rm(join(root, "gone")),
    path: "gone",
    hint: "rename",
  },
  {
    name: "a name with spaces and unicode",
    prepare: async () => {},
    act: async () => writeFile(join(root, "a b ü.txt"), "x"),
    path: "a b ü.txt",
    hint: undefined,
  },
  {
    name: "the target of an editor's rename-over save",
    prepare: async () => writeFile(join(root, "doc"), "old"),
    act: async () => {
      await writeFile(join(root, ".doc.swp"), "new");
      await rename(join(root, ".doc.swp"), join(root, "doc"));
    },
    path: "doc",
    hint: "rename",
  },
])(
  "watchHostFolder() reports $name",
  async ({ prepare, act, path, hint }) => {
    await prepare();
    start();
    await act();
    await waitFor(join(root, path), hint);
  },
);

test("watchHostFolder() reports nothing after close", async () => {
  start();
  watch?.close();
  await writeFile(join(root, "quiet"), "x");
  await Bun.sleep(100);
  expect(seen).toEqual([]);
});

test("watchHostFolder() throws for a folder that does not exist", () => {
  expect(() => watchHostFolder(join(root, "missing"), () => {}, { onError: () => {} })).toThrow();
});
