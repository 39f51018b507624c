import { expect, test } from "bun:test";
import type { HostForwarder } from "../../../drivers/driver.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { ForwardOpenError, type ForwardRequest } from "../../../lib/portfwd/forward-transport.ts";
import { hostForwardTransport } from "../../../lib/portfwd/host-forward-transport.ts";
import { deferredCleanups } from "../../support/deferred-cleanups.ts";
import { standInHostForwarder } from "./support/stand-in-host-forwarder.ts";
import { replyServer, request } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

const forward = (hostPort: number, guestPort: number): ForwardRequest => ({ host: { kind: "inet", ip: "127.0.0.1", port: hostPort }, guest: { kind: "inet", ip: "127.0.0.1", port: guestPort } });

test("hostForwardTransport() has the driver forward the host address and port to the guest port, and removes it on close", async () => {
  const guest = await replyServer((text) => `fast ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const hostForwarder = standInHostForwarder();
  defer(() => hostForwarder.closeAll());
  const handle = await hostForwardTransport(hostForwarder, { log: createMemoryLogger() }).open(forward(hostPort, guest.port), { onTunnel: () => {} });
  expect(await request({ port: hostPort }, "hi")).toBe("fast hi");
  expect(handle).toMatchObject({ via: "qemu-hostfwd", connections: 0 });
  await handle.close();
  const added = { proto: "tcp" as const, hostIP: "127.0.0.1", hostPort, guestPort: guest.port };
  expect(hostForwarder.calls).toEqual([
    { call: "add", forward: added },
    { call: "remove", forward: added },
  ]);
});

test.each([
  {
    name: "a taken host port as port-in-use, without a fallback",
    failWith: { ok: false as const, reason: "port-in-use" as const, detail: "host port 8080 is already in use" },
    want: { fallback: false, failure: { reason: "port-in-use", detail: "host port 8080 is already in use", hint: "stop what holds the port on the host, or map the guest port elsewhere with a portForwards rule (hostPort)" } },
  },
  {
    name: "any other failure as a fallback to the next transport",
    failWith: { ok: false as const, reason: "listen-failed" as const, detail: `QEMU answered "unrecognized netdev id 'net0'"` },
    want: { fallback: true, failure: { reason: "listen-failed", detail: `QEMU answered "unrecognized netdev id 'net0'"` } },
  },
])("hostForwardTransport() refuses $name", async ({ failWith, want }) => {
  const hostForwarder = standInHostForwarder();
  hostForwarder.failWith = failWith;
  const error = await hostForwardTransport(hostForwarder, { log: createMemoryLogger() })
    .open(forward(8080, 80), { onTunnel: () => {} })
    .catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ForwardOpenError);
  expect(error).toMatchObject(want);
});

test("hostForwardTransport() falls back when the driver throws", async () => {
  const hostForwarder: HostForwarder = { add: () => Promise.reject(new Error("monitor gone")), remove: async () => {} };
  const error = await hostForwardTransport(hostForwarder, { log: createMemoryLogger() })
    .open(forward(8080, 80), { onTunnel: () => {} })
    .catch((caught: unknown) => caught);
  expect(error).toMatchObject({ fallback: true, failure: { reason: "listen-failed", detail: "monitor gone" } });
});

test("hostForwardTransport() logs a forward the driver cannot remove, and still closes", async () => {
  const log = createMemoryLogger();
  const hostForwarder: HostForwarder = { add: async () => ({ ok: true }), remove: () => Promise.reject(new Error("QEMU answered \"no\"")) };
  const handle = await hostForwardTransport(hostForwarder, { log }).open(forward(8080, 80), { onTunnel: () => {} });
  await handle.close();
  expect(log.lines).toEqual([{ level: "warn", message: 'Cannot stop forwarding host 127.0.0.1:8080 through QEMU: QEMU answered "no"' }]);
});
