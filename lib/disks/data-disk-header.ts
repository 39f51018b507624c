// A data disk's format and virtual size read from its first bytes, as Lima reads them (go-qcow2reader) before
// falling back to qemu-img: a qcow2 image says both in its header, anything else is raw and as large as the file.
// No qemu-img here, so `den disk list` needs no process per disk and works while QEMU holds the image's write lock.
import type { DiskFormat } from "./disk-info.ts";

/** "QFI\xfb" */
const Qcow2Magic = [0x51, 0x46, 0x49, 0xfb] as const;
/** The header field `size` (big-endian u64) is at byte 24 in every qcow2 version. */
const Qcow2SizeOffset = 24;
/** How many leading bytes parseDataDiskHeader() needs. */
export const DataDiskHeaderBytes = Qcow2SizeOffset + 8;

export interface DataDiskHeader {
  format: DiskFormat;
  /** Virtual size in bytes. */
  size: number;
}

/** The format and virtual size of an image whose first bytes are `head` and whose file is `fileSize` bytes long. */
export function parseDataDiskHeader(head: Uint8Array, fileSize: number): DataDiskHeader {
  const isQcow2 = head.length >= DataDiskHeaderBytes && Qcow2Magic.every((byte, i) => head[i] === byte);
  if (!isQcow2) return { format: "raw", size: fileSize };
  const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(Qcow2SizeOffset);
  return { format: "qcow2", size: Number(size) };
}
