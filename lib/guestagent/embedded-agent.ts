// Finds the guest agent binary for a guest arch. A compiled den carries both agents zstd-compressed as embedded files
// (scripts/build.ts passes them to `bun build --compile`); den run from source reads dist/agent/, which
// `bun scripts/build.ts --agent-only` writes. Either way the agent is decompressed into
// DEN_HOME/_cache/guestagent/<target>-<content hash>/den-guestagent and reused by every later start.
//
// The agent runs as root in every guest, so the cached copy is never trusted as found: it is used only when it is a
// regular 0600 file of ours whose sha256 equals that of the embedded agent, and it is unpacked again otherwise. The
// seed checks the same hash over the bytes it copies (guest-agent-seed-entry.ts). The price is decompressing the
// embedded agent on every start (about 0.3 s for the 107 MiB x64 agent) plus hashing it and the cached copy (0.2 s).
import { existsSync } from "node:fs";
import { chmod, lstat, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { CacheDir } from "../store/filenames.ts";

export interface GuestAgentBinary {
  /** The uncompressed agent in the cache. */
  path: string;
  size: number;
  /** sha256 (hex) of the agent den carries; the seed refuses bytes that do not match it. */
  sha256: string;
}

export interface FindGuestAgentContext {
  denHome: string;
  /** Defaults to Bun.embeddedFiles. */
  embeddedFiles?: readonly Blob[];
  /** Defaults to dist/agent/ of the source checkout. */
  distDir?: string;
}

const distDirDefault = join(import.meta.dir, "..", "..", "dist", "agent");

/** The cached agent is read, never run, on the host: private like the rest of DEN_HOME. */
const CachedAgentMode = 0o600;

/** The `bun build` target suffix of each guest arch den ships an agent for. */
export function agentTargetFor(arch: string): string | undefined {
  return arch === "x86_64" ? "linux-x64" : arch === "aarch64" ? "linux-arm64" : undefined;
}

/**
 * The agent for `arch` (den's arch names: x86_64, aarch64), unpacked in the cache; undefined when this den has no
 * agent for the arch (a build without agents, a source checkout without dist/agent/, or an arch den has none for).
 */
export async function findGuestAgent(arch: string, context: FindGuestAgentContext): Promise<GuestAgentBinary | undefined> {
  const target = agentTargetFor(arch);
  if (!target) return undefined;
  const compressed = await readCompressed(target, context);
  if (!compressed) return undefined;
  const cacheDir = join(context.denHome, CacheDir);
  const dir = join(cacheDir, "guestagent", `${target}-${Bun.hash(compressed).toString(16)}`);
  // Every level, so a cache folder an older den made world-writable cannot be used to swap the agent.
  for (const level of [cacheDir, join(cacheDir, "guestagent"), dir]) await ensurePrivateDir(level);
  const bytes = await decompress(compressed, arch);
  const sha256 = sha256Hex(bytes);
  const path = join(dir, "den-guestagent");
  if (!(await cachedAgentMatches(path, sha256))) await writeAgent(path, bytes);
  return { path, size: bytes.byteLength, sha256 };
}

/** sha256 (hex) of the file's bytes, read as a stream. */
export async function fileSha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

async function decompress(compressed: Uint8Array, arch: string): Promise<Uint8Array> {
  try {
    return await Bun.zstdDecompress(compressed);
  } catch (error) {
    throw new DenError("GUEST_AGENT", `Cannot unpack the guest agent for ${arch}: ${(error as Error).message}`, {
      cause: error,
      hint: "the den binary or dist/agent/ is damaged; rebuild with bun scripts/build.ts",
    });
  }
}

/** Whether `path` is our own regular file, writable by nobody else, with exactly the expected content. */
async function cachedAgentMatches(path: string, sha256: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || (info.mode & 0o777) !== CachedAgentMode || info.uid !== process.getuid?.()) return false;
  return (await fileSha256(path).catch(() => "")) === sha256;
}

async function writeAgent(path: string, bytes: Uint8Array): Promise<void> {
  // Written under a temporary name and renamed, so a concurrent `den start` never copies half an agent into a seed,
  // and a damaged or planted file (or a symlink) at `path` is replaced rather than written through.
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await rm(temporary, { force: true });
    await writeFile(temporary, bytes, { mode: CachedAgentMode, flag: "wx" });
    // The umask may have narrowed the mode further; cachedAgentMatches() expects it exactly.
    await chmod(temporary, CachedAgentMode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new DenError("IO", `Cannot write the guest agent to "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: "check that DEN_HOME is writable and the disk has space",
    });
  }
}

async function readCompressed(target: string, context: FindGuestAgentContext): Promise<Uint8Array | undefined> {
  const prefix = `den-guestagent-${target}`;
  // Bun names an embedded file after its source with a content hash before the extension: den-guestagent-linux-x64-1a2b3c4d.zst.
  const embedded = (context.embeddedFiles ?? Bun.embeddedFiles).find((file) => {
    const name = (file as Blob & { name?: string }).name ?? "";
    return name.startsWith(prefix) && name.endsWith(".zst");
  });
  if (embedded) return new Uint8Array(await embedded.arrayBuffer());
  const fromDist = join(context.distDir ?? distDirDefault, `${prefix}.zst`);
  if (existsSync(fromDist)) return Bun.file(fromDist).bytes();
  return undefined;
}
