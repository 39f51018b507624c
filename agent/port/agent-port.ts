// The agent's side of the channel to the host, independent of what carries it (the virtio-serial port in a guest, a
// socket in tests). A port lives as long as the agent; the host connects to it and goes away again any number of
// times, and each connection is a separate byte stream.

export interface PortConnection {
  /** Bytes from the host; ends when the host disconnects. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Queues bytes for the host; bytes written after the host disconnected are dropped. */
  write(bytes: Uint8Array): void;
  /**
   * Whether bytes are queued that the host has not taken yet. Writers that can wait (stream data) hold off while it
   * is true and resume on `onDrained`, so a fast guest socket is not copied into an ever larger user-space queue.
   */
  congested(): boolean;
  /** Calls `listener` each time the queue empties after being congested. */
  onDrained(listener: () => void): void;
}

export interface AgentPort {
  /**
   * Waits until a host is connected, sends it `greeting` first, and returns the connection. Rejects only when
   * `signal` aborts.
   */
  accept(greeting: Uint8Array, signal: AbortSignal): Promise<PortConnection>;
  close(): void;
}
