import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectQmp, type QmpEvent, shutdownGracefully } from "../../../drivers/qemu/qmp-client.ts";
import { DenError } from "../../../lib/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "den-qmp-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const Greeting = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: "fake" }, capabilities: ["oob"] } };

type Handler = (command: { execute: string; arguments?: Record<string, unknown>; id?: unknown }, socket: Socket) => void;

/** A QMP server speaking just enough of the protocol; `handle` answers commands after qmp_capabilities. */
async function fakeQmp(name: string, handle: Handler, options: { greet?: boolean } = {}): Promise<{ path: string; server: Server; received: string[] }> {
  const path = join(dir, `${name}.sock`);
  const received: string[] = [];
  const server = createServer((socket) => {
    if (options.greet !== false) socket.write(`${JSON.stringify(Greeting)}\r\n`);
    let buffer = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const command = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        received.push(command.execute);
        if (command.execute === "qmp_capabilities") socket.write(`${JSON.stringify({ return: {}, id: command.id })}\r\n`);
        else handle(command, socket);
        newline = buffer.indexOf("\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server, received };
}

function reply(socket: Socket, message: unknown): void {
  socket.write(`${JSON.stringify(message)}\r\n`);
}

const event = (name: string, data?: Record<string, unknown>): QmpEvent => ({ event: name, ...(data ? { data } : {}), timestamp: { seconds: 1, microseconds: 2 } });

describe("QmpClient against a fake server", () => {
  test("connectQmp() reads the greeting and negotiates capabilities", async () => {
    const { path, server, received } = await fakeQmp("greet", () => {});
    const client = await connectQmp(path);
    expect(client.greeting).toEqual(Greeting);
    expect(received).toEqual(["qmp_capabilities"]);
    await client.close();
    server.close();
  });

  test("execute() matches answers to commands by id even when they arrive out of order", async () => {
    const held: { id: unknown; execute: string }[] = [];
    const { path, server } = await fakeQmp("order", (command, socket) => {
      held.push({ id: command.id, execute: command.execute });
      if (held.length === 2) for (const c of held.reverse()) reply(socket, { return: { answer: c.execute }, id: c.id });
    });
    const client = await connectQmp(path);
    const [a, b] = await Promise.all([client.execute("first"), client.execute("second")]);
    expect([a, b]).toEqual([{ answer: "first" }, { answer: "second" }]);
    await client.close();
    server.close();
  });

  test("execute() sends arguments and resolves helpers with the return value", async () => {
    let seen: unknown;
    const { path, server } = await fakeQmp("hmp", (command, socket) => {
      seen = command.arguments;
      reply(socket, { return: "RIP=0000000000100084\r\n", id: command.id });
    });
    const client = await connectQmp(path);
    expect(await client.humanMonitorCommand("info registers")).toBe("RIP=0000000000100084\r\n");
    expect(seen).toEqual({ "command-line": "info registers" });
    await client.close();
    server.close();
  });

  test("execute() turns a QMP error into a DenError with code QMP", async () => {
    const { path, server } = await fakeQmp("error", (command, socket) => {
      reply(socket, { error: { class: "CommandNotFound", desc: "The command nope has not been found" }, id: command.id });
    });
    const client = await connectQmp(path);
    const promise = client.execute("nope");
    await expect(promise).rejects.toBeInstanceOf(DenError);
    await expect(promise).rejects.toMatchObject({ code: "QMP", message: 'QMP command "nope" failed: The command nope has not been found', details: { class: "CommandNotFound" } });
    await client.close();
    server.close();
  });

  test("execute() times out when no answer comes", async () => {
    const { path, server } = await fakeQmp("silent", () => {});
    const client = await connectQmp(path);
    await expect(client.execute("query-status", undefined, { timeoutMs: 50 })).rejects.toMatchObject({ code: "QMP", message: 'QMP command "query-status" got no answer within 50 ms' });
    await client.close();
    server.close();
  });

  test("connectQmp() times out when the server sends no greeting", async () => {
    const { path, server } = await fakeQmp("mute", () => {}, { greet: false });
    await expect(connectQmp(path, { timeoutMs: 100 })).rejects.toMatchObject({ code: "QMP", message: `QMP socket "${path}" sent no greeting within 100 ms` });
    server.close();
  });

  test("connectQmp() reports a missing socket with a hint", async () => {
    const path = join(dir, "missing.sock");
    await expect(connectQmp(path)).rejects.toMatchObject({ code: "QMP", message: `Cannot connect to QMP socket "${path}": ENOENT` });
  });

  test("execute() fails pending commands when the connection closes", async () => {
    const { path, server } = await fakeQmp("hangup", (_command, socket) => socket.destroy());
    const client = await connectQmp(path);
    await expect(client.execute("stop")).rejects.toMatchObject({ code: "QMP", message: 'QMP connection closed before command "stop" was answered' });
    await expect(client.execute("cont")).rejects.toMatchObject({ message: 'Cannot run QMP command "cont": the connection is closed' });
    server.close();
  });

  test("events() yields events in order and ends when the connection closes", async () => {
    const { path, server } = await fakeQmp("events", (command, socket) => {
      reply(socket, { return: {}, id: command.id });
      reply(socket, event("STOP"));
      reply(socket, event("RESUME"));
      reply(socket, event("SHUTDOWN", { guest: true, reason: "guest-shutdown" }));
      socket.end();
    });
    const client = await connectQmp(path);
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const e of client.events()) seen.push(e.event);
    })();
    await client.stop();
    await collecting;
    expect(seen).toEqual(["STOP", "RESUME", "SHUTDOWN"]);
    server.close();
  });

  test("waitForEvent() resolves with the first matching event", async () => {
    const { path, server } = await fakeQmp("wait", (command, socket) => {
      reply(socket, { return: {}, id: command.id });
      reply(socket, event("SHUTDOWN", { guest: false }));
      reply(socket, event("SHUTDOWN", { guest: true }));
    });
    const client = await connectQmp(path);
    const waiting = client.waitForEvent("SHUTDOWN", { filter: (e) => e.data?.guest === true, timeoutMs: 1000 });
    await client.systemPowerdown();
    expect((await waiting).data).toEqual({ guest: true });
    await client.close();
    server.close();
  });

  test.each([
    { name: "powerdown when QEMU exits in time", exitsOnPowerdown: true, want: "powerdown", commands: ["qmp_capabilities", "system_powerdown"] },
    { name: "quit when the guest ignores the power button", exitsOnPowerdown: false, want: "quit", commands: ["qmp_capabilities", "system_powerdown", "quit"] },
  ])("shutdownGracefully() ends with $name", async ({ exitsOnPowerdown, want, commands }) => {
    const { path, server, received } = await fakeQmp(`shutdown-${want}`, (command, socket) => {
      reply(socket, { return: {}, id: command.id });
      if (command.execute === "quit" || exitsOnPowerdown) socket.end();
    });
    const client = await connectQmp(path);
    expect(await shutdownGracefully(client, { timeoutMs: 200 })).toBe(want);
    expect(received).toEqual([...commands]);
    server.close();
  });
});

describe("QmpClient against a real QEMU", () => {
  test("QmpClient queries, stops, continues and quits qemu-system-x86_64", async () => {
    const path = join(dir, "real-qmp.sock");
    const qemu = Bun.spawn(["qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-qmp", `unix:${path},server=on,wait=off`], {
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      let client: Awaited<ReturnType<typeof connectQmp>> | undefined;
      for (let attempt = 0; attempt < 100 && !client; attempt++) {
        client = await connectQmp(path).catch(async () => {
          await Bun.sleep(50);
          return undefined;
        });
      }
      if (!client) throw new Error(`QEMU did not open ${path}: ${await new Response(qemu.stderr).text()}`);
      expect(client.greeting?.QMP.version.qemu.major).toBeGreaterThanOrEqual(4);
      expect(await client.queryStatus()).toMatchObject({ running: true, status: "running" });
      await client.stop();
      expect(await client.queryStatus()).toMatchObject({ running: false, status: "paused" });
      await client.cont();
      expect(await client.queryStatus()).toMatchObject({ running: true, status: "running" });
      await client.quit();
      expect(await qemu.exited).toBe(0);
    } finally {
      qemu.kill();
    }
  });
});
