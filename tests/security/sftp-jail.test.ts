// Issue 12 #2: a guest must not reach anything outside its share through den's built-in SFTP server. A hostile
// client speaks SFTP v3 directly to the server's stream interface (what root in the guest can do through sshfs's
// channel) and tries every way out; nothing outside may be read, changed or created, and the share still works.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MaxPacketLength, SftpOpenFlags as F, SftpPacketType as T, SftpStatus as S, type SftpWriter } from "../../lib/mounts/sftp-packet.ts";
import { SftpTestClient } from "../lib/mounts/sftp-test-client.ts";

const Secret = "top secret, outside the share";
let base: string;
let share: string;
let outside: string;
let clients: SftpTestClient[] = [];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "den-sftp-jail-"));
  share = join(base, "share");
  outside = join(base, "outside");
  await mkdir(join(share, "sub"), { recursive: true });
  await mkdir(join(outside, "dir"), { recursive: true });
  await writeFile(join(outside, "secret"), Secret);
  await writeFile(join(share, "file.txt"), "inside");
  await writeFile(join(share, "sub", "inner.txt"), "inner");
  await symlink("../outside", join(share, "out-dir"));
  await symlink(outside, join(share, "out-abs"));
  await symlink(join(outside, "secret"), join(share, "out-file"));
  await symlink(join(outside, "not-yet"), join(share, "out-dangling"));
  await symlink("sub", join(share, "in-dir"));
  await symlink(join(share, "file.txt"), join(share, "in-file"));
});
afterEach(async () => {
  for (const client of clients) await client.close();
  clients = [];
  await rm(base, { recursive: true, force: true });
});

function start(options: { followSymlinks: boolean; maxHandles?: number; onProtocolError?: (message: string) => void }): SftpTestClient {
  const client = new SftpTestClient({ root: share, readOnly: false, ...options });
  clients.push(client);
  return client;
}

/** Everything under `outside`, with contents, to compare before and after. */
async function outsideState(): Promise<string> {
  const entries = await readdir(outside, { recursive: true });
  const parts = await Promise.all(entries.sort().map(async (entry) => `${entry}:${(await lstat(join(outside, entry))).isFile() ? await readFile(join(outside, entry), "utf8") : "-"}`));
  return parts.join("\n");
}

type Attack = { name: string; type: number; fill: (w: SftpWriter) => void };

