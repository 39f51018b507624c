// Everything the host agent needs to give a guest its agent: the bundle and the runtime line(s) for the seed, and the
// runtime disk to attach (each piece is in its own module; this only puts them together).
import { findAgentBundle } from "./agent-bundle.ts";
import { type FindGuestRuntimeContext, findGuestRuntime, type GuestRuntime } from "./guest-runtime.ts";
import { ensureRuntimeDisk } from "./runtime-disk.ts";
import { builtInRuntimeManifest } from "./runtime-manifest.ts";

export interface PreparedGuestAgent {
  bundle: Uint8Array;
  runtime: GuestRuntime;
  /** Bun's musl build for the same arch, on the same disk; only when asked for and this den has one. */
  muslRuntime?: GuestRuntime;
  /** Absolute path of the runtime disk (drivers attach it read-only after the seed). */
  runtimeDisk: string;
}

export interface PrepareGuestAgentContext extends Omit<FindGuestRuntimeContext, "libc"> {
  /**
   * Also carry the musl runtime (expectsMuslGuest() in guest-libc.ts). A den whose manifest has no musl runtime for
   * the arch gives the glibc one alone, and the guest's boot script says what is missing; one it has but cannot get
   * (offline) throws, as the glibc one does.
   */
  musl?: boolean;
}

/** The agent for guests of `arch`; undefined when den has no agent for it. Throws when one is known but unusable. */
export async function prepareGuestAgent(arch: string, ctx: PrepareGuestAgentContext): Promise<PreparedGuestAgent | undefined> {
  const bundle = await findAgentBundle(ctx);
  if (!bundle) return undefined;
  const runtime = await findGuestRuntime(arch, ctx);
  if (!runtime) return undefined;
  const muslRuntime = ctx.musl ? await findGuestRuntime(arch, { ...ctx, libc: "musl" }) : undefined;
  // Only the disk of den's own executable sweeps the others: that is the one each build of den changes, and a sweep
  // made for a foreign arch would remove the native disk, which this den cannot name without hashing itself.
  const native = runtime.path === (ctx.execPath ?? process.execPath);
  const sweepKeeping = native ? knownRuntimeSha256s(ctx) : undefined;
  const runtimeDisk = await ensureRuntimeDisk(runtime, { ...ctx, musl: muslRuntime, sweepKeeping });
  return { bundle, runtime, ...(muslRuntime && { muslRuntime }), runtimeDisk };
}

/** The runtimes of the other arches (and C libraries) this den may attach: the ones its manifest names. */
export function knownRuntimeSha256s(ctx: Pick<FindGuestRuntimeContext, "manifest" | "distDir">): Set<string> {
  const manifest = ctx.manifest === undefined ? builtInRuntimeManifest(ctx.distDir) : ctx.manifest;
  return new Set(Object.values(manifest?.runtimes ?? {}).map((entry) => entry.sha256));
}
