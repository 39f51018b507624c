// A host listener for byte streams (TCP on an address, or a unix socket): each accepted connection is held paused
// until its guest stream is open, then piped to it. Accepted connections are tracked so close() can end them.
import { lstat, mkdir, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { Duplex } from "node:stream";
import type { HostEndpoint } from "./match-port-rule.ts";
import { pipeDuplex } from "./pipe-duplex.ts";

export interface StreamHostListenerOptions {
  /** Opens the guest side of one connection; a rejection closes the host connection. */
  open: () => Promise<Duplex>;
  onTunnel?: (outcome: { error?: unknown }) => void;
}

export interface HostListener {
  /** Connections (or UDP peers) accepted so far. */
  readonly connections: number;
  /** Stops listening and ends every connection; never throws. */
  close(): Promise<void>;
}

/** Resolves once the host listens; rejects with node's error (its `code` says why) when it cannot. */
export async function listenForStreams(endpoint: HostEndpoint, options: StreamHostListenerOptions): Promise<HostListener> {
  if (endpoint.kind === "unix") await prepareHostSocket(endpoint.path);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Errors surface through pipeline or close; an unhandled 'error' event must not crash the host agent.
    socket.on("error", () => {});
    options.open().then(
      (stream) => {
        options.onTunnel?.({});
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        pipeDuplex(socket, stream);
        socket.resume();
      },
      (error: unknown) => {
        options.onTunnel?.({ error });
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      resolve();
    };
    if (endpoint.kind === "unix") server.listen(endpoint.path, ready);
    else server.listen({ host: endpoint.ip, port: endpoint.port, ipv6Only: endpoint.ip.includes(":") }, ready);
  });
  server.on("error", () => {});
  return {
    get connections() {
      return connections;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      if (endpoint.kind === "unix") await rm(endpoint.path, { force: true }).catch(() => {});
    },
  };
}

/**
 * Creates the socket's folder (0750, as Lima) and removes a stale socket file a previous run left behind; a socket
 * that still answers belongs to someone else and is left alone (listen then fails with EADDRINUSE).
 */
export async function prepareHostSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const stat = await lstat(path).catch(() => undefined);
  if (!stat?.isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (!alive) await rm(path, { force: true });
}
