// The real guest agent as its own process (`bun agent/main.ts serve --socket PATH`), with the host's client connected
// the way the host agent connects (connectGuestAgent over a unix socket), a separate process that opens and closes
// listeners on request, and readers of a process's CPU time and memory from /proc. Shared by
// tests/agent/agent-memory.test.ts and bench/agent-idle.bench.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { GuestListener } from "../../agent/protocol/messages.ts";
import { connectGuestAgent } from "../../lib/guestagent/connect-guest-agent.ts";
import type { GuestAgentClient } from "../../lib/guestagent/guest-agent-client.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { streamLines } from "../../lib/text/stream-lines.ts";

export const repoRoot = join(import.meta.dir, "..", "..");

export interface AgentProcess {
  readonly pid: number;
  readonly client: GuestAgentClient;
  /** The agent's stderr lines so far. */
  readonly stderr: string[];
  /** Resolves once the agent ended, with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** The last listener list the client received. */
  listeners(): readonly GuestListener[];
  /** Resolves with the list once `wanted` holds for it; rejects after `timeoutMs`. */
  waitForListeners(wanted: (listeners: readonly GuestListener[]) => boolean, timeoutMs: number): Promise<readonly GuestListener[]>;
  /** Closes the client and ends the agent; calling it again waits for the same end. */
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** Runs the agent through this command (its argv is appended), e.g. `unshare … sh -c '…; exec "$@"' sh`. */
  wrap?: string[];
  /** How long the agent may take to serve and say hello. */
  timeoutMs?: number;
}

