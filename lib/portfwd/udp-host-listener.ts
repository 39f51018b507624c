// A host UDP socket whose datagrams reach a guest UDP listener: one guest stream per host peer (address and port),
// so replies go back to the peer that asked, as Lima's UDP proxy does. A peer quiet for `idleMs` loses its stream.
import { createSocket, type RemoteInfo } from "node:dgram";
import type { Duplex } from "node:stream";
import type { HostEndpoint } from "./match-port-rule.ts";
import type { HostListener, StreamHostListenerOptions } from "./stream-host-listener.ts";

/** Lima's UDP proxy keeps a flow for 90 s without traffic. */
const DefaultIdleMs = 90_000;
/** Datagrams held per peer while its guest stream opens; more are dropped, as a full socket buffer would. */
const MaxPending = 64;

interface Peer {
  stream?: Duplex;
  pending: Buffer[];
  timer?: ReturnType<typeof setTimeout>;
}

export async function listenForDatagrams(
  endpoint: Extract<HostEndpoint, { kind: "inet" }>,
  options: StreamHostListenerOptions & { idleMs?: number },
): Promise<HostListener> {
  const socket = createSocket({ type: endpoint.ip.includes(":") ? "udp6" : "udp4", ipv6Only: endpoint.ip.includes(":") });
  const peers = new Map<string, Peer>();
  const idleMs = options.idleMs ?? DefaultIdleMs;
  let connections = 0;
  let closed = false;

  const drop = (key: string) => {
    const peer = peers.get(key);
    if (!peer) return;
    peers.delete(key);
    clearTimeout(peer.timer);
    peer.stream?.destroy();
  };
  const touch = (key: string, peer: Peer) => {
    clearTimeout(peer.timer);
    peer.timer = setTimeout(() => drop(key), idleMs);
    peer.timer.unref?.();
  };
  const openPeer = (key: string, from: RemoteInfo): Peer => {
    const peer: Peer = { pending: [] };
    peers.set(key, peer);
    connections++;
    touch(key, peer);
    options.open().then(
      (stream) => {
        options.onTunnel?.({});
        if (closed || peers.get(key) !== peer) {
          stream.destroy();
          return;
        }
        peer.stream = stream;
        stream.on("data", (datagram: Buffer) => {
          touch(key, peer);
          if (!closed) socket.send(datagram, from.port, from.address);
        });
        stream.on("error", () => {});
        stream.once("close", () => {
          if (peers.get(key) === peer) drop(key);
        });
        for (const datagram of peer.pending.splice(0)) stream.write(datagram);
      },
      (error: unknown) => {
        options.onTunnel?.({ error });
        drop(key);
      },
    );
    return peer;
  };

  socket.on("message", (datagram, from) => {
    const key = `${from.address} ${from.port}`;
    const peer = peers.get(key) ?? openPeer(key, from);
    touch(key, peer);
    if (!peer.stream) {
      if (peer.pending.length < MaxPending) peer.pending.push(datagram);
    } else if (!peer.stream.writableNeedDrain) {
      peer.stream.write(datagram);
    }
  });

  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: endpoint.ip, port: endpoint.port, exclusive: true }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", () => {});
  return {
    get connections() {
      return connections;
    },
    close: async () => {
      closed = true;
      for (const key of [...peers.keys()]) drop(key);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
