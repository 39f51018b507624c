// Runs the real agent (agent/agent.ts over agent/port/socket-port.ts) in the test process and connects the real host
// client to it: the whole protocol without a VM. Listeners and file events are driven by the test. Between the two
// sits a relay playing QEMU's chardev: it can drop the host's connection, or swap the agent behind a live host
// connection (what the host sees when systemd restarts a killed agent).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { serveAgent } from "../../agent/agent.ts";
import { listenSocketPort } from "../../agent/port/socket-port.ts";
import { connectGuestAgent } from "../../lib/guestagent/connect-guest-agent.ts";
import type { GuestAgentClient, GuestAgentState } from "../../lib/guestagent/guest-agent-client.ts";
import type { GuestFsEvent, GuestListener } from "../../agent/protocol/messages.ts";
import type { ProtocolRange } from "../../agent/protocol/negotiate-protocol.ts";
import { createMemoryLogger } from "../../lib/log.ts";

export interface Harness {
  dir: string;
  path: string;
  client: GuestAgentClient;
  agentLog: string[];
  hostLog: ReturnType<typeof createMemoryLogger>;
  fsEvents: GuestFsEvent[];
  setListeners(listeners: GuestListener[]): void;
  waitForState(state: GuestAgentState["state"]): Promise<GuestAgentState>;
  /** Closes the host's connection (as QEMU does when the VM's chardev goes away). */
  dropHost(): void;
  /** Keeps the host's connection but starts a new agent session behind it, which announces itself. */
  restartAgent(): void;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  connectClient?: boolean;
  pingMs?: number;
  /** The protocol versions the agent accepts (an older agent speaks only 1). */
  agentProtocols?: ProtocolRange;
  /** The protocol versions the host client offers (an older host offers only 1). */
  hostProtocols?: ProtocolRange;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "den-ga-"));
  const path = join(dir, "ga.sock");
  const agentPath = join(dir, "agent.sock");
  const port = await listenSocketPort(agentPath);
  const relay = await startRelay(path, agentPath);
  const agentLog: string[] = [];
  const fsEvents: GuestFsEvent[] = [];
  let onChange: ((listeners: GuestListener[]) => void) | undefined;
  let listeners: GuestListener[] = [];
  const stopAgent = new AbortController();
  const served = serveAgent(
    {
      port,
      version: "9.9.9-test",
      arch: "x86_64",
      log: (line) => agentLog.push(line),
      watchListeners: (callback) => {
        onChange = callback;
        callback(listeners);
        return { stop: () => (onChange = undefined) };
      },
      applyFsEvents: async (events) => void fsEvents.push(...events),
      ...(options.agentProtocols && { protocols: options.agentProtocols }),
    },
    stopAgent.signal,
  );
  const hostLog = createMemoryLogger();
  const clientOptions = {
    log: hostLog,
    retryMs: 20,
    ...(options.pingMs && { pingMs: options.pingMs }),
    ...(options.hostProtocols && { protocols: options.hostProtocols }),
  };
  const client = options.connectClient === false ? undefined : connectGuestAgent({ transport: "unix", path }, clientOptions);
  const waitForState = (state: GuestAgentState["state"]) =>
    new Promise<GuestAgentState>((resolve) => {
      if (!client) throw new Error("no client");
      if (client.state.state === state) return resolve(client.state);
      const off = client.onState((next) => {
        if (next.state !== state) return;
        off();
        resolve(next);
      });
    });
  return {
    dir,
    path,
    client: client as GuestAgentClient,
    agentLog,
    hostLog,
    fsEvents,
    dropHost: () => relay.dropHost(),
    restartAgent: () => relay.swapUpstream(),
    setListeners(next) {
      listeners = next;
      onChange?.(next);
    },
    waitForState,
    async stop() {
      await client?.close();
      stopAgent.abort();
      port.close();
      relay.close();
      await served.catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface RelayPair {
  host: Socket;
  upstream?: Socket;
}

async function startRelay(path: string, upstreamPath: string) {
  // The live pair; a newer host connection replaces it, as QEMU serves one client at a time.
  let current: RelayPair | undefined;
  const connectUpstream = (pair: RelayPair) => {
    const upstream = createConnection(upstreamPath);
    upstream.on("error", () => undefined);
    upstream.on("data", (data) => pair.host.write(data));
    pair.upstream = upstream;
  };
  const server = createServer((host) => {
    const pair: RelayPair = { host };
    current = pair;
    host.on("error", () => undefined);
    connectUpstream(pair);
    host.on("data", (data) => pair.upstream?.write(data));
    host.on("close", () => pair.upstream?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const dropHost = () => {
    current?.host.destroy();
    current?.upstream?.destroy();
  };
  return {
    dropHost,
    swapUpstream() {
      if (!current) return;
      current.upstream?.destroy();
      connectUpstream(current);
    },
    close() {
      dropHost();
      server.close();
    },
  };
}