/** Starts the agent serving `socketPath` and connects the host client; resolves once the session is up. */
export async function startAgentProcess(socketPath: string, options: StartAgentOptions = {}): Promise<AgentProcess> {
  const argv = [...(options.wrap ?? []), process.execPath, join(repoRoot, "agent", "main.ts"), "serve", "--socket", socketPath];
  const child = Bun.spawn(argv, { cwd: repoRoot, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const stderr: string[] = [];
  void collectLines(child.stderr, (line) => stderr.push(line));
  const client = connectGuestAgent({ transport: "unix", path: socketPath }, { log: createMemoryLogger(), retryMs: 20 });
  let latest: readonly GuestListener[] = [];
  const waiters = new Set<() => void>();
  client.onListeners((listeners) => {
    latest = listeners;
    for (const wake of [...waiters]) wake();
  });
  const waitForListeners = (wanted: (listeners: readonly GuestListener[]) => boolean, timeoutMs: number) =>
    new Promise<readonly GuestListener[]>((resolve, reject) => {
      const check = () => {
        if (!wanted(latest)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(latest);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`The agent did not report the expected listeners within ${timeoutMs} ms (agent stderr: ${stderr.join(" | ")})`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  let stopping: Promise<void> | undefined;
  const agent: AgentProcess = {
    pid: child.pid,
    client,
    stderr,
    exited: child.exited.then(() => child.exitCode),
    listeners: () => latest,
    waitForListeners,
    stop() {
      stopping ??= (async () => {
        await client.close();
        child.kill("SIGTERM");
        await child.exited;
      })();
      return stopping;
    },
  };
  try {
    await waitForConnected(client, options.timeoutMs ?? 15_000, child.exited);
  } catch (error) {
    await agent.stop();
    throw new Error(`The agent did not start: ${error instanceof Error ? error.message : String(error)} (agent stderr: ${stderr.join(" | ")})`);
  }
  return agent;
}

function waitForConnected(client: GuestAgentClient, timeoutMs: number, exited: Promise<number>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.state.state === "connected") return resolve();
    const timer = setTimeout(() => finish(new Error(`no session within ${timeoutMs} ms`)), timeoutMs);
    const off = client.onState((state) => state.state === "connected" && finish());
    void exited.then((code) => finish(new Error(`the agent exited with ${code}`)));
    function finish(error?: Error): void {
      clearTimeout(timer);
      off();
      if (error) reject(error);
      else resolve();
    }
  });
}

export type ListenerSpec = { proto: "tcp" | "udp"; host: string };

export interface ListenerProcess {
  readonly pid: number;
  /** Opens `count` listeners on ephemeral ports; TCP ones echo what they receive. Resolves with their ports. */
  open(spec: ListenerSpec, count: number): Promise<number[]>;
  close(proto: "tcp" | "udp", port: number): Promise<void>;
  stop(): Promise<void>;
}

// Runs in the listener process: one JSON command per stdin line, one JSON answer per stdout line, in order.
const listenerScript = `
import { createSocket } from "node:dgram";
const open = new Map();
const answer = (value) => process.stdout.write(JSON.stringify(value) + "\\n");
async function handle(command) {
  if (command.op === "open") {
    const ports = [];
    for (let i = 0; i < command.count; i++) {
      if (command.proto === "tcp") {
        const server = Bun.listen({ hostname: command.host, port: 0, socket: { data(socket, data) { socket.write(data); } } });
        open.set("tcp:" + server.port, () => server.stop(true));
        ports.push(server.port);
      } else {
        const socket = createSocket(command.host.includes(":") ? "udp6" : "udp4");
        await new Promise((resolve) => socket.bind(0, command.host, resolve));
        const port = socket.address().port;
        open.set("udp:" + port, () => socket.close());
        ports.push(port);
      }
    }
    return { ports };
  }
  open.get(command.proto + ":" + command.port)?.();
  open.delete(command.proto + ":" + command.port);
  return { closed: command.port };
}
let buffered = "";
for await (const chunk of Bun.stdin.stream()) {
  buffered += new TextDecoder().decode(chunk);
  let newline;
  while ((newline = buffered.indexOf("\\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    answer(await handle(JSON.parse(line)));
  }
}
`;

/** A process apart from the agent and the test that holds listeners, as a guest's services would. */
export function startListenerProcess(): ListenerProcess {
  const child = Bun.spawn([process.execPath, "-e", listenerScript], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const pending: ((line: string) => void)[] = [];
  void collectLines(child.stdout, (line) => pending.shift()?.(line));
  const ask = (command: object) =>
    new Promise<string>((resolve) => {
      pending.push(resolve);
      child.stdin.write(`${JSON.stringify(command)}\n`);
      void child.stdin.flush();
    });
  return {
    pid: child.pid,
    open: async (spec, count) => (JSON.parse(await ask({ op: "open", ...spec, count })) as { ports: number[] }).ports,
    close: async (proto, port) => void (await ask({ op: "close", proto, port })),
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** True when `listeners` holds every one of `ports` for `proto`. */
export function hasPorts(listeners: readonly GuestListener[], proto: "tcp" | "udp", ports: readonly number[]): boolean {
  const seen = new Set(listeners.filter((l) => l.proto === proto).map((l) => l.port));
  return ports.every((port) => seen.has(port));
}

/** utime + stime of the whole process (all threads), in clock ticks (/proc/PID/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // The command name (field 2) may hold spaces and parentheses; the fields after its last ")" start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time of the process's live threads in nanoseconds (the first field of /proc/PID/task/TID/schedstat): exact,
 * where cpuTicks() counts whole ticks, but blind to threads that ended between two readings. */
export function cpuNanoseconds(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0]);
    } catch {
      // The thread ended while we listed them.
    }
  }
  return total;
}

/** Clock ticks per second for cpuTicks(); 100 on every Linux port but a few exotic ones. */
export function clockTicksPerSecond(): number {
  const result = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const value = Number(result.stdout.toString().trim());
  return result.success && value > 0 ? value : 100;
}

export interface ProcessMemory {
  /** Resident set now (VmRSS). */
  rssKiB: number;
  /** Peak resident set (VmHWM). */
  hwmKiB: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
}

async function collectLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  for await (const line of streamLines(stream)) onLine(line);
}
