import { describe, expect, test } from "bun:test";
import { createServer, type Server as NetServer } from "node:net";
import { type ParsedKey, Server, utils } from "ssh2";
import { generateParsableKeyPair } from "../../../lib/ssh/user-key.ts";
import { waitForSsh } from "../../../lib/ssh/wait-for-ssh.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

// den's own generator: ssh2's alone makes about 1 key in 256 that nothing can read back (CI once failed on the host key).
const hostKey = generateParsableKeyPair().private;
const denKey = generateParsableKeyPair();
const otherKey = generateParsableKeyPair();

function parsed(text: string): ParsedKey {
  const key = utils.parseKey(text);
  if (key instanceof Error || Array.isArray(key)) throw new Error("test key does not parse");
  return key;
}

/** An sshd stand-in that lets in the holder of `allowed` and answers every exec with `exitCode`. */
function sshServer(options: { allowed: string; exitCode?: number }): Server {
  const allowed = parsed(options.allowed);
  return new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (context) => {
      if (context.method !== "publickey" || context.username !== "me") return context.reject(["publickey"]);
      if (context.key.algo !== allowed.type || !context.key.data.equals(allowed.getPublicSSH())) return context.reject(["publickey"]);
      if (context.signature && context.blob && !allowed.verify(context.blob, context.signature, context.hashAlgo)) return context.reject(["publickey"]);
      context.accept();
    });
    client.on("ready", () => {
      client.on("session", (accept) => {
        accept().on("exec", (acceptExec) => {
          const stream = acceptExec();
          stream.exit(options.exitCode ?? 0);
          stream.end();
        });
      });
    });
    client.on("error", () => {});
  });
}

async function listen(server: Server | NetServer, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const base = { user: "me", privateKey: denKey.private, retryIntervalMs: 50 };

describe("waitForSsh()", () => {
  test("waitForSsh() returns at the first try when the guest is ready", async () => {
    const server = sshServer({ allowed: denKey.public });
    const port = await listen(server);
    try {
      const ready = await waitForSsh({ ...base, port, timeoutMs: 5000 });
      expect(ready.attempts).toBe(1);
      expect(ready.firstConnectMs).toBeNumber();
      expect(ready.firstHandshakeMs).toBeGreaterThanOrEqual(ready.firstConnectMs ?? 0);
      expect(ready.elapsedMs).toBeGreaterThanOrEqual(ready.firstHandshakeMs ?? 0);
    } finally {
      server.close();
    }
  });

  test("waitForSsh() with keepSession hands over the logged-in connection, which runs commands on the same handshake", async () => {
    let logins = 0;
    const server = sshServer({ allowed: denKey.public });
    server.on("connection", (client) => client.on("ready", () => logins++));
    const port = await listen(server);
    try {
      const ready = await waitForSsh({ ...base, port, timeoutMs: 5000, keepSession: true });
      const session = ready.session;
      expect(session?.open).toBe(true);
      expect((await session?.exec("true"))?.exitCode).toBe(0);
      expect((await session?.exec("true"))?.exitCode).toBe(0);
      expect(logins).toBe(1);
      session?.close();
      await Bun.sleep(50);
      expect(session?.open).toBe(false);
      // Without it nothing stays open.
      expect((await waitForSsh({ ...base, port, timeoutMs: 5000 })).session).toBeUndefined();
    } finally {
      server.close();
    }
  });

  test("waitForSsh() keeps trying until sshd starts listening late", async () => {
    const port = await freeTcpPort();
    const server = sshServer({ allowed: denKey.public });
    const late = Bun.sleep(400).then(() => listen(server, port));
    try {
      const ready = await waitForSsh({ ...base, port, timeoutMs: 5000 });
      expect(ready.attempts).toBeGreaterThan(1);
      expect(ready.firstConnectMs).toBeGreaterThanOrEqual(350);
    } finally {
      await late;
      server.close();
    }
  });

  test.each([
    {
      name: "a refused key says authentication failed",
      serve: async () => listen(sshServer({ allowed: otherKey.public })),
      kind: "auth",
      reason: `authentication as "me" failed: the guest does not accept den's key`,
      hint: "cloud-init",
    },
    {
      name: "nothing listening says connection refused",
      serve: freeTcpPort,
      kind: "refused",
      reason: "connection refused",
      hint: "VM process",
    },
    {
      name: "a port that drops every connection says closed before the handshake",
      serve: async () => listen(createServer((socket) => socket.destroy())),
      kind: "closed",
      reason: "before the SSH handshake",
      hint: "sshd is not up yet",
    },
    {
      name: "a port that never speaks SSH says no handshake",
      serve: async () => listen(createServer(() => {})),
      kind: "handshake",
      reason: "no SSH handshake within",
      hint: "does not complete an SSH handshake",
    },
    {
      name: "a failing command says how it exited",
      serve: async () => listen(sshServer({ allowed: denKey.public, exitCode: 3 })),
      kind: "command",
      reason: `"true" exited with 3`,
      hint: "could not run a command",
    },
  ])("waitForSsh() on timeout with $name", async ({ serve, kind, reason, hint }) => {
    const port = await serve();
    const error = await rejectedDenError(waitForSsh({ ...base, port, timeoutMs: 400, attemptTimeoutMs: 200 }));
    expect(error.code).toBe("SSH_UNREACHABLE");
    expect(error.message).toStartWith(`Cannot log in to the guest over SSH at 127.0.0.1:${port} within 0.4s: `);
    expect(error.message).toContain(reason);
    expect(error.details?.kind).toBe(kind);
    expect(error.hint).toContain(hint);
  });

  test("waitForSsh() stops when its signal aborts", async () => {
    const port = await freeTcpPort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled by test")), 150);
    const started = Date.now();
    const error = await waitForSsh({ ...base, port, timeoutMs: 10_000, signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe("cancelled by test");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
