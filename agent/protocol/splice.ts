// Joins two duplex streams both ways, keeping half-closes (an END on one side ends only that direction) and tearing
// both down when either fails. Used by the agent for every stream and by the host tests.
import type { Duplex } from "node:stream";

/** Resolves when both streams are closed. */
export function splice(a: Duplex, b: Duplex): Promise<void> {
  a.pipe(b);
  b.pipe(a);
  const fail = (other: Duplex) => (error: Error) => {
    if (!other.destroyed) other.destroy(error);
  };
  a.on("error", fail(b));
  b.on("error", fail(a));
  // A side that closes before both directions ended (destroyed without an error) must not leave the other open.
  const closeOther = (other: Duplex) => () => {
    if (!(a.readableEnded && b.readableEnded) && !other.destroyed) other.destroy();
  };
  a.on("close", closeOther(b));
  b.on("close", closeOther(a));
  return Promise.all([closed(a), closed(b)]).then(() => undefined);
}

function closed(stream: Duplex): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once("close", () => resolve()));
}
