// A unix socket standing in for the virtio-serial port: the agent listens, the host connects, as it would to QEMU's
// chardev. Used by the tests (the real agent code against the real host client, no VM) and by
// `den-guestagent serve --socket PATH` for trying the agent outside a guest.
import { rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import type { AgentPort, PortConnection } from "./agent-port.ts";

export async function listenSocketPort(path: string): Promise<AgentPort> {
  rmSync(path, { force: true });
  const waiting: Socket[] = [];
  let wake: (() => void) | undefined;
  const server = createServer((socket) => {
    // A connection the peer resets while it waits to be accepted must not become an unhandled error.
    socket.on("error", () => undefined);
    waiting.push(socket);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    async accept(greeting, signal) {
      for (;;) {
        signal.throwIfAborted();
        const socket = waiting.shift();
        if (socket && !socket.destroyed) {
          socket.write(greeting);
          const connection: PortConnection = {
            chunks: socket,
            write: (bytes) => {
              if (!socket.destroyed) socket.write(bytes);
            },
            congested: () => !socket.destroyed && socket.writableNeedDrain,
            onDrained: (listener) => socket.on("drain", listener),
          };
          socket.on("error", () => undefined);
          return connection;
        }
        const { promise, resolve } = Promise.withResolvers<void>();
        wake = resolve;
        const onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
        await promise;
        signal.removeEventListener("abort", onAbort);
      }
    },
    close() {
      server.close();
      for (const socket of waiting) socket.destroy();
    },
  };
}
