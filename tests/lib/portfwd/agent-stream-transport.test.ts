import { expect, test } from "bun:test";
import { join } from "node:path";
import { agentStreamTransport } from "../../../lib/portfwd/agent-stream-transport.ts";
import { type ForwardHandle, ForwardOpenError, type ForwardRequest } from "../../../lib/portfwd/forward-transport.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { closedConnection, heldPort, replyServer, request, until } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

async function open(forward: ForwardRequest, outcomes: { error?: unknown }[] = []) {
  const agent = standInGuestAgent();
  const handle = await agentStreamTransport(agent).open(forward, { onTunnel: (outcome) => outcomes.push(outcome) });
  defer(() => handle.close());
  return { agent, handle };
}

test("agentStreamTransport() carries a host TCP connection to the guest address over an agent stream", async () => {
  const guest = await replyServer((text) => `echo ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const outcomes: { error?: unknown }[] = [];
  const { agent, handle } = await open({ host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: guest.port } }, outcomes);
  expect(await request({ port: hostPort }, "hello")).toBe("echo hello");
  expect(handle.via).toBe("agent");
  expect(handle.connections).toBe(1);
  expect(agent.opened).toEqual([{ kind: "tcp", host: "127.0.0.1", port: guest.port }]);
  expect(outcomes).toEqual([{}]);
});

test("agentStreamTransport() reads the guest end at each connection", async () => {
  const first = await replyServer((text) => `first ${text}`, { defer });
  const second = await replyServer((text) => `second ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const forward: ForwardRequest = { host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: first.port } };
  await open(forward);
  expect(await request({ port: hostPort }, "a")).toBe("first a");
  forward.guest = { kind: "inet", ip: "127.0.0.1", port: second.port };
  expect(await request({ port: hostPort }, "b")).toBe("second b");
});

test("agentStreamTransport() exposes a guest unix socket as a host socket", async () => {
  const dir = await tempDir(defer);
  const guestSocket = join(dir, "guest.sock");
  const guest = await replyServer((text) => `unix ${text}`, { defer, path: guestSocket });
  const hostSocket = join(dir, "host", "app.sock");
  const { agent } = await open({ host: { kind: "unix", path: hostSocket }, guest: { kind: "unix", path: guestSocket } });
  expect(await request({ path: hostSocket }, "ping")).toBe("unix ping");
  expect(agent.opened).toEqual([{ kind: "unix", path: guestSocket }]);
});

test("agentStreamTransport() reports a guest that refuses the connection to onTunnel", async () => {
  const hostPort = await freeTcpPort();
  const outcomes: { error?: unknown }[] = [];
  await open({ host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: await freeTcpPort() } }, outcomes);
  await closedConnection({ port: hostPort });
  await until(() => outcomes.length > 0);
  expect(String((outcomes[0]?.error as Error).message)).toContain("ECONNREFUSED");
});

test("agentStreamTransport() refuses a taken host port as port-in-use", async () => {
  const squatter = await heldPort();
  defer(squatter.close);
  const hostPort = squatter.port;
  const opening: Promise<ForwardHandle> = agentStreamTransport(standInGuestAgent()).open(
    { host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: 1 } },
    { onTunnel: () => {} },
  );
  const error = await opening.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ForwardOpenError);
  expect(error).toMatchObject({ fallback: false, failure: { reason: "port-in-use", detail: `host port ${hostPort} is already in use` } });
});
