// The SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, plus OpenSSH's extensions), the subset the
// built-in SFTP server needs: splitting a byte stream into packets, reading request fields, writing replies.
// Written here rather than taken from ssh2: ssh2's server-side SFTP object is bound to one of its own SSH channels
// (it writes through the connection's internal protocol object), and reverse-sshfs needs SFTP over a plain stream.

export const SftpPacketType = {
  Init: 1,
  Version: 2,
  Open: 3,
  Close: 4,
  Read: 5,
  Write: 6,
  Lstat: 7,
  Fstat: 8,
  Setstat: 9,
  Fsetstat: 10,
  Opendir: 11,
  Readdir: 12,
  Remove: 13,
  Mkdir: 14,
  Rmdir: 15,
  Realpath: 16,
  Stat: 17,
  Rename: 18,
  Readlink: 19,
  Symlink: 20,
  Status: 101,
  Handle: 102,
  Data: 103,
  Name: 104,
  Attrs: 105,
  Extended: 200,
  ExtendedReply: 201,
} as const;

export const SftpStatus = {
  Ok: 0,
  Eof: 1,
  NoSuchFile: 2,
  PermissionDenied: 3,
  Failure: 4,
  BadMessage: 5,
  OpUnsupported: 8,
} as const;

/** A request refused with an SFTP status (and a short message for the client) rather than a file-system error. */
export class SftpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const SftpOpenFlags = { Read: 0x1, Write: 0x2, Append: 0x4, Create: 0x8, Truncate: 0x10, Exclusive: 0x20 } as const;

const AttrSize = 0x1;
const AttrUidGid = 0x2;
const AttrPermissions = 0x4;
const AttrAcModTime = 0x8;
const AttrExtended = 0x80000000;

/** File attributes as SFTP v3 carries them; absent fields were not sent. Times are whole seconds. */
export interface SftpAttrs {
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  atime?: number;
  mtime?: number;
}

/**
 * A packet longer than this is a broken or hostile peer (OpenSSH's sftp-server uses the same limit). The splitter
 * checks it on the length prefix, before it buffers anything more, so a peer cannot make the server allocate more.
 */
export const MaxPacketLength = 256 * 1024;

/**
 * Collects stream chunks and hands out whole packets (type byte + payload, without the length prefix).
 * Throws on a length above MaxPacketLength.
 */
export class SftpPacketSplitter {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const packets: Buffer[] = [];
    while (this.#pending.length >= 4) {
      const length = this.#pending.readUInt32BE(0);
      if (length === 0 || length > MaxPacketLength) throw new Error(`SFTP packet length ${length} is out of range`);
      if (this.#pending.length < 4 + length) break;
      packets.push(this.#pending.subarray(4, 4 + length));
      this.#pending = this.#pending.subarray(4 + length);
    }
    return packets;
  }
}

/** Reads the fields of one packet in order; throws a RangeError when the packet is shorter than its fields. */
export class SftpReader {
  #buffer: Buffer;
  #offset: number;

  constructor(packet: Buffer, offset = 1) {
    this.#buffer = packet;
    this.#offset = offset;
  }

  get remaining(): number {
    return this.#buffer.length - this.#offset;
  }

  uint32(): number {
    const value = this.#buffer.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  uint64(): number {
    const value = this.#buffer.readBigUInt64BE(this.#offset);
    this.#offset += 8;
    return Number(value);
  }

  bytes(): Buffer {
    const length = this.uint32();
    if (length > this.remaining) throw new RangeError("SFTP string runs past the end of the packet");
    const value = this.#buffer.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /** Paths are bytes on the wire; sshfs sends UTF-8. */
  string(): string {
    return this.bytes().toString("utf8");
  }

  attrs(): SftpAttrs {
    const flags = this.uint32();
    const attrs: SftpAttrs = {};
    if (flags & AttrSize) attrs.size = this.uint64();
    if (flags & AttrUidGid) {
      attrs.uid = this.uint32();
      attrs.gid = this.uint32();
    }
    if (flags & AttrPermissions) attrs.mode = this.uint32();
    if (flags & AttrAcModTime) {
      attrs.atime = this.uint32();
      attrs.mtime = this.uint32();
    }
    if (flags & AttrExtended) {
      const count = this.uint32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return attrs;
  }
}

/** Builds one outgoing packet; `finish()` prepends the length. */
export class SftpWriter {
  #parts: Buffer[] = [];
  #length = 0;

  constructor(type: number) {
    this.byte(type);
  }

  byte(value: number): this {
    return this.#push(Buffer.from([value]));
  }

  uint32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value >>> 0);
    return this.#push(buffer);
  }

  uint64(value: number): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(value))));
    return this.#push(buffer);
  }

  bytes(value: Buffer | Uint8Array): this {
    this.uint32(value.length);
    return this.#push(Buffer.from(value.buffer, value.byteOffset, value.length));
  }

  string(value: string): this {
    return this.bytes(Buffer.from(value, "utf8"));
  }

  attrs(attrs: SftpAttrs): this {
    let flags = 0;
    if (attrs.size !== undefined) flags |= AttrSize;
    if (attrs.uid !== undefined && attrs.gid !== undefined) flags |= AttrUidGid;
    if (attrs.mode !== undefined) flags |= AttrPermissions;
    if (attrs.atime !== undefined && attrs.mtime !== undefined) flags |= AttrAcModTime;
    this.uint32(flags);
    if (flags & AttrSize) this.uint64(attrs.size ?? 0);
    if (flags & AttrUidGid) this.uint32(attrs.uid ?? 0).uint32(attrs.gid ?? 0);
    if (flags & AttrPermissions) this.uint32(attrs.mode ?? 0);
    if (flags & AttrAcModTime) this.uint32(attrs.atime ?? 0).uint32(attrs.mtime ?? 0);
    return this;
  }

  finish(): Buffer {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(this.#length);
    return Buffer.concat([header, ...this.#parts]);
  }

  #push(buffer: Buffer): this {
    this.#parts.push(buffer);
    this.#length += buffer.length;
    return this;
  }
}
