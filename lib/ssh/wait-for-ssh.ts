// Waits until a guest accepts den's key over SSH and runs a command. Each failed try is classified
// (nothing listening, closed before the handshake, handshake stuck, key refused), so a timeout can say
// which of those it was stuck on instead of just "waiting for ssh".
import { Client, type ClientChannel } from "ssh2";
import { DenError } from "../errors.ts";
import { sleep } from "../process/sleep.ts";
import { SshAddress } from "./ssh-options.ts";
import { KeepaliveIntervalMs, sessionOf, type SshSession } from "./ssh-session.ts";

export interface WaitForSshOptions {
  port: number;
  /** 127.0.0.1 unless given. */
  host?: string | undefined;
  user: string;
  /** The private key text (OpenSSH format), e.g. the content of `$DEN_HOME/_config/user`. */
  privateKey: string | Buffer;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Pause between tries; 250 ms by default. */
  retryIntervalMs?: number | undefined;
  /** Longest single try, capped by what is left of timeoutMs; 10 s by default. */
  attemptTimeoutMs?: number | undefined;
  /**
   * Keep the connection of the successful try open and return it as `session`: the next command then costs a
   * channel, not another handshake (over a second under TCG). The caller closes it.
   */
  keepSession?: boolean | undefined;
}

/** Why one try failed, from the outermost layer to the innermost. */
export type SshFailureKind = "refused" | "timeout" | "closed" | "handshake" | "auth" | "command";

export interface SshFailure {
  kind: SshFailureKind;
  /** One phrase for a message, e.g. `connection refused`. */
  reason: string;
  /** The try ran out of time rather than being refused. */
  timedOut?: boolean;
}

export interface SshReady {
  /** From the call to the first successful command. */
  elapsedMs: number;
  attempts: number;
  /** When a TCP connection first got through, which tells "port forwarded" from "sshd answering". */
  firstConnectMs: number | undefined;
  /** When the first SSH handshake completed. */
  firstHandshakeMs: number | undefined;
  /** The logged-in connection, with `keepSession`. */
  session?: SshSession | undefined;
}

/** Retries connect, key login and `exec("true")` until one succeeds; throws SSH_UNREACHABLE with the last reason on timeout. */
export async function waitForSsh(options: WaitForSshOptions): Promise<SshReady> {
  const started = performance.now();
  const since = (): number => Math.round(performance.now() - started);
  const host = options.host ?? SshAddress;
  const retryMs = options.retryIntervalMs ?? 250;
  let attempts = 0;
  let firstConnectMs: number | undefined;
  let firstHandshakeMs: number | undefined;
  let last: SshFailure | undefined;
  let session: SshSession | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const fullMs = options.attemptTimeoutMs ?? 10_000;
    const attemptMs = Math.max(1, Math.min(fullMs, options.timeoutMs - since()));
    attempts++;
    const outcome = await attempt(options, {
      host,
      timeoutMs: attemptMs,
      onConnect: () => (firstConnectMs ??= since()),
      onHandshake: () => (firstHandshakeMs ??= since()),
      keep: (kept) => (session = kept),
    });
    if (outcome === undefined) return { elapsedMs: since(), attempts, firstConnectMs, firstHandshakeMs, ...(session && { session }) };
    // A try cut short by the overall deadline says little; an earlier, complete failure says more.
    const cutShort = attemptMs < fullMs && outcome.timedOut === true;
    if (!cutShort || last === undefined) last = outcome;
    options.signal?.throwIfAborted();
    const wait = Math.min(retryMs, options.timeoutMs - since());
    if (wait <= 0) break;
    await sleep(wait, options.signal);
  }
  throw unreachableError(host, options, last, attempts);
}

interface AttemptContext {
  host: string;
  timeoutMs: number;
  onConnect(): void;
  onHandshake(): void;
  /** Takes the logged-in connection of a successful try, with `keepSession`. */
  keep(session: SshSession): void;
}

