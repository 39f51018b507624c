import { expect, test } from "bun:test";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { defaultedRule } from "../../../lib/portfwd/effective-rules.ts";
import { startStaticForwards } from "../../../lib/portfwd/static-forwards.ts";
import type { SshTunnel } from "../../../lib/portfwd/ssh-tunnel.ts";
import type { GuestServiceContext } from "../../../lib/hostagent/guest-service.ts";
import { deferredCleanups } from "../../support/deferred-cleanups.ts";
import { replyServer, request } from "./support/test-sockets.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

const defer = deferredCleanups();

/** An SSH connection whose channels are plain connections to this process. */
const localTunnel = async (): Promise<SshTunnel> => ({
  forwardOut: (host, port) =>
    new Promise<Duplex>((resolve, reject) => {
      const socket = connect(port, host);
      socket.once("connect", () => resolve(socket));
      socket.once("error", reject);
    }),
  close: () => {},
});

function start(rules: Partial<FilledPortForward>[], openTunnel: typeof localTunnel = localTunnel) {
  const log = createMemoryLogger();
  const ctx = { ssh: { port: 60022, user: "den", privateKey: "key" }, log } as unknown as Pick<GuestServiceContext, "ssh" | "log">;
  const statics = startStaticForwards(ctx, rules.map((rule) => defaultedRule({ static: true, ...rule })), { openTunnel });
  defer(() => statics.close());
  return { statics, log };
}

test("startStaticForwards() forwards a static rule's host port over SSH to the guest port", async () => {
  const guest = await replyServer((text) => `static ${text}`, { defer });
  const hostPort = await freeTcpPort();
  const { statics, log } = start([{ guestPort: guest.port, hostPort }]);
  await statics.ready;
  expect(await request({ port: hostPort }, "hi")).toBe("static hi");
  expect(statics.report()).toEqual({
    forwards: [{ proto: "tcp", guest: `127.0.0.1:${guest.port}`, host: `127.0.0.1:${hostPort}`, static: true, via: "ssh", since: expect.any(String), connections: 1 }],
    failures: [],
  });
  expect(log.lines).toContainEqual({ level: "info", message: `Forwarding TCP from 127.0.0.1:${guest.port} to 127.0.0.1:${hostPort} (static, over SSH)` });
});

test("startStaticForwards() refuses a UDP or ranged static rule", async () => {
  const { statics } = start([{ guestPort: 53, hostPort: 5353, proto: "udp" }]);
  await statics.ready;
  expect(statics.report().failures).toEqual([
    {
      reason: "unsupported",
      proto: "tcp",
      guest: "127.0.0.1:53",
      host: "127.0.0.1:5353",
      message: "Cannot set up static forward of guest 127.0.0.1:53: static rules forward one TCP port (over SSH)",
      hint: "use guestPort and hostPort with proto tcp or any",
      since: expect.any(String),
    },
  ]);
});

test("startStaticForwards() reports an SSH connection that cannot be made", async () => {
  const { statics, log } = start([{ guestPort: 80, hostPort: 8080 }], () => Promise.reject(new Error("Cannot connect to the guest over SSH on port 60022: refused")));
  await statics.ready;
  expect(statics.report().failures).toEqual([
    { reason: "tunnel-failed", message: "Cannot set up static port forwards: Cannot connect to the guest over SSH on port 60022: refused", since: expect.any(String) },
  ]);
  expect(log.lines).toEqual([{ level: "warn", message: "Cannot set up static port forwards: Cannot connect to the guest over SSH on port 60022: refused" }]);
});
