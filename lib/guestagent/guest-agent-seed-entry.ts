// The guest agent as a seed file: `den-guestagent` (0755) at the root of cidata.iso, which
// cidata/boot/linux/25-guestagent.sh installs as /usr/local/bin/den-guestagent. Streamed from the cache, so the
// ~100 MiB binary is never held in memory.
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { DenError } from "../errors.ts";
import type { GuestAgentBinary } from "./embedded-agent.ts";

export const GuestAgentSeedName = "den-guestagent";

export function guestAgentSeedEntry(binary: GuestAgentBinary): IsoFileEntry {
  return { path: GuestAgentSeedName, kind: "file", mode: 0o755, size: binary.size, source: () => verifiedAgentStream(binary) };
}

/**
 * The cached agent's bytes, hashed on their way into the seed: the guest runs them as root, so a file changed after
 * findGuestAgent() checked it fails the seed (which is then never renamed into place) instead of reaching the guest.
 */
function verifiedAgentStream(binary: GuestAgentBinary): ReadableStream<Uint8Array> {
  const hasher = new Bun.CryptoHasher("sha256");
  return Bun.file(binary.path)
    .stream()
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hasher.update(chunk);
          controller.enqueue(chunk);
        },
        flush() {
          const actual = hasher.digest("hex");
          if (actual === binary.sha256) return;
          throw new DenError("GUEST_AGENT", `Cannot seed the guest agent "${binary.path}": its sha256 is ${actual}, expected ${binary.sha256}`, {
            hint: "the cached agent changed after den checked it; start the instance again to unpack a fresh copy",
          });
        },
      }),
    );
}
