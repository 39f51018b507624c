// The wire format shared by den's host agent and den-guestagent (see agent/PROTOCOL.md): 9-byte headers, bounded
// payloads, and a magic inside HELLO/WELCOME payloads so a reader that lost its place (stale bytes left in the
// virtio-serial queue by a previous connection, a torn frame from a killed agent, garbage) can find the next
// handshake instead of misreading the rest of the byte stream.

export const FrameType = {
  /** host → agent: start a session (JSON after the magic). */
  Hello: 0x01,
  /** agent → host: answer to HELLO, or an unsolicited announcement from a freshly started agent. */
  Welcome: 0x02,
  /** Either direction: a JSON control message on stream 0. */
  Control: 0x03,
  /** Either direction: open a stream (JSON target). */
  Open: 0x10,
  /** The stream is connected; data may flow. */
  Opened: 0x11,
  Data: 0x12,
  /** The sender will send no more data on this stream (half-close). */
  End: 0x13,
  /** The stream is gone in both directions (JSON {errno, message}); also the answer to a failed OPEN. */
  Reset: 0x14,
  /** The receiver grants the sender more bytes (u32 big-endian). */
  Credit: 0x15,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

const knownTypes = new Set<number>(Object.values(FrameType));

export const HeaderBytes = 9;
/** Large enough for any UDP datagram (65 535 bytes) in one DATA frame; small enough to keep streams interleaved. */
export const MaxPayloadBytes = 65_536;
/** CONTROL frames are rare and may carry long lists (thousands of listeners, a burst of file events). */
export const MaxControlPayloadBytes = 1 << 20;
/** The parser's input blocks: room for two maximal DATA frames, so most chunks are appended without a new block. */
const StoreBlockBytes = 2 * (HeaderBytes + 65_536);
/** Starts every HELLO and WELCOME payload; the JSON follows. */
export const HandshakeMagic = new Uint8Array([0xde, 0x4e, 0x64, 0x65, 0x6e, 0x67, 0x61, 0x01]);

export interface Frame {
  type: FrameTypeCode;
  stream: number;
  payload: Uint8Array;
}

/** Encodes one frame; throws on a payload larger than MaxPayloadBytes (a bug in the caller, not input). */
export function encodeFrame(frame: Frame): Uint8Array {
  checkPayloadSize(frame);
  const bytes = new Uint8Array(HeaderBytes + frame.payload.byteLength);
  encodeFrameInto(bytes, 0, frame);
  return bytes;
}

/** Throws a RangeError for a payload larger than its type allows (a bug in the caller, not input). */
export function checkPayloadSize(frame: Frame): void {
  const max = maxPayload(frame.type);
  if (frame.payload.byteLength > max) throw new RangeError(`frame payload of ${frame.payload.byteLength} bytes exceeds ${max}`);
}

/** Writes one frame (checked by the caller) into `target` at `offset`; returns the offset after it. */
export function encodeFrameInto(target: Uint8Array, offset: number, frame: Frame): number {
  const view = new DataView(target.buffer, target.byteOffset + offset, HeaderBytes);
  view.setUint8(0, frame.type);
  view.setUint32(1, frame.stream >>> 0);
  view.setUint32(5, frame.payload.byteLength);
  target.set(frame.payload, offset + HeaderBytes);
  return offset + HeaderBytes + frame.payload.byteLength;
}

export function maxPayload(type: number): number {
  return type === FrameType.Control ? MaxControlPayloadBytes : MaxPayloadBytes;
}

export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A HELLO or WELCOME payload: the magic, then JSON. */
export function encodeHandshake(value: unknown): Uint8Array {
  const json = encodeJson(value);
  const bytes = new Uint8Array(HandshakeMagic.byteLength + json.byteLength);
  bytes.set(HandshakeMagic);
  bytes.set(json, HandshakeMagic.byteLength);
  return bytes;
}

/** The JSON of a HELLO/WELCOME payload, or undefined when the magic is missing or the JSON does not parse. */
export function decodeHandshake(payload: Uint8Array): unknown {
  if (payload.byteLength < HandshakeMagic.byteLength) return undefined;
  for (let i = 0; i < HandshakeMagic.byteLength; i++) if (payload[i] !== HandshakeMagic[i]) return undefined;
  return decodeJson(payload.subarray(HandshakeMagic.byteLength));
}

export function decodeJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return undefined;
  }
}

export type ParsedItem = { kind: "frame"; frame: Frame } | { kind: "garbage"; reason: string };

/**
 * Incremental frame reader. In sync mode (the start, and after garbage) it skips bytes until a handshake frame of
 * `syncType`; a malformed header (unknown type, oversized length, bad handshake) is reported once as garbage and puts
 * the reader back into sync mode. Buffered input is bounded by one frame.
 */
export class FrameParser {
  readonly #syncType: FrameTypeCode;
  /** The unread bytes: a view into #store, or into an older block while #store is a newer one. */
  #buffer: Uint8Array = new Uint8Array(0);
  /** The block input is copied into. Bytes after the end of #buffer were never handed out as a payload. */
  #store: Uint8Array = new Uint8Array(0);
  #syncing = true;

