// An instance's boot disk is a qcow2 overlay whose backing file is the instance's own `image`, stored as an absolute
// path (drivers/qemu/disk.ts). A folder that moves (rename) or is copied (clone) must take that path along, or the
// disk would go on reading the old folder's image, or nothing once it is gone.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { detectImageFormat, qemuImgInfo } from "../../drivers/qemu/disk.ts";
import { DenError } from "../errors.ts";
import { run } from "../process/run.ts";
import { Disk, Image } from "../store/filenames.ts";

export interface DiskBackingOptions {
  /** The folder the overlay's backing path names now (the instance's folder before the move or copy). */
  fromDir: string;
  /** The folder whose `image` it must name instead (where the instance ends up). */
  toDir: string;
  /** The qemu-img binary; "qemu-img" from PATH by default. */
  qemuImg?: string | undefined;
}

/**
 * Points `<dir>/disk` at `<toDir>/image` when it is an overlay of `<fromDir>/image`; true when it did. Any other disk
 * (raw, no backing file, a relative or foreign backing path) is left as it is. The new image need not exist yet:
 * only the overlay's header changes (`qemu-img rebase -u`), as both images hold the same bytes.
 */
export async function repointDiskBacking(dir: string, options: DiskBackingOptions): Promise<boolean> {
  const disk = join(dir, Disk);
  if (!existsSync(disk) || (await detectImageFormat(disk)) !== "qcow2") return false;
  const qemuImg = options.qemuImg ?? "qemu-img";
  const info = await qemuImgInfo(disk, { qemuImg });
  const backing = info["backing-filename"];
  if (!backing || !backing.startsWith("/") || resolve(backing) !== join(resolve(options.fromDir), Image)) return false;
  const format = info["backing-filename-format"] ?? "qcow2";
  const argv = [qemuImg, "rebase", "-u", "-f", "qcow2", "-F", format, "-b", join(resolve(options.toDir), Image), disk];
  const { code, stderrTail } = await run(argv).catch((error: unknown) => {
    throw new DenError("QEMU_IMG", `Cannot run "${qemuImg}": ${(error as Error).message}`, { cause: error, hint: "install qemu-img (Debian: apt-get install qemu-utils; macOS: brew install qemu)" });
  });
  if (code !== 0) {
    const reason = stderrTail.trim().split("\n").at(-1) || `exit code ${code}`;
    throw new DenError("QEMU_IMG", `qemu-img rebase failed: ${reason}`, { hint: `the command was: ${argv.join(" ")}` });
  }
  return true;
}
