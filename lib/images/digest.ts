// The `digest:` of an images[] entry: OCI go-digest notation, `<algorithm>:<hex>`, as Lima accepts it
// (sha256 and sha512).
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { DenError } from "../errors.ts";

export const DigestAlgorithms = ["sha256", "sha512"] as const;
export type DigestAlgorithm = (typeof DigestAlgorithms)[number];

export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hex: string;
}

const HexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** `sha256:<64 hex>` or `sha512:<128 hex>`; throws CONFIG_INVALID for anything else. */
export function parseDigest(text: string): Digest {
  const colon = text.indexOf(":");
  const algorithm = colon < 0 ? "" : text.slice(0, colon);
  const hex = text.slice(colon + 1).toLowerCase();
  if (!(DigestAlgorithms as readonly string[]).includes(algorithm)) {
    throw new DenError("CONFIG_INVALID", `Cannot verify digest "${text}": unsupported algorithm "${algorithm}"`, {
      hint: 'write the digest as "sha256:<hex>" or "sha512:<hex>"',
    });
  }
  const wanted = HexLength[algorithm as DigestAlgorithm];
  if (hex.length !== wanted || !/^[0-9a-f]+$/.test(hex)) {
    throw new DenError("CONFIG_INVALID", `Cannot verify digest "${text}": expected ${wanted} hex digits after "${algorithm}:"`, {
      hint: `compute it with ${algorithm}sum FILE`,
    });
  }
  return { algorithm: algorithm as DigestAlgorithm, hex };
}

export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

/** A running hash for `algorithm`. */
export function digestHasher(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** The digest of a file's contents in `<algorithm>:<hex>` form, read as a stream (images are gigabytes). */
export async function hashFile(path: string, algorithm: DigestAlgorithm, signal?: AbortSignal): Promise<string> {
  const hash = digestHasher(algorithm);
  for await (const chunk of createReadStream(path)) {
    signal?.throwIfAborted();
    hash.update(chunk as Buffer);
  }
  return `${algorithm}:${hash.digest("hex")}`;
}
