// The data streams of one session, shared by host and agent: each stream is a Node Duplex whose writes become DATA
// frames and whose reads come from the peer's DATA frames. Flow control is per stream and credit based: a side
// never sends more than the peer granted (its receive window to start with, then CREDIT frames as the peer's reader
// drains), so a stream whose reader is slow stops only itself, and each side buffers at most one window per stream.
// The windows and frame sizes come from the protocol version the session agreed on (stream-limits.ts).
import { Duplex } from "node:stream";
import { encodeJson, type Frame, FrameType, MaxPayloadBytes, decodeJson } from "./frame.ts";
import { ResetSchema, StreamTargetSchema, type ResetReason, type StreamTarget } from "./messages.ts";
import { type StreamLimits, V1Limits } from "./stream-limits.ts";

/** The errno-style error a stream fails with when the peer resets it. */
export class StreamResetError extends Error {
  readonly code: string;
  constructor(reason: ResetReason) {
    super(reason.message);
    this.code = reason.errno;
  }
}

export interface OpenRequest {
  id: number;
  target: StreamTarget;
  /** Confirms the stream to the peer and returns its Duplex (object mode for udp). */
  accept(): Duplex;
  /** Refuses the stream with an errno (ECONNREFUSED, ENOENT, …). */
  reject(reason: ResetReason): void;
}

export interface StreamMuxOptions {
  send(frame: Frame): void;
  /** Host-opened streams have odd ids, agent-opened ones even ids, so both sides can open without clashing. */
  side: "host" | "agent";
  onOpenRequest(request: OpenRequest): void;
  /** A frame that breaks the protocol on one stream (the stream is reset; the session goes on). */
  onViolation?(message: string): void;
  /**
   * Streams the peer may have open at once (asked for or accepted); a further OPEN is refused with EMFILE. The host
   * sets it, since each stream the guest opens is a connection on the host; unbounded when absent.
   */
  maxPeerStreams?: number;
  /** The session's windows and frame sizes; version 1's when absent. */
  limits?: StreamLimits;
  /**
   * Whether the transport holds more unsent bytes than it should; while it does, streams finish their writes only
   * after `drained()`, so a fast source waits in its socket's kernel buffer instead of piling up in the transport's
   * user-space queue (which copies and grows it). Never congested when absent.
   */
  congested?(): boolean;
}

type Pending = { resolve: (stream: Duplex) => void; reject: (error: Error) => void; objectMode: boolean };

export class StreamMux {
  readonly #options: StreamMuxOptions;
  readonly #streams = new Map<number, MuxStream>();
  readonly #pending = new Map<number, Pending>();
  /** Ids the peer asked for that are not answered yet; frames for them are dropped until accept/reject. */
  readonly #incoming = new Set<number>();
  /** Ids of the open streams the peer opened: with #incoming, what maxPeerStreams bounds. */
  readonly #peerOpened = new Set<number>();
  /** Write callbacks held back while the transport is congested. */
  #waitingForTransport: (() => void)[] = [];
  #nextId: number;
  /**
   * Ids only grow (until they wrap), so an id of this side's parity at or past #nextId, or of the peer's above the
   * highest it opened, belongs to no stream that ever existed: a frame for it is the peer's error, not a late frame of
   * a stream already gone. Both are known without keeping the ids of closed streams.
   */
  #highestPeerId = 0;
  /** Set once this side's ids wrapped around: every id of its parity may have been used then. */
  #wrapped = false;

  constructor(options: StreamMuxOptions) {
    this.#options = options;
    this.#nextId = options.side === "host" ? 1 : 2;
  }

  get size(): number {
    return this.#streams.size + this.#pending.size + this.#incoming.size;
  }

  get limits(): StreamLimits {
    return this.#options.limits ?? V1Limits;
  }

