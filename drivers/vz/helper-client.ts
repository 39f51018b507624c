// The host side of the VZ helper control protocol (drivers/vz/helper/PROTOCOL.md): JSON lines over the helper's
// stdin/stdout, numbered requests answered in any order, and events. The helper is trusted code but a separate
// process that can crash or misbehave, so every line is bounded (1 MiB), every answer is checked against the schema,
// every wait has a deadline, and any breach of the protocol is a fault: pending and later requests fail with one
// DenError("VZ_HELPER") naming it, and stdin is closed, which tells the helper to stop the VM and exit.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { DenError } from "../../lib/errors.ts";
import type { VmExit } from "../driver.ts";
import {
  EventSchema,
  type HelperEvent,
  type HelperMethod,
  HelperMethods,
  type HelperParams,
  type HelperResult,
  MaxLineBytes,
  ResponseSchema,
} from "./helper-protocol.ts";

/** The three ends of a running helper; `spawnHelper` makes them from a process, tests from anything. */
export interface HelperIo {
  stdin: Writable;
  stdout: Readable;
  /** Settles when the helper process is gone. */
  exited: Promise<VmExit>;
  /** Ends the process (SIGKILL): the last resort after stdin EOF was not heeded. */
  kill(): void;
  pid: number;
}

export interface RequestOptions {
  /** How long the helper may take to answer; 30 s by default. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

export interface HelperClient {
  pid: number;
  request<M extends HelperMethod>(method: M, params: HelperParams<M>, options?: RequestOptions): Promise<HelperResult<M>>;
  /** Every event in order; the iteration ends when the helper's stdout closes or the client faults. Never throws. */
  events: AsyncIterable<HelperEvent>;
  /** The first protocol breach (`details.fault` "protocol") or helper death ("exit"), once there is one. */
  fault(): DenError | undefined;
  exited: Promise<VmExit>;
  /** Closes stdin (the helper stops the VM and exits), waits up to `timeoutMs` (10 s), then kills it. */
  close(options?: { timeoutMs?: number }): Promise<VmExit>;
}

export interface SpawnHelperOptions {
  /** The helper's stderr is appended here. */
  stderrPath: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Named in messages and hints. */
  what?: string;
}

const DefaultRequestTimeoutMs = 30_000;
const DefaultCloseTimeoutMs = 10_000;
const Newline = 0x0a;

/** Starts `argv` (the helper and its `serve` arguments) in its own session and attaches a client to it. */
export function spawnHelper(argv: readonly string[], options: SpawnHelperOptions): HelperClient {
  const [file, ...args] = argv;
  if (!file) throw new DenError("INTERNAL", "Cannot start the VZ helper: no command");
  const stderrFd = openSync(options.stderrPath, "a");
  let child: ChildProcess;
  try {
    // Its own session: a Ctrl-C meant for a foreground host agent must not reach the VM (the host agent stops it).
    child = spawn(file, args, { stdio: ["pipe", "pipe", stderrFd], detached: true, env: { ...(options.env ?? process.env) } as NodeJS.ProcessEnv });
  } finally {
    closeSync(stderrFd);
  }
  const exited = new Promise<VmExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  const { stdin, stdout } = child;
  if (!stdin || !stdout) throw new DenError("INTERNAL", "Cannot start the VM helper: its pipes are missing");
  return attachHelper(
    { stdin, stdout, exited, pid: child.pid ?? -1, kill: () => void child.kill("SIGKILL") },
    { what: options.what ?? `the VZ helper (${file})`, hint: `see ${options.stderrPath} for the helper's own messages` },
  );
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (error: DenError) => void;
}

