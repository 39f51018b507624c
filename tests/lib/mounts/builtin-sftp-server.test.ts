import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { serveBuiltinSftp } from "../../../lib/mounts/builtin-sftp-server.ts";
import { SftpOpenFlags as F, SftpPacketSplitter, SftpPacketType as T, SftpReader, SftpStatus as S, SftpWriter } from "../../../lib/mounts/sftp-packet.ts";
import { SftpTestClient } from "./sftp-test-client.ts";

let dir: string;
let clients: SftpTestClient[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "den-sftp-"));
  await writeFile(join(dir, "hello ü.txt"), "hello");
  await mkdir(join(dir, "sub"));
});
afterEach(async () => {
  for (const client of clients) await client.close();
  clients = [];
  await rm(dir, { recursive: true, force: true });
});

function start(readOnly: boolean): SftpTestClient {
  const client = new SftpTestClient({ root: dir, readOnly, followSymlinks: false });
  clients.push(client);
  return client;
}

describe("serveBuiltinSftp", () => {
  test("serveBuiltinSftp() answers INIT with version 3 and OpenSSH's extensions", async () => {
    const reply = await start(false).request(T.Init, (w) => w.uint32(3));
    expect(reply.type).toBe(T.Version);
    expect(reply.uint32()).toBe(3);
    const names: string[] = [];
    while (reply.remaining > 0) names.push(reply.string(), reply.string());
    expect(names.filter((_, i) => i % 2 === 0)).toEqual(["posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com", "hardlink@openssh.com", "fsync@openssh.com"]);
  });

  test("serveBuiltinSftp() writes a new file, reads it back and reports EOF past its end", async () => {
    const client = start(false);
    await client.request(T.Init, (w) => w.uint32(3));
    const path = join(dir, "sub", "new ✓.txt");
    const handle = await client.open(path, F.Write | F.Create | F.Truncate);
    expect(await client.status(T.Write, (w) => w.string(handle).uint64(0).bytes(Buffer.from("abcdef")))).toBe(S.Ok);
    expect(await client.status(T.Close, (w) => w.string(handle))).toBe(S.Ok);
    expect(await readFile(path, "utf8")).toBe("abcdef");
    const reading = await client.open(path, F.Read);
    const data = await client.request(T.Read, (w) => w.string(reading).uint64(2).uint32(100));
    expect([data.type, data.string()]).toEqual([T.Data, "cdef"]);
    expect(await client.status(T.Read, (w) => w.string(reading).uint64(6).uint32(100))).toBe(S.Eof);
  });

  test("serveBuiltinSftp() lists a folder with attributes, then reports EOF", async () => {
    const client = start(false);
    const handle = (await client.request(T.Opendir, (w) => w.string(dir))).string();
    const listing = await client.request(T.Readdir, (w) => w.string(handle));
    expect(listing.type).toBe(T.Name);
    const entries: Record<string, number> = {};
    for (let i = listing.uint32(); i > 0; i--) {
      const name = listing.string();
      listing.string();
      entries[name] = listing.attrs().size ?? -1;
    }
    expect(Object.keys(entries).sort()).toEqual([".", "..", "hello ü.txt", "sub"]);
    expect(entries["hello ü.txt"]).toBe(5);
    expect(await client.status(T.Readdir, (w) => w.string(handle))).toBe(S.Eof);
  });

  test("serveBuiltinSftp() stats relative to the served folder and reports a missing file as NO_SUCH_FILE", async () => {
    const client = start(false);
    const attrs = await client.request(T.Stat, (w) => w.string("."));
    expect(attrs.type).toBe(T.Attrs);
    expect(attrs.attrs().uid).toBe((await stat(dir)).uid);
    expect(await client.status(T.Lstat, (w) => w.string("missing"))).toBe(S.NoSuchFile);
    const real = await client.request(T.Realpath, (w) => w.string("sub/../sub"));
    expect([real.uint32(), real.string()]).toEqual([1, join(dir, "sub")]);
  });

  test("serveBuiltinSftp() keeps v3 RENAME from replacing a file and lets posix-rename do it", async () => {
    const client = start(false);
    await writeFile(join(dir, "b"), "b");
    const from = join(dir, "hello ü.txt");
    expect(await client.status(T.Rename, (w) => w.string(from).string(join(dir, "b")))).toBe(S.Failure);
    expect(await client.status(T.Extended, (w) => w.string("posix-rename@openssh.com").string(from).string(join(dir, "b")))).toBe(S.Ok);
    expect(await readFile(join(dir, "b"), "utf8")).toBe("hello");
  });

  test.each([
    { name: "open for writing", type: T.Open, fill: (w: SftpWriter) => w.string(join(dir, "x")).uint32(F.Write | F.Create).attrs({}) },
    { name: "open for appending", type: T.Open, fill: (w: SftpWriter) => w.string(join(dir, "hello ü.txt")).uint32(F.Append).attrs({}) },
    { name: "mkdir", type: T.Mkdir, fill: (w: SftpWriter) => w.string(join(dir, "d")).attrs({}) },
    { name: "remove", type: T.Remove, fill: (w: SftpWriter) => w.string(join(dir, "hello ü.txt")) },
    { name: "rmdir", type: T.Rmdir, fill: (w: SftpWriter) => w.string(join(dir, "sub")) },
    { name: "setstat", type: T.Setstat, fill: (w: SftpWriter) => w.string(join(dir, "hello ü.txt")).attrs({ size: 0 }) },
    { name: "rename", type: T.Rename, fill: (w: SftpWriter) => w.string(join(dir, "hello ü.txt")).string(join(dir, "y")) },
    { name: "symlink", type: T.Symlink, fill: (w: SftpWriter) => w.string("hello ü.txt").string(join(dir, "link")) },
    { name: "posix-rename", type: T.Extended, fill: (w: SftpWriter) => w.string("posix-rename@openssh.com").string(join(dir, "hello ü.txt")).string(join(dir, "y")) },
  ])("serveBuiltinSftp() on a read-only mount refuses $name with PERMISSION_DENIED", async ({ type, fill }) => {
    const client = start(true);
    expect(await client.status(type, fill)).toBe(S.PermissionDenied);
    expect(await readFile(join(dir, "hello ü.txt"), "utf8")).toBe("hello");
    expect((await stat(join(dir, "sub"))).isDirectory()).toBe(true);
  });

  test("serveBuiltinSftp() on a read-only mount still reads files", async () => {
    const client = start(true);
    const handle = await client.open(join(dir, "hello ü.txt"), F.Read);
    const data = await client.request(T.Read, (w) => w.string(handle).uint64(0).uint32(10));
    expect(data.string()).toBe("hello");
  });

  test("serveBuiltinSftp() answers statvfs with the read-only flag set", async () => {
    const client = start(true);
    const reply = await client.request(T.Extended, (w) => w.string("statvfs@openssh.com").string(dir));
    expect(reply.type).toBe(T.ExtendedReply);
    const fields = Array.from({ length: 11 }, () => reply.uint64());
    expect(fields[0]).toBeGreaterThan(0);
    expect(fields[9]).toBe(1);
  });
});