/** The attacks on a share at `share` next to `outside` (each test has its own temporary folders). */
function attacks(share: string, outside: string): Attack[] {
  const s = (path: string) => join(share, path);
  const open = (path: string, flags: number) => (w: SftpWriter) => w.string(path).uint32(flags).attrs({});
  return [
    { name: "OPEN ../outside/secret under the share", type: T.Open, fill: open(s("../outside/secret"), F.Read) },
    { name: "OPEN ../outside/secret relative", type: T.Open, fill: open("../outside/secret", F.Read) },
    { name: "OPEN /etc/hostname", type: T.Open, fill: open("/etc/hostname", F.Read) },
    { name: "OPEN the outside file by absolute path", type: T.Open, fill: open(join(outside, "secret"), F.Read) },
    { name: "OPEN a new file by absolute path outside", type: T.Open, fill: open(join(outside, "created"), F.Write | F.Create) },
    { name: "STAT /etc/hostname", type: T.Stat, fill: (w) => w.string("/etc/hostname") },
    { name: "LSTAT the outside file", type: T.Lstat, fill: (w) => w.string(join(outside, "secret")) },
    { name: "OPENDIR /etc", type: T.Opendir, fill: (w) => w.string("/etc") },
    { name: "OPENDIR the share's parent", type: T.Opendir, fill: (w) => w.string(s("..")) },
    { name: "STAT through a relative symlink to a folder outside", type: T.Stat, fill: (w) => w.string(s("out-dir/secret")) },
    { name: "LSTAT through a symlink to a folder outside", type: T.Lstat, fill: (w) => w.string(s("out-dir/secret")) },
    { name: "OPEN through a relative symlink to a folder outside", type: T.Open, fill: open(s("out-dir/secret"), F.Read) },
    { name: "OPEN through an absolute symlink to a folder outside", type: T.Open, fill: open(s("out-abs/secret"), F.Read) },
    { name: "OPENDIR a symlink to a folder outside", type: T.Opendir, fill: (w) => w.string(s("out-dir")) },
    { name: "OPENDIR through a symlink to a folder outside", type: T.Opendir, fill: (w) => w.string(s("out-abs/dir")) },
    { name: "OPEN for writing a new file through a symlink to a folder outside", type: T.Open, fill: open(s("out-dir/created"), F.Write | F.Create | F.Truncate) },
    { name: "MKDIR through a symlink to a folder outside", type: T.Mkdir, fill: (w) => w.string(s("out-abs/newdir")).attrs({}) },
    { name: "REMOVE through a symlink to a folder outside", type: T.Remove, fill: (w) => w.string(s("out-dir/secret")) },
    { name: "RMDIR through a symlink to a folder outside", type: T.Rmdir, fill: (w) => w.string(s("out-dir/dir")) },
    { name: "SETSTAT through a symlink to a folder outside", type: T.Setstat, fill: (w) => w.string(s("out-dir/secret")).attrs({ size: 0 }) },
    { name: "SYMLINK created through a symlink to a folder outside", type: T.Symlink, fill: (w) => w.string("x").string(s("out-dir/link")) },
    { name: "OPEN a symlink to a file outside", type: T.Open, fill: open(s("out-file"), F.Read) },
    { name: "OPEN for writing a symlink to a file outside", type: T.Open, fill: open(s("out-file"), F.Write | F.Truncate) },
    { name: "STAT a symlink to a file outside", type: T.Stat, fill: (w) => w.string(s("out-file")) },
    { name: "SETSTAT a symlink to a file outside", type: T.Setstat, fill: (w) => w.string(s("out-file")).attrs({ size: 0, mode: 0o777 }) },
    { name: "OPEN with O_CREAT a dangling symlink pointing outside", type: T.Open, fill: open(s("out-dangling"), F.Write | F.Create) },
    { name: "OPEN .. after a symlink inside", type: T.Open, fill: open(s("in-dir/../../outside/secret"), F.Read) },
    { name: "OPEN .. after a symlink outside", type: T.Open, fill: open(s("out-dir/../outside/secret"), F.Read) },
    { name: "RENAME a file in the share to a path outside", type: T.Rename, fill: (w) => w.string(s("file.txt")).string(join(outside, "moved")) },
    { name: "RENAME a file in the share through a symlink outside", type: T.Rename, fill: (w) => w.string(s("file.txt")).string(s("out-dir/moved")) },
    { name: "RENAME a file outside into the share", type: T.Rename, fill: (w) => w.string(join(outside, "secret")).string(s("stolen")) },
    { name: "posix-rename to a path outside", type: T.Extended, fill: (w) => w.string("posix-rename@openssh.com").string(s("file.txt")).string(join(outside, "secret")) },
    { name: "hardlink of a file outside into the share", type: T.Extended, fill: (w) => w.string("hardlink@openssh.com").string(join(outside, "secret")).string(s("hard")) },
    { name: "hardlink through a symlink to a folder outside", type: T.Extended, fill: (w) => w.string("hardlink@openssh.com").string(s("out-dir/secret")).string(s("hard")) },
    { name: "statvfs of /", type: T.Extended, fill: (w) => w.string("statvfs@openssh.com").string("/") },
    { name: "REALPATH /", type: T.Realpath, fill: (w) => w.string("/") },
    { name: "REALPATH ..", type: T.Realpath, fill: (w) => w.string("..") },
    { name: "READLINK of a link outside", type: T.Readlink, fill: (w) => w.string(join(outside, "..", "share", "..", "outside", "secret")) },
  ];
}

