// "Not forwarding TCP 127.0.0.1:5432" once per guest listener left unforwarded, not on every pass while it stays:
// said again only after it went away and came back. At info for listeners no rule covers (unless the user switched
// the whole protocol off), at debug for those a rule ignores or a static rule covers.
import type { Logger } from "../log.ts";
import { guestAddressText } from "./match-port-rule.ts";
import type { NotForwarded } from "./plan-forwards.ts";

export function unforwardedListeners(log: Logger, options: { ignored?: { tcp: boolean; udp: boolean } }): (notForwarded: readonly NotForwarded[]) => void {
  const logged = new Set<string>();
  return (notForwarded) => {
    const seen = new Set<string>();
    for (const { listener, why } of notForwarded) {
      const text = `${listener.proto.toUpperCase()} ${guestAddressText(listener)}`;
      seen.add(text);
      if (logged.has(text)) continue;
      logged.add(text);
      if (why === "none" && !options.ignored?.[listener.proto]) log.info(`Not forwarding ${text}`);
      else log.debug(`Not forwarding ${text} (${why === "static" ? "a static rule covers it" : "ignored by a rule"})`);
    }
    for (const text of logged) if (!seen.has(text)) logged.delete(text);
  };
}