test("serveBuiltinSftp() keeps answering pipelined reads on a stream with a 2 MiB high-water mark, as an ssh2 channel has", async () => {
  // The peer takes replies only in bursts (its callbacks are held, then released), as a guest whose SSH window fills.
  const held: (() => void)[] = [];
  const replies: Buffer[] = [];
  const splitter = new SftpPacketSplitter();
  const server = new Duplex({
    read() {},
    writableHighWaterMark: 2 * 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      replies.push(...splitter.push(chunk));
      held.push(done);
    },
  });
  const session = serveBuiltinSftp(server, { root: dir, readOnly: true, followSymlinks: false });
  await writeFile(join(dir, "big"), Buffer.alloc(4 * 1024 * 1024, 7));
  const send = (type: number, id: number | undefined, fill: (writer: SftpWriter) => void) => {
    const writer = new SftpWriter(type);
    if (id !== undefined) writer.uint32(id);
    fill(writer);
    server.push(writer.finish());
  };
  const release = () => {
    for (const done of held.splice(0)) done();
  };
  send(T.Init, undefined, (w) => w.uint32(3));
  send(T.Open, 1, (w) => w.string(join(dir, "big")).uint32(F.Read).attrs({}));
  for (let tries = 0; replies.length < 2 && tries < 100; tries++) await Bun.sleep(10);
  release();
  const handle = new SftpReader(replies[1] as Buffer, 5).bytes();
  const reads = 100;
  for (let i = 0; i < reads; i++) send(T.Read, 2 + i, (w) => w.bytes(handle).uint64(i * 32 * 1024).uint32(32 * 1024));
  const deadline = Date.now() + 10_000;
  while (replies.length < 2 + reads && Date.now() < deadline) {
    await Bun.sleep(20);
    release();
  }
  expect(replies.length).toBe(2 + reads);
  expect(replies.slice(2).every((packet) => packet[0] === T.Data)).toBe(true);
  server.push(null);
  release();
  await session.done;
});

test("serveBuiltinSftp() answers a request whose bytes arrive in two chunks after all earlier ones were answered", async () => {
  // An ssh2 channel delivers data in pieces of at most 32 KiB, so every WRITE sshfs sends (32 KiB of data plus its
  // header) reaches the server split, and the first piece alone holds no whole request.
  const replies: Buffer[] = [];
  const splitter = new SftpPacketSplitter();
  const server = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      replies.push(...splitter.push(chunk));
      done();
    },
  });
  const session = serveBuiltinSftp(server, { root: dir, readOnly: false, followSymlinks: false });
  const waitFor = async (count: number) => {
    for (let tries = 0; replies.length < count && tries < 200; tries++) await Bun.sleep(10);
  };
  server.push(new SftpWriter(T.Init).uint32(3).finish());
  server.push(new SftpWriter(T.Open).uint32(1).string(join(dir, "split")).uint32(F.Write | F.Create).attrs({}).finish());
  await waitFor(2);
  const handle = new SftpReader(replies[1] as Buffer, 5).bytes();
  const write = new SftpWriter(T.Write).uint32(2).bytes(handle).uint64(0).bytes(Buffer.alloc(32 * 1024, 1)).finish();
  server.push(write.subarray(0, 32 * 1024));
  await Bun.sleep(20);
  server.push(write.subarray(32 * 1024));
  await waitFor(3);
  expect(replies.map((packet) => packet[0])).toEqual([T.Version, T.Handle, T.Status]);
  expect(new SftpReader(replies[2] as Buffer, 5).uint32()).toBe(S.Ok);
  server.push(null);
  await session.done;
  expect((await stat(join(dir, "split"))).size).toBe(32 * 1024);
});
