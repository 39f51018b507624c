import { expect, test } from "bun:test";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { sshTransport } from "../../../lib/portfwd/ssh-transport.ts";
import { deferredCleanups } from "../../support/deferred-cleanups.ts";
import { closedConnection, replyServer, request, until } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

/** An SshTunnel whose channels are plain connections to this process, or refusals when `refuse` is set. */
function fakeTunnel(refuse?: string) {
  const channels: { host: string; port: number }[] = [];
  return {
    channels,
    forwardOut: (host: string, port: number): Promise<Duplex> => {
      channels.push({ host, port });
      if (refuse) return Promise.reject(new Error(refuse));
      const socket = connect(port, host);
      return new Promise((resolve, reject) => {
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
    },
  };
}

test("sshTransport() opens an SSH channel to the guest address for each host connection", async () => {
  const guest = await replyServer((text) => `ssh ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const tunnel = fakeTunnel();
  const handle = await sshTransport(tunnel).open({ host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: guest.port } }, { onTunnel: () => {} });
  defer(() => handle.close());
  expect(await request({ port: hostPort }, "one")).toBe("ssh one");
  expect(await request({ port: hostPort }, "two")).toBe("ssh two");
  expect(handle).toMatchObject({ via: "ssh", connections: 2 });
  expect(tunnel.channels).toEqual([
    { host: "127.0.0.1", port: guest.port },
    { host: "127.0.0.1", port: guest.port },
  ]);
});

test("sshTransport() reports a channel the guest refuses to onTunnel", async () => {
  const hostPort = await freeTcpPort();
  const outcomes: { error?: unknown }[] = [];
  const handle = await sshTransport(fakeTunnel("Cannot open an SSH channel to 127.0.0.1:80 in the guest: Connection refused")).open(
    { host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: 80 } },
    { onTunnel: (outcome) => outcomes.push(outcome) },
  );
  defer(() => handle.close());
  await closedConnection({ port: hostPort });
  await until(() => outcomes.length > 0);
  expect((outcomes[0]?.error as Error).message).toBe("Cannot open an SSH channel to 127.0.0.1:80 in the guest: Connection refused");
});
