// The host side of den's guest agent protocol (agent/PROTOCOL.md). One client per running instance: it dials the
// transport, says HELLO, and keeps a session until the connection drops, then dials again. Every new session starts
// from nothing on both sides, so the agent re-sends its full listener list and the client re-creates its guest unix
// sockets; callers only ever see state changes and lists, never a half-synced session.
//
// The guest is untrusted, and everything it sends is bounded here: its log lines are rate-limited per kind (a flood
// of bad frames writes a handful of lines and a count), its texts are cut short and escaped before they reach a log
// line, the streams it may open are capped (StreamMux maxPeerStreams), and a guest that stops reading its end while
// making the host answer (RESETs, HELLOs) loses the connection once the unsent bytes pass a bound, instead of the
// host agent buffering them without end.
import type { Duplex } from "node:stream";
import { decodeHandshake, decodeJson, encodeHandshake, encodeJson, type Frame, FrameParser, FrameType, MaxControlPayloadBytes } from "../../agent/protocol/frame.ts";
import { createFrameSender } from "../../agent/protocol/frame-sender.ts";
import { ClockProtocolVersion, type ClockStep, type Control, ControlSchema, type GuestAgentInfo, type GuestFsEvent, type GuestListener, type GuestStreamTarget, type GuestUnixListenSpec, WelcomeSchema } from "../../agent/protocol/messages.ts";
import { type ProtocolRange, SupportedProtocols } from "../../agent/protocol/negotiate-protocol.ts";
import { DefaultReceiveWindowBytes, streamLimits } from "../../agent/protocol/stream-limits.ts";
import { StreamMux, StreamResetError } from "../../agent/protocol/stream-mux.ts";
import type { GuestAgentConnection } from "../../drivers/driver.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { rateLimitLog, type RateLimitedLog } from "../log-rate-limit.ts";
import { sleep } from "../process/sleep.ts";
import { type GuestAgentTransport, transportFor } from "./agent-transport.ts";
import type { GuestAgentClient, GuestAgentState } from "./guest-agent-client.ts";

export interface ConnectGuestAgentOptions {
  log: Logger;
  /** Replaces the transport derived from the connection (tests, VZ's vsock later). */
  transport?: GuestAgentTransport;
  /** Delay before re-dialing after a failed dial or a dropped connection; doubles up to 8× (default 250 ms). */
  retryMs?: number;
  /** Interval of liveness pings; a session with an unanswered ping at the next one is started over (default 10 s). */
  pingMs?: number;
  /**
   * How long a HELLO may go unanswered before the connection is given up and dialled again (default 30 s). Counted
   * from the first unanswered HELLO: the ones said again (after an announcement, after garbage) do not extend it.
   */
  helloTimeoutMs?: number;
  /** Streams the guest may have open at once (reverse unix sockets), each one a connection on the host; 1024 by default. */
  maxGuestStreams?: number;
  /** Bytes queued for the guest past which it counts as not reading and the connection is dropped; 64 MiB by default. */
  maxUnsentBytes?: number;
  /** Rate limit of the guest-driven log lines (see log-rate-limit.ts). */
  logRate?: { burst?: number; intervalMs?: number };
  /** Protocol versions to offer; all this build speaks by default (tests narrow it to act as an older host). */
  protocols?: ProtocolRange;
  /** The receive window per stream announced to an agent that speaks protocol 2 or later (default 4 MiB). */
  receiveWindow?: number;
  /** How long listenInGuest() waits for the agent's answer before it fails (default 30 s). */
  listenTimeoutMs?: number;
  /** The host's clock (Unix ms) the agent sets the guest's by; Date.now by default (tests pass another). */
  now?: () => number;
}

/**
 * What the host lets queue for the guest beyond the DATA its streams' credit allows (each host→guest stream holds at
 * most one credit window unsent, and that is counted apart): the answers to the guest's own frames. Past that the
 * guest is not reading at all, and only the connection's end frees the memory.
 */
const DefaultMaxUnsentBytes = 64 * 1024 * 1024;
/**
 * Unsent bytes past which the streams' writes wait for the socket to drain. Credit alone would let each stream queue a
 * whole window (4 MiB in protocol 2) in the socket's user-space buffer while the guest reads slower than the host's
 * sources; measured over a unix socket, that buffering cost the host agent half again as much CPU per MiB.
 */
