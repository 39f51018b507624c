// Decompresses one file into another, streaming: gzip and zstd through node:zlib, xz and bzip2 through the system
// tool (a missing tool is named, with the package that has it). `onInput` sees every compressed byte, so a caller
// can hash the file while it is read once.
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { DenError } from "../errors.ts";
import { type Compression, decompressMethod } from "./compression.ts";

export interface DecompressOptions {
  /** What the file is, for messages: "image", "kernel". */
  what: string;
  mode?: number;
  onInput?: ((chunk: Uint8Array) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export async function decompressFile(source: string, target: string, compression: Compression, options: DecompressOptions): Promise<void> {
  const method = decompressMethod(compression);
  if (method.kind === "zlib") {
    const decoder = compression === "gzip" ? zlib.createGunzip() : zstdDecoder();
    try {
      await pipeline(createReadStream(source), tap(options.onInput), decoder, createWriteStream(target, { mode: options.mode ?? 0o644 }), {
        ...(options.signal && { signal: options.signal }),
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      throw decompressFailed(source, compression, (error as Error).message, options.what, error);
    }
    return;
  }
  await runTool(source, target, method.argv, method.packages, options);
}

/** Bun has node:zlib's zstd streams, but the installed @types/node predates them. */
function zstdDecoder(): Transform {
  return (zlib as unknown as { createZstdDecompress: () => Transform }).createZstdDecompress();
}

function tap(onInput: DecompressOptions["onInput"]): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onInput?.(chunk);
      done(null, chunk);
    },
  });
}

async function runTool(source: string, target: string, argv: string[], packages: string, options: DecompressOptions): Promise<void> {
  const [tool, ...args] = argv as [string, ...string[]];
  const output = await open(target, "w", options.mode ?? 0o644);
  try {
    const child = spawn(tool, args, { stdio: ["pipe", output.fd, "pipe"], ...(options.signal && { signal: options.signal }) });
    const { stdin, stderr: errorStream } = child;
    if (!stdin || !errorStream) throw new DenError("INTERNAL", `Cannot talk to ${tool}: its pipes were not opened`);
    let stderr = "";
    errorStream.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
      child.once("error", (error: NodeJS.ErrnoException) => resolve({ code: null, error }));
      child.once("close", (code) => resolve({ code }));
    });
    // A decompressor that dies early closes its stdin; the exit status below says why.
    stdin.on("error", () => {});
    const feed = (async () => {
      for await (const chunk of createReadStream(source)) {
        if (stdin.destroyed) break;
        options.onInput?.(chunk as Buffer);
        if (!stdin.write(chunk)) await Promise.race([new Promise((resolve) => stdin.once("drain", resolve)), exited]);
      }
      stdin.end();
    })();
    const [result] = await Promise.all([exited, feed]);
    if (result.error?.code === "ENOENT") {
      throw new DenError("HOST_TOOL_MISSING", `Cannot decompress ${options.what} "${source}": "${tool}" is not installed`, {
        hint: `install ${packages}, or point the location at an uncompressed file`,
      });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    if (result.code !== 0) {
      const reason = stderr.trim().split("\n").at(-1) || result.error?.message || `exit code ${result.code}`;
      throw decompressFailed(source, tool, reason, options.what);
    }
    await output.sync();
  } finally {
    await output.close();
  }
}

function decompressFailed(source: string, how: string, reason: string, what: string, cause?: unknown): DenError {
  return new DenError("IO", `Cannot decompress ${what} "${source}" with ${how}: ${reason}`, {
    hint: "check that the file is complete and really is compressed as its name says",
    ...(cause !== undefined && { cause }),
  });
}
