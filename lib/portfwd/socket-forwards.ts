// Unix-socket rules do not follow the guest's listeners: they hold for the instance's life, as Lima's ssh -L/-R do.
// A guest socket is exposed on the host once, at start; a host socket is exposed in the guest (`reverse`) when the
// agent connects, and again on each later connect until it is up (the agent client re-establishes it after that).
import type { FilledPortForward } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { ForwardLedger } from "./forward-ledger.ts";
import { type ForwardHandle, type ForwardRequest, type ForwardTransport, openFailure } from "./forward-transport.ts";

export interface SocketForwards {
  /** Settles once every guest socket is exposed on the host or has failed; never rejects. */
  readonly ready: Promise<void>;
  /** Exposes the host sockets in the guest that are not yet; for each time the agent connects. */
  exposeInGuest(): Promise<void>;
}

interface SocketRule {
  /** `unix:<host socket>:<guest socket>` */
  key: string;
  guest: string;
  host: string;
}

type Direction = "to-host" | "reverse";

const Wording: Record<Direction, { up(rule: SocketRule): string; failed(rule: SocketRule, detail: string): string }> = {
  "to-host": {
    up: (rule) => `Forwarding unix socket from ${rule.guest} to ${rule.host}`,
    failed: (rule, detail) => `Cannot forward guest socket "${rule.guest}" to host socket "${rule.host}": ${detail}`,
  },
  reverse: {
    up: (rule) => `Forwarding unix socket from host ${rule.host} to guest ${rule.guest} (reverse)`,
    failed: (rule, detail) => `Cannot expose host socket "${rule.host}" in the guest as "${rule.guest}": ${detail}`,
  },
};

export function startSocketForwards(
  rules: readonly FilledPortForward[],
  options: { ledger: ForwardLedger; log: Logger; transports: Record<Direction, ForwardTransport>; now: () => string },
): SocketForwards {
  const { ledger } = options;
  const reverse: (SocketRule & { up: boolean; pending: boolean })[] = [];

  /** Opens the rule's forward and records it, or its failure; false when it failed. */
  const open = async (rule: SocketRule, direction: Direction): Promise<boolean> => {
    const { key, guest, host } = rule;
    const request: ForwardRequest = { host: { kind: "unix", path: host }, guest: { kind: "unix", path: guest } };
    let handle: ForwardHandle;
    try {
      handle = await options.transports[direction].open(request, { onTunnel: ledger.tunnelOutcome(key, () => ({ proto: "unix", guest, host })) });
    } catch (error) {
      const described = openFailure(error, request.host);
      ledger.fail(`listen ${key}`, { reason: described.reason, proto: "unix", guest, host, message: Wording[direction].failed(rule, described.detail), hint: described.hint });
      return false;
    }
    if (ledger.closed) {
      await handle.close();
      return true;
    }
    const forward = { proto: "unix" as const, guest, host, ...(direction === "reverse" && { reverse: true }), via: handle.via, since: options.now() };
    ledger.active.set(key, { forward, handle });
    ledger.forget(`listen ${key}`);
    options.log.info(Wording[direction].up(rule));
    ledger.emit();
    return true;
  };

  const ready = Promise.all(
    rules
      .filter((rule) => rule.guestSocket && !rule.ignore)
      .map(async (rule) => {
        const guest = rule.guestSocket as string;
        const key = `unix:${rule.hostSocket ?? ""}:${guest}`;
        if (!rule.hostSocket) {
          ledger.fail(`listen ${key}`, {
            reason: "unsupported",
            proto: "unix",
            guest,
            message: `Cannot forward guest socket "${guest}": the rule has no hostSocket`,
            hint: "add hostSocket to the portForwards rule",
          });
        } else if (rule.reverse) {
          reverse.push({ key, guest, host: rule.hostSocket, up: false, pending: false });
        } else {
          await open({ key, guest, host: rule.hostSocket }, "to-host");
        }
      }),
  ).then(() => {});

  const exposeInGuest = async (): Promise<void> => {
    for (const rule of reverse) {
      if (rule.up || rule.pending || ledger.closed) continue;
      rule.pending = true;
      rule.up = await open(rule, "reverse");
      rule.pending = false;
    }
  };

  return { ready, exposeInGuest };
}
