// A HostForwarder standing in for QEMU's slirp hostfwd: `add` really listens on the host address and pipes each
// connection to 127.0.0.1:guestPort of this process (the stand-in guest), unless the test scripted a failure.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { HostForward, HostForwarder, HostForwardResult } from "../../../../drivers/driver.ts";

export interface StandInHostForwarder extends HostForwarder {
  /** Every call, in order. */
  calls: { call: "add" | "remove"; forward: HostForward }[];
  /** Host ports currently forwarded. */
  readonly active: number[];
  /** The answer of the next add() calls instead of listening; undefined to listen again. */
  failWith: Extract<HostForwardResult, { ok: false }> | undefined;
  closeAll(): Promise<void>;
}

interface Forwarding {
  server: Server;
  sockets: Set<Socket>;
}

export function standInHostForwarder(): StandInHostForwarder {
  const forwards = new Map<number, Forwarding>();
  const shut = ({ server, sockets }: Forwarding) => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const stand: StandInHostForwarder = {
    calls: [],
    failWith: undefined,
    get active() {
      return [...forwards.keys()];
    },
    async add(forward) {
      stand.calls.push({ call: "add", forward });
      if (stand.failWith) return stand.failWith;
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        const guest = connect(forward.guestPort, "127.0.0.1");
        sockets.add(socket).add(guest);
        socket.pipe(guest).pipe(socket);
        // As slirp does: a refused connection is a reset, nothing more.
        guest.on("error", () => socket.destroy());
        socket.on("error", () => guest.destroy());
      });
      const listening = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(forward.hostPort, forward.hostIP, () => resolve(true));
      });
      if (!listening) return { ok: false, reason: "port-in-use", detail: `host port ${forward.hostPort} is already in use` };
      forwards.set(forward.hostPort, { server, sockets });
      return { ok: true };
    },
    async remove(forward) {
      stand.calls.push({ call: "remove", forward });
      const forwarding = forwards.get(forward.hostPort);
      forwards.delete(forward.hostPort);
      if (forwarding) await shut(forwarding);
    },
    async closeAll() {
      await Promise.all([...forwards.values()].map(shut));
      forwards.clear();
    },
  };
  return stand;
}
