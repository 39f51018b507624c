import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, realpath, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GuestFsEvent } from "../../../../agent/protocol/messages.ts";
import { forwardFsEvents, type FsEventForwarder } from "../../../../lib/mounts/inotify/forward-fs-events.ts";

let root: string;
let forwarder: FsEventForwarder | undefined;
let batches: { at: number; events: GuestFsEvent[] }[];
let problems: string[];

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "den-forward-")));
  batches = [];
  problems = [];
});

afterEach(async () => {
  forwarder?.close();
  await rm(root, { recursive: true, force: true });
});

async function start(options: { maxEvents?: number } = {}): Promise<void> {
  forwarder = await forwardFsEvents([{ location: root, mountPoint: "/mnt/share" }], {
    send: (events) => batches.push({ at: performance.now(), events }),
    onProblem: (mount, error) => problems.push(`${mount.location}: ${error.message}`),
    ...options,
  });
}

const sent = () => batches.flatMap((batch) => batch.events);

async function waitForEvent(predicate: (event: GuestFsEvent) => boolean, timeoutMs = 2000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const batch = batches.find((entry) => entry.events.some(predicate));
    if (batch !== undefined) return batch.at;
    if (performance.now() > deadline) throw new Error(`no matching event; sent ${JSON.stringify(sent())}`);
    await Bun.sleep(2);
  }
}

test("forwardFsEvents() sends a host write as a modify of the guest path within 200 ms", async () => {
  await mkdir(join(root, "src"));
  await writeFile(join(root, "src/a.ts"), "1");
  await start();
  const written = performance.now();
  await writeFile(join(root, "src/a.ts"), "22");
  const at = await waitForEvent((event) => event.path === "/mnt/share/src/a.ts" && event.kind === "modify");
  expect(at - written).toBeLessThan(200);
});

test.each([
  { name: "a new file as a create", act: (dir: string) => writeFile(join(dir, "new"), "x"), expected: { path: "/mnt/share/new", kind: "create" } },
  { name: "a deleted file as a delete", act: (dir: string) => rm(join(dir, "old")), expected: { path: "/mnt/share/old", kind: "delete" } },
  { name: "a new folder as a create", act: (dir: string) => mkdir(join(dir, "folder")), expected: { path: "/mnt/share/folder", kind: "create" } },
])("forwardFsEvents() sends $name", async ({ act, expected }) => {
  await writeFile(join(root, "old"), "x");
  await start();
  await act(root);
  await waitForEvent((event) => event.path === expected.path && event.kind === expected.kind);
});

test("forwardFsEvents() merges an editor's burst of notifications into one event", async () => {
  await writeFile(join(root, "doc"), "0");
  await start();
  for (let i = 1; i <= 5; i++) await writeFile(join(root, "doc"), String(i));
  await waitForEvent((event) => event.path === "/mnt/share/doc");
  await Bun.sleep(150);
  expect(sent().filter((event) => event.path === "/mnt/share/doc")).toHaveLength(1);
});

test("forwardFsEvents() does not send the guest's touch back (same mtime and mode re-set)", async () => {
  await writeFile(join(root, "f"), "x");
  await start();
  // Whole seconds, so that node's utimes (millisecond precision) can set the very same time again below.
  await utimes(join(root, "f"), 1_700_000_000, 1_700_000_000);
  await waitForEvent((event) => event.path === "/mnt/share/f");
  await Bun.sleep(100);
  const before = sent().length;
  // What the guest agent does through the mount: re-set the file's own mtime, or its own mode.
  const stats = await stat(join(root, "f"));
  await utimes(join(root, "f"), 1_700_000_000, 1_700_000_000);
  await chmod(join(root, "f"), stats.mode & 0o7777);
  await Bun.sleep(250);
  expect(sent().slice(before)).toEqual([]);
});

test("forwardFsEvents() sends a 10,000-file checkout as a few folded batches", async () => {
  await start({ maxEvents: 256 });
  for (let folder = 0; folder < 10; folder++) {
    await mkdir(join(root, `d${folder}`));
    await Promise.all(Array.from({ length: 1000 }, (_, i) => writeFile(join(root, `d${folder}`, `f${i}`), "x")));
  }
  const deadline = performance.now() + 10_000;
  while (!sent().some((event) => event.path.startsWith("/mnt/share/d9")) && performance.now() < deadline) await Bun.sleep(20);
  await Bun.sleep(300);
  expect(batches.length).toBeGreaterThan(0);
  for (const batch of batches) expect(batch.events.length).toBeLessThanOrEqual(256);
  // Folded into folders, and held back between batches while the storm lasts.
  expect(sent().length).toBeLessThan(2_000);
  expect(batches.length).toBeLessThan(20);
}, 20_000);

test("forwardFsEvents() reports a missing folder and watches the others", async () => {
  forwarder = await forwardFsEvents(
    [
      { location: join(root, "missing"), mountPoint: "/a" },
      { location: root, mountPoint: "/b" },
    ],
    { send: (events) => batches.push({ at: 0, events }), onProblem: (mount) => problems.push(mount.mountPoint) },
  );
  expect(problems).toEqual(["/a"]);
  expect(forwarder.watched).toEqual([{ hostRoot: root, mountPoint: "/b" }]);
});

test("forwardFsEvents() feeding applyFsEvents on the same folder settles instead of looping on its own touches", async () => {
  const { applyFsEvents } = await import("../../../../agent/fs-events.ts");
  await writeFile(join(root, "f"), "x");
  forwarder = await forwardFsEvents([{ location: root, mountPoint: root }], {
    send: (events) => {
      batches.push({ at: performance.now(), events });
      void applyFsEvents(events);
    },
    onProblem: (mount, error) => problems.push(`${mount.location}: ${error.message}`),
  });
  await writeFile(join(root, "f"), "y");
  await waitForEvent((event) => event.path === join(root, "f"));
  await Bun.sleep(400);
  // The write, and at most one round for the folder's first touch; nothing after that.
  expect(batches.length).toBeLessThanOrEqual(2);
});