/** One try: undefined on success, else why it failed. Never throws. */
function attempt(options: WaitForSshOptions, context: AttemptContext): Promise<SshFailure | undefined> {
  return new Promise((resolve) => {
    const client = new Client();
    let connected = false;
    let handshaken = false;
    let done = false;
    const finish = (result: SshFailure | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (result === undefined && options.keepSession) {
        context.keep(sessionOf(client));
      } else {
        client.end();
        client.destroy();
      }
      resolve(result);
    };
    const seconds = `${Math.round(context.timeoutMs / 100) / 10}s`;
    const timer = setTimeout(() => {
      if (!connected) finish({ kind: "timeout", reason: `no answer on port ${options.port} within ${seconds}`, timedOut: true });
      else if (!handshaken) finish({ kind: "handshake", reason: `no SSH handshake within ${seconds} of connecting`, timedOut: true });
      else finish({ kind: "auth", reason: `login as "${options.user}" and a first command did not finish within ${seconds}`, timedOut: true });
    }, context.timeoutMs);
    const onAbort = (): void => finish({ kind: "timeout", reason: "cancelled" });
    options.signal?.addEventListener("abort", onAbort, { once: true });

    client.on("connect", () => {
      connected = true;
      context.onConnect();
    });
    client.on("handshake", () => {
      handshaken = true;
      context.onHandshake();
    });
    client.on("error", (error: Error & { level?: string; code?: unknown }) => finish(classify(error, { connected, handshaken, user: options.user })));
    client.on("close", () => {
      if (!connected) finish({ kind: "refused", reason: "connection closed" });
      // QEMU's user-mode port forward accepts the connection and then drops it while the guest has no sshd.
      else if (!handshaken) finish({ kind: "closed", reason: "connection closed before the SSH handshake" });
      else finish({ kind: "auth", reason: `connection closed during login as "${options.user}"` });
    });
    client.on("ready", () => {
      client.exec("true", (error: Error | undefined, stream: ClientChannel) => {
        if (error) {
          finish({ kind: "command", reason: `cannot run a command: ${error.message}` });
          return;
        }
        stream.on("close", (code: number | null, signal?: string) => {
          if (code === 0) finish(undefined);
          else finish({ kind: "command", reason: `"true" ${code === null ? `was killed by ${signal ?? "a signal"}` : `exited with ${code}`}` });
        });
        stream.resume();
        stream.stderr.resume();
      });
    });
    try {
      client.connect({
        host: context.host,
        port: options.port,
        username: options.user,
        privateKey: options.privateKey,
        readyTimeout: context.timeoutMs + 1000,
        ...(options.keepSession && { keepaliveInterval: KeepaliveIntervalMs }),
        // The guest's host key is new on every instance and the port is on loopback: as with the
        // `StrictHostKeyChecking=no` den passes to ssh, any host key is accepted.
        hostVerifier: () => true,
      });
    } catch (error) {
      finish({ kind: "auth", reason: `cannot use den's key: ${(error as Error).message}` });
    }
  });
}

function classify(error: Error & { level?: string; code?: unknown }, state: { connected: boolean; handshaken: boolean; user: string }): SshFailure {
  if (error.level === "client-authentication") return { kind: "auth", reason: `authentication as "${state.user}" failed: the guest does not accept den's key` };
  if (error.code === "ECONNREFUSED") return { kind: "refused", reason: "connection refused" };
  if (!state.connected) return { kind: "refused", reason: error.message };
  if (!state.handshaken) return { kind: "closed", reason: `connection lost before the SSH handshake (${error.message})` };
  return { kind: "handshake", reason: error.message };
}

const hints: Record<SshFailureKind, string> = {
  refused: "nothing listens on the forwarded port: check that the VM process is running",
  timeout: "the forwarded port does not answer: the VM may be hung; see serial.log in the instance folder",
  closed: "the guest's sshd is not up yet (or failed): see serial.log in the instance folder for the boot progress",
  handshake: "something answers on the port but does not complete an SSH handshake: see serial.log in the instance folder",
  auth: "the guest does not accept den's key: check in serial.log that cloud-init ran and created the user",
  command: "the guest accepted the login but could not run a command: see serial.log in the instance folder",
};

function unreachableError(host: string, options: WaitForSshOptions, last: SshFailure | undefined, attempts: number): DenError {
  const seconds = Math.round(options.timeoutMs / 100) / 10;
  const reason = last ? last.reason : "no attempt was made";
  return new DenError("SSH_UNREACHABLE", `Cannot log in to the guest over SSH at ${host}:${options.port} within ${seconds}s: ${reason}`, {
    hint: last ? hints[last.kind] : "give the guest more time with a longer --timeout",
    details: { kind: last?.kind, attempts },
  });
}
