import { expect, test } from "bun:test";
import { compressionOf, decompressMethod } from "../../../lib/images/compression.ts";

test.each([
  { name: "a .gz name", file: "disk.img.gz", head: [], want: "gzip" },
  { name: "a .bz2 name", file: "disk.img.bz2", head: [], want: "bzip2" },
  { name: "an .xz name in upper case", file: "DISK.IMG.XZ", head: [], want: "xz" },
  { name: "a .zst name", file: "disk.raw.zst", head: [], want: "zstd" },
  { name: "gzip magic without an extension", file: "image", head: [0x1f, 0x8b, 8, 0], want: "gzip" },
  { name: "bzip2 magic", file: "image", head: [0x42, 0x5a, 0x68, 0x39], want: "bzip2" },
  { name: "xz magic", file: "image", head: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], want: "xz" },
  { name: "zstd magic", file: "image", head: [0x28, 0xb5, 0x2f, 0xfd, 0, 0], want: "zstd" },
  { name: "a qcow2 image", file: "disk.qcow2", head: [0x51, 0x46, 0x49, 0xfb], want: undefined },
  { name: "a file too short for xz magic", file: "image", head: [0xfd, 0x37], want: undefined },
])("compressionOf() recognises $name", ({ file, head, want }) => {
  expect(compressionOf(file, Uint8Array.from(head))).toBe(want as ReturnType<typeof compressionOf>);
});

test.each([
  { compression: "gzip", want: { kind: "zlib" } },
  { compression: "zstd", want: { kind: "zlib" } },
  { compression: "bzip2", want: { kind: "tool", argv: ["bzip2", "-dc"], packages: "bzip2" } },
  { compression: "xz", want: { kind: "tool", argv: ["xz", "-dc"], packages: "xz-utils (macOS: brew install xz)" } },
] as const)("decompressMethod() undoes $compression with $want.kind", ({ compression, want }) => {
  expect(decompressMethod(compression)).toEqual(want as ReturnType<typeof decompressMethod>);
});
