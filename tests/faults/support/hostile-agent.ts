// A guest agent that misbehaves on purpose, on a unix socket the real host client (connectGuestAgent) dials as it
// dials QEMU's ga.sock. It speaks the protocol where the test wants a session and does what a broken or hostile guest
// would do where the test wants a fault: raw bytes, unanswered HELLOs, pings and OPENs. What the host sent is kept
// per connection, so a test can tell what the host did about the fault (a new HELLO, a RESET, a closed connection).
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { decodeHandshake, decodeJson, encodeFrame, encodeHandshake, encodeJson, type Frame, FrameParser, FrameType } from "../../../agent/protocol/frame.ts";
import type { GuestListener } from "../../../agent/protocol/messages.ts";

/** What the agent answers; changed by the test at any moment, read at each frame. */
export interface HostilePolicy {
  /** Answers HELLO with a WELCOME (protocol 1), else keeps the nonce unanswered. */
  hello: boolean;
  /** Answers CONTROL ping with pong. */
  pong: boolean;
  /** Listeners sent after each WELCOME, as a real agent sends its full list. */
  listeners: readonly GuestListener[];
}

export interface HostileConnection {
  readonly socket: Socket;
  /** 1 for the host's first connection. */
  readonly index: number;
  /** Nonces of the last 100 HELLOs the host sent on this connection, answered or not. */
  readonly hellos: string[];
  /** Every HELLO the host sent on this connection. */
  readonly helloCount: number;
  /** Frames the host sent other than HELLO, payloads copied: the first 10,000 (the test process's memory is measured too). */
  readonly received: Frame[];
  /** How many frames of each type the host sent, HELLOs included. */
  readonly counts: Map<number, number>;
  readonly closed: boolean;
  /** Answers the newest HELLO (one the policy left unanswered). */
  welcome(): void;
  send(frames: readonly Frame[]): boolean;
  /** Writes bytes as they are, waiting for the socket to drain when it is full; false when the host closed it. */
  write(bytes: Uint8Array): Promise<boolean>;
}

export interface HostileAgent {
  /** Where the host dials, as `ga.sock` in an instance folder. */
  readonly path: string;
  readonly policy: HostilePolicy;
  readonly connections: HostileConnection[];
  /** The newest connection. */
  latest(): HostileConnection;
  /** Connections the host has not closed. */
  open(): HostileConnection[];
  close(): Promise<void>;
}

export const control = (message: unknown): Frame => ({ type: FrameType.Control, stream: 0, payload: encodeJson(message) });

/** Listens at `dir`/ga.sock; every connection follows `policy`, which starts well-behaved. */
export async function hostileAgent(dir: string, policy: Partial<HostilePolicy> = {}): Promise<HostileAgent> {
  const path = join(dir, "ga.sock");
  const current: HostilePolicy = { hello: true, pong: true, listeners: [], ...policy };
  const connections: HostileConnection[] = [];
  const server: Server = createServer((socket) => connections.push(serve(socket, { index: connections.length + 1, policy: current })));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    policy: current,
    connections,
    latest: () => {
      const last = connections.at(-1);
      if (!last) throw new Error("the host has not connected");
      return last;
    },
    open: () => connections.filter((connection) => !connection.closed),
    close: async () => {
      for (const connection of connections) connection.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serve(socket: Socket, { index, policy }: { index: number; policy: HostilePolicy }): HostileConnection {
  const parser = new FrameParser(FrameType.Hello);
  let closed = false;
  let helloCount = 0;
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  const send = (frames: readonly Frame[]) => !socket.destroyed && socket.write(Buffer.concat(frames.map((frame) => encodeFrame(frame))));
  const connection: HostileConnection = {
    socket,
    index,
    hellos: [],
    received: [],
    counts: new Map(),
    get closed() {
      return closed;
    },
    get helloCount() {
      return helloCount;
    },
    welcome: () => {
      const nonce = connection.hellos.at(-1);
      if (nonce === undefined) throw new Error("the host sent no HELLO");
      send([
        { type: FrameType.Welcome, stream: 0, payload: encodeHandshake({ nonce, version: "hostile", protocol: 1, arch: "x86_64" }) },
        control({ type: "listeners", listeners: policy.listeners }),
      ]);
    },
    send,
    write: async (bytes) => {
      if (closed || socket.destroyed) return false;
      if (socket.write(bytes)) return true;
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });
      return !closed;
    },
  };
  socket.on("data", (chunk: Buffer) => {
    for (const item of parser.push(chunk)) {
      if (item.kind !== "frame") continue;
      const { frame } = item;
      connection.counts.set(frame.type, (connection.counts.get(frame.type) ?? 0) + 1);
      if (frame.type === FrameType.Hello) {
        helloCount++;
        connection.hellos.push((decodeHandshake(frame.payload) as { nonce: string }).nonce);
        if (connection.hellos.length > 100) connection.hellos.shift();
        if (policy.hello) connection.welcome();
        continue;
      }
      if (connection.received.length < 10_000) connection.received.push({ ...frame, payload: frame.payload.slice() });
      const message = frame.type === FrameType.Control ? (decodeJson(frame.payload) as { type?: string; id?: number }) : undefined;
      if (message?.type === "ping" && policy.pong) send([control({ type: "pong", id: message.id })]);
    }
  });
  return connection;
}
