import { expect, test } from "bun:test";
import { join } from "node:path";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { agentStreamTransport } from "../../../lib/portfwd/agent-stream-transport.ts";
import { defaultedRule } from "../../../lib/portfwd/effective-rules.ts";
import { createForwardLedger } from "../../../lib/portfwd/forward-ledger.ts";
import { reverseSocketTransport } from "../../../lib/portfwd/reverse-socket-transport.ts";
import { startSocketForwards } from "../../../lib/portfwd/socket-forwards.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { replyServer, request } from "./support/test-sockets.ts";

const defer = deferredCleanups();

function start(rules: Partial<FilledPortForward>[]) {
  const agent = standInGuestAgent();
  const log = createMemoryLogger();
  const ledger = createForwardLedger({ onChange: () => {}, failureLog: log, now: () => "now" });
  const transports = {
    "to-host": agentStreamTransport(agent),
    reverse: reverseSocketTransport(agent, { guestUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } }),
  };
  const sockets = startSocketForwards(rules.map(defaultedRule), { ledger, log, now: () => "now", transports });
  defer(async () => {
    ledger.close();
    await sockets.ready;
    await Promise.all([...ledger.active.values()].map((entry) => entry.handle.close()));
  });
  return { sockets, ledger, log };
}

test("startSocketForwards() exposes a guest unix socket on the host at start", async () => {
  const dir = await tempDir(defer);
  const guestSocket = join(dir, "guest.sock");
  const guest = await replyServer((text) => `unix ${text}`, { defer, path: guestSocket });
  const hostSocket = join(dir, "host", "sock", "app.sock");
  const { sockets, ledger, log } = start([{ guestSocket, hostSocket }]);
  await sockets.ready;
  expect(await request({ path: hostSocket }, "ping")).toBe("unix ping");
  expect(ledger.report().forwards).toEqual([{ proto: "unix", guest: guestSocket, host: hostSocket, via: "agent", since: "now", connections: 1 }]);
  expect(log.lines).toContainEqual({ level: "info", message: `Forwarding unix socket from ${guestSocket} to ${hostSocket}` });
});

test("startSocketForwards() exposes a host unix socket in the guest for a reverse rule once the agent is there", async () => {
  const dir = await tempDir(defer);
  const hostSocket = join(dir, "host.sock");
  const host = await replyServer((text) => `host ${text}`, { defer, path: hostSocket });
  const guestSocket = join(dir, "in-guest.sock");
  const { sockets, ledger } = start([{ guestSocket, hostSocket, reverse: true }]);
  await sockets.ready;
  expect(ledger.report().forwards).toEqual([]);
  await sockets.exposeInGuest();
  expect(await request({ path: guestSocket }, "ping")).toBe("host ping");
  expect(ledger.report().forwards).toEqual([{ proto: "unix", guest: guestSocket, host: hostSocket, reverse: true, via: "agent", since: "now", connections: 1 }]);
});

test("startSocketForwards() reports a reverse rule the guest cannot listen for, and tries again on the next connect", async () => {
  const dir = await tempDir(defer);
  const guestSocket = join(dir, "later", "in-guest.sock");
  const hostSocket = join(dir, "host.sock");
  const { sockets, ledger } = start([{ guestSocket, hostSocket, reverse: true }]);
  await sockets.ready;
  await sockets.exposeInGuest();
  expect(ledger.report().failures).toMatchObject([
    { reason: "listen-failed", proto: "unix", guest: guestSocket, host: hostSocket, hint: "den tries again when the guest agent reconnects; see ha.stderr.log in the instance folder" },
  ]);
  expect(ledger.report().failures[0]?.message).toStartWith(`Cannot expose host socket "${hostSocket}" in the guest as "${guestSocket}": `);
  await Bun.write(join(dir, "later", ".keep"), "");
  await sockets.exposeInGuest();
  expect(ledger.report()).toMatchObject({ forwards: [{ proto: "unix", reverse: true }], failures: [] });
});

test("startSocketForwards() refuses a guest socket rule without hostSocket", async () => {
  const { sockets, ledger } = start([{ guestSocket: "/run/app.sock" }]);
  await sockets.ready;
  expect(ledger.report().failures).toEqual([
    { reason: "unsupported", proto: "unix", guest: "/run/app.sock", message: 'Cannot forward guest socket "/run/app.sock": the rule has no hostSocket', hint: "add hostSocket to the portForwards rule", since: "now" },
  ]);
});

test("startSocketForwards() reports a host socket another process serves", async () => {
  const dir = await tempDir(defer);
  const hostSocket = join(dir, "taken.sock");
  const taken = await replyServer((text) => text, { defer, path: hostSocket });
  const { sockets, ledger } = start([{ guestSocket: "/run/app.sock", hostSocket }]);
  await sockets.ready;
  expect(ledger.report().failures).toEqual([
    {
      reason: "port-in-use",
      proto: "unix",
      guest: "/run/app.sock",
      host: hostSocket,
      message: `Cannot forward guest socket "/run/app.sock" to host socket "${hostSocket}": host socket "${hostSocket}" is already in use`,
      hint: "another process serves that socket; stop it or choose another hostSocket",
      since: "now",
    },
  ]);
});
