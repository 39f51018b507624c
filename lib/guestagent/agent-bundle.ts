// The agent half of the guest agent: den-guestagent.js, the agent's code bundled into one file
// (`bun build agent/main.ts --target=bun --minify`, ~0.3 MB), which the guest runs with the runtime
// (guest-runtime.ts). A compiled den carries it zstd-compressed as an embedded file; den run from source reads
// dist/agent/den-guestagent.js, which `bun scripts/build.ts --agent-only` writes.
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { DistAgentDir } from "./runtime-manifest.ts";

export const AgentBundleName = "den-guestagent.js";
/** The embedded copy's name before Bun's content hash: den-guestagent-bundle-1a2b3c4d.zst. */
export const EmbeddedBundleStem = "den-guestagent-bundle";

export interface FindAgentBundleContext {
  /** Defaults to Bun.embeddedFiles. */
  embeddedFiles?: readonly Blob[];
  /** Defaults to dist/agent/ of the source checkout. */
  distDir?: string;
}

/** The bundle's bytes; undefined when den has none (a source checkout where the agent was never built). */
export async function findAgentBundle(ctx: FindAgentBundleContext = {}): Promise<Uint8Array | undefined> {
  const embedded = (ctx.embeddedFiles ?? Bun.embeddedFiles).find((blob) => {
    const name = (blob as Blob & { name?: string }).name ?? "";
    return name.startsWith(`${EmbeddedBundleStem}-`) && name.endsWith(".zst");
  });
  if (embedded) {
    try {
      return await Bun.zstdDecompress(new Uint8Array(await embedded.arrayBuffer()));
    } catch (error) {
      throw new DenError("GUEST_AGENT", `Cannot unpack the guest agent bundle: ${(error as Error).message}`, {
        cause: error,
        hint: "the den binary is damaged; reinstall den or rebuild it with bun scripts/build.ts",
      });
    }
  }
  const file = Bun.file(join(ctx.distDir ?? DistAgentDir, AgentBundleName));
  return (await file.exists()) ? file.bytes() : undefined;
}
