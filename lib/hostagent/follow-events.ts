// Follows ha.stdout.log as `tail -F` does: the file may not exist yet, may be truncated by the next `den start`,
// and is appended by another process whose writes can land in pieces. Polling keeps this the same on every OS.
import { open, stat } from "node:fs/promises";
import { sleep } from "../process/sleep.ts";
import { type HostAgentEvent, parseEvent } from "./events.ts";

export interface FollowEventsOptions {
  /** Ends the iteration (without an error) when aborted; the caller reads `signal.reason` if it cares why. */
  signal: AbortSignal;
  /** Events whose time is before this are skipped: they belong to an earlier run of the host agent. */
  since?: Date | undefined;
  /** How often to look for new bytes; 100 ms by default. */
  pollMs?: number | undefined;
}

const ReadChunkBytes = 64 * 1024;

/** Yields every event appended to `logPath` (and those already there, subject to `since`) until the signal aborts. */
export async function* followEvents(logPath: string, options: FollowEventsOptions): AsyncGenerator<HostAgentEvent, void, undefined> {
  const pollMs = options.pollMs ?? 100;
  const sinceMs = options.since?.getTime();
  let offset = 0;
  let inode: number | undefined;
  let pending = "";
  let decoder = new TextDecoder();
  while (!options.signal.aborted) {
    const current = await statOrUndefined(logPath);
    if (current && (current.ino !== inode || current.size < offset)) {
      // A new file, or the old one truncated: start over at its beginning.
      inode = current.ino;
      offset = 0;
      pending = "";
      decoder = new TextDecoder();
    }
    if (current && current.size > offset) {
      const chunk = await readFrom(logPath, offset, current.size);
      if (chunk.byteLength === 0) {
        // Truncated between the stat and the read; the next stat sees it.
        // An abort ends the wait and then, at the loop's condition, the iteration: without an error, as documented.
        await sleep(pollMs, options.signal).catch(() => {});
        continue;
      }
      offset += chunk.byteLength;
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      // The last piece has no newline yet: it may be half of a line still being written.
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const event = parseEvent(line);
        if (!event) continue;
        if (sinceMs !== undefined && Date.parse(event.time) < sinceMs) continue;
        yield event;
        if (options.signal.aborted) return;
      }
      continue;
    }
    await sleep(pollMs, options.signal).catch(() => {});
  }
}

async function statOrUndefined(path: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    const info = await stat(path);
    return { ino: info.ino, size: info.size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Reads bytes [start, end) or fewer (the file may have been truncated since the stat). */
async function readFrom(path: string, start: number, end: number): Promise<Uint8Array> {
  const length = Math.min(end - start, ReadChunkBytes);
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