const CongestedBytes = 1024 * 1024;
/** Far above what a guest's reverse sockets need (docker.sock clients), far below the host's descriptor limit. */
const DefaultMaxGuestStreams = 1024;
/**
 * An agent answers a HELLO in milliseconds once it runs, and a freshly started one announces itself, which gets it a
 * HELLO at once; so this only bounds an agent that reads and never answers (hung, or not den's), and a connection
 * made before the agent ran (during boot), which a new connection serves as well.
 */
const DefaultHelloTimeoutMs = 30_000;
/**
 * An agent answers a listen request once its listen() returned: milliseconds. The wait is bounded for an agent that
 * takes the request and never answers; the request survives reconnects meanwhile (it is sent again to each session).
 */
const DefaultListenTimeoutMs = 30_000;
/**
 * HELLOs said again for announcements come at most this often: a real agent announces itself once per start, and a
 * guest repeating announcements must not get a HELLO for each (nor hold off the HELLO timeout, which they do not reset).
 */
const MinHelloIntervalMs = 500;

/** Returns at once; connects and reconnects in the background until `close()`. */
export function connectGuestAgent(connection: GuestAgentConnection, options: ConnectGuestAgentOptions): GuestAgentClient {
  return new AgentClient(options.transport ?? transportFor(connection), options);
}

interface Registration {
  spec: GuestUnixListenSpec;
  onConnection: (stream: Duplex) => void;
  /** Settles the listenInGuest() call on the first answer. */
  first?: { resolve: () => void; reject: (error: Error) => void };
}

class AgentClient implements GuestAgentClient {
  readonly #transport: GuestAgentTransport;
  readonly #log: Logger;
  readonly #limited: RateLimitedLog;
  readonly #connectedLog: Logger;
  readonly #options: ConnectGuestAgentOptions;
  readonly #retryMs: number;
  readonly #pingMs: number;
  readonly #closed = new AbortController();
  readonly #stateListeners = new Set<(state: GuestAgentState) => void>();
  readonly #listListeners = new Set<(listeners: readonly GuestListener[]) => void>();
  readonly #registrations = new Map<number, Registration>();
  readonly #clockListeners = new Set<(step: ClockStep) => void>();
  readonly #clockLog: Logger;
  #state: GuestAgentState = { state: "connecting" };
  #listeners: readonly GuestListener[] = [];
  #session: HostSession | undefined;
  #nextRegistration = 1;
  /**
   * Whether a session came up since the last HELLO timeout: an agent that answered and stops is a fault, warned about
   * once per outage; one still booting (or a VM paused on purpose) is only noted.
   */
  #answeredSinceTimeout = false;
  readonly #loop: Promise<void>;

  constructor(transport: GuestAgentTransport, options: ConnectGuestAgentOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#limited = rateLimitLog(options.log, options.logRate);
    // Session lines (connected, reset, disconnected) repeat as often as the guest restarts its side.
    this.#log = this.#limited.kind("guest agent session");
    // Its own budget: a burst of session lines (an agent restarted twice in a minute) must not hide which agent and
    // protocol the host is now talking to.
    this.#connectedLog = this.#limited.kind("guest agent connected");
    // The guest reports its clock steps: a handful a day is normal, a flood is the guest's doing and stays bounded.
    this.#clockLog = this.#limited.kind("guest clock");
    this.#retryMs = options.retryMs ?? 250;
    this.#pingMs = options.pingMs ?? 10_000;
    this.#loop = this.#run();
  }

  get state(): GuestAgentState {
    return this.#state;
  }

