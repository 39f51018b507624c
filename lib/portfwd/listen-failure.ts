// Why a host listener could not be opened, in the user's words, from the errno node gives.
import { hostEndpointText } from "./match-port-rule.ts";
import { guestListText, type PlannedForward } from "./plan-forwards.ts";
import type { FailureReason, ForwardFailure } from "./port-forward-report.ts";

export interface ListenFailure {
  reason: FailureReason;
  /** Completes "… : <detail>". */
  detail: string;
  hint: string;
}

export function describeListenFailure(error: unknown, host: { port?: number; path?: string }): ListenFailure {
  const code = (error as { code?: unknown } | undefined)?.code;
  const what = host.path === undefined ? `port ${host.port}` : `socket "${host.path}"`;
  if (code === "EADDRINUSE") {
    return {
      reason: "port-in-use",
      detail: `host ${what} is already in use`,
      hint: host.path === undefined ? "stop what holds the port on the host, or map the guest port elsewhere with a portForwards rule (hostPort)" : "another process serves that socket; stop it or choose another hostSocket",
    };
  }
  if (code === "EACCES" && host.port !== undefined && host.port < 1024) {
    return {
      reason: "privileged-port",
      detail: `host ${what} is privileged and den does not run as root`,
      hint: "map the guest port to a host port of 1024 or above with a portForwards rule (hostPort)",
    };
  }
  if (code === "EADDRNOTAVAIL") {
    return { reason: "listen-failed", detail: "the host has no such address", hint: "check hostIP in the portForwards rule" };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { reason: "listen-failed", detail: message, hint: "see ha.stderr.log in the instance folder" };
}

/** Ports Lima calls negligible when the host's own services hold them (DNS, NTP, mDNS, LLMNR). */
export function isNegligiblePort(proto: "tcp" | "udp", port: number): boolean {
  return proto === "tcp" ? port === 53 : [53, 323, 5353, 5355].includes(port);
}

/**
 * The failure of a guest listener's forward whose host side could not be opened. A failure of den's catch-all rule
 * (`catchAllIndex`) on a privileged or negligible port is marked negligible: it does not degrade the instance.
 */
export function plannedListenFailure(planned: PlannedForward, described: ListenFailure, options: { catchAllIndex: number }): Omit<ForwardFailure, "since"> {
  const port = planned.host.kind === "inet" ? planned.host.port : undefined;
  const negligible =
    planned.ruleIndex === options.catchAllIndex &&
    port !== undefined &&
    (described.reason === "privileged-port" || (described.reason === "port-in-use" && isNegligiblePort(planned.proto, port)));
  const [guest, host] = [guestListText(planned.guests), hostEndpointText(planned.host)];
  return {
    reason: described.reason,
    proto: planned.proto,
    guest,
    host,
    message: `Cannot forward guest ${planned.proto.toUpperCase()} ${guest} to host ${host}: ${described.detail}`,
    hint: described.hint,
    ...(negligible && { negligible: true }),
  };
}