describe.each([{ followSymlinks: false }, { followSymlinks: true }])("the built-in SFTP server with followSymlinks $followSymlinks", ({ followSymlinks }) => {
  test.each(attacks("/share", "/outside").map((attack, index) => ({ index, name: attack.name })))("refuses $name and changes nothing outside", async ({ index }) => {
    const attack = attacks(share, outside)[index] as Attack;
    const before = await outsideState();
    const client = start({ followSymlinks });
    const reply = await client.request(attack.type, attack.fill);
    expect(reply.type).toBe(T.Status);
    expect([S.PermissionDenied, S.NoSuchFile] as number[]).toContain(reply.uint32());
    expect(await outsideState()).toBe(before);
    expect(await readFile(join(share, "file.txt"), "utf8")).toBe("inside");
    expect((await readdir(share)).sort()).toEqual(["file.txt", "in-dir", "in-file", "out-abs", "out-dangling", "out-dir", "out-file", "sub"]);
  });

  test("lets a guest create a symlink pointing outside, but never follows it", async () => {
    const client = start({ followSymlinks });
    expect(await client.status(T.Symlink, (w) => w.string("/etc/hostname").string(join(share, "planted")))).toBe(S.Ok);
    expect(await readlink(join(share, "planted"))).toBe("/etc/hostname");
    const target = await client.request(T.Readlink, (w) => w.string(join(share, "planted")));
    expect([target.type, target.uint32(), target.string()]).toEqual([T.Name, 1, "/etc/hostname"]);
    expect(await client.status(T.Open, (w) => w.string(join(share, "planted")).uint32(F.Read).attrs({}))).toBe(S.PermissionDenied);
    expect(await client.status(T.Stat, (w) => w.string(join(share, "planted")))).toBe(S.PermissionDenied);
    expect((await client.request(T.Lstat, (w) => w.string(join(share, "planted")))).type).toBe(T.Attrs);
  });

  test("never names anything outside the share in a REALPATH answer", async () => {
    const client = start({ followSymlinks });
    for (const path of ["", ".", share, `${share}/sub/..`, "sub/../in-dir", "missing/new"]) {
      const reply = await client.request(T.Realpath, (w) => w.string(path));
      expect(reply.type).toBe(T.Name);
      reply.uint32();
      const name = reply.string();
      expect(name === share || name.startsWith(`${share}/`)).toBe(true);
    }
    // Through a link that points outside: refused when links are followed, the plain text of the path when not.
    const through = await client.request(T.Realpath, (w) => w.string(join(share, "out-dir", "secret")));
    if (followSymlinks) expect([through.type, through.uint32()]).toEqual([T.Status, S.PermissionDenied]);
    else expect([through.type, through.uint32(), through.string()]).toEqual([T.Name, 1, join(share, "out-dir", "secret")]);
  });

  test("still writes, reads, lists, renames and makes folders inside the share", async () => {
    const client = start({ followSymlinks });
    const handle = await client.open(join(share, "sub", "new.txt"), F.Write | F.Create | F.Truncate);
    expect(await client.status(T.Write, (w) => w.string(handle).uint64(0).bytes(Buffer.from("written")))).toBe(S.Ok);
    expect(await client.status(T.Close, (w) => w.string(handle))).toBe(S.Ok);
    expect(await client.readAll(join(share, "sub", "new.txt"), F.Read)).toBe("written");
    expect(await client.status(T.Mkdir, (w) => w.string(join(share, "made")).attrs({}))).toBe(S.Ok);
    expect(await client.status(T.Rename, (w) => w.string(join(share, "sub", "new.txt")).string(join(share, "made", "moved.txt")))).toBe(S.Ok);
    expect(await readFile(join(share, "made", "moved.txt"), "utf8")).toBe("written");
    expect(await client.list(join(share, "made"))).toEqual([".", "..", "moved.txt"]);
    expect(await client.status(T.Symlink, (w) => w.string("moved.txt").string(join(share, "made", "alias")))).toBe(S.Ok);
    expect(await client.list(share)).toEqual([".", "..", "file.txt", "in-dir", "in-file", "made", "out-abs", "out-dangling", "out-dir", "out-file", "sub"]);
    expect(await client.status(T.Remove, (w) => w.string(join(share, "made", "alias")))).toBe(S.Ok);
    expect(await client.status(T.Remove, (w) => w.string(join(share, "out-file")))).toBe(S.Ok);
    expect(await readFile(join(outside, "secret"), "utf8")).toBe(Secret);
  });

  test("refuses to change the shared folder itself", async () => {
    const client = start({ followSymlinks });
    expect(await client.status(T.Rmdir, (w) => w.string(share))).toBe(S.PermissionDenied);
    expect(await client.status(T.Rename, (w) => w.string(share).string(join(share, "sub", "x")))).toBe(S.PermissionDenied);
  });
});

