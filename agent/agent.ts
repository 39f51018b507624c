// The guest agent's main loop: waits for the host on the port, greets it (so a host already connected learns that a
// new agent process started), answers each HELLO with a WELCOME and a fresh session, and serves the session until
// the host goes away, then waits again. Nothing here exits on bad input: garbage is logged, reported to the host
// and skipped up to the next HELLO.
import type { ClockHost, TimeSync } from "./clock/time-sync.ts";
import type { AgentPort, PortConnection } from "./port/agent-port.ts";
import { decodeHandshake, decodeJson, encodeFrame, encodeHandshake, encodeJson, type Frame, FrameParser, FrameType, MaxControlPayloadBytes } from "./protocol/frame.ts";
import { createFrameSender } from "./protocol/frame-sender.ts";
import { ClockProtocolVersion, type Control, ControlSchema, type GuestFsEvent, type GuestListener, HelloSchema, type ListenUnix, type Welcome } from "./protocol/messages.ts";
import { negotiateProtocol, type ProtocolRange, SupportedProtocols } from "./protocol/negotiate-protocol.ts";
import { splice } from "./protocol/splice.ts";
import { DefaultReceiveWindowBytes, streamLimits } from "./protocol/stream-limits.ts";
import { StreamMux } from "./protocol/stream-mux.ts";
import { openTarget } from "./open-target.ts";
import { UnixListeners } from "./unix-listeners.ts";

export interface AgentDeps {
  port: AgentPort;
  version: string;
  /** `uname -m`. */
  arch: string;
  log(line: string): void;
  /** Calls back with the full list at once and on every change (agent/ports/watch-listeners.ts). */
  watchListeners?(onChange: (listeners: GuestListener[]) => void): { stop(): void };
  applyFsEvents?(events: readonly GuestFsEvent[]): Promise<void>;
  /** The protocol versions to accept; all this build speaks by default (tests narrow it to act as an older agent). */
  protocols?: ProtocolRange;
  /** The receive window per stream announced to a host that speaks protocol 2 or later. */
  receiveWindow?: number;
  /** Keeps the guest clock on the host's (clock/time-sync.ts); sessions of protocol 3 and later lend it the host's clock. */
  timeSync?: TimeSync;
}

