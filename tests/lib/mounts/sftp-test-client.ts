// A minimal SFTP v3 client for the built-in server's tests: speaks packets over an in-memory stream pair, one
// request at a time, and can send raw bytes as a hostile peer would.
import { expect } from "bun:test";
import { Duplex } from "node:stream";
import { type BuiltinSftpOptions, serveBuiltinSftp } from "../../../lib/mounts/builtin-sftp-server.ts";
import { SftpPacketSplitter, SftpPacketType as T, SftpReader, SftpWriter } from "../../../lib/mounts/sftp-packet.ts";

export type SftpReply = SftpReader & { type: number };

export class SftpTestClient {
  readonly server: Duplex;
  /** Settles when the server's session ends. */
  readonly done: Promise<void>;
  #client: Duplex;
  #splitter = new SftpPacketSplitter();
  #waiting: ((packet: Buffer) => void)[] = [];
  #nextId = 1;

  constructor(options: BuiltinSftpOptions) {
    let toServer: Duplex | undefined;
    this.#client = new Duplex({ read() {}, write: (chunk, _enc, done) => (toServer?.push(chunk), done()) });
    const client = this.#client;
    this.server = new Duplex({ read() {}, write: (chunk, _enc, done) => (client.push(chunk), done()), final: (done) => (client.push(null), done()) });
    toServer = this.server;
    this.#client.on("data", (chunk: Buffer) => {
      for (const packet of this.#splitter.push(chunk)) this.#waiting.shift()?.(packet);
    });
    this.done = serveBuiltinSftp(this.server, options).done;
  }

  request(type: number, fill: (writer: SftpWriter) => void = () => {}): Promise<SftpReply> {
    const writer = new SftpWriter(type);
    if (type !== T.Init) writer.uint32(this.#nextId++);
    fill(writer);
    return new Promise((resolve) => {
      this.#waiting.push((packet) => {
        const reader = new SftpReader(packet) as SftpReply;
        reader.type = packet[0] as number;
        if (packet[0] !== T.Version) reader.uint32();
        resolve(reader);
      });
      this.#client.write(writer.finish());
    });
  }

  /** Writes bytes as they are, framing included (or not). */
  sendRaw(bytes: Buffer): void {
    this.#client.write(bytes);
  }

  /** Ends the stream as sshfs exiting would; the server closes what is still open. */
  async close(): Promise<void> {
    if (!this.server.destroyed) this.server.push(null);
    await this.done;
  }

  /** The status code of a reply that must be a STATUS. */
  async status(type: number, fill: (writer: SftpWriter) => void): Promise<number> {
    const reply = await this.request(type, fill);
    expect(reply.type).toBe(T.Status);
    return reply.uint32();
  }

  async open(path: string, flags: number): Promise<string> {
    const reply = await this.request(T.Open, (w) => w.string(path).uint32(flags).attrs({}));
    expect(reply.type).toBe(T.Handle);
    return reply.string();
  }

  /** The whole content of a file, read through the server. */
  async readAll(path: string, flags: number): Promise<string> {
    const handle = await this.open(path, flags);
    const parts: Buffer[] = [];
    for (;;) {
      const data = await this.request(T.Read, (w) => w.string(handle).uint64(parts.reduce((n, part) => n + part.length, 0)).uint32(65536));
      if (data.type !== T.Data) break;
      parts.push(Buffer.from(data.bytes()));
    }
    await this.request(T.Close, (w) => w.string(handle));
    return Buffer.concat(parts).toString("utf8");
  }

  /** The names of a folder, read through the server. */
  async list(path: string): Promise<string[]> {
    const opened = await this.request(T.Opendir, (w) => w.string(path));
    expect(opened.type).toBe(T.Handle);
    const handle = opened.string();
    const names: string[] = [];
    for (;;) {
      const reply = await this.request(T.Readdir, (w) => w.string(handle));
      if (reply.type !== T.Name) break;
      for (let i = reply.uint32(); i > 0; i--) {
        names.push(reply.string());
        reply.string();
        reply.attrs();
      }
    }
    await this.request(T.Close, (w) => w.string(handle));
    return names.sort();
  }
}
