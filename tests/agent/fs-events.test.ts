import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyFsEvents, fsTypeOf, parseMountInfo, planFsTouches, setterFor, type MountEntry } from "../../agent/fs-events.ts";
import type { GuestFsEvent } from "../../agent/protocol/messages.ts";
import { readUntil } from "../../lib/text/read-until.ts";

const mountInfo = [
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
  "40 22 0:35 / /mnt/9p rw,relatime - 9p m9p rw,trans=virtio",
  "41 22 0:36 / /Users/ann rw,relatime - virtiofs mount0 rw",
  "42 41 0:37 / /Users/ann/my\\040work rw,nosuid - fuse.sshfs :/Users/ann/my\\040work rw,user_id=501",
  "",
].join("\n");

test("parseMountInfo() reads mount points (unescaped) and filesystem types", () => {
  expect(parseMountInfo(mountInfo)).toEqual([
    { mountPoint: "/", fsType: "ext4" },
    { mountPoint: "/mnt/9p", fsType: "9p" },
    { mountPoint: "/Users/ann", fsType: "virtiofs" },
    { mountPoint: "/Users/ann/my work", fsType: "fuse.sshfs" },
  ]);
});

test.each([
  { path: "/etc/passwd", fsType: "ext4", setter: "mtime" },
  { path: "/mnt/9p", fsType: "9p", setter: "mode" },
  { path: "/mnt/9p/a/b", fsType: "9p", setter: "mode" },
  { path: "/mnt/9px", fsType: "ext4", setter: "mtime" },
  { path: "/Users/ann/src/x.ts", fsType: "virtiofs", setter: "mtime" },
  { path: "/Users/ann/my work/x", fsType: "fuse.sshfs", setter: "mode" },
])("fsTypeOf() and setterFor() put $path on $fsType with the $setter setter", ({ path, fsType, setter }) => {
  const type = fsTypeOf(path, parseMountInfo(mountInfo));
  expect(type).toBe(fsType);
  expect(setterFor(type)).toBe(setter);
});

test.each<{ name: string; events: GuestFsEvent[]; expected: ReturnType<typeof planFsTouches> }>([
  {
    name: "a modify touches the file",
    events: [{ path: "/mnt/9p/a", kind: "modify" }],
    expected: [{ path: "/mnt/9p/a", target: "entry", setter: "mode" }],
  },
  {
    name: "deletes in one folder touch it once",
    events: [
      { path: "/Users/ann/d/a", kind: "delete" },
      { path: "/Users/ann/d/b", kind: "delete" },
    ],
    expected: [{ path: "/Users/ann/d", target: "folder", setter: "mtime" }],
  },
  {
    name: "paths are normalized and relative ones dropped",
    events: [
      { path: "/Users/ann//x/../y/", kind: "create" },
      { path: "relative", kind: "modify" },
      { path: "/a\0b", kind: "modify" },
    ],
    expected: [{ path: "/Users/ann/y", target: "entry", setter: "mtime" }],
  },
  {
    name: "a path changed twice is touched once, in the order of its last change",
    events: [
      { path: "/mnt/9p/a", kind: "create" },
      { path: "/mnt/9p/b", kind: "modify" },
      { path: "/mnt/9p/a", kind: "modify" },
    ],
    expected: [
      { path: "/mnt/9p/b", target: "entry", setter: "mode" },
      { path: "/mnt/9p/a", target: "entry", setter: "mode" },
    ],
  },
])("planFsTouches(): $name", ({ events, expected }) => {
  expect(planFsTouches(events, parseMountInfo(mountInfo))).toEqual(expected);
});

// The real thing on the host's own filesystems: inotifywait watches while applyFsEvents touches.
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "den-fs-events-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function eventsDuring(root: string, action: () => Promise<void>): Promise<string[]> {
  const child = Bun.spawn(["inotifywait", "-m", "-r", "--format", "%w%f %e", root], { stdout: "pipe", stderr: "pipe" });
  const banner = await readUntil(child.stderr, "Watches established", { timeoutMs: 10_000 });
  if (!banner.includes("Watches established")) throw new Error(`inotifywait failed: ${banner}`);
  await action();
  await Bun.sleep(150);
  child.kill();
  const output = await new Response(child.stdout).text();
  return output
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(root, "").replace(/\/ /, " "));
}