describe("symlinks inside the share", () => {
  test("with followSymlinks they are followed while they stay inside", async () => {
    const client = start({ followSymlinks: true });
    expect(await client.readAll(join(share, "in-file"), F.Read)).toBe("inside");
    expect(await client.readAll(join(share, "in-dir", "inner.txt"), F.Read)).toBe("inner");
    const attrs = await client.request(T.Stat, (w) => w.string(join(share, "in-dir")));
    expect(attrs.type).toBe(T.Attrs);
    expect(((attrs.attrs().mode ?? 0) & 0o170000) === 0o040000).toBe(true);
    expect(await client.list(join(share, "in-dir"))).toEqual([".", "..", "inner.txt"]);
    const real = await client.request(T.Realpath, (w) => w.string(join(share, "in-dir")));
    expect([real.uint32(), real.string()]).toEqual([1, join(share, "sub")]);
    expect(await client.status(T.Realpath, (w) => w.string(join(share, "out-dir")))).toBe(S.PermissionDenied);
  });

  test("with followSymlinks a write through a dangling link inside creates its target inside", async () => {
    await symlink("sub/later.txt", join(share, "later"));
    const client = start({ followSymlinks: true });
    const handle = await client.open(join(share, "later"), F.Write | F.Create);
    expect(await client.status(T.Close, (w) => w.string(handle))).toBe(S.Ok);
    expect((await lstat(join(share, "sub", "later.txt"))).isFile()).toBe(true);
  });

  test("without followSymlinks none is followed: the guest sees links and resolves them itself", async () => {
    const client = start({ followSymlinks: false });
    expect(await client.status(T.Open, (w) => w.string(join(share, "in-file")).uint32(F.Read).attrs({}))).toBe(S.PermissionDenied);
    expect(await client.status(T.Stat, (w) => w.string(join(share, "in-dir")))).toBe(S.PermissionDenied);
    expect(await client.status(T.Open, (w) => w.string(join(share, "in-dir", "inner.txt")).uint32(F.Read).attrs({}))).toBe(S.PermissionDenied);
    const link = await client.request(T.Lstat, (w) => w.string(join(share, "in-dir")));
    expect(((link.attrs().mode ?? 0) & 0o170000) === 0o120000).toBe(true);
    const target = await client.request(T.Readlink, (w) => w.string(join(share, "in-dir")));
    expect([target.uint32(), target.string()]).toEqual([1, "sub"]);
    expect(await client.readAll(join(share, "sub", "inner.txt"), F.Read)).toBe("inner");
  });
});

describe("bounds", () => {
  test("the default cap of 1024 open handles refuses the next one with FAILURE and a reason", async () => {
    const client = start({ followSymlinks: false });
    const handles: string[] = [];
    for (let i = 0; i < 1024; i++) {
      const reply = await client.request(T.Opendir, (w) => w.string(share));
      expect(reply.type).toBe(T.Handle);
      handles.push(reply.string());
    }
    const refused = await client.request(T.Open, (w) => w.string(join(share, "file.txt")).uint32(F.Read).attrs({}));
    expect([refused.type, refused.uint32(), refused.string()]).toEqual([T.Status, S.Failure, "too many open handles (the limit is 1024)"]);
    expect(await client.status(T.Opendir, (w) => w.string(share))).toBe(S.Failure);
    expect(await client.status(T.Close, (w) => w.string(handles[0] as string))).toBe(S.Ok);
    expect((await client.request(T.Open, (w) => w.string(join(share, "file.txt")).uint32(F.Read).attrs({}))).type).toBe(T.Handle);
  });

  test.each([
    { name: "0xFFFFFFFF", length: 0xffffffff },
    { name: "just above the maximum", length: MaxPacketLength + 1 },
  ])("a packet length of $name ends the session before anything is buffered", async ({ length }) => {
    const problems: string[] = [];
    const client = start({ followSymlinks: false, onProtocolError: (message) => problems.push(message) });
    const header = Buffer.alloc(9);
    header.writeUInt32BE(length);
    header[4] = T.Write;
    const rssBefore = process.memoryUsage().rss;
    client.sendRaw(header);
    await client.done;
    expect(problems).toEqual([`SFTP packet length ${length} is out of range`]);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});
