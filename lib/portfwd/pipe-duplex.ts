// Joins a host connection and a guest stream both ways, with backpressure (pipeline pauses the faster side) and one
// teardown: an error or close on either side destroys both, and `onDone` runs once.
import { pipeline } from "node:stream";
import type { Duplex } from "node:stream";

export function pipeDuplex(host: Duplex, guest: Duplex, onDone: (error: Error | undefined) => void = () => {}): void {
  let done = false;
  const finish = (error?: Error | null) => {
    if (done) return;
    done = true;
    host.destroy();
    guest.destroy();
    onDone(error ?? undefined);
  };
  // host → guest → host: the host side's reads feed the guest stream, whose reads feed the host side.
  // A side destroyed without an error ends the pipeline with ERR_STREAM_PREMATURE_CLOSE, so this covers resets too.
  pipeline(host, guest, host, (error) => finish(error));
}
