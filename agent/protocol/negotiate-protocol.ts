// Which protocol version a session speaks: the highest one both sides know. The host offers a range in its HELLO and
// the agent answers with its pick, so a new host keeps working with an old agent (and a new agent with an old host):
// they agree on the older version, and nothing newer is sent on that session.
import { MinProtocolVersion, ProtocolVersion } from "./messages.ts";

export interface ProtocolRange {
  min: number;
  max: number;
}

/** What this build speaks. */
export const SupportedProtocols: ProtocolRange = { min: MinProtocolVersion, max: ProtocolVersion };

/** The highest version in both ranges, or 0 when they do not overlap (or a range is empty). */
export function negotiateProtocol(offered: ProtocolRange, supported: ProtocolRange = SupportedProtocols): number {
  const highest = Math.min(offered.max, supported.max);
  return highest >= Math.max(offered.min, supported.min) ? highest : 0;
}
