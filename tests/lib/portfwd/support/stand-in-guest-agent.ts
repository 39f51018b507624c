// A GuestAgentClient that is real where it matters: the "guest" is this process, its listeners are real sockets on
// 127.0.0.1 (or unix sockets in a temp folder), and openStream / listenInGuest use real sockets too. The test sets
// the listener list and the connection state by hand.
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { Duplex } from "node:stream";
import { DenError } from "../../../../lib/errors.ts";
import type { GuestAgentClient, GuestAgentState } from "../../../../lib/guestagent/guest-agent-client.ts";
import type { GuestListener, GuestStreamTarget } from "../../../../agent/protocol/messages.ts";

export interface StandInGuestAgent extends GuestAgentClient {
  setListeners(listeners: readonly GuestListener[]): void;
  setState(state: GuestAgentState): void;
  /** Every openStream target, in order. */
  opened: GuestStreamTarget[];
}

export function standInGuestAgent(initial: GuestAgentState = { state: "connected", info: { version: "test", protocol: 1, arch: "x86_64" } }): StandInGuestAgent {
  let state = initial;
  let listeners: readonly GuestListener[] = [];
  const stateWatchers = new Set<(state: GuestAgentState) => void>();
  const listenerWatchers = new Set<(listeners: readonly GuestListener[]) => void>();
  const servers = new Set<Server>();
  const opened: GuestStreamTarget[] = [];
  return {
    opened,
    get state() {
      return state;
    },
    onState(listener) {
      stateWatchers.add(listener);
      return () => stateWatchers.delete(listener);
    },
    onListeners(listener) {
      listenerWatchers.add(listener);
      listener(state.state === "connected" ? listeners : []);
      return () => listenerWatchers.delete(listener);
    },
    setListeners(next) {
      listeners = next;
      for (const watcher of listenerWatchers) watcher(state.state === "connected" ? listeners : []);
    },
    setState(next) {
      state = next;
      for (const watcher of stateWatchers) watcher(state);
      for (const watcher of listenerWatchers) watcher(state.state === "connected" ? listeners : []);
    },
    openStream(target) {
      opened.push(target);
      if (state.state !== "connected") return Promise.reject(new DenError("IO", "Cannot open a guest stream: no guest agent is connected"));
      if (target.kind === "udp") return openUdp(target.host, target.port);
      const socket = target.kind === "tcp" ? connect(target.port, target.host) : connect(target.path);
      return new Promise<Duplex>((resolve, reject) => {
        socket.once("connect", () => resolve(socket));
        socket.once("error", (error: NodeJS.ErrnoException) => {
          const where = target.kind === "unix" ? target.path : `${target.host}:${target.port}`;
          reject(new DenError("IO", `Cannot connect to ${target.kind} ${where} in the guest: ${error.code ?? error.message}`));
        });
      });
    },
    async listenInGuest(spec, onConnection) {
      const server = createServer((socket) => onConnection(socket));
      servers.add(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(spec.path, () => resolve());
      });
      return {
        close: () => {
          servers.delete(server);
          return new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    },
    sendFsEvents() {},
    async close() {
      for (const server of servers) server.close();
    },
  };
}

/** An object-mode Duplex of datagrams to and from `host:port`, as the real client gives for udp targets. */
async function openUdp(host: string, port: number): Promise<Duplex> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, host, () => resolve());
  });
  const stream = new Duplex({
    objectMode: true,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      socket.send(chunk, (error) => callback(error ?? null));
    },
    destroy(error, callback) {
      try {
        socket.close();
      } catch {
        // already closed
      }
      callback(error);
    },
  });
  socket.on("message", (datagram) => stream.push(datagram));
  return stream;
}
