// A client for the QEMU Machine Protocol over QEMU's unix socket. Hand-written because npm has no maintained QMP
// client (the few packages are years without a release and untyped), and the protocol is small: newline-delimited
// JSON, a greeting, `qmp_capabilities`, then commands answered in order and tagged with our `id`, with
// asynchronous events interleaved.
import { connect, type Socket } from "node:net";
import { DenError } from "../../lib/errors.ts";

export interface QmpGreeting {
  QMP: { version: { qemu: { major: number; minor: number; micro: number }; package: string }; capabilities: string[] };
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** `query-status`: e.g. {running: true, status: "running"} or {running: false, status: "paused"}. */
export interface QmpStatus {
  running: boolean;
  status: string;
  singlestep?: boolean;
}

export interface QmpConnectOptions {
  /** For connecting, reading the greeting and negotiating; default 5000 ms. */
  timeoutMs?: number;
  /** Default timeout of each `execute`; default 10000 ms. */
  commandTimeoutMs?: number;
}

export interface ExecuteOptions {
  timeoutMs?: number;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

type QmpMessage =
  | QmpGreeting
  | QmpEvent
  | { return: unknown; id?: unknown }
  | { error: { class: string; desc: string }; id?: unknown };

const DefaultConnectTimeoutMs = 5000;
const DefaultCommandTimeoutMs = 10_000;

/** Connects to QEMU's QMP socket, reads the greeting and leaves capabilities negotiation done. */
export async function connectQmp(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
  const timeoutMs = options.timeoutMs ?? DefaultConnectTimeoutMs;
  const socket = await openSocket(path, timeoutMs);
  const client = new QmpClient(socket, path, options.commandTimeoutMs ?? DefaultCommandTimeoutMs);
  try {
    await withTimeout(client.greeted, timeoutMs, () => qmpError(`QMP socket "${path}" sent no greeting within ${timeoutMs} ms`, path));
    await client.execute("qmp_capabilities", undefined, { timeoutMs });
  } catch (error) {
    client.destroy();
    throw error;
  }
  return client;
}

export class QmpClient {
  /** The server's greeting (QEMU version and capabilities). */
  greeting: QmpGreeting | undefined;
  /** Resolves once the greeting has been read. */
  readonly greeted: Promise<QmpGreeting>;
  /** Resolves when the connection is gone, for whatever reason (e.g. QEMU quit). */
  readonly closed: Promise<void>;

  readonly #socket: Socket;
  readonly #path: string;
  readonly #commandTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: QmpEvent) => void>();
  #nextId = 1;
  #buffer = "";
  #isClosed = false;
  #resolveGreeting!: (greeting: QmpGreeting) => void;
  #rejectGreeting!: (error: Error) => void;

