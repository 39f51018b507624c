// listeningFdPort() over a unix listener made through libc (listenStreamSocket), standing in for AF_VSOCK, which this
// host cannot connect through: the accept loop, the greeting, both directions, reconnection and the peer filter are
// the same code for every family.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentPort } from "../../../agent/port/agent-port.ts";
import { listenStreamSocket } from "../../../agent/port/libc-sockets.ts";
import { listeningFdPort } from "../../../agent/port/listening-fd-port.ts";

const AfUnix = 1;

/** struct sockaddr_un for `path`, little-endian family as on every host den's agent runs on. */
function sockaddrUn(path: string): Uint8Array {
  const bytes = new Uint8Array(110);
  new DataView(bytes.buffer).setUint16(0, AfUnix, true);
  bytes.set(new TextEncoder().encode(path), 2);
  return bytes;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(options: Parameters<typeof listeningFdPort>[1] = {}): { port: AgentPort; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "den-fd-port-"));
  const path = join(dir, "agent.sock");
  const port = listeningFdPort(listenStreamSocket(AfUnix, sockaddrUn(path)), options);
  cleanups.push(() => {
    port.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { port, path };
}

/** A host: connects and collects what it receives. */
function host(path: string): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(path);
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => undefined);
  return { socket, received: () => text, closed };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await Bun.sleep(10);
  expect(condition()).toBe(true);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += Buffer.from(chunk).toString();
  return text;
}

describe("listeningFdPort()", () => {
  test("listeningFdPort() greets the host first and carries bytes both ways until the host leaves", async () => {
    const { port, path } = listen();
    const peer = host(path);
    const connection = await port.accept(new TextEncoder().encode("WELCOME;"), new AbortController().signal);
    connection.write(new TextEncoder().encode("to-host"));
    await until(() => peer.received() === "WELCOME;to-host");
    const fromHost = collect(connection.chunks);
    peer.socket.end("to-guest");
    expect(await fromHost).toBe("to-guest");
    // Writes after the host left are dropped, not thrown.
    connection.write(new TextEncoder().encode("late"));
  });

  test("listeningFdPort() serves the next host after one disconnected", async () => {
    const { port, path } = listen();
    for (const name of ["first", "second"]) {
      const peer = host(path);
      const connection = await port.accept(new TextEncoder().encode(`hi ${name}`), new AbortController().signal);
      await until(() => peer.received() === `hi ${name}`);
      const ended = collect(connection.chunks);
      peer.socket.end();
      expect(await ended).toBe("");
    }
  });

  test("listeningFdPort() closes a peer acceptsPeer() refuses and keeps waiting", async () => {
    let asked = 0;
    const { port, path } = listen({ acceptsPeer: () => ++asked > 1 });
    const refused = host(path);
    const accepting = port.accept(new TextEncoder().encode("hello"), new AbortController().signal);
    await refused.closed;
    expect(refused.received()).toBe("");
    const served = host(path);
    await accepting;
    await until(() => served.received() === "hello");
    served.socket.destroy();
  });

  test("listeningFdPort() stops waiting when the signal aborts", async () => {
    const { port } = listen();
    const controller = new AbortController();
    const accepting = port.accept(new Uint8Array(), controller.signal);
    setTimeout(() => controller.abort(), 30);
    await expect(accepting).rejects.toThrow();
  });
});
