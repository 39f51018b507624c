// Reading input den does not control (templates, den.yaml, config layers, stdin) with a size cap. Files are
// checked before a single byte is read: a FIFO would block forever, /dev/zero never ends, and a 10 GB file
// would be read whole before any later size check could refuse it.
import { constants, type Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { DenError, type ErrorCode } from "../errors.ts";

export interface ReadBoundedOptions {
  /** Largest accepted size in bytes; one byte more is refused. */
  maxBytes: number;
  /** What the input is, naming its path, for messages: `template "/x/t.yaml"`, `configuration "/h/vm/den.yaml"`. */
  what: string;
  /** Code of the error for input over the limit; FILE_TOO_LARGE when absent. */
  tooLargeCode?: ErrorCode;
  /** What the user should check when the input is too large. */
  tooLargeHint?: string;
}

/**
 * The text of a regular file of at most `maxBytes` bytes. Anything else (FIFO, device, socket, folder)
 * is refused as FILE_NOT_REGULAR without being read. A missing or unreadable file rejects with the
 * system error, whose `code` is the errno name (ENOENT, EACCES), so callers can tell "absent" apart.
 */
export async function readRegularFileBounded(path: string, options: ReadBoundedOptions): Promise<string> {
  checkRegular(await stat(path), path, options);
  // O_NONBLOCK: should the path be swapped for a FIFO between stat and open, open still returns at once
  // and the fstat below refuses it. O_NOCTTY: a terminal device never becomes our controlling terminal.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = await handle.stat();
    checkRegular(stats, path, options);
    if (stats.size > options.maxBytes) throw tooLarge(options);
    // The file may grow after fstat: stop one chunk past the limit, never read it whole.
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return decode(Buffer.concat(chunks, size));
      size += bytesRead;
      if (size > options.maxBytes) throw tooLarge(options);
      chunks.push(chunk.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/**
 * The text of a stream, read chunk by chunk and given up (the stream cancelled) as soon as it passes
 * `maxBytes`, so endless input such as `yes | den create -` costs at most the limit in memory.
 */
export async function readStreamBounded(stream: ReadableStream<Uint8Array>, options: ReadBoundedOptions): Promise<string> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > options.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(options);
    }
    chunks.push(value);
  }
  return decode(Buffer.concat(chunks));
}

function checkRegular(stats: Stats, path: string, options: ReadBoundedOptions): void {
  if (stats.isFile()) return;
  throw new DenError("FILE_NOT_REGULAR", `Cannot read ${options.what}: it is ${kindOf(stats)}, not a regular file`, {
    hint: "give the path of a regular file",
    details: { path },
  });
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a named pipe";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "a special file";
}

function tooLarge(options: ReadBoundedOptions): DenError {
  return new DenError(options.tooLargeCode ?? "FILE_TOO_LARGE", `Cannot read ${options.what}: it is larger than ${formatLimit(options.maxBytes)}`, {
    hint: options.tooLargeHint ?? "check that the path points at the file you meant",
  });
}

/** `4 MiB` for the usual limits, else the byte count. */
function formatLimit(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
