import { expect, test } from "bun:test";
import { join } from "node:path";
import { ForwardOpenError } from "../../../lib/portfwd/forward-transport.ts";
import { reverseSocketTransport } from "../../../lib/portfwd/reverse-socket-transport.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";
import { closedConnection, replyServer, request, until } from "./support/test-sockets.ts";

const defer = deferredCleanups();

const transport = () => reverseSocketTransport(standInGuestAgent(), { guestUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } });

test("reverseSocketTransport() joins each connection made in the guest to the host socket", async () => {
  const dir = await tempDir(defer);
  const host = await replyServer((text) => `host ${text}`, { defer, path: join(dir, "host.sock") });
  const outcomes: { error?: unknown }[] = [];
  const handle = await transport().open(
    { host: { kind: "unix", path: join(dir, "host.sock") }, guest: { kind: "unix", path: join(dir, "in-guest.sock") } },
    { onTunnel: (outcome) => outcomes.push(outcome) },
  );
  defer(() => handle.close());
  expect(await request({ path: join(dir, "in-guest.sock") }, "ping")).toBe("host ping");
  expect(handle).toMatchObject({ via: "agent", connections: 1 });
  expect(outcomes).toEqual([{}]);
});

test("reverseSocketTransport() closes a guest connection the host socket refuses, and reports it to onTunnel", async () => {
  const dir = await tempDir(defer);
  const outcomes: { error?: unknown }[] = [];
  const handle = await transport().open(
    { host: { kind: "unix", path: join(dir, "missing.sock") }, guest: { kind: "unix", path: join(dir, "in-guest.sock") } },
    { onTunnel: (outcome) => outcomes.push(outcome) },
  );
  defer(() => handle.close());
  await closedConnection({ path: join(dir, "in-guest.sock") });
  await until(() => outcomes.length > 0);
  expect((outcomes[0]?.error as NodeJS.ErrnoException).code).toBe("ENOENT");
});

test("reverseSocketTransport() says den tries again when the guest cannot listen", async () => {
  const dir = await tempDir(defer);
  const error = await transport()
    .open({ host: { kind: "unix", path: join(dir, "host.sock") }, guest: { kind: "unix", path: join(dir, "no", "such", "folder.sock") } }, { onTunnel: () => {} })
    .catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ForwardOpenError);
  expect(error).toMatchObject({
    fallback: false,
    failure: { reason: "listen-failed", hint: "den tries again when the guest agent reconnects; see ha.stderr.log in the instance folder" },
  });
});