const snapshot = async (path: string) => {
  const stats = await stat(path, { bigint: true });
  return { bytes: await readFile(path, "utf8"), size: stats.size, mtimeNs: stats.mtimeNs, mode: stats.mode };
};

test.each<{ name: string; root: () => string; fsType: string | undefined; expected: string[] }>([
  { name: "a disk folder (mtime setter)", root: () => dir, fsType: undefined, expected: ["/f OPEN", "/f MODIFY", "/f CLOSE_WRITE,CLOSE"] },
  { name: "a 9p-like mount (mode setter)", root: () => dir, fsType: "9p", expected: ["/f OPEN", "/f ATTRIB", "/f CLOSE_WRITE,CLOSE"] },
  { name: "tmpfs", root: () => join("/dev/shm", `den-fs-events-${process.pid}`), fsType: undefined, expected: ["/f OPEN", "/f MODIFY", "/f CLOSE_WRITE,CLOSE"] },
])("applyFsEvents() makes a modify on $name emit inotify events and keeps the file as it was", async ({ root, fsType, expected }) => {
  const folder = root();
  await mkdir(folder, { recursive: true });
  try {
    const file = join(folder, "f");
    await writeFile(file, "contents\n");
    const before = await snapshot(file);
    const mounts: MountEntry[] | undefined = fsType === undefined ? undefined : [{ mountPoint: folder, fsType }];
    const seen = await eventsDuring(folder, () => applyFsEvents([{ path: file, kind: "modify" }], { mounts }));
    expect(seen).toEqual(expected);
    expect(await snapshot(file)).toEqual(before);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("applyFsEvents() turns a delete into events on the folder", async () => {
  await mkdir(join(dir, "d"));
  const seen = await eventsDuring(dir, () => applyFsEvents([{ path: join(dir, "d/gone"), kind: "delete" }]));
  // Each event twice: once on the parent's watch (named "d"), once on d's own watch.
  expect(seen).toEqual(["OPEN,ISDIR", "MODIFY,ISDIR", "CLOSE_NOWRITE,CLOSE,ISDIR"].flatMap((events) => [`/d ${events}`, `/d ${events}`]));
});

test("applyFsEvents() touches the folder of a created path that is gone again", async () => {
  const seen = await eventsDuring(dir, () => applyFsEvents([{ path: join(dir, "briefly"), kind: "create" }]));
  expect(seen).toEqual([" OPEN,ISDIR", " MODIFY,ISDIR", " CLOSE_NOWRITE,CLOSE,ISDIR"]);
});

test("applyFsEvents() never opens a fifo, and bad paths do not stop the others", async () => {
  await Bun.$`mkfifo ${join(dir, "pipe")}`;
  await writeFile(join(dir, "ok"), "x");
  const seen = await eventsDuring(dir, () =>
    applyFsEvents([
      { path: "not/absolute", kind: "modify" },
      { path: join(dir, "pipe"), kind: "modify" },
      { path: join(dir, "missing/deeper"), kind: "modify" },
      { path: join(dir, "ok"), kind: "modify" },
    ]),
  );
  expect(seen.filter((line) => line.startsWith("/pipe"))).toEqual([]);
  expect(seen).toContain("/ok MODIFY");
});

test("applyFsEvents() merges batches that arrive while one is being applied", async () => {
  await writeFile(join(dir, "a"), "x");
  const seen = await eventsDuring(dir, async () => {
    await Promise.all([applyFsEvents([{ path: join(dir, "a"), kind: "modify" }]), applyFsEvents([{ path: join(dir, "a"), kind: "modify" }])]);
  });
  expect(seen.filter((line) => line === "/a MODIFY").length).toBeLessThanOrEqual(2);
  expect(seen).toContain("/a MODIFY");
});
