// Follows the guest's serial console log as QEMU appends to it, so the host agent can tell which boot stage the guest
// is in. Polling rather than fs.watch: inotify does not see writes through every filesystem, and a poll every few
// hundred milliseconds costs nothing next to a booting VM.
import { open } from "node:fs/promises";

export interface SerialWatch {
  /** The last `maxLines` complete lines read so far. */
  tail(maxLines: number): string[];
  stop(): void;
}

export interface WatchSerialOptions {
  /** Called with each new piece of text, as read (not split into lines). */
  onText: (text: string) => void;
  pollMs?: number;
  /** Lines kept for tail(); 200 by default. */
  keepLines?: number;
}

export function watchSerial(path: string, options: WatchSerialOptions): SerialWatch {
  const keep = options.keepLines ?? 200;
  let offset = 0;
  let partial = "";
  let lines: string[] = [];
  let stopped = false;
  const decoder = new TextDecoder();

  const poll = async (): Promise<void> => {
    const handle = await open(path, "r").catch(() => undefined);
    if (handle === undefined) return;
    try {
      const { size } = await handle.stat();
      if (size < offset) offset = 0; // truncated: a new boot wrote a new log
      while (offset < size) {
        const buffer = Buffer.alloc(Math.min(size - offset, 1 << 20));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const text = decoder.decode(buffer.subarray(0, bytesRead), { stream: true });
        const split = (partial + text).split(/\r?\n/);
        partial = split.pop() ?? "";
        lines = [...lines, ...split].slice(-keep);
        options.onText(text);
      }
    } finally {
      await handle.close();
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      await poll();
      await Bun.sleep(options.pollMs ?? 250);
    }
  };
  void loop();

  return {
    tail: (maxLines) => [...lines, ...(partial === "" ? [] : [partial])].slice(-maxLines),
    stop: () => void (stopped = true),
  };
}
