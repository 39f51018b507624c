// Compressed image files, recognised as Lima does: by extension (.gz .bz2 .xz .zst) or else by magic bytes. gzip and
// zstd are decoded in-process (node:zlib, native in Bun); xz and bzip2 have no native decoder there, so the
// system's own tool runs rather than a JavaScript port (these files are gigabytes).

export const Compressions = ["gzip", "bzip2", "xz", "zstd"] as const;
export type Compression = (typeof Compressions)[number];

const Extensions: Record<string, Compression> = { ".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd" };

const Magics: readonly { compression: Compression; bytes: readonly number[] }[] = [
  { compression: "gzip", bytes: [0x1f, 0x8b] },
  { compression: "bzip2", bytes: [0x42, 0x5a, 0x68] }, // "BZh"
  { compression: "xz", bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: "zstd", bytes: [0x28, 0xb5, 0x2f, 0xfd] },
];

/** The longest magic; read this many bytes of a file for `compressionOf`. */
export const MagicLength = 6;

/** How `name` is compressed, from its extension, else from its first bytes; undefined when it is not. */
export function compressionOf(name: string, head: Uint8Array = new Uint8Array()): Compression | undefined {
  const extension = /\.[a-z0-9]+$/i.exec(name)?.[0]?.toLowerCase();
  const byExtension = extension ? Extensions[extension] : undefined;
  if (byExtension) return byExtension;
  return Magics.find(({ bytes }) => bytes.length <= head.length && bytes.every((byte, i) => head[i] === byte))?.compression;
}

export type DecompressMethod = { kind: "zlib" } | { kind: "tool"; argv: string[]; packages: string };

/** How `compression` is undone: in-process, or by a command that decompresses stdin to stdout (and its package). */
export function decompressMethod(compression: Compression): DecompressMethod {
  switch (compression) {
    case "gzip":
    case "zstd":
      return { kind: "zlib" };
    case "bzip2":
      return { kind: "tool", argv: ["bzip2", "-dc"], packages: "bzip2" };
    case "xz":
      return { kind: "tool", argv: ["xz", "-dc"], packages: "xz-utils (macOS: brew install xz)" };
  }
}