/** A client over `io`; `what` names the helper in messages ("the VZ helper (/path)"), `hint` says where its log is. */
export function attachHelper(io: HelperIo, options: { what: string; hint: string }): HelperClient {
  const { what, hint } = options;
  const pending = new Map<number, Pending>();
  const queue: HelperEvent[] = [];
  let waiting: (() => void) | undefined;
  let ended = false;
  let faulted: DenError | undefined;
  let nextId = 1;

  const wake = () => {
    const resume = waiting;
    waiting = undefined;
    resume?.();
  };
  const end = () => {
    ended = true;
    wake();
  };
  const fail = (error: DenError) => {
    if (faulted) return;
    faulted = error;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
    end();
    // The helper stops the VM and exits on EOF: a helper den cannot understand must not keep a VM running.
    io.stdin.end();
  };
  const protocolFault = (why: string) =>
    fail(new DenError("VZ_HELPER", `${capitalise(what)} broke the control protocol: ${why}`, { hint: `${hint}; the VM was stopped`, details: { fault: "protocol" } }));

  const onLine = (bytes: Uint8Array) => {
    const text = new TextDecoder().decode(bytes).replace(/\r$/, "");
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return protocolFault(`it wrote a line that is not JSON: "${excerpt(text)}"`);
    }
    const event = EventSchema.safeParse(value);
    if (event.success) {
      queue.push(event.data);
      wake();
      return;
    }
    const response = ResponseSchema.safeParse(value);
    if (!response.success) return protocolFault(`it wrote a message that is neither an answer nor an event: "${excerpt(text)}"`);
    const entry = pending.get(response.data.id);
    if (!entry) return protocolFault(`it answered request ${response.data.id}, which den never sent or which was already answered`);
    if ("error" in response.data) {
      const { code, message } = response.data.error;
      entry.reject(new DenError("VZ_HELPER", `${capitalise(what)} refused "${entry.method}": ${message} (${code})`, { hint, details: { helperCode: code } }));
      return;
    }
    const result = HelperMethods[entry.method as HelperMethod].result.safeParse(response.data.result);
    // A malformed answer faults the client, which fails this request with the rest.
    if (!result.success) return protocolFault(`its answer to "${entry.method}" does not match protocol version 1: "${excerpt(text)}"`);
    entry.resolve(result.data);
  };

  let buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let skipping = false;
  io.stdout.on("data", (chunk: Uint8Array) => {
    let start = 0;
    while (start < chunk.length && !faulted) {
      const newline = chunk.indexOf(Newline, start);
      const stop = newline < 0 ? chunk.length : newline;
      if (!skipping) {
        bufferedBytes += stop - start;
        if (bufferedBytes > MaxLineBytes) {
          skipping = true;
          buffered = [];
          protocolFault(`it wrote a line longer than ${MaxLineBytes} bytes`);
        } else {
          buffered.push(chunk.subarray(start, stop));
        }
      }
      if (newline < 0) break;
      if (!skipping) onLine(Buffer.concat(buffered));
      buffered = [];
      bufferedBytes = 0;
      skipping = false;
      start = newline + 1;
    }
  });
  io.stdout.once("close", () => end());
  io.stdin.on("error", () => {
    // EPIPE once the helper is gone; its exit is reported below.
  });
  void io.exited.then((exit) => {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? "unknown"}`;
    fail(new DenError("VZ_HELPER", `${capitalise(what)} ${how}`, { hint, details: { fault: "exit", ...exit } }));
  });

  const request = <M extends HelperMethod>(method: M, params: HelperParams<M>, requestOptions: RequestOptions = {}): Promise<HelperResult<M>> => {
    if (faulted) return Promise.reject(faulted);
    const id = nextId++;
    const timeoutMs = requestOptions.timeoutMs ?? DefaultRequestTimeoutMs;
    return new Promise<HelperResult<M>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        requestOptions.signal?.removeEventListener("abort", onAbort);
        pending.delete(id);
      };
      const timer = setTimeout(() => {
        done();
        reject(new DenError("VZ_HELPER", `${capitalise(what)} did not answer "${method}" within ${formatMs(timeoutMs)}`, { hint }));
      }, timeoutMs);
      const onAbort = () => {
        done();
        reject(new DenError("VZ_HELPER", `"${method}" was cancelled`, { hint, cause: requestOptions.signal?.reason }));
      };
      if (requestOptions.signal?.aborted) return onAbort();
      requestOptions.signal?.addEventListener("abort", onAbort, { once: true });
      pending.set(id, {
        method,
        resolve: (result) => {
          done();
          resolve(result as HelperResult<M>);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      io.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  };

  const events: AsyncIterable<HelperEvent> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const event = queue.shift();
        if (event) {
          yield event;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          waiting = resolve;
        });
      }
    },
  };

  const close = async (closeOptions: { timeoutMs?: number } = {}): Promise<VmExit> => {
    io.stdin.end();
    const timeoutMs = closeOptions.timeoutMs ?? DefaultCloseTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([io.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!gone) io.kill();
    return io.exited;
  };

  return { pid: io.pid, request, events, fault: () => faulted, exited: io.exited, close };
}

function excerpt(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
