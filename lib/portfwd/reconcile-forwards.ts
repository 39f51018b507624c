// What one pass over the guest's listener list must do (pure): the forwards the plan wants against the ones that
// are up, within the cap. forwarder.ts carries the steps out through the transports, in this order: stop what is no
// longer wanted, clear the failures that went with it, then open, keep or reroute each wanted forward in the plan's
// order, then record the conflicts and the listeners past the cap as failures.
import { capForwards, limitFailure } from "./cap-forwards.ts";
import { forwardPath } from "./forward-path.ts";
import { guestAddressText, hostEndpointText } from "./match-port-rule.ts";
import { type ForwardPlan, guestListText, type NotForwarded, type PlannedConflict, type PlannedForward } from "./plan-forwards.ts";
import type { ForwardFailure, ForwardPath } from "./port-forward-report.ts";

export type ForwardStep =
  /** Not up: open it (again on every pass while it fails: a taken host port may have been freed since). */
  | { action: "open"; planned: PlannedForward }
  /** Up: keep it, and point it at the plan's current guest listeners. */
  | { action: "keep"; planned: PlannedForward }
  /** Up through the VM's network, which can no longer reach it (the wildcard listener went, a loopback one stayed). */
  | { action: "reroute"; planned: PlannedForward }
  /** Not up, and no transport can carry it (UDP to a host socket): record the failure. */
  | { action: "refuse"; planned: PlannedForward; failure: Omit<ForwardFailure, "since"> };

export interface Reconciliation {
  /** Keys of the forwards of guest listeners to close. */
  stop: string[];
  /** Failures whose forward or conflict is gone. */
  stale: string[];
  steps: ForwardStep[];
  /** A failure per guest listener refused for a host address another one holds, by failure key. */
  conflicts: { key: string; failure: Omit<ForwardFailure, "since"> }[];
  /** The one failure for the listeners past the cap; undefined when the plan fits. */
  limit: Omit<ForwardFailure, "since"> | undefined;
  notForwarded: NotForwarded[];
}

export interface ReconcileState {
  /** The forwards of guest listeners that are up, by key. */
  active: ReadonlyMap<string, { via?: ForwardPath }>;
  /** Keys of the failures that stand. */
  failures: Iterable<string>;
  maxForwards: number;
  /** Whether the driver can forward host ports itself (forwardPath()). */
  hostForwarder: boolean;
}

export function reconcileForwards(plan: ForwardPlan, state: ReconcileState): Reconciliation {
  const { kept, capped } = capForwards(plan.forwards, { max: state.maxForwards, active: new Set(state.active.keys()) });
  // Conflicts are failures of their own in every report: they are bounded by the same cap.
  const conflicts = plan.conflicts.slice(0, state.maxForwards);
  const wanted = new Set(kept.map((forward) => forward.key));
  const conflictKeys = new Set(conflicts.map(conflictFailureKey));
  const stale = [...state.failures].filter((key) => {
    const [kind, ...rest] = key.split(" ");
    if (kind === "conflict") return !conflictKeys.has(key);
    const forwardKey = rest.slice(0, 2).join(" ");
    const listenerBound = forwardKey.startsWith("tcp ") || forwardKey.startsWith("udp ");
    return (kind === "listen" || kind === "tunnel") && listenerBound && !wanted.has(forwardKey);
  });
  const steps = kept.map((planned): ForwardStep => {
    const entry = state.active.get(planned.key);
    if (!entry) return planned.proto === "udp" && planned.host.kind === "unix" ? { action: "refuse", planned, failure: udpToSocketFailure(planned) } : { action: "open", planned };
    if (entry.via === "qemu-hostfwd" && forwardPath(planned, { hostForwarder: true }) !== "qemu-hostfwd") return { action: "reroute", planned };
    return { action: "keep", planned };
  });
  return {
    stop: [...state.active.keys()].filter((key) => !wanted.has(key)),
    stale,
    steps,
    conflicts: conflicts.map((conflict) => ({ key: conflictFailureKey(conflict), failure: conflictFailure(conflict) })),
    limit: limitFailure(capped, { cappedConflicts: plan.conflicts.length - conflicts.length, max: state.maxForwards }),
    notForwarded: plan.notForwarded,
  };
}

function udpToSocketFailure(planned: PlannedForward): Omit<ForwardFailure, "since"> {
  const [guest, host] = [guestListText(planned.guests), hostEndpointText(planned.host)];
  return {
    reason: "unsupported",
    proto: "udp",
    guest,
    host,
    message: `Cannot forward guest UDP ${guest} to host socket "${host}": datagrams cannot go to a stream socket`,
    hint: "drop hostSocket from the rule, or restrict it to proto: tcp",
  };
}

function conflictFailureKey(conflict: PlannedConflict): string {
  return `conflict ${conflict.key} ${guestAddressText(conflict.guest)}`;
}

function conflictFailure(conflict: PlannedConflict): Omit<ForwardFailure, "since"> {
  const [guest, host] = [guestAddressText(conflict.guest), hostEndpointText(conflict.host)];
  return {
    reason: "conflict",
    proto: conflict.proto,
    guest,
    host,
    message: `Cannot forward guest ${conflict.proto.toUpperCase()} ${guest} to host ${host}: guest ${guestAddressText(conflict.holder)} is already forwarded there (rules map both to one host port)`,
    hint: "give one of them its own hostPort in portForwards, or ignore it",
  };
}
