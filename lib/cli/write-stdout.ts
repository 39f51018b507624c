// den's standard output, written with writeSync on descriptor 1 rather than through process.stdout: the first touch
// of process.stdout makes Bun build Node's stream classes, which cost `den list` several milliseconds at every start
// (bun run bench cli-startup), for output a command writes in a few calls. Written by hand: it is one loop.
import { writeSync } from "node:fs";

/**
 * Writes all of `text` before it returns. A reader that went away (`den list | head -1`) ends den quietly with
 * status 0, as it ends any Unix tool; a full pipe that a parent left non-blocking is waited on as a blocking one would.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EPIPE") process.exit(0);
      if (code !== "EAGAIN") throw error;
      Bun.sleepSync(1);
    }
  }
}