  /** `syncType` is the handshake this side waits for: HELLO in the agent, WELCOME in the host. */
  constructor(syncType: FrameTypeCode) {
    this.#syncType = syncType;
  }

  get syncing(): boolean {
    return this.#syncing;
  }

  /** Waits for the next handshake, skipping everything before it (a new connection, or a reset). */
  resync(): void {
    this.#syncing = true;
  }

  /** Feeds bytes; returns the complete frames and garbage reports in input order. */
  push(chunk: Uint8Array): ParsedItem[] {
    this.#append(chunk);
    const items: ParsedItem[] = [];
    for (;;) {
      if (this.#syncing && !this.#findHandshake()) break;
      if (this.#buffer.byteLength < HeaderBytes) break;
      const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
      const type = view.getUint8(0);
      const stream = view.getUint32(1);
      const length = view.getUint32(5);
      const bad = !knownTypes.has(type) ? `unknown frame type 0x${type.toString(16)}` : length > maxPayload(type) ? `frame length ${length} exceeds ${maxPayload(type)}` : undefined;
      if (bad) {
        // Skip one byte and look for the next handshake in what is left: a HELLO may follow the garbage directly.
        items.push({ kind: "garbage", reason: bad });
        this.#buffer = this.#buffer.subarray(1);
        this.#syncing = true;
        continue;
      }
      if (this.#buffer.byteLength < HeaderBytes + length) break;
      const payload = this.#buffer.subarray(HeaderBytes, HeaderBytes + length);
      this.#buffer = this.#buffer.subarray(HeaderBytes + length);
      items.push({ kind: "frame", frame: { type: type as FrameTypeCode, stream, payload } });
    }
    return items;
  }

  /**
   * Copies `chunk` after the unread bytes, so each input byte is copied once however small the chunks are (the
   * virtio-serial port reads 4 KiB at a time; re-concatenating a partial 64 KiB frame for each chunk cost 6× the
   * copying). Payloads handed out are views of the blocks and stay valid: only the space after the unread bytes, never
   * handed out, is written.
   */
  #append(chunk: Uint8Array): void {
    const buffer = this.#buffer;
    // Nothing unread: the chunk itself is read from, and only a partial frame at its end is copied on the next push.
    // Safe because every source hands over a fresh buffer per chunk (Bun's file streams, node sockets) and never
    // writes into it again; this saves copying most of the bulk bytes (about 18 % of the agent's CPU when forwarding).
    if (buffer.byteLength === 0) {
      this.#buffer = chunk;
      return;
    }
    const store = this.#store;
    const end = buffer.byteOffset + buffer.byteLength;
    if (buffer.buffer === store.buffer && end + chunk.byteLength <= store.byteOffset + store.byteLength) {
      store.set(chunk, end - store.byteOffset);
      this.#buffer = new Uint8Array(store.buffer, buffer.byteOffset, buffer.byteLength + chunk.byteLength);
      return;
    }
    const size = buffer.byteLength + chunk.byteLength;
    const next = new Uint8Array(Math.max(size, this.#frameBytes(), StoreBlockBytes));
    next.set(buffer);
    next.set(chunk, buffer.byteLength);
    this.#store = next;
    this.#buffer = next.subarray(0, size);
  }

  /** The size of the frame at the start of the unread bytes when its header is there and sane, else 0. */
  #frameBytes(): number {
    if (this.#syncing || this.#buffer.byteLength < HeaderBytes) return 0;
    const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, HeaderBytes);
    const type = view.getUint8(0);
    const length = view.getUint32(5);
    return knownTypes.has(type) && length <= maxPayload(type) ? HeaderBytes + length : 0;
  }

  /** Moves the buffer to the start of a plausible handshake frame; false when none is complete enough yet. */
  #findHandshake(): boolean {
    const buffer = this.#buffer;
    let from = HeaderBytes;
    for (;;) {
      const at = indexOf(buffer, HandshakeMagic, from);
      if (at < 0) {
        // Keep only a tail that could still become the start of a handshake header plus magic.
        const keep = HeaderBytes + HandshakeMagic.byteLength - 1;
        if (buffer.byteLength > keep) this.#buffer = buffer.slice(buffer.byteLength - keep);
        return false;
      }
      const start = at - HeaderBytes;
      const view = new DataView(buffer.buffer, buffer.byteOffset + start, HeaderBytes);
      const length = view.getUint32(5);
      if (view.getUint8(0) === this.#syncType && view.getUint32(1) === 0 && length >= HandshakeMagic.byteLength && length <= MaxPayloadBytes) {
        this.#buffer = buffer.subarray(start);
        this.#syncing = false;
        return true;
      }
      from = at + 1;
    }
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first as number, from); i >= 0 && i + needle.byteLength <= haystack.byteLength; i = haystack.indexOf(first as number, i + 1)) {
    for (let j = 1; j < needle.byteLength; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