  onState(listener: (state: GuestAgentState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  onListeners(listener: (listeners: readonly GuestListener[]) => void): () => void {
    this.#listListeners.add(listener);
    listener(this.#listeners);
    return () => this.#listListeners.delete(listener);
  }

  async openStream(target: GuestStreamTarget): Promise<Duplex> {
    const name = target.kind === "unix" ? `unix ${target.path}` : `${target.kind} ${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
    const mux = this.#session?.mux;
    if (!mux) throw new DenError("GUEST_AGENT", `Cannot open ${name} in the guest: no guest agent is connected`, { hint: "see ha.stderr.log in the instance folder for the agent's connection state" });
    try {
      return await mux.open(target);
    } catch (error) {
      const errno = error instanceof StreamResetError ? error.code : "EIO";
      throw new DenError("GUEST_AGENT", `Cannot open ${name} in the guest: ${errno}`, { cause: error, details: { errno } });
    }
  }

  listenInGuest(spec: GuestUnixListenSpec, onConnection: (stream: Duplex) => void): Promise<{ close(): Promise<void> }> {
    const session = this.#session;
    if (!session?.mux) return Promise.reject(new DenError("GUEST_AGENT", `Cannot listen on "${spec.path}" in the guest: no guest agent is connected`));
    const id = this.#nextRegistration++;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timeoutMs = this.#options.listenTimeoutMs ?? DefaultListenTimeoutMs;
    const timer = setTimeout(() => {
      if (this.#registrations.get(id)?.first === undefined) return;
      this.#registrations.delete(id);
      this.#session?.control({ type: "unlisten-unix", id });
      reject(
        new DenError("GUEST_AGENT", `Cannot listen on "${spec.path}" in the guest: the guest agent did not answer within ${timeoutMs / 1000} s`, {
          hint: "see ha.stderr.log in the instance folder for the agent's connection state",
        }),
      );
    }, timeoutMs);
    const first = {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    };
    this.#registrations.set(id, { spec, onConnection, first });
    session.control({ type: "listen-unix", id, ...spec });
    return promise.then(() => ({
      close: async () => {
        this.#registrations.delete(id);
        this.#session?.control({ type: "unlisten-unix", id });
      },
    }));
  }

  sendFsEvents(events: readonly GuestFsEvent[]): void {
    const session = this.#session;
    if (!session?.mux || events.length === 0) return;
    // Each control frame must stay under MaxControlPayloadBytes: ~4 KiB per path at most, so batches of 200 fit.
    for (let i = 0; i < events.length; i += 200) session.control({ type: "fs-events", events: events.slice(i, i + 200) });
  }

  onClockStep(listener: (step: ClockStep) => void): () => void {
    this.#clockListeners.add(listener);
    return () => this.#clockListeners.delete(listener);
  }

  syncClock(reason: string): boolean {
    return this.#session?.checkClock(reason) ?? false;
  }

  async close(): Promise<void> {
    this.#closed.abort();
    this.#session?.socket.destroy();
    await this.#loop;
    this.#limited.flush();
  }

  #setState(state: GuestAgentState): void {
    this.#state = state;
    for (const listener of this.#stateListeners) listener(state);
  }

  #setListeners(listeners: readonly GuestListener[]): void {
    this.#listeners = listeners;
    for (const listener of this.#listListeners) listener(listeners);
  }

  async #run(): Promise<void> {
    const signal = this.#closed.signal;
    let failures = 0;
    let lastReason = "";
    while (!signal.aborted) {
      if (this.#state.state !== "connecting") this.#setState({ state: "connecting" });
      let socket: Duplex;
      try {
        socket = await this.#transport.dial(signal);
      } catch (error) {
        if (signal.aborted) break;
        const reason = `cannot connect to ${this.#transport.description}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
        if (reason !== lastReason) this.#log.debug(`guest agent: ${reason}`);
        lastReason = reason;
        this.#setState({ state: "disconnected", reason });
        // close() aborts the wait, and the loop's condition then ends the loop: no error to pass on.
        await sleep(this.#retryMs * 2 ** Math.min(failures++, 3), signal).catch(() => {});
        continue;
      }
      failures = 0;
      const session = new HostSession(socket, {
        pingMs: this.#pingMs,
        helloTimeoutMs: this.#options.helloTimeoutMs ?? DefaultHelloTimeoutMs,
        maxGuestStreams: this.#options.maxGuestStreams ?? DefaultMaxGuestStreams,
        maxUnsentBytes: this.#options.maxUnsentBytes ?? DefaultMaxUnsentBytes,
        protocols: this.#options.protocols ?? SupportedProtocols,
        receiveWindow: this.#options.receiveWindow ?? DefaultReceiveWindowBytes,
      }, {
        log: this.#log,
        input: this.#limited.kind("guest agent input"),
        control: this.#limited.kind("guest agent control"),
        streams: this.#limited.kind("guest agent streams"),
        connected: (info) => {
          this.#answeredSinceTimeout = true;
          this.#connectedLog.info(`guest agent connected: den-guestagent ${guestText(info.version)}, protocol ${info.protocol}, ${guestText(info.arch)}`);
          this.#setState({ state: "connected", info });
          this.#restoreRegistrations(session);
        },
        reset: (reason, severity) => {
          this.#log[severity](`guest agent: ${reason}; starting a new session`);
          this.#setListeners([]);
          this.#setState({ state: "connecting" });
        },
        listeners: (listeners) => this.#setListeners(listeners),
        listenResult: (message) => this.#listenResult(message),
        openRequest: (id) => this.#registrations.get(id)?.onConnection,
        clockStepped: (step) => this.#clockStepped(step),
        now: this.#options.now ?? Date.now,
      });
      this.#session = session;
      const reason = await session.closed;
      this.#session = undefined;
      if (this.#state.state === "connected") this.#log.warn(`guest agent disconnected: ${reason}`);
      else if (session.handshakeTimedOut) {
        this.#log[this.#answeredSinceTimeout ? "warn" : "info"](`guest agent: ${reason}; connecting again`);
        this.#answeredSinceTimeout = false;
      }
      this.#setListeners([]);
      this.#setState({ state: "disconnected", reason });
      await sleep(this.#retryMs, signal).catch(() => {});
    }
    this.#setState({ state: "disconnected", reason: "the client was closed" });
  }

  #clockStepped(message: ClockStep): void {
    const step: ClockStep = { ...message, reason: guestText(message.reason), ...(message.error !== undefined && { error: guestText(message.error) }) };
    const off = `${(Math.abs(step.driftMs) / 1000).toFixed(1)} s ${step.driftMs < 0 ? "behind" : "ahead of"} ${step.source === "host" ? "the host's clock" : "the RTC"}`;
    if (step.error === undefined) this.#clockLog.info(`guest clock corrected: it was ${off} (${step.reason})`);
    else this.#clockLog.warn(`guest clock: the agent cannot set it, ${off}: ${step.error}`);
    for (const listener of this.#clockListeners) listener(step);
  }

  #restoreRegistrations(session: HostSession): void {
    for (const [id, registration] of this.#registrations) session.control({ type: "listen-unix", id, ...registration.spec });
  }

  #listenResult(message: Extract<Control, { type: "listen-unix-result" }>): void {
    const registration = this.#registrations.get(message.id);
    if (!registration) return;
    const first = registration.first;
    registration.first = undefined;
    if (message.ok) return first?.resolve();
    const error = new DenError("GUEST_AGENT", `Cannot listen on "${registration.spec.path}" in the guest: ${guestText(message.errno ?? "EIO")}`, {
      details: { errno: message.errno },
      ...(message.message && { hint: guestText(message.message) }),
    });
    if (first) {
      this.#registrations.delete(message.id);
      first.reject(error);
    } else {
      this.#log.warn(error.message);
    }
  }
}

interface SessionHooks {
  /** Session lines. */
  log: Logger;
  /** Unreadable input. */
  input: Logger;
  /** Control messages that do not parse, do not belong, or report the guest's errors. */
  control: Logger;
  /** Protocol violations on streams. */
  streams: Logger;
  connected(info: GuestAgentInfo): void;
  /** The agent restarted, lost track or stopped answering (a fault: "warn"): the session starts over on the same connection. */
  reset(reason: string, severity: "info" | "warn"): void;
  listeners(listeners: GuestListener[]): void;
  listenResult(message: Extract<Control, { type: "listen-unix-result" }>): void;
  openRequest(listenerId: number): ((stream: Duplex) => void) | undefined;
  clockStepped(step: ClockStep): void;
  /** The host's clock for the agent's clock requests. */
  now(): number;
}

interface SessionLimits {
  pingMs: number;
  helloTimeoutMs: number;
  maxGuestStreams: number;
  maxUnsentBytes: number;
  protocols: ProtocolRange;
  receiveWindow: number;
}

/** One connection to the agent: HELLO/WELCOME, then control messages and streams; started over on a new WELCOME. */
class HostSession {
  readonly socket: Duplex;
  readonly closed: Promise<string>;
  mux: StreamMux | undefined;
  readonly #hooks: SessionHooks;
  readonly #parser = new FrameParser(FrameType.Welcome);
  readonly #send: (frame: Frame) => void;
  #nonce = "";
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Runs while a HELLO waits for its WELCOME. */
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #helloTimeoutMs: number;
  #lastHelloAt = 0;
  /** A HELLO held back by MinHelloIntervalMs. */
  #helloDue: ReturnType<typeof setTimeout> | undefined;
  /** Set when the connection was given up because no HELLO got an answer in time. */
  handshakeTimedOut = false;
  #pingId = 0;
  #pongId = 0;
  /** The protocol of the session (0 until a WELCOME agreed on one). */
  #protocol = 0;

  readonly #resolveClosed: (reason: string) => void;
  readonly #maxGuestStreams: number;
  readonly #protocols: ProtocolRange;
  readonly #receiveWindow: number;

  constructor(socket: Duplex, limits: SessionLimits, hooks: SessionHooks) {
    this.socket = socket;
    this.#hooks = hooks;
    this.#maxGuestStreams = limits.maxGuestStreams;
    this.#protocols = limits.protocols;
    this.#receiveWindow = limits.receiveWindow;
    this.#helloTimeoutMs = limits.helloTimeoutMs;
    this.#send = createFrameSender((bytes) => {
      if (socket.destroyed) return;
      socket.write(bytes);
      // Summing the streams' unacknowledged DATA costs a walk over them, so only once past the fixed bound.
      if (socket.writableLength > limits.maxUnsentBytes && socket.writableLength > limits.maxUnsentBytes + (this.mux?.unacknowledgedBytes ?? 0)) {
        socket.destroy(new Error(`the agent does not read its end: ${socket.writableLength} bytes unsent`));
      }
    });
    const { promise, resolve } = Promise.withResolvers<string>();
    this.closed = promise;
    this.#resolveClosed = resolve;
    socket.on("data", (chunk: Buffer) => this.#input(chunk));
    socket.on("drain", () => this.mux?.drained());
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(`the connection failed: ${error.code ?? error.message}`));
    socket.on("close", () => {
      clearInterval(this.#pingTimer);
      clearTimeout(this.#helloTimer);
      clearTimeout(this.#helloDue);
      this.mux?.resetAll({ errno: "ECONNRESET", message: "the guest agent connection closed" });
      this.mux = undefined;
      resolve("the connection closed");
    });
    this.#pingTimer = setInterval(() => this.#ping(), limits.pingMs);
    this.#hello();
  }

  /** Asks the agent to compare its clock with ours now; false when the session has no agent that can (protocol < 3). */
  checkClock(reason: string): boolean {
    if (!this.mux || this.#protocol < ClockProtocolVersion) return false;
    this.control({ type: "clock-check", reason });
    return true;
  }

  control(message: Control): void {
    const payload = encodeJson(message);
    if (payload.byteLength > MaxControlPayloadBytes) throw new RangeError(`control message of ${payload.byteLength} bytes`);
    this.#send({ type: FrameType.Control, stream: 0, payload });
  }

  #hello(): void {
    this.#nonce = crypto.randomUUID();
    this.#lastHelloAt = performance.now();
    this.#parser.resync();
    const hello = { nonce: this.#nonce, protocol: this.#protocols, ...(this.#protocols.max >= 2 && { window: this.#receiveWindow }) };
    this.#send({ type: FrameType.Hello, stream: 0, payload: encodeHandshake(hello) });
    this.#helloTimer ??= setTimeout(() => this.#giveUp(), this.#helloTimeoutMs);
  }

  /** Says HELLO again, at once unless one went out less than MinHelloIntervalMs ago. */
  #helloSoon(): void {
    const wait = this.#lastHelloAt + MinHelloIntervalMs - performance.now();
    if (wait <= 0) return this.#hello();
    this.#helloDue ??= setTimeout(() => {
      this.#helloDue = undefined;
      if (!this.mux && !this.socket.destroyed) this.#hello();
    }, wait);
  }

  /** No HELLO got an answer in time: the connection ends, and the client dials again. */
  #giveUp(): void {
    const seconds = this.#helloTimeoutMs / 1000;
    this.handshakeTimedOut = true;
    this.#resolveClosed(`the agent did not answer HELLO within ${Number(seconds.toFixed(2))} s`);
    this.socket.destroy();
  }

  #restart(reason: string, severity: "info" | "warn" = "info"): void {
    // Still waiting for the WELCOME to a HELLO: that HELLO stands (its timeout bounds the wait), and frames other than
    // a handshake are dropped until it comes. Saying HELLO again for each bad frame would answer a guest's flood with
    // one; resyncing the reader would skip the WELCOME itself when it came in the same read as the bad frame.
    if (!this.mux && this.#helloTimer) return;
    this.mux?.resetAll({ errno: "ECONNRESET", message: `the guest agent session was reset: ${reason}` });
    this.mux = undefined;
    this.#hooks.reset(reason, severity);
    this.#hello();
  }

  #ping(): void {
    if (!this.mux) return;
    if (this.#pongId !== this.#pingId) return this.#restart("the agent did not answer a ping", "warn");
    this.control({ type: "ping", id: ++this.#pingId });
  }

  #input(chunk: Uint8Array): void {
    if (this.socket.destroyed) return;
    for (const item of this.#parser.push(chunk)) {
      if (this.socket.destroyed) return;
      if (item.kind === "garbage") {
        this.#hooks.input.warn(`guest agent: discarding unreadable input (${item.reason})`);
        // The reader skipped to the next handshake by itself: what follows in this read starts with one, and may be
        // the WELCOME this session waits for.
        this.#restart("the agent's output could not be parsed");
        continue;
      }
      this.#frame(item.frame);
    }
  }

  #frame(frame: Frame): void {
    if (frame.type === FrameType.Welcome) return this.#welcome(frame);
    if (frame.type === FrameType.Hello) return this.#restart("the agent sent a HELLO");
    if (!this.mux) return;
    if (frame.type === FrameType.Control) return this.#controlFrame(frame);
    this.mux.handle(frame);
  }

  #welcome(frame: Frame): void {
    const parsed = WelcomeSchema.safeParse(decodeHandshake(frame.payload));
    if (!parsed.success) {
      this.#hooks.input.warn("guest agent: discarding a WELCOME that does not parse");
      return this.#restart("the agent sent a WELCOME that does not parse");
    }
    const welcome = parsed.data;
    // An announcement: a new agent process started behind the same connection. A WELCOME with another nonce answers
    // an older HELLO of ours and is skipped.
    if (welcome.nonce === null) {
      if (this.mux) return this.#restart(`a new agent process started (${guestText(welcome.version)})`);
      // Still waiting for our answer: the new process may never have seen that HELLO, so it gets another one.
      this.#hooks.log.debug("guest agent: an agent process announced itself; saying HELLO again");
      return this.#helloSoon();
    }
    if (welcome.nonce !== this.#nonce) return;
    // The agent picks from our range; anything else (0: no version in common) ends the connection.
    if (welcome.protocol < this.#protocols.min || welcome.protocol > this.#protocols.max) {
      const ours = `${this.#protocols.min}..${this.#protocols.max}`;
      this.#hooks.log.error(`guest agent: ${welcome.error === undefined ? `it picked protocol ${welcome.protocol}, den speaks ${ours}` : guestText(welcome.error)}`);
      this.socket.destroy();
      return;
    }
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
    clearTimeout(this.#helloDue);
    this.#helloDue = undefined;
    this.#pingId = this.#pongId = 0;
    this.mux = new StreamMux({
      side: "host",
      send: this.#send,
      maxPeerStreams: this.#maxGuestStreams,
      limits: streamLimits(welcome.protocol, { receive: this.#receiveWindow, send: welcome.window }),
      // Past the socket's high-water mark a write returned false, so a "drain" event is due.
      congested: () => this.socket.writableLength > Math.max(CongestedBytes, this.socket.writableHighWaterMark),
      onOpenRequest: (request) => {
        const handler = request.target.kind === "listener" ? this.#hooks.openRequest(request.target.id) : undefined;
        if (!handler) return request.reject({ errno: "ENOENT", message: "no such listener on the host" });
        handler(request.accept());
      },
      onViolation: (message) => this.#hooks.streams.warn(`guest agent: ${message}`),
    });
    this.#protocol = welcome.protocol;
    this.#hooks.connected({ version: welcome.version, protocol: welcome.protocol, arch: welcome.arch });
    // A new session may follow a guest that stood still (its pings went unanswered): its clock is the first suspect.
    this.checkClock("a new session started");
  }

  #controlFrame(frame: Frame): void {
    const parsed = ControlSchema.safeParse(decodeJson(frame.payload));
    if (!parsed.success) return this.#hooks.control.warn("guest agent: dropped a control message that does not parse");
    const message = parsed.data;
    switch (message.type) {
      case "listeners":
        return this.#hooks.listeners(message.listeners);
      case "listen-unix-result":
        return this.#hooks.listenResult(message);
      case "pong":
        this.#pongId = Math.max(this.#pongId, message.id);
        return;
      case "clock-request":
        // Read now, as late as possible: the agent measures the round trip and counts on the host reading on receipt.
        return this.control({ type: "clock-reply", id: message.id, unixMs: this.#hooks.now() });
      case "clock-stepped":
        return this.#hooks.clockStepped(message);
      case "error":
        this.#hooks.control.warn(`guest agent: ${guestText(message.message)}`);
        if (message.reset) this.#restart("the agent dropped the session");
        return;
      default:
        return this.#hooks.control.warn(`guest agent: unexpected control message "${message.type}"`);
    }
  }
}

/** Text from the guest as it may appear in a host log line: control characters escaped (no forged lines), cut short. */
function guestText(text: string): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}
