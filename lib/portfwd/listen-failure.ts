// Why a host listener could not be opened, in the user's words, from the errno node gives.
import type { FailureReason } from "./port-forward-report.ts";

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
