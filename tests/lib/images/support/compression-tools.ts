// Every compression den reads, with the command-line tool that writes it (each named as the compression) and the
// extension Lima recognises: the image tests compress a file with each one. Typed by Compression, so a new one
// cannot be added to den without a fixture here.
import { type Compression, Compressions } from "../../../../lib/images/compression.ts";

const Extension: Record<Compression, string> = { gzip: "gz", bzip2: "bz2", xz: "xz", zstd: "zst" };

export const CompressionTools: readonly { tool: Compression; extension: string }[] = Compressions.map((tool) => ({ tool, extension: Extension[tool] }));