  /** DATA bytes this side sent on its open streams that the peer has not credited back yet: at most a window each. */
  get unacknowledgedBytes(): number {
    let bytes = 0;
    for (const stream of this.#streams.values()) bytes += stream.unacknowledged;
    return bytes;
  }

  /** Opens a stream to `target` in the peer; rejects with a StreamResetError when the peer refuses. */
  open(target: StreamTarget): Promise<Duplex> {
    const id = this.#nextId;
    if (this.#nextId + 2 > 0xffff_fffe) this.#wrapped = true;
    this.#nextId = this.#nextId + 2 > 0xffff_fffe ? (this.#options.side === "host" ? 1 : 2) : this.#nextId + 2;
    const { promise, resolve, reject } = Promise.withResolvers<Duplex>();
    this.#pending.set(id, { resolve, reject, objectMode: target.kind === "udp" });
    this.#options.send({ type: FrameType.Open, stream: id, payload: encodeJson(target) });
    return promise;
  }

  /** Handles one stream frame (types OPEN…CREDIT). */
  handle(frame: Frame): void {
    const id = frame.stream;
    switch (frame.type) {
      case FrameType.Open:
        return this.#handleOpen(frame);
      case FrameType.Opened: {
        const pending = this.#pending.get(id);
        if (!pending) return this.#violation(id, "OPENED for a stream that was not being opened");
        this.#pending.delete(id);
        pending.resolve(this.#create(id, pending.objectMode));
        return;
      }
      case FrameType.Reset: {
        const parsed = ResetSchema.safeParse(decodeJson(frame.payload));
        const reason = parsed.success ? parsed.data : { errno: "EPROTO", message: "the peer reset the stream" };
        const pending = this.#pending.get(id);
        if (pending) {
          this.#pending.delete(id);
          pending.reject(new StreamResetError(reason));
          return;
        }
        if (this.#neverOpened(id)) return this.#unknownStream(id, "RESET");
        this.#incoming.delete(id);
        this.#streams.get(id)?.remoteReset(reason);
        return;
      }
      case FrameType.Data:
      case FrameType.End:
      case FrameType.Credit: {
        const stream = this.#streams.get(id);
        // Frames may still arrive for a stream this side already reset; they are dropped. Frames for a stream that
        // never was are reported, but not answered: a flood of them must not become a flood of RESETs back.
        if (!stream) {
          if (this.#neverOpened(id)) this.#unknownStream(id, frame.type === FrameType.Data ? "DATA" : frame.type === FrameType.End ? "END" : "CREDIT");
          return;
        }
        const problem = frame.type === FrameType.Data ? stream.remoteData(frame.payload) : frame.type === FrameType.End ? stream.remoteEnd() : stream.remoteCredit(frame.payload);
        if (problem) this.#violation(id, problem);
        return;
      }
    }
  }

  /** The transport wrote out what it held: writes held back by congestion complete now. */
  drained(): void {
    const waiting = this.#waitingForTransport;
    this.#waitingForTransport = [];
    for (const resume of waiting) resume();
  }

  /** Ends every stream with `reason` (the session is gone or starts over). */
  resetAll(reason: ResetReason): void {
    const error = new StreamResetError(reason);
    this.#waitingForTransport = [];
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#incoming.clear();
    this.#peerOpened.clear();
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of streams) stream.remoteReset(reason, false);
  }

  #handleOpen(frame: Frame): void {
    const id = frame.stream;
    const peerParity = this.#options.side === "host" ? 0 : 1;
    const parsed = StreamTargetSchema.safeParse(decodeJson(frame.payload));
    if (id === 0 || id % 2 !== peerParity || this.#streams.has(id) || this.#incoming.has(id)) return this.#violation(id, `OPEN with an invalid or used stream id ${id}`);
    // Counted before the refusals below: a refused peer may have sent frames for the id already.
    this.#highestPeerId = Math.max(this.#highestPeerId, id);
    const max = this.#options.maxPeerStreams;
    if (max !== undefined && this.#peerOpened.size + this.#incoming.size >= max) {
      this.#options.onViolation?.(`stream ${id}: OPEN refused, the peer has ${max} streams open`);
      this.#options.send(resetFrame(id, { errno: "EMFILE", message: `too many streams open (${max})` }));
      return;
    }
    if (!parsed.success) {
      this.#options.send(resetFrame(id, { errno: "EINVAL", message: "invalid stream target" }));
      return;
    }
    this.#incoming.add(id);
    let answered = false;
    this.#options.onOpenRequest({
      id,
      target: parsed.data,
      accept: () => {
        if (answered || !this.#incoming.delete(id)) throw new Error(`stream ${id} is no longer open`);
        answered = true;
        this.#options.send({ type: FrameType.Opened, stream: id, payload: new Uint8Array(0) });
        this.#peerOpened.add(id);
        return this.#create(id, parsed.data.kind === "udp");
      },
      reject: (reason) => {
        if (answered || !this.#incoming.delete(id)) return;
        answered = true;
        this.#options.send(resetFrame(id, reason));
      },
    });
  }

  #create(id: number, objectMode: boolean): MuxStream {
    const stream = new MuxStream(id, objectMode, this.limits, {
      send: (frame) => this.#options.send(frame),
      afterSend: (done) => {
        if (this.#options.congested?.()) this.#waitingForTransport.push(done);
        else done();
      },
      forget: () => {
        this.#streams.delete(id);
        this.#peerOpened.delete(id);
      },
    });
    this.#streams.set(id, stream);
    return stream;
  }

  #neverOpened(id: number): boolean {
    if (id === 0) return true;
    const ownParity = this.#options.side === "host" ? 1 : 0;
    return id % 2 === ownParity ? !this.#wrapped && id >= this.#nextId : id > this.#highestPeerId;
  }

  #unknownStream(id: number, what: string): void {
    this.#options.onViolation?.(id === 0 ? `${what} on stream 0, the session's, which carries no data` : `stream ${id}: ${what} for a stream that was never opened`);
  }

  #violation(id: number, message: string): void {
    this.#options.onViolation?.(`stream ${id}: ${message}`);
    const stream = this.#streams.get(id);
    if (stream) stream.destroy(new StreamResetError({ errno: "EPROTO", message }));
    else if (id !== 0) this.#options.send(resetFrame(id, { errno: "EPROTO", message }));
  }
}

export function resetFrame(id: number, reason: ResetReason): Frame {
  return { type: FrameType.Reset, stream: id, payload: encodeJson(reason) };
}

interface MuxStreamHooks {
  send(frame: Frame): void;
  /** Calls `done` once the transport can take more (at once unless it is congested). */
  afterSend(done: () => void): void;
  forget(): void;
}

/** One stream as a Duplex. Byte streams are cut into DATA frames; in object mode each chunk is one datagram. */
class MuxStream extends Duplex {
  readonly #id: number;
  readonly #hooks: MuxStreamHooks;
  readonly #limits: StreamLimits;
  #sendCredit: number;
  /** Bytes the peer may still send before it needs more credit. */
  #peerCredit: number;
  /** Bytes received and handed to the reader but not yet granted back. */
  #ungranted = 0;
  #waitingForCredit: (() => void) | undefined;
  #sentEnd = false;
  #gotEnd = false;
  #gone = false;

