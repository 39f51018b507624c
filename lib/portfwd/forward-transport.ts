// The one seam between deciding which forwards should exist (forwarder.ts, static-forwards.ts) and carrying them: a
// transport opens one forward and hands back something that counts its connections and closes it, as Lima's
// forwarder is handed a dialContext. Each transport is a file of its own (agent-stream-transport.ts, …); a new path
// (vsock, a VZ driver's own forwarding) is one more, and the reconciler does not change.
import { DenError } from "../errors.ts";
import { describeListenFailure, type ListenFailure } from "./listen-failure.ts";
import type { HostEndpoint } from "./match-port-rule.ts";
import type { ForwardPath } from "./port-forward-report.ts";

/** The guest end of a forward: an address and port to dial from inside the guest, or a socket path there. */
export type GuestEndpoint = { kind: "inet"; ip: string; port: number } | { kind: "unix"; path: string };

/** One forward as every transport takes it; the protocol is the transport's own (a stream, datagrams, …). */
export interface ForwardRequest {
  /** Where den listens on the host (or, for a reverse forward, the host socket it connects to). */
  host: HostEndpoint;
  /**
   * Where connections go in the guest. Transports read it at each connection, not once at open: the reconciler
   * moves it when the guest listeners behind one host address change while the forward is up.
   */
  guest: GuestEndpoint;
}

export interface ForwardContext {
  /** Each connection's guest side: an error becomes a `tunnel-failed` failure, a success clears it. */
  onTunnel(outcome: { error?: unknown }): void;
}

export interface ForwardHandle {
  /** What the report's VIA column says. */
  readonly via: ForwardPath;
  /** Connections (TCP, unix) or peers (UDP) carried so far; 0 where den does not see them (qemu-hostfwd). */
  readonly connections: number;
  /** Stops the forward and ends its connections; never throws. */
  close(): Promise<void>;
}

export type TransportKind = "agent-stream" | "agent-datagram" | "reverse-socket" | "qemu-hostfwd" | "ssh";

export interface ForwardTransport {
  readonly kind: TransportKind;
  /** Resolves once the forward is up; rejects with a ForwardOpenError when it cannot be. */
  open(forward: Readonly<ForwardRequest>, ctx: ForwardContext): Promise<ForwardHandle>;
}

/**
 * Why a transport could not open a forward, in the user's words (listen-failure.ts). The caller puts the forward's
 * name in front. `fallback`: this transport cannot carry it but the next one may (the detail says why), so the
 * caller tries that instead of reporting a failure.
 */
export class ForwardOpenError extends DenError {
  readonly failure: ListenFailure;
  readonly fallback: boolean;

  constructor(failure: ListenFailure, options: { fallback?: boolean; cause?: unknown } = {}) {
    super("IO", failure.detail, { hint: failure.hint, ...(options.cause !== undefined && { cause: options.cause }) });
    this.failure = failure;
    this.fallback = options.fallback ?? false;
  }
}

/** What to report of an open that rejected: the transport's own words, or else node's errno as a listen failure. */
export function openFailure(error: unknown, host: HostEndpoint): ListenFailure {
  if (error instanceof ForwardOpenError) return error.failure;
  return describeListenFailure(error, host.kind === "inet" ? { port: host.port } : { path: host.path });
}
