// Everything the host agent needs to give a guest its agent: the bundle and the runtime line for the seed, and the
// runtime disk to attach (each piece is in its own module; this only puts them together).
import { findAgentBundle } from "./agent-bundle.ts";
import { type FindGuestRuntimeContext, findGuestRuntime, type GuestRuntime } from "./guest-runtime.ts";
import { ensureRuntimeDisk } from "./runtime-disk.ts";

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
  return { bundle, runtime, runtimeDisk: await ensureRuntimeDisk(runtime, ctx) };
}
