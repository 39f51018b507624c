// Real sockets on 127.0.0.1 (or unix sockets in a temp folder) for the port-forwarding tests: a free port, a
// "guest" server that answers each chunk, one request over a fresh connection, and polling until a report settles.
import { connect, createServer } from "node:net";
import type { Defer } from "../../../support/deferred-cleanups.ts";

/** A port on 127.0.0.1 that another process holds, as far as den can tell, until `close`. */
export async function heldPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * A server on 127.0.0.1 (or on the unix socket `path`) that answers every chunk with `reply(chunk)`, closed after the
 * test through `defer`.
 */
export async function replyServer(reply: (text: string) => string, options: { defer: Defer; path?: string | undefined }): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => socket.on("data", (data) => socket.write(reply(data.toString()))));
  const { path } = options;
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, "127.0.0.1", resolve)));
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  options.defer(close);
  return { port: path ? 0 : (server.address() as { port: number }).port, close };
}

/** Sends `text` over a new connection and resolves with the first chunk of the answer. */
export function request(target: { port: number } | { path: string }, text: string): Promise<string> {
  const socket = "path" in target ? connect(target.path) : connect(target.port, "127.0.0.1");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.write(text);
  });
}

/** Connects and resolves once the other side has closed the connection (for connections den refuses to carry). */
export function closedConnection(target: { port: number } | { path: string }): Promise<void> {
  const socket = "path" in target ? connect(target.path) : connect(target.port, "127.0.0.1");
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

export async function until<T>(probe: () => T | undefined | false, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}
