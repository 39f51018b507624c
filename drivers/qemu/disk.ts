// The instance's boot disk: a qcow2 overlay over the cached base image (so the base is shared and never
// written), grown, never shrunk, to the configured `disk:` size on every start. All work is done by qemu-img.
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { DenError } from "../../lib/errors.ts";
import { run } from "../../lib/process/run.ts";

/** Formats den tells apart by content; everything that is not qcow2 or an ISO is treated as raw. */
export type DetectedImageFormat = "qcow2" | "iso" | "raw";

export interface QemuImgOptions {
  /** The qemu-img binary; default "qemu-img" from PATH. */
  qemuImg?: string;
}

export interface CreateOverlayOptions extends QemuImgOptions {
  /** The base image; stored in the overlay as an absolute path. */
  base: string;
  overlay: string;
  /** Virtual size of the overlay; at least the base's size. */
  sizeBytes: number;
  /** Format of the base image, recorded so QEMU never probes it (probing raw images is unsafe). */
  baseFormat: "qcow2" | "raw";
}

/** The subset of `qemu-img info --output=json` den reads. */
export interface QemuImgInfo {
  format: string;
  "virtual-size": number;
  "actual-size"?: number;
  "backing-filename"?: string;
  "backing-filename-format"?: string;
}

const Qcow2Magic = [0x51, 0x46, 0x49, 0xfb]; // "QFI\xfb"
const IsoMagicOffset = 0x8001;
const IsoMagic = "CD001";

/** `qemu-img create -f qcow2 -F <fmt> -b <base> <overlay> <size>`. */
export async function createOverlay(options: CreateOverlayOptions): Promise<void> {
  const base = resolve(options.base);
  await qemuImg(["create", "-f", "qcow2", "-F", options.baseFormat, "-b", base, options.overlay, String(options.sizeBytes)], options);
}

/** Reads `qemu-img info --output=json` of `path`. */
export async function qemuImgInfo(path: string, options: QemuImgOptions = {}): Promise<QemuImgInfo> {
  const stdout = await qemuImg(["info", "--output=json", path], options);
  return JSON.parse(stdout) as QemuImgInfo;
}

/** Grows the disk to `sizeBytes` when it is smaller; returns whether it did. A disk is never shrunk. */
export async function growDisk(path: string, sizeBytes: number, options: QemuImgOptions = {}): Promise<boolean> {
  const info = await qemuImgInfo(path, options);
  if (info["virtual-size"] >= sizeBytes) return false;
  await qemuImg(["resize", "-f", info.format, path, String(sizeBytes)], options);
  return true;
}

/** `qemu-img create -f qcow2 <path> <size>`: an empty disk, e.g. the install target of an ISO-booted instance. */
export async function createEmptyDisk(path: string, sizeBytes: number, options: QemuImgOptions = {}): Promise<void> {
  await qemuImg(["create", "-f", "qcow2", path, String(sizeBytes)], options);
}

/** What `qemu-img snapshot` does to the internal snapshots of a stopped qcow2 disk. */
export type SnapshotAction = "create" | "apply" | "delete" | "list";

const SnapshotFlags: Record<SnapshotAction, string> = { create: "-c", apply: "-a", delete: "-d", list: "-l" };

/** `qemu-img snapshot -c|-a|-d <tag> <path>` or `-l <path>`; returns qemu-img's output (the table for "list"). */
export async function snapshotDisk(path: string, action: SnapshotAction, options: QemuImgOptions & { tag?: string } = {}): Promise<string> {
  const args = ["snapshot", SnapshotFlags[action]];
  if (action !== "list") args.push(options.tag ?? "");
  return qemuImg([...args, path], options);
}

/** Tells qcow2 ("QFI\xfb" at 0) and ISO9660 ("CD001" at 0x8001) apart from raw by their magic bytes. */
export async function detectImageFormat(path: string): Promise<DetectedImageFormat> {
  const handle = await open(path, "r");
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead === 4 && Qcow2Magic.every((byte, i) => head[i] === byte)) return "qcow2";
    const iso = new Uint8Array(IsoMagic.length);
    const isoRead = await handle.read(iso, 0, iso.length, IsoMagicOffset);
    if (isoRead.bytesRead === iso.length && new TextDecoder().decode(iso) === IsoMagic) return "iso";
    return "raw";
  } finally {
    await handle.close();
  }
}

/** Runs qemu-img and returns its stdout; a failure becomes a DenError("QEMU_IMG") carrying its stderr. */
async function qemuImg(args: string[], options: QemuImgOptions): Promise<string> {
  const binary = options.qemuImg ?? "qemu-img";
  const { code, stdout, stderrTail } = await run([binary, ...args]).catch((error: unknown) => {
    // run() names the errno in its cause; the hint here knows which package has qemu-img.
    const errno = (error instanceof DenError ? error.cause : error) as NodeJS.ErrnoException | undefined;
    throw new DenError("QEMU_IMG", `Cannot run "${binary}": ${errno?.code ?? (error as Error).message}`, {
      hint: "install qemu-img (Debian: apt-get install qemu-utils; macOS: brew install qemu)",
      cause: error,
    });
  });
  if (code === 0) return stdout;
  const reason = stderrTail.trim().split("\n").at(-1) || `exit code ${code}`;
  throw new DenError("QEMU_IMG", `qemu-img ${args[0]} failed: ${reason}`, { hint: `the command was: ${binary} ${args.join(" ")}`, details: { stderr: stderrTail } });
}
