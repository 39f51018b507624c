// The guest agent as a seed file: `den-guestagent` (0755) at the root of cidata.iso, which
// cidata/boot/linux/25-guestagent.sh installs as /usr/local/bin/den-guestagent. Streamed from the cache, so the
// ~100 MiB binary is never held in memory.
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import type { GuestAgentBinary } from "./embedded-agent.ts";

export const GuestAgentSeedName = "den-guestagent";

export function guestAgentSeedEntry(binary: GuestAgentBinary): IsoFileEntry {
  return { path: GuestAgentSeedName, kind: "file", mode: 0o755, size: binary.size, source: () => Bun.file(binary.path).stream() };
}