/** Serves hosts until `signal` aborts. */
export async function serveAgent(deps: AgentDeps, signal: AbortSignal): Promise<void> {
  let listeners: GuestListener[] = [];
  let current: Session | undefined;
  const watch = deps.watchListeners?.((next) => {
    listeners = next;
    current?.sendListeners(listeners);
  });
  try {
    while (!signal.aborted) {
      const announce: Welcome = { nonce: null, version: deps.version, protocol: (deps.protocols ?? SupportedProtocols).max, arch: deps.arch };
      let connection: PortConnection;
      try {
        connection = await deps.port.accept(encodeFrame({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake(announce) }), signal);
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      deps.log("host connected");
      current = new Session(connection, deps, () => listeners);
      const session = current;
      const onAbort = () => session.end("the agent is stopping");
      signal.addEventListener("abort", onAbort, { once: true });
      await session.run();
      signal.removeEventListener("abort", onAbort);
      current = undefined;
      deps.log("host disconnected");
    }
  } finally {
    watch?.stop();
  }
}

class Session {
  readonly #connection: PortConnection;
  readonly #deps: AgentDeps;
  readonly #listeners: () => GuestListener[];
  readonly #parser = new FrameParser(FrameType.Hello);
  readonly #send: (frame: Frame) => void;
  readonly #unix = new UnixListeners();
  #mux: StreamMux | undefined;
  #clockHost: ClockHost | undefined;
  /** The one clock request in flight: time-sync.ts asks one at a time, and a newer one replaces an unanswered one. */
  #clockRequest: { id: number; resolve: (unixMs: number | undefined) => void } | undefined;
  #nextClockRequest = 1;

  constructor(connection: PortConnection, deps: AgentDeps, listeners: () => GuestListener[]) {
    this.#connection = connection;
    this.#deps = deps;
    this.#listeners = listeners;
    this.#send = createFrameSender((bytes) => connection.write(bytes));
    connection.onDrained(() => this.#mux?.drained());
  }

  async run(): Promise<void> {
    try {
      for await (const chunk of this.#connection.chunks) {
        for (const item of this.#parser.push(chunk)) {
          if (item.kind === "garbage") this.#garbage(item.reason);
          else this.#frame(item.frame);
        }
      }
    } catch (error) {
      // A connection that fails (a reset, a port that goes away) ends this session, never the agent: the next host
      // connection must find it serving.
      this.end(`the connection failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.end("the host disconnected");
  }

  end(reason: string): void {
    this.#mux?.resetAll({ errno: "ECONNRESET", message: reason });
    this.#mux = undefined;
    if (this.#clockHost) this.#deps.timeSync?.detach(this.#clockHost);
    this.#clockHost = undefined;
    this.#clockRequest?.resolve(undefined);
    this.#clockRequest = undefined;
    void this.#unix.closeAll();
  }

  sendListeners(listeners: GuestListener[]): void {
    if (this.#mux) this.#control({ type: "listeners", listeners });
  }

  #frame(frame: Frame): void {
    if (frame.type === FrameType.Hello) return this.#hello(frame);
    if (!this.#mux) return;
    if (frame.type === FrameType.Control) return this.#controlFrame(frame);
    if (frame.type === FrameType.Welcome) return this.#garbage("a WELCOME from the host");
    this.#mux.handle(frame);
  }

  #hello(frame: Frame): void {
    const parsed = HelloSchema.safeParse(decodeHandshake(frame.payload));
    if (!parsed.success) return this.#garbage("a HELLO that does not parse");
    // A new HELLO is a new session: whatever the previous one had open is gone on the host's side too.
    this.end("the host started a new session");
    const { nonce, protocol, window } = parsed.data;
    const supported = this.#deps.protocols ?? SupportedProtocols;
    const agreed = negotiateProtocol(protocol, supported);
    const receiveWindow = this.#deps.receiveWindow ?? DefaultReceiveWindowBytes;
    const welcome: Welcome = { nonce, version: this.#deps.version, protocol: agreed, arch: this.#deps.arch };
    // Only a version 2 session has windows to announce; a version 1 host would drop the field anyway.
    if (agreed >= 2) welcome.window = receiveWindow;
    if (agreed === 0) welcome.error = `the agent speaks protocol ${supported.min}..${supported.max}, the host ${protocol.min}..${protocol.max}`;
    this.#send({ type: FrameType.Welcome, stream: 0, payload: encodeHandshake(welcome) });
    if (agreed === 0) return this.#deps.log(welcome.error ?? "");
    const mux = new StreamMux({
      side: "agent",
      send: this.#send,
      limits: streamLimits(agreed, { receive: receiveWindow, send: window }),
      congested: () => this.#connection.congested(),
      onOpenRequest: (request) => openTarget(request, this.#deps.log),
      onViolation: (message) => this.#deps.log(`protocol violation: ${message}`),
    });
    this.#mux = mux;
    this.#control({ type: "listeners", listeners: this.#listeners() });
    if (agreed >= ClockProtocolVersion && this.#deps.timeSync) {
      this.#clockHost = { request: () => this.#requestClock(), report: (step) => this.#control(step) };
      this.#deps.timeSync.attach(this.#clockHost);
    }
  }

  #requestClock(): Promise<number | undefined> {
    if (!this.#mux) return Promise.resolve(undefined);
    this.#clockRequest?.resolve(undefined);
    const id = this.#nextClockRequest++;
    const { promise, resolve } = Promise.withResolvers<number | undefined>();
    this.#clockRequest = { id, resolve };
    this.#control({ type: "clock-request", id });
    return promise;
  }

  #controlFrame(frame: Frame): void {
    const parsed = ControlSchema.safeParse(decodeJson(frame.payload));
    if (!parsed.success) return this.#reportError("a control message that does not parse");
    const message = parsed.data;
    switch (message.type) {
      case "fs-events":
        if (this.#deps.applyFsEvents) this.#deps.applyFsEvents(message.events).catch((error: unknown) => this.#deps.log(`fs-events: ${String(error)}`));
        return;
      case "listen-unix":
        return void this.#listenUnix(message);
      case "unlisten-unix":
        return void this.#unix.close(message.id);
      case "error":
        return this.#deps.log(`the host reports: ${message.message}`);
      case "ping":
        return this.#control({ type: "pong", id: message.id });
      case "clock-check":
        return void this.#deps.timeSync?.check(`the host asked: ${message.reason}`);
      case "clock-reply":
        if (this.#clockRequest?.id === message.id) {
          this.#clockRequest.resolve(message.unixMs);
          this.#clockRequest = undefined;
        }
        return;
      default:
        return this.#reportError(`unexpected control message "${message.type}"`);
    }
  }

  async #listenUnix(request: ListenUnix): Promise<void> {
    const mux = this.#mux;
    try {
      await this.#unix.listen(request, (socket) => {
        if (this.#mux !== mux || !mux) return socket.destroy();
        mux.open({ kind: "listener", id: request.id }).then(
          (stream) => splice(socket, stream).catch(() => undefined),
          () => socket.destroy(),
        );
      });
      this.#control({ type: "listen-unix-result", id: request.id, ok: true });
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      this.#deps.log(`listen-unix ${request.path}: ${message}`);
      this.#control({ type: "listen-unix-result", id: request.id, ok: false, errno: code ?? "EIO", message });
    }
  }

  #garbage(reason: string): void {
    this.#deps.log(`discarding input from the host: ${reason}; waiting for the next HELLO`);
    this.#send({ type: FrameType.Control, stream: 0, payload: encodeJson({ type: "error", message: `the agent could not parse its input (${reason})`, reset: true }) });
    this.end("the session was reset after bad input");
    this.#parser.resync();
  }

  #reportError(message: string): void {
    this.#send({ type: FrameType.Control, stream: 0, payload: encodeJson({ type: "error", message }) });
  }

  #control(message: Control): void {
    let payload = encodeJson(message);
    if (payload.byteLength > MaxControlPayloadBytes) {
      this.#deps.log(`cannot send a ${message.type} message of ${payload.byteLength} bytes`);
      payload = encodeJson({ type: "error", message: `the agent cannot send a ${message.type} message of ${payload.byteLength} bytes` });
    }
    this.#send({ type: FrameType.Control, stream: 0, payload });
  }
}