  constructor(id: number, objectMode: boolean, limits: StreamLimits, hooks: MuxStreamHooks) {
    super({ objectMode, readableHighWaterMark: objectMode ? 64 : 64 * 1024, writableHighWaterMark: objectMode ? 64 : 64 * 1024, allowHalfOpen: true });
    this.#id = id;
    this.#hooks = hooks;
    this.#limits = limits;
    this.#sendCredit = limits.sendWindow;
    this.#peerCredit = limits.receiveWindow;
    // A stream fails whenever its session ends; an owner that did not listen for that must not crash the process
    // (the host agent, or the guest agent). Owners that listen still get every error.
    this.on("error", () => undefined);
  }

  override _write(chunk: Buffer | Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.readableObjectMode && bytes.byteLength > MaxPayloadBytes) {
      callback(new StreamResetError({ errno: "EMSGSIZE", message: `datagram of ${bytes.byteLength} bytes is too large` }));
      return;
    }
    this.#sendFrom(bytes, 0, callback);
  }

  #sendFrom(bytes: Uint8Array, offset: number, callback: (error?: Error | null) => void): void {
    while (offset < bytes.byteLength) {
      if (this.#gone) return callback(new StreamResetError({ errno: "ECONNRESET", message: "the stream was reset" }));
      const datagram = this.readableObjectMode;
      const want = datagram ? bytes.byteLength : Math.min(this.#limits.dataChunkBytes, bytes.byteLength - offset);
      if (this.#sendCredit < (datagram ? want : 1)) {
        this.#waitingForCredit = () => this.#sendFrom(bytes, offset, callback);
        return;
      }
      const size = datagram ? want : Math.min(want, this.#sendCredit);
      this.#sendCredit -= size;
      this.#hooks.send({ type: FrameType.Data, stream: this.#id, payload: bytes.subarray(offset, offset + size) });
      offset += size;
    }
    if (this.readableObjectMode) callback();
    else this.#hooks.afterSend(() => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#gone) this.#hooks.send({ type: FrameType.End, stream: this.#id, payload: new Uint8Array(0) });
    this.#sentEnd = true;
    this.#maybeForget();
    callback();
  }

  override _read(): void {
    this.#grant(false);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#gone && !(this.#sentEnd && this.#gotEnd)) {
      const errno = (error as NodeJS.ErrnoException | null)?.code ?? "ECONNRESET";
      this.#hooks.send(resetFrame(this.#id, { errno, message: error?.message ?? "the stream was closed" }));
    }
    this.#gone = true;
    this.#hooks.forget();
    const waiting = this.#waitingForCredit;
    this.#waitingForCredit = undefined;
    waiting?.();
    callback(error);
  }

  get unacknowledged(): number {
    return this.#limits.sendWindow - this.#sendCredit;
  }

  remoteData(payload: Uint8Array): string | undefined {
    if (this.#gotEnd) return "DATA after END";
    if (payload.byteLength > this.#peerCredit) return `DATA of ${payload.byteLength} bytes exceeds the granted ${this.#peerCredit}`;
    this.#peerCredit -= payload.byteLength;
    this.#ungranted += payload.byteLength;
    this.push(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    return undefined;
  }

  remoteEnd(): string | undefined {
    if (this.#gotEnd) return "END twice";
    this.#gotEnd = true;
    this.push(null);
    this.#maybeForget();
    return undefined;
  }

  remoteCredit(payload: Uint8Array): string | undefined {
    if (payload.byteLength !== 4) return "CREDIT payload is not 4 bytes";
    const grant = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
    if (this.#sendCredit + grant > this.#limits.sendWindow) return `CREDIT of ${grant} bytes overflows the window`;
    this.#sendCredit += grant;
    const waiting = this.#waitingForCredit;
    this.#waitingForCredit = undefined;
    waiting?.();
    return undefined;
  }

  /** The peer reset the stream (or the session ended): fail it without answering with a RESET. */
  remoteReset(reason: ResetReason, forget = true): void {
    this.#gone = true;
    if (forget) this.#hooks.forget();
    this.destroy(new StreamResetError(reason));
  }

  #grant(force: boolean): void {
    if (this.#gone || this.#gotEnd || this.#ungranted === 0) return;
    if (!force && this.#ungranted < this.#limits.creditBatchBytes) return;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, this.#ungranted);
    this.#peerCredit += this.#ungranted;
    this.#ungranted = 0;
    this.#hooks.send({ type: FrameType.Credit, stream: this.#id, payload });
  }

  #maybeForget(): void {
    if (this.#sentEnd && this.#gotEnd) {
      this.#gone = true;
      this.#hooks.forget();
    }
  }
}
