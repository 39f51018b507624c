import { expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { agentDatagramTransport } from "../../../lib/portfwd/agent-datagram-transport.ts";
import { ForwardOpenError } from "../../../lib/portfwd/forward-transport.ts";
import { deferredCleanups } from "../../support/deferred-cleanups.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { until } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

async function udpSocket(port = 0) {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
  defer(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

test("agentDatagramTransport() carries each host peer's datagrams over its own agent stream", async () => {
  const guest = await udpSocket();
  guest.on("message", (datagram, from) => guest.send(Buffer.concat([Buffer.from("echo "), datagram]), from.port, from.address));
  const hostPort = await freeTcpPort();
  const agent = standInGuestAgent();
  const handle = await agentDatagramTransport(agent, { idleMs: 1_000 }).open(
    { host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: guest.address().port } },
    { onTunnel: () => {} },
  );
  defer(() => handle.close());
  const replies: string[] = [];
  const [one, two] = [await udpSocket(), await udpSocket()];
  for (const client of [one, two]) client.on("message", (datagram) => replies.push(datagram.toString()));
  one.send("one", hostPort, "127.0.0.1");
  two.send("two", hostPort, "127.0.0.1");
  await until(() => replies.length === 2);
  expect(replies.sort()).toEqual(["echo one", "echo two"]);
  expect(handle).toMatchObject({ via: "agent", connections: 2 });
  expect(agent.opened).toEqual([
    { kind: "udp", host: "127.0.0.1", port: guest.address().port },
    { kind: "udp", host: "127.0.0.1", port: guest.address().port },
  ]);
});

test("agentDatagramTransport() refuses a taken host port as port-in-use", async () => {
  const squatter = await udpSocket();
  const hostPort = squatter.address().port;
  const error = await agentDatagramTransport(standInGuestAgent())
    .open({ host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: 1 } }, { onTunnel: () => {} })
    .catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ForwardOpenError);
  expect(error).toMatchObject({ failure: { reason: "port-in-use" } });
});

test("agentDatagramTransport() refuses a host socket", async () => {
  const opening = agentDatagramTransport(standInGuestAgent()).open({ host: { kind: "unix", path: "/tmp/x.sock" }, guest: { kind: "inet", ip: "127.0.0.1", port: 1 } }, { onTunnel: () => {} });
  await expect(opening).rejects.toThrow("datagrams cannot go to a stream socket");
});
