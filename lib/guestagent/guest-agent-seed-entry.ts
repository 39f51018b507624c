// The guest agent's files in the seed (cidata.iso), as cidata/boot/linux/25-guestagent.sh reads them:
//   den-guestagent.js        the agent bundle (0644), installed when it differs from the guest's copy;
//   den-guestagent.runtime   one line `<runtime sha256> <target> <bun version>`: the guest runs the runtime straight
//                            from the runtime disk it mounts, once that disk's bun.sha256 matches this line;
//   den-guestagent.runtime-musl  the same line for the musl runtime (bun-musl on the disk), only when den attached
//                            it; a musl guest runs that one. A separate file, so the first line keeps its format for
//                            the boot scripts of older dens.
// No runtime bytes: the runtime travels on its own read-only disk (runtime-disk.ts), so the seed stays small.
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { AgentBundleName } from "./agent-bundle.ts";
import type { GuestRuntime } from "./guest-runtime.ts";

export const AgentBundleSeedName = AgentBundleName;
export const RuntimeIdSeedName = "den-guestagent.runtime";
export const MuslRuntimeIdSeedName = "den-guestagent.runtime-musl";

/** `<sha256> <target> <bun version>\n` */
export function runtimeIdLine(runtime: Pick<GuestRuntime, "sha256" | "target" | "bunVersion">): string {
  return `${runtime.sha256} ${runtime.target} ${runtime.bunVersion}\n`;
}

type RuntimeId = Pick<GuestRuntime, "sha256" | "target" | "bunVersion">;

export function guestAgentSeedEntries(agent: { bundle: Uint8Array; runtime: RuntimeId; muslRuntime?: RuntimeId | undefined }): IsoFileEntry[] {
  const lineEntry = (path: string, runtime: RuntimeId): IsoFileEntry => {
    const line = new TextEncoder().encode(runtimeIdLine(runtime));
    return { path, kind: "file", mode: 0o644, size: line.byteLength, source: () => line };
  };
  return [
    { path: AgentBundleSeedName, kind: "file", mode: 0o644, size: agent.bundle.byteLength, source: () => agent.bundle },
    lineEntry(RuntimeIdSeedName, agent.runtime),
    ...(agent.muslRuntime ? [lineEntry(MuslRuntimeIdSeedName, agent.muslRuntime)] : []),
  ];
}
