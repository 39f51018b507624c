// What the host agent can ask of the guest agent, independent of the transport (virtio-serial under QEMU, vsock under
// VZ later) and of reconnects: the client outlives any one connection and re-syncs the guest's state on each.
// The implementation is `connectGuestAgent()` in connect-guest-agent.ts; port forwarding and mount events code
// against this interface so they can be tested with an in-process agent speaking the same protocol.
import type { Duplex } from "node:stream";

/** A listening TCP socket or a bound UDP socket in the guest. `ip` is the bound address as text: "0.0.0.0", "::",
 * "127.0.0.1", "::1", "192.168.5.15", …; IPv4-mapped IPv6 addresses are reported as their IPv4 form. */
export interface GuestListener {
  proto: "tcp" | "udp";
  ip: string;
  port: number;
}

/** Where a stream opened by the host ends in the guest. */
export type GuestStreamTarget =
  | { kind: "tcp"; host: string; port: number }
  /** Datagrams: the stream's chunks are whole datagrams (an object-mode Duplex of Buffers). */
  | { kind: "udp"; host: string; port: number }
  | { kind: "unix"; path: string };

/** A change on the host the guest agent reproduces as inotify events on the same guest path. */
export interface GuestFsEvent {
  /** Absolute path in the guest. */
  path: string;
  kind: "modify" | "create" | "delete";
}

export interface GuestAgentInfo {
  /** The agent's own version (`den-guestagent --version`). */
  version: string;
  /** Protocol version both sides agreed on in the handshake. */
  protocol: number;
  /** `uname -m` of the guest. */
  arch: string;
}

export type GuestAgentState =
  | { state: "connecting" }
  | { state: "connected"; info: GuestAgentInfo }
  | { state: "disconnected"; reason: string };

export interface GuestUnixListenSpec {
  /** Absolute socket path in the guest; its parent folders are created. */
  path: string;
  uid: number;
  gid: number;
  /** File mode of the socket, e.g. 0o600. */
  mode: number;
}

export interface GuestAgentClient {
  /** Current connection state; `onState` reports every change. */
  readonly state: GuestAgentState;
  onState(listener: (state: GuestAgentState) => void): () => void;
  /**
   * The guest's full listener list: called at once with the current list and again on every change, including the
   * full re-sync after a reconnect (an empty list while disconnected). Returns an unsubscribe function.
   */
  onListeners(listener: (listeners: readonly GuestListener[]) => void): () => void;
  /**
   * Opens a stream to a target in the guest. tcp/unix give a byte Duplex, udp an object-mode Duplex of datagrams.
   * Rejects with a DenError naming the target and the guest's errno (ECONNREFUSED, ENOENT, …) when the guest cannot
   * connect, or when no agent is connected.
   */
  openStream(target: GuestStreamTarget): Promise<Duplex>;
  /**
   * Has the agent listen on a unix socket in the guest; each connection to it arrives as a Duplex on the host
   * (reverse forwarding: a host socket exposed in the guest). Re-established by the client after a reconnect.
   */
  listenInGuest(spec: GuestUnixListenSpec, onConnection: (stream: Duplex) => void): Promise<{ close(): Promise<void> }>;
  /** Hands file events to the agent (fire and forget; dropped while disconnected: watchers rescan on reconnect). */
  sendFsEvents(events: readonly GuestFsEvent[]): void;
  /** Ends the current connection and stops reconnecting. */
  close(): Promise<void>;
}
