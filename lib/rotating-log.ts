// A size-bounded log file written through a descriptor the process inherited: the host agent's stdout and stderr,
// which `den start` points at ha.stdout.log and ha.stderr.log. A guest that floods (listeners, bad frames) makes the
// host agent write; without a bound the files grow until the disk is full.
//
// Rotation is copy-then-truncate, keeping one `.1` generation: the descriptor cannot be re-pointed at a new file
// (Node has no dup2), and readers that follow the file by polling (follow-events.ts) see its size drop below their
// offset and start again at its beginning. Truncating is only clean when the descriptor was opened O_APPEND: every
// later write then lands at the new end. A descriptor opened without it keeps writing at its old offset, leaving a
// hole of NUL bytes in front; the first write after a rotation checks for that and from then on writes at the end
// explicitly (pwrite at the current size), which is what O_APPEND would have done. Lines written by others between
// the copy and the truncation (QEMU appends its own messages to ha.stderr.log) are lost; lines are never split.
import { closeSync, copyFileSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";

/** Size past which the host agent's log files are rotated: a flood keeps at most twice this per file on disk. */
export const LogRotateBytes = 10 * 1024 * 1024;

export interface RotatingLogOptions {
  /** The file the descriptor writes to; `<path>.1` is the previous generation. */
  path: string;
  maxBytes?: number;
}

export interface RotatingLog {
  /** Writes `text` (whole lines, newline included), rotating first when it would pass the size. Never throws. */
  write(text: string): void;
}

export function rotatingLog(fd: number, options: RotatingLogOptions): RotatingLog {
  const maxBytes = options.maxBytes ?? LogRotateBytes;
  const rotatable = isFileAt(fd, options.path);
  let checkAfterRotation = false;
  let writeAtEnd = false;

  const rotate = () => {
    copyFileSync(options.path, `${options.path}.1`);
    ftruncateSync(fd, 0);
    checkAfterRotation = !writeAtEnd;
  };

  return {
    write(text) {
      const bytes = Buffer.from(text);
      try {
        // The real size, not a count of our own writes: others append to the same file (QEMU to ha.stderr.log).
        const size = rotatable ? sizeOf(fd) : 0;
        if (size > 0 && size + bytes.byteLength > maxBytes) rotate();
        if (writeAtEnd) {
          writeSync(fd, bytes, 0, bytes.byteLength, sizeOf(fd));
          return;
        }
        writeSync(fd, bytes);
        if (checkAfterRotation) {
          checkAfterRotation = false;
          if (startsWithHole(options.path)) {
            // Opened without O_APPEND: remove the hole and write at the end from now on.
            ftruncateSync(fd, 0);
            writeSync(fd, bytes, 0, bytes.byteLength, 0);
            writeAtEnd = true;
          }
        }
      } catch {
        // A log line that cannot be written (disk full, descriptor closed) must not take the host agent down.
      }
    },
  };
}

/** True when `fd` is a regular file and the same one as `path`: a terminal or pipe is never truncated or copied. */
function isFileAt(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.isFile() && open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

function sizeOf(fd: number): number {
  return fstatSync(fd).size;
}

function startsWithHole(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const first = new Uint8Array(1);
    return readSync(fd, first, 0, 1, 0) === 1 && first[0] === 0;
  } finally {
    closeSync(fd);
  }
}
