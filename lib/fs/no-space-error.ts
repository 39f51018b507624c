// A full disk, said in numbers: which file den was writing, how much room that takes and how much is free. errors.ts
// turns a bare ENOSPC into "no space left on the device", but the user must also learn how much to free (issue 18),
// and only the writer knows what it was about to write.
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { DenError, excerptPath } from "../errors.ts";

export interface NoSpaceOptions {
  /** What was being written, for the message: `image`, `the seed`. */
  what: string;
  /** The room the whole write needs on that file system. */
  neededBytes: number;
  /** `neededBytes` is a lower bound (a decompressed size is known only once written): "needs more than N MiB". */
  atLeast?: boolean;
  /** `neededBytes` is what is still missing after a part that stays on disk: "needs N MiB more". */
  more?: boolean;
  /** What else the user can do, after the default "free space on …". */
  hint?: string;
  cause?: unknown;
}

const FullDiskCodes = new Set(["ENOSPC", "EDQUOT"]);
/** How a child process (cp, xz, qemu-img) reports it on stderr, which den keeps in its error message. */
const FullDiskMessage = /No space left on device|Disk quota exceeded/i;

/** True when `error`, or any error in its `cause` chain, is a full file system or an exceeded quota. */
export function isNoSpaceError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string" && FullDiskCodes.has(code)) return true;
    if (typeof message === "string" && FullDiskMessage.test(message)) return true;
    current = cause;
  }
  return false;
}

/**
 * DenError("IO") for a write of `path` that ran out of room: `Cannot write image "…/image": no space left on the
 * device (needs 12 MiB, 7.5 MiB free)`. The free space is read now, after the caller removed what it had half-written.
 */
export function noSpaceError(path: string, options: NoSpaceOptions): DenError {
  const folder = dirname(path);
  const free = freeBytes(folder);
  const needs = `needs ${options.atLeast ? "more than " : ""}${formatMiB(options.neededBytes, "up")}${options.more ? " more" : ""}`;
  const room = free === undefined ? needs : `${needs}, ${formatMiB(free, "down")} free`;
  const base = `free space on the file system that holds "${excerptPath(folder)}" (df -h shows it), then run the command again`;
  return new DenError("IO", `Cannot write ${options.what} "${excerptPath(path)}": no space left on the device (${room})`, {
    hint: options.hint ? `${base}; ${options.hint}` : base,
    ...(options.cause !== undefined && { cause: options.cause }),
    details: { code: "ENOSPC", path, neededBytes: options.neededBytes, freeBytes: free },
  });
}

/** Bytes an unprivileged write may still use on the file system of `folder`; undefined when it cannot be read. */
function freeBytes(folder: string): number | undefined {
  try {
    const stats = statfsSync(folder);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

/** `12 MiB`, `0.3 MiB`: one decimal below 10 MiB; a need is rounded up and free space down, so neither flatters. */
export function formatMiB(bytes: number, round: "up" | "down"): string {
  const mib = bytes / (1024 * 1024);
  const step = mib < 10 ? 10 : 1;
  const rounded = (round === "up" ? Math.ceil(mib * step) : Math.floor(mib * step)) / step;
  return `${step === 10 ? rounded.toFixed(1) : rounded} MiB`;
}
