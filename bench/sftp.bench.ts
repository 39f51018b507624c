// The two SFTP servers a reverse-sshfs mount can use, without a VM: den's built-in (jailed) server against
// OpenSSH's sftp-server, in the same run, each wired as reverse-sshfs wires it (OpenSSH's a child process on pipes
// with `-e -d ROOT`, the built-in one in-process on a stream), driven by the same client in this process. The client speaks SFTP v3 as sshfs does: 32 KiB reads and writes with
// 16 requests in flight for the sequential 64 MiB write and read, and one request at a time for the 2,000 small
// files (LSTAT, OPEN, READ, CLOSE each, after one listing of the folder), which is latency-bound like a build's
// many small reads. The ratio is the built-in's speed over OpenSSH's: 1.00 is as fast, above is faster.
// SSH and the guest are left out on purpose: they cost the same for both servers (bench/mounts.ts measures them).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex, type Readable, type Writable } from "node:stream";
import { serveBuiltinSftp } from "../lib/mounts/builtin-sftp-server.ts";
import { findSftpServer, sftpServerArgs } from "../lib/mounts/find-sftp-server.ts";
import { SftpOpenFlags as F, SftpPacketSplitter, SftpPacketType as T, SftpReader, SftpStatus, SftpWriter } from "../lib/mounts/sftp-packet.ts";
import { renderTable } from "./table.ts";

const BigMiB = 64;
const Chunk = 32 * 1024;
const InFlight = 16;
const SmallFiles = 2_000;
const SmallBytes = 1_024;
const Runs = 7;

type Reply = SftpReader & { type: number };

/** A pipelined SFTP v3 client on a pair of pipes: any number of requests in flight, replies matched by id. */
class Client {
  #splitter = new SftpPacketSplitter();
  #waiting = new Map<number, (reply: Reply) => void>();
  #nextId = 1;

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.on("data", (chunk: Buffer) => {
      for (const packet of this.#splitter.push(chunk)) {
        const reader = new SftpReader(packet) as Reply;
        reader.type = packet[0] as number;
        const id = reader.type === T.Version ? 0 : reader.uint32();
        const resolve = this.#waiting.get(id);
        this.#waiting.delete(id);
        resolve?.(reader);
      }
    });
  }

  request(type: number, fill: (writer: SftpWriter) => void): Promise<Reply> {
    const id = type === T.Init ? 0 : this.#nextId++;
    const writer = new SftpWriter(type);
    if (type !== T.Init) writer.uint32(id);
    fill(writer);
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.input.write(writer.finish());
    });
  }

  async ok(type: number, fill: (writer: SftpWriter) => void): Promise<void> {
    const reply = await this.request(type, fill);
    if (reply.type !== T.Status) throw new Error(`Expected a status, got packet type ${reply.type}`);
    const code = reply.uint32();
    if (code !== SftpStatus.Ok) throw new Error(`SFTP status ${code}: ${reply.string()}`);
  }

  async handle(type: number, fill: (writer: SftpWriter) => void): Promise<string> {
    const reply = await this.request(type, fill);
    if (reply.type !== T.Handle) throw new Error(`Expected a handle, got packet type ${reply.type}`);
    return reply.string();
  }
}

type Kind = "openssh" | "builtin";
const Kinds = ["openssh", "builtin"] as const;

interface Server {
  client: Client;
  stop(): Promise<void>;
}

/**
 * OpenSSH's server runs as den runs it, a child process on pipes. The built-in one runs as den runs it too: in the
 * same process as the SSH channel, on a stream whose other end stands for that channel (here: this client).
 */
