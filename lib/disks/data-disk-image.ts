// The qemu-img work behind `den disk create|resize|import`: every image operation is qemu-img's, so a qcow2 disk den
// makes is one QEMU and Lima open as they would their own. Each writes the final path only once complete where it
// makes a new file (create, import): a crash leaves a `.tmp` beside it, never a half-made datadisk.
import { rename, rm } from "node:fs/promises";
import { DenError, excerptPath } from "../errors.ts";
import { run } from "../process/run.ts";
import { DiskFormats, type DiskFormat } from "./disk-info.ts";

export interface QemuImgOptions {
  /** The qemu-img binary; "qemu-img" from PATH by default. */
  qemuImg?: string | undefined;
}

const QemuImgHint = "install qemu-img (Debian: apt-get install qemu-utils; macOS: brew install qemu)";

/** `qemu-img create -f FORMAT PATH SIZE`: an empty (sparse) disk. */
export async function createDataDisk(path: string, disk: { format: DiskFormat; sizeBytes: number }, options: QemuImgOptions = {}): Promise<void> {
  await atomically(path, (temporary) => qemuImg(["create", "-f", disk.format, temporary, String(disk.sizeBytes)], options));
}

/** `qemu-img resize -f FORMAT PATH SIZE`; the caller has made sure the disk only grows. */
export async function resizeDataDisk(path: string, disk: { format: DiskFormat; sizeBytes: number }, options: QemuImgOptions = {}): Promise<void> {
  await qemuImg(["resize", "-f", disk.format, path, String(disk.sizeBytes)], options);
}

/** What qemu-img says about an image to import. */
export interface ImportedImage {
  format: DiskFormat;
  /** Virtual size in bytes. */
  size: number;
}

/**
 * Copies the qcow2 or raw image `source` to `dest` in the same format (`qemu-img convert`: holes stay holes, and a
 * qcow2 overlay is flattened, so the disk never depends on a file outside its folder). Other formats are refused, as
 * Lima refuses them.
 */
export async function importDataDisk(source: string, dest: string, options: QemuImgOptions = {}): Promise<ImportedImage> {
  const info = parseImageInfo(await qemuImg(["info", "--output=json", source], options), source);
  if (!(DiskFormats as readonly string[]).includes(info.format)) {
    throw new DenError("QEMU_IMG", `Cannot import "${excerptPath(source)}": its format is "${info.format}", and den disks are qcow2 or raw`, {
      hint: `convert it first, e.g. qemu-img convert -O qcow2 ${source} ${source}.qcow2`,
    });
  }
  const format = info.format as DiskFormat;
  await atomically(dest, (temporary) => qemuImg(["convert", "-f", format, "-O", format, source, temporary], options));
  return { format, size: info.size };
}

/** The format and virtual size in `qemu-img info --output=json`. */
export function parseImageInfo(json: string, path: string): { format: string; size: number } {
  try {
    const parsed = JSON.parse(json) as { format?: unknown; "virtual-size"?: unknown };
    if (typeof parsed.format === "string" && typeof parsed["virtual-size"] === "number") return { format: parsed.format, size: parsed["virtual-size"] };
  } catch {
    // Reported below with the rest.
  }
  throw new DenError("QEMU_IMG", `Cannot read what qemu-img says about "${excerptPath(path)}": no format and size in its answer`, { hint: QemuImgHint });
}

async function atomically(path: string, write: (temporary: string) => Promise<unknown>): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await write(temporary);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Runs qemu-img; a failure becomes DenError("QEMU_IMG") with qemu-img's last stderr line. */
async function qemuImg(args: string[], options: QemuImgOptions): Promise<string> {
  const binary = options.qemuImg ?? "qemu-img";
  const result = await run([binary, ...args], { timeoutMs: 10 * 60_000 }).catch((error: unknown) => {
    if (error instanceof DenError && error.code === "HOST_TOOL_MISSING") {
      throw new DenError("HOST_TOOL_MISSING", `Cannot run "${binary}": it is not installed`, { hint: QemuImgHint, cause: error });
    }
    throw error;
  });
  if (result.code === 0) return result.stdout;
  const reason = result.stderrTail.trim().split("\n").at(-1) || `exit code ${result.code}`;
  throw new DenError("QEMU_IMG", `qemu-img ${args[0]} failed: ${reason}`, { hint: `the command was: ${binary} ${args.join(" ")}`, details: { stderr: result.stderrTail } });
}