  constructor(socket: Socket, path: string, commandTimeoutMs: number) {
    this.#socket = socket;
    this.#path = path;
    this.#commandTimeoutMs = commandTimeoutMs;
    this.greeted = new Promise((resolve, reject) => {
      this.#resolveGreeting = resolve;
      this.#rejectGreeting = reject;
    });
    // A greeting that never comes is reported by connectQmp; keep the rejection from being unhandled.
    this.greeted.catch(() => {});
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#onClose();
        resolve();
      });
    });
    socket.on("error", () => {
      // "close" follows and fails whatever is pending.
    });
  }

  /**
   * Runs `command` and resolves with its `return` value. Rejects with a DenError("QMP") when QEMU answers with an
   * error, the connection closes first, or no answer comes within the timeout.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    if (this.#isClosed) return Promise.reject(qmpError(`Cannot run QMP command "${command}": the connection is closed`, this.#path));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(qmpError(`QMP command "${command}" got no answer within ${timeoutMs} ms`, this.#path));
      }, timeoutMs);
      this.#pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject, timer });
      const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.#socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Calls `listener` for every event; returns the function that unsubscribes. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events from now on, until the connection closes or the loop is left. */
  async *events(): AsyncGenerator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.onEvent((event) => {
      queue.push(event);
      wake?.();
    });
    void this.closed.then(() => wake?.());
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#isClosed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  }

  /** Resolves with the first event named `name` (and matching `filter`), or rejects after the timeout or on close. */
  waitForEvent(name: string, options: ExecuteOptions & { filter?: (event: QmpEvent) => boolean } = {}): Promise<QmpEvent> {
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(qmpError(`QMP event "${name}" did not arrive within ${timeoutMs} ms`, this.#path))), timeoutMs);
      const unsubscribe = this.onEvent((event) => {
        if (event.event === name && (!options.filter || options.filter(event))) finish(() => resolve(event));
      });
      void this.closed.then(() => finish(() => reject(qmpError(`QMP connection closed before event "${name}"`, this.#path))));
    });
  }

  /** Asks the guest to power off (ACPI), as pressing the power button; returns without waiting for it. */
  systemPowerdown(): Promise<void> {
    return this.execute("system_powerdown").then(() => {});
  }

  /** Ends QEMU at once; resolves when QEMU has answered or closed the connection. */
  async quit(): Promise<void> {
    // QEMU may close the socket before its answer arrives; either outcome means it is quitting.
    await Promise.race([this.execute("quit").catch((error) => (this.#isClosed ? undefined : Promise.reject(error))), this.closed]);
  }

  /** Pauses the guest's vCPUs. */
  stop(): Promise<void> {
    return this.execute("stop").then(() => {});
  }

  /** Resumes paused vCPUs. */
  cont(): Promise<void> {
    return this.execute("cont").then(() => {});
  }

  queryStatus(): Promise<QmpStatus> {
    return this.execute<QmpStatus>("query-status");
  }

  /** Runs a human monitor (HMP) command such as "info registers" and returns its text output. */
  humanMonitorCommand(commandLine: string, options: ExecuteOptions = {}): Promise<string> {
    return this.execute<string>("human-monitor-command", { "command-line": commandLine }, options);
  }

  /** Closes the connection; pending commands fail. */
  async close(): Promise<void> {
    if (!this.#isClosed) this.#socket.end();
    await this.closed;
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line !== "") this.#onMessage(line);
      newline = this.#buffer.indexOf("\n");
    }
  }

  #onMessage(line: string): void {
    let message: QmpMessage;
    try {
      message = JSON.parse(line) as QmpMessage;
    } catch {
      // QEMU only sends JSON; a torn or foreign line is not worth killing the session over.
      return;
    }
    if ("QMP" in message) {
      this.greeting = message;
      this.#resolveGreeting(message);
      return;
    }
    if ("event" in message) {
      for (const listener of [...this.#listeners]) listener(message);
      return;
    }
    const pending = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
    if (!pending) return;
    this.#pending.delete(message.id as number);
    clearTimeout(pending.timer);
    if ("error" in message) {
      pending.reject(qmpError(`QMP command "${pending.command}" failed: ${message.error.desc}`, this.#path, { class: message.error.class }));
    } else {
      pending.resolve(message.return);
    }
  }

  #onClose(): void {
    this.#isClosed = true;
    this.#rejectGreeting(qmpError(`QMP socket "${this.#path}" closed before the greeting`, this.#path));
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(qmpError(`QMP connection closed before command "${pending.command}" was answered`, this.#path));
      this.#pending.delete(id);
    }
  }
}

/**
 * Lima's graceful stop: `system_powerdown`, wait up to `timeoutMs` for QEMU to close the connection (it exits
 * once the guest has powered off), else `quit`. Returns which of the two ended QEMU.
 */
export async function shutdownGracefully(client: QmpClient, options: { timeoutMs: number }): Promise<"powerdown" | "quit"> {
  await client.systemPowerdown();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), options.timeoutMs);
  });
  const outcome = await Promise.race([client.closed.then(() => false as const), timedOut]);
  clearTimeout(timer);
  if (!outcome) return "powerdown";
  await client.quit();
  return "quit";
}

function qmpError(message: string, path: string, details: Record<string, unknown> = {}): DenError {
  return new DenError("QMP", message, { hint: `check that QEMU is running and its QMP socket is ${path}; see serial.log and ha.stderr.log`, details });
}

function openSocket(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(qmpError(`Cannot connect to QMP socket "${path}": no answer within ${timeoutMs} ms`, path));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DenError("QMP", `Cannot connect to QMP socket "${path}": ${error.code ?? error.message}`, { hint: "check that QEMU is running; see serial.log and ha.stderr.log", cause: error }));
    });
  });
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
