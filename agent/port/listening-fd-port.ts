// An AgentPort over a listening socket made through libc (libc-sockets.ts), whatever its family: each host
// connection is one accepted socket. Measured in Bun 1.4.5: `new net.Socket({ fd })` does not adopt such a socket
// (its first write fails with ERR_SOCKET_CLOSED), while Bun.file(fd).stream() and .writer() read and write it by
// polling the fd, as the virtio port does.
//
// accept4() is non-blocking and retried on a timer while no host is connected: Bun cannot wait for readiness of an
// fd it did not open itself. Quick retries first, so a host that reconnects at once (a new session, an agent
// restart) is served at once; then every second, which costs a wake-up per second while no host is there.
import { acceptPending, type AcceptedSocket, closeFd } from "./libc-sockets.ts";
import type { AgentPort, PortConnection } from "./agent-port.ts";
import { fileSinkWriter } from "./file-sink-writer.ts";

const AcceptPollMs = 50;
const AcceptPollMaxMs = 1_000;

export interface ListeningFdPortOptions {
  /** Decides from the peer's packed address whether to serve it; a refused peer is closed at once. */
  acceptsPeer?: (peer: Uint8Array) => boolean;
}

/** Serves the host on the listening `fd`, which the port owns from now on (close() closes it). */
export function listeningFdPort(fd: number, options: ListeningFdPortOptions = {}): AgentPort {
  let current: { fd: number; close: () => void } | undefined;
  return {
    async accept(greeting, signal) {
      // serveAgent() accepts again only after the last connection's chunks ended, and so after it was closed.
      let delayMs = AcceptPollMs;
      for (;;) {
        signal.throwIfAborted();
        const accepted = acceptPending(fd);
        if (accepted && (options.acceptsPeer?.(accepted.peer) ?? true)) {
          const connection = openConnection(accepted, greeting);
          current = connection;
          return connection;
        }
        if (accepted) {
          closeFd(accepted.fd);
          continue;
        }
        await sleepUnlessAborted(delayMs, signal);
        delayMs = Math.min(delayMs * 2, AcceptPollMaxMs);
      }
    },
    close() {
      current?.close();
      closeFd(fd);
    },
  };
}

function openConnection(accepted: AcceptedSocket, greeting: Uint8Array): PortConnection & { fd: number; close: () => void } {
  const sink = Bun.file(accepted.fd).writer({ highWaterMark: 256 * 1024 });
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    // The writer may still hold bytes the host will never read: it is dropped, not flushed.
    try {
      sink.end();
    } catch {
      // Already failed on the closed connection.
    }
    closeFd(accepted.fd);
  };
  // A reset host fails a write or a parked flush; the connection closes, and the reader's end ends the session.
  const writer = fileSinkWriter(sink, close);
  const write = (bytes: Uint8Array) => {
    if (open) writer.write(bytes);
  };
  write(greeting);
  return {
    fd: accepted.fd,
    close,
    chunks: (async function* () {
      try {
        for await (const chunk of Bun.file(accepted.fd).stream()) yield chunk;
      } catch {
        // A reset connection ends like a closed one: the host reconnects and resynchronises.
      } finally {
        close();
      }
    })(),
    write,
    congested: () => open && writer.congested(),
    onDrained: (listener) => writer.onDrained(listener),
  };
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(resolve, ms);
  const onAbort = () => resolve();
  signal.addEventListener("abort", onAbort, { once: true });
  await promise;
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort);
}
