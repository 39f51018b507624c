// The guest agent's files in the seed (cidata.iso), as cidata/boot/linux/25-guestagent.sh reads them:
//   den-guestagent.js        the agent bundle (0644), installed when it differs from the guest's copy;
//   den-guestagent.runtime   one line `<runtime sha256> <target> <bun version>`: the guest runs the runtime straight
//                            from the runtime disk it mounts, once that disk's bun.sha256 matches this line.
// No runtime bytes: the runtime travels on its own read-only disk (runtime-disk.ts), so the seed stays small.
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { AgentBundleName } from "./agent-bundle.ts";
import type { GuestRuntime } from "./guest-runtime.ts";

export const AgentBundleSeedName = AgentBundleName;
export const RuntimeIdSeedName = "den-guestagent.runtime";

/** `<sha256> <target> <bun version>\n` */
export function runtimeIdLine(runtime: Pick<GuestRuntime, "sha256" | "target" | "bunVersion">): string {
  return `${runtime.sha256} ${runtime.target} ${runtime.bunVersion}\n`;
}

export function guestAgentSeedEntries(agent: { bundle: Uint8Array; runtime: Pick<GuestRuntime, "sha256" | "target" | "bunVersion"> }): IsoFileEntry[] {
  const line = new TextEncoder().encode(runtimeIdLine(agent.runtime));
  return [
    { path: AgentBundleSeedName, kind: "file", mode: 0o644, size: agent.bundle.byteLength, source: () => agent.bundle },
    { path: RuntimeIdSeedName, kind: "file", mode: 0o644, size: line.byteLength, source: () => line },
  ];
}
