import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { Server } from "ssh2";
import { openSshTunnel } from "../../../lib/portfwd/ssh-tunnel.ts";
import { connectClient } from "../../../lib/ssh/connect-client.ts";
import { openSshSession } from "../../../lib/ssh/ssh-session.ts";
import { generateParsableKeyPair } from "../../../lib/ssh/user-key.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";

const hostKey = generateParsableKeyPair().private;
const denKey = generateParsableKeyPair();

const servers: (NetServer | Server)[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function listen(server: NetServer | Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A server that sends an SSH version line and then closes: what ssh2 reports with "close" alone. */
function closesAfterVersionLine(): NetServer {
  return createServer((socket: Socket) => {
    socket.write("SSH-2.0-OpenSSH_9.2p1 stand-in\r\n");
    setTimeout(() => socket.destroy(), 50);
  });
}

/** A real SSH server that drops the connection in the middle of the login, as sshd does with a session ended under it. */
function closesDuringLogin(): Server {
  return new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", () => client.end());
    client.on("error", () => undefined);
  });
}

function letsIn(): Server {
  return new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (context) => context.accept());
    client.on("error", () => undefined);
  });
}

const login = { username: "me", privateKey: denKey.private, readyTimeout: 30_000 };

describe("connectClient()", () => {
  test.each([
    ["closes after its version line", closesAfterVersionLine],
    ["closes during the login", closesDuringLogin],
  ])("rejects at once, naming the port, when the server %s (ssh2 reports only close)", async (_, server) => {
    const port = await listen(server());
    const started = performance.now();
    const error = await rejectedDenError(connectClient({ ...login, host: "127.0.0.1", port }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe("SSH_UNREACHABLE");
    expect(error.message).toStartWith(`Cannot connect to the guest over SSH on port ${port}: `);
  });

  test("names the closed connection when ssh2 gives no error", async () => {
    const port = await listen(closesDuringLogin());
    expect((await rejectedDenError(connectClient({ ...login, host: "127.0.0.1", port }))).message).toBe(
      `Cannot connect to the guest over SSH on port ${port}: the connection closed before the login ended`,
    );
  });

  test("resolves with the client once logged in, and a later error is not left unhandled", async () => {
    const port = await listen(letsIn());
    const client = await connectClient({ ...login, host: "127.0.0.1", port });
    expect(() => client.emit("error", new Error("later"))).not.toThrow();
    client.end();
  });

  test("the host agent's session and the static forwards' tunnel both end such a login", async () => {
    const port = await listen(closesDuringLogin());
    const options = { port, user: "me", privateKey: denKey.private };
    expect((await rejectedDenError(openSshSession({ ...options, host: "127.0.0.1", readyTimeoutMs: 30_000 }))).code).toBe("SSH_UNREACHABLE");
    expect((await rejectedDenError(openSshTunnel(options))).code).toBe("SSH_UNREACHABLE");
  });
});
