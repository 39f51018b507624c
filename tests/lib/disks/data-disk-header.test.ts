import { expect, test } from "bun:test";
import { DataDiskHeaderBytes, parseDataDiskHeader } from "../../../lib/disks/data-disk-header.ts";

/** A qcow2 header prefix: magic, version 3, and the virtual size at byte 24. */
function qcow2Head(size: bigint): Uint8Array {
  const head = new Uint8Array(DataDiskHeaderBytes);
  head.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]);
  new DataView(head.buffer).setBigUint64(24, size);
  return head;
}

test.each([
  { name: "a qcow2 header", head: qcow2Head(10n * 2n ** 30n), fileSize: 196_616, want: { format: "qcow2", size: 10 * 2 ** 30 } },
  { name: "a raw disk (zeros)", head: new Uint8Array(DataDiskHeaderBytes), fileSize: 2 ** 30, want: { format: "raw", size: 2 ** 30 } },
  { name: "a file shorter than the header", head: new Uint8Array([0x51, 0x46, 0x49, 0xfb]), fileSize: 4, want: { format: "raw", size: 4 } },
  { name: "an empty file", head: new Uint8Array(0), fileSize: 0, want: { format: "raw", size: 0 } },
])("parseDataDiskHeader() reads $name", ({ head, fileSize, want }) => {
  expect(parseDataDiskHeader(head, fileSize)).toEqual(want as never);
});

test("parseDataDiskHeader() reads a header that starts inside a larger buffer", () => {
  const buffer = new Uint8Array(DataDiskHeaderBytes + 8);
  buffer.set(qcow2Head(4096n), 8);
  expect(parseDataDiskHeader(buffer.subarray(8), 1)).toEqual({ format: "qcow2", size: 4096 });
});
