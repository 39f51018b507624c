// What the host agent can ask of the guest agent, independent of the transport (virtio-serial under QEMU, vsock under
// VZ later) and of reconnects: the client outlives any one connection and re-syncs the guest's state on each.
// The implementation is `connectGuestAgent()` in connect-guest-agent.ts; port forwarding and mount events code
// against this interface so they can be tested with an in-process agent speaking the same protocol. The wire types
// it names (listeners, stream targets, file events) are the protocol's own, from agent/protocol/messages.ts.
import type { Duplex } from "node:stream";
import type { ClockStep, GuestAgentInfo, GuestFsEvent, GuestListener, GuestStreamTarget, GuestUnixListenSpec } from "../../agent/protocol/messages.ts";

export type GuestAgentState =
  | { state: "connecting" }
  | { state: "connected"; info: GuestAgentInfo }
  | { state: "disconnected"; reason: string };

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
  /**
   * Calls back with each clock step the agent reports (protocol 3), its texts escaped for log lines. Optional, as is
   * syncClock: a client that only forwards ports or file events (the tests' stand-in agents) has no clock to offer.
   */
  onClockStep?(listener: (step: ClockStep) => void): () => void;
  /** Asks the agent to compare the guest's clock with the host's now; false when no connected agent can (protocol < 3). */
  syncClock?(reason: string): boolean;
  /** Ends the current connection and stops reconnecting. */
  close(): Promise<void>;
}
