// The cap on port forwards per instance (pure). The guest decides how many listeners it has, and each forward is a
// host socket (or a QEMU hostfwd): 2,000 guest listeners must not become 2,000 host sockets. Listeners past the cap
// are not forwarded, and the forwarder reports them as one `limit` failure; as forwards go away, the waiting ones
// move up in the plan's order. The cap is the host's to set (an environment variable of the host agent), not the
// template's: a template from anywhere must not be able to lift the bound that protects the host.
import { DenError } from "../errors.ts";
import { guestAddressText } from "./match-port-rule.ts";
import type { PlannedForward } from "./plan-forwards.ts";
import type { ForwardFailure } from "./port-forward-report.ts";

/**
 * A development VM rarely listens on more than a few dozen ports (a compose stack of services, their debug ports);
 * 256 leaves room for that many times over while each forward's descriptors (the listener plus its connections) stay
 * well within the 1024 descriptors a process may have open by default on Linux.
 */
export const DefaultMaxPortForwards = 256;
/** One forward per port and protocol at most. */
const MaxPortForwardsLimit = 2 * 65_536;
export const MaxPortForwardsEnv = "DEN_MAX_PORT_FORWARDS";

export interface CappedForwards {
  kept: PlannedForward[];
  capped: PlannedForward[];
}

/**
 * Keeps at most `max` forwards: the ones already up first (`active`: a burst of new listeners never displaces a
 * working forward), then the plan's order. Both lists keep the plan's order.
 */
export function capForwards(forwards: readonly PlannedForward[], options: { max: number; active: ReadonlySet<string> }): CappedForwards {
  if (forwards.length <= options.max) return { kept: [...forwards], capped: [] };
  const chosen = new Set<string>();
  for (const forward of forwards) if (chosen.size < options.max && options.active.has(forward.key)) chosen.add(forward.key);
  for (const forward of forwards) if (chosen.size < options.max) chosen.add(forward.key);
  return { kept: forwards.filter((forward) => chosen.has(forward.key)), capped: forwards.filter((forward) => !chosen.has(forward.key)) };
}

/**
 * The one failure that stands for every listener past the cap (undefined when none is), naming the first few: its
 * count changes as listeners come and go, so the forwarder records it as ongoing and warns only when it appears.
 */
export function limitFailure(capped: readonly PlannedForward[], options: { cappedConflicts: number; max: number }): Omit<ForwardFailure, "since"> | undefined {
  const listeners = capped.flatMap((forward) => forward.guests);
  const count = listeners.length + options.cappedConflicts;
  if (count === 0) return undefined;
  const shown = listeners.slice(0, 3).map((listener) => `${listener.proto.toUpperCase()} ${guestAddressText(listener)}`);
  const examples = shown.length === 0 ? "" : ` (${shown.join(", ")}${count > shown.length ? `, and ${count - shown.length} more` : ""})`;
  return {
    reason: "limit",
    message: `Cannot forward ${count} guest ${count === 1 ? "listener" : "listeners"}${examples}: den forwards at most ${options.max} ports per instance`,
    hint: `stop listeners you do not need in the guest, ignore them with a portForwards rule, or raise ${MaxPortForwardsEnv} in the environment of den start; forwards are made as others go away`,
  };
}

/** The cap from the host agent's environment (DEN_MAX_PORT_FORWARDS), DefaultMaxPortForwards when unset or empty. */
export function maxPortForwards(env: Record<string, string | undefined>): number {
  const text = env[MaxPortForwardsEnv]?.trim();
  if (text === undefined || text === "") return DefaultMaxPortForwards;
  const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value <= MaxPortForwardsLimit)) {
    const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
    throw new DenError("USAGE", `Cannot use ${MaxPortForwardsEnv} ${JSON.stringify(shown)}: not a whole number from 0 to ${MaxPortForwardsLimit}`, {
      hint: `unset it for the default of ${DefaultMaxPortForwards}, or set a number and start the instance again`,
    });
  }
  return value;
}
