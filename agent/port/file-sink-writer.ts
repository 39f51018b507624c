// Writes to the host through a Bun FileSink (the virtio-serial port, an accepted vsock socket) and tells whether the
// sink holds bytes the kernel has not taken yet. The sink keeps everything written to it, so without this signal a
// guest socket faster than the channel would be copied into an ever larger user-space buffer.
import type { FileSink } from "bun";
import type { PortConnection } from "./agent-port.ts";

export type SinkWriter = Pick<PortConnection, "write" | "congested" | "onDrained">;

/** `onError` runs when a write or flush fails (the host is gone); later writes are dropped. */
export function fileSinkWriter(sink: FileSink, onError: (error: unknown) => void): SinkWriter {
  /** Flushes that found the kernel buffer full and are not settled yet. */
  let parked = 0;
  let failed = false;
  const listeners: (() => void)[] = [];
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    onError(error);
  };
  const settled = () => {
    parked--;
    if (parked > 0 || failed) return;
    for (const listener of listeners) listener();
  };
  return {
    write(bytes) {
      if (failed) return;
      try {
        sink.write(bytes);
        // A flush per write keeps latency low; a full kernel buffer leaves the bytes in the sink, which writes them
        // when the host drains it and then settles the promise.
        const flushed = sink.flush();
        if (flushed instanceof Promise) {
          parked++;
          flushed.then(settled, (error: unknown) => {
            fail(error);
            settled();
          });
        }
      } catch (error) {
        fail(error);
      }
    },
    congested: () => parked > 0 && !failed,
    onDrained(listener) {
      listeners.push(listener);
    },
  };
}
