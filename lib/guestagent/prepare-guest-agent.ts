// Everything the host agent needs to give a guest its agent: the bundle and the runtime line for the seed, and the
// runtime disk to attach (each piece is in its own module; this only puts them together).
import { findAgentBundle } from "./agent-bundle.ts";
import { type FindGuestRuntimeContext, findGuestRuntime, type GuestRuntime } from "./guest-runtime.ts";
import { ensureRuntimeDisk } from "./runtime-disk.ts";
import { builtInRuntimeManifest } from "./runtime-manifest.ts";

export interface PreparedGuestAgent {
  bundle: Uint8Array;
  runtime: GuestRuntime;
  /** Absolute path of the runtime disk (drivers attach it read-only after the seed). */
  runtimeDisk: string;
}

/** The agent for guests of `arch`; undefined when den has no agent for it. Throws when one is known but unusable. */
export async function prepareGuestAgent(arch: string, ctx: FindGuestRuntimeContext): Promise<PreparedGuestAgent | undefined> {
  const bundle = await findAgentBundle(ctx);
  if (!bundle) return undefined;
  const runtime = await findGuestRuntime(arch, ctx);
  if (!runtime) return undefined;
  // Only the disk of den's own executable sweeps the others: that is the one each build of den changes, and a sweep
  // made for a foreign arch would remove the native disk, which this den cannot name without hashing itself.
  const native = runtime.path === (ctx.execPath ?? process.execPath);
  const sweepKeeping = native ? knownRuntimeSha256s(ctx) : undefined;
  return { bundle, runtime, runtimeDisk: await ensureRuntimeDisk(runtime, { ...ctx, sweepKeeping }) };
}

/** The runtimes of the other arches this den may attach: the ones its manifest names. */
export function knownRuntimeSha256s(ctx: Pick<FindGuestRuntimeContext, "manifest" | "distDir">): Set<string> {
  const manifest = ctx.manifest === undefined ? builtInRuntimeManifest(ctx.distDir) : ctx.manifest;
  return new Set(Object.values(manifest?.runtimes ?? {}).map((entry) => entry.sha256));
}
