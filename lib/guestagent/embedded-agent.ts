// Finds the guest agent binary for a guest arch. A compiled den carries both agents zstd-compressed as embedded files
// (scripts/build.ts passes them to `bun build --compile`); den run from source reads dist/agent/, which
// `bun scripts/build.ts --agent-only` writes. Either way the agent is decompressed once into
// DEN_HOME/_cache/guestagent/<content hash>/den-guestagent and reused by every later start.
import { existsSync } from "node:fs";
import { chmod, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";

export interface GuestAgentBinary {
  /** The uncompressed, executable agent in the cache. */
  path: string;
  size: number;
}

export interface FindGuestAgentContext {
  denHome: string;
  /** Defaults to Bun.embeddedFiles. */
  embeddedFiles?: readonly Blob[];
  /** Defaults to dist/agent/ of the source checkout. */
  distDir?: string;
}

const distDirDefault = join(import.meta.dir, "..", "..", "dist", "agent");

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
  const key = Bun.hash(compressed).toString(16);
  const dir = join(context.denHome, "_cache", "guestagent", `${target}-${key}`);
  const path = join(dir, "den-guestagent");
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isFile()) return { path, size: existing.size };
  let bytes: Uint8Array;
  try {
    bytes = await Bun.zstdDecompress(compressed);
  } catch (error) {
    throw new DenError("GUEST_AGENT", `Cannot unpack the guest agent for ${arch}: ${(error as Error).message}`, {
      cause: error,
      hint: "the den binary or dist/agent/ is damaged; rebuild with bun scripts/build.ts",
    });
  }
  await mkdir(dir, { recursive: true });
  // Written under a temporary name and renamed, so a concurrent `den start` never copies half an agent into a seed.
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await chmod(temporary, 0o755);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new DenError("IO", `Cannot write the guest agent to "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: "check that DEN_HOME is writable and the disk has space",
    });
  }
  return { path, size: bytes.byteLength };
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