async function startServer(kind: Kind, root: string, sftpServer: string): Promise<Server> {
  if (kind === "builtin") {
    const pair = streamPair();
    const session = serveBuiltinSftp(pair.server, { root, readOnly: false, followSymlinks: false });
    const client = new Client(pair.client, pair.client);
    await client.request(T.Init, (w) => w.uint32(3));
    return {
      client,
      stop: async () => {
        pair.client.end();
        await session.done;
      },
    };
  }
  const child = spawn(sftpServer, sftpServerArgs(root, { writable: true }), { stdio: ["pipe", "pipe", "inherit"] });
  const client = new Client(child.stdin, child.stdout);
  const version = await client.request(T.Init, (w) => w.uint32(3));
  if (version.type !== T.Version) throw new Error(`${kind}: no VERSION reply`);
  return {
    client,
    stop: async () => {
      child.stdin.end();
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

/** Two connected in-memory streams, like the two ends of an SSH channel. */
function streamPair(): { client: Duplex; server: Duplex } {
  let server: Duplex | undefined;
  const client = new Duplex({
    read() {},
    write: (chunk, _encoding, done) => (server?.push(chunk), done()),
    final: (done) => (server?.push(null), done()),
  });
  server = new Duplex({
    read() {},
    write: (chunk, _encoding, done) => (client.push(chunk), done()),
    final: (done) => (client.push(null), done()),
  });
  return { client, server };
}

/** Runs `next()` for `count` steps with at most `window` in flight. */
async function pipelined(count: number, window: number, next: (i: number) => Promise<void>): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < count) await next(started++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

async function writeBig(client: Client, path: string): Promise<void> {
  const handle = await client.handle(T.Open, (w) => w.string(path).uint32(F.Write | F.Create | F.Truncate).attrs({}));
  const data = Buffer.alloc(Chunk, 0x5a);
  await pipelined((BigMiB * 1024 * 1024) / Chunk, InFlight, (i) => client.ok(T.Write, (w) => w.string(handle).uint64(i * Chunk).bytes(data)));
  await client.ok(T.Close, (w) => w.string(handle));
}

async function readBig(client: Client, path: string): Promise<void> {
  const handle = await client.handle(T.Open, (w) => w.string(path).uint32(F.Read).attrs({}));
  let bytes = 0;
  await pipelined((BigMiB * 1024 * 1024) / Chunk, InFlight, async (i) => {
    const reply = await client.request(T.Read, (w) => w.string(handle).uint64(i * Chunk).uint32(Chunk));
    if (reply.type !== T.Data) throw new Error(`READ at chunk ${i}: packet type ${reply.type}`);
    bytes += reply.bytes().length;
  });
  if (bytes !== BigMiB * 1024 * 1024) throw new Error(`read ${bytes} bytes, expected ${BigMiB} MiB`);
  await client.ok(T.Close, (w) => w.string(handle));
}

async function readSmall(client: Client, dir: string): Promise<void> {
  const listing = await client.handle(T.Opendir, (w) => w.string(dir));
  let listed = 0;
  for (;;) {
    const reply = await client.request(T.Readdir, (w) => w.string(listing));
    if (reply.type !== T.Name) break;
    listed += reply.uint32();
  }
  await client.ok(T.Close, (w) => w.string(listing));
  if (listed !== SmallFiles + 2) throw new Error(`listed ${listed} entries, expected ${SmallFiles + 2}`);
  for (let i = 0; i < SmallFiles; i++) {
    const path = `${dir}/f${i}`;
    const attrs = await client.request(T.Lstat, (w) => w.string(path));
    if (attrs.type !== T.Attrs) throw new Error(`LSTAT ${path}: packet type ${attrs.type}`);
    const handle = await client.handle(T.Open, (w) => w.string(path).uint32(F.Read).attrs({}));
    const data = await client.request(T.Read, (w) => w.string(handle).uint64(0).uint32(4096));
    if (data.type !== T.Data || data.bytes().length !== SmallBytes) throw new Error(`READ ${path} came back short`);
    await client.ok(T.Close, (w) => w.string(handle));
  }
}

/**
 * Median wall time of each server's run of `fn`, after one warm-up each. The servers take turns run by run, so
 * both see the same background load on a shared machine.
 */
async function compare(servers: Record<Kind, Server>, fn: (client: Client, kind: Kind) => Promise<void>): Promise<Record<Kind, number>> {
  const times: Record<Kind, number[]> = { openssh: [], builtin: [] };
  for (let run = -1; run < Runs; run++) {
    for (const kind of Kinds) {
      const start = performance.now();
      await fn(servers[kind].client, kind);
      if (run >= 0) times[kind].push(performance.now() - start);
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;
  return { openssh: median(times.openssh), builtin: median(times.builtin) };
}

const sftpServer = findSftpServer({ env: process.env });
if (!sftpServer) {
  console.log("No OpenSSH sftp-server on this host (install openssh-server or openssh-sftp-server); nothing to compare against.");
  process.exit(0);
}
const dir = await mkdtemp(join(tmpdir(), "den-sftp-bench-"));
try {
  await mkdir(join(dir, "small"));
  await Promise.all(Array.from({ length: SmallFiles }, (_, i) => writeFile(join(dir, "small", `f${i}`), Buffer.alloc(SmallBytes, 0x61))));
  const servers = { openssh: await startServer("openssh", dir, sftpServer), builtin: await startServer("builtin", dir, sftpServer) };
  let write: Record<Kind, number>;
  let read: Record<Kind, number>;
  let small: Record<Kind, number>;
  try {
    write = await compare(servers, (client, kind) => writeBig(client, join(dir, `big-${kind}`)));
    read = await compare(servers, (client, kind) => readBig(client, join(dir, `big-${kind}`)));
    small = await compare(servers, (client) => readSmall(client, join(dir, "small")));
  } finally {
    await Promise.all(Kinds.map((kind) => servers[kind].stop()));
  }
  const mbs = (ms: number) => (BigMiB * 1.048576) / (ms / 1000);
  console.log(`OpenSSH: ${sftpServer}; median of ${Runs} runs each after a warm-up, the two servers taking turns; ratio = built-in speed / OpenSSH speed\n`);
  console.log(
    renderTable(
      ["workload", "OpenSSH sftp-server", "den built-in (jail)", "ratio"],
      [
        [`sequential write ${BigMiB} MiB (MB/s)`, mbs(write.openssh), mbs(write.builtin), write.openssh / write.builtin],
        [`sequential read ${BigMiB} MiB (MB/s)`, mbs(read.openssh), mbs(read.builtin), read.openssh / read.builtin],
        [`${SmallFiles} small files lstat+read (ms)`, small.openssh, small.builtin, small.openssh / small.builtin],
      ],
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
