// A generated file appears whole or not at all: its bytes stream into a temporary file beside it, which is renamed
// over it once complete. A failure or a crash leaves the previous file (or none), never a torn one, and the temporary
// file is removed on any failure.
// The temporary name comes from the global Web Crypto, not node:crypto: importing that loads Node's stream modules,
// which cost `den list` a few milliseconds at every start.
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { DenError } from "../errors.ts";

export interface WriteFileAtomicallyOptions {
  /** The file's mode, set on the file itself so that the umask does not decide it. */
  mode: number;
  /**
   * fsync before the rename, so that after a crash the name points at complete data rather than at a file whose
   * blocks were never written. Costs a flush of the whole file; what is rebuilt anyway may skip it.
   */
  sync?: boolean;
  /** The DenError for a failure to create or write the temporary file. A DenError from `chunks` passes as it is. */
  failure: (cause: unknown, at: { step: "create" | "write"; temporary: string }) => DenError;
}

/** Writes `chunks` to `path` atomically; the number of bytes written. */
export async function writeFileAtomically(path: string, chunks: AsyncIterable<Uint8Array>, options: WriteFileAtomicallyOptions): Promise<number> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  const handle = await open(temporary, "wx", options.mode).catch((error: unknown) => {
    throw options.failure(error, { step: "create", temporary });
  });
  let bytes = 0;
  let closed = false;
  try {
    const sink = new BatchedWriter((chunk) => writeAll(handle, chunk));
    for await (const chunk of chunks) {
      await sink.write(chunk);
      bytes += chunk.byteLength;
    }
    await sink.flush();
    await handle.chmod(options.mode);
    if (options.sync) await handle.sync();
    await handle.close();
    closed = true;
    await rename(temporary, path);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error instanceof DenError ? error : options.failure(error, { step: "write", temporary });
  }
  return bytes;
}

/**
 * Gathers small chunks (an ISO image's records and padding, small files) into 1 MiB writes, keeping syscalls few;
 * large chunks go straight through. Small chunks are copied, so a producer may reuse its buffer for the next one.
 */
class BatchedWriter {
  readonly #buffer = new Uint8Array(1024 * 1024);
  #used = 0;
  readonly #write: (chunk: Uint8Array) => Promise<void>;

  constructor(write: (chunk: Uint8Array) => Promise<void>) {
    this.#write = write;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength >= this.#buffer.length / 4) {
      await this.flush();
      await this.#write(chunk);
      return;
    }
    if (this.#used + chunk.byteLength > this.#buffer.length) await this.flush();
    this.#buffer.set(chunk, this.#used);
    this.#used += chunk.byteLength;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    await this.#write(this.#buffer.subarray(0, used));
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.byteLength; ) {
    const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at);
    at += bytesWritten;
  }
}
