// The reconciler of port forwards: follows the guest's listener list (agent.onListeners) and keeps one forward per
// planned host address (reconcile-forwards.ts says what a pass must do), each opened through a transport
// (forward-transport.ts): the VM's own network stack for a TCP listener on 0.0.0.0 or :: when the driver can
// (forwardPath()), falling back to the agent channel when that fails for any reason but a taken host port, and the
// agent channel for the rest. Unix-socket rules are set up beside it (socket-forwards.ts). Whatever does not work
// becomes a failure in the report, and a log line, at the moment it happens: nothing is dropped silently.
//
// The guest decides how many listeners there are and how often they change, so what it can make the host do is
// bounded: at most `maxForwards` forwards (cap-forwards.ts; the rest is one `limit` failure, warned about once),
// log lines rate-limited per kind (log-rate-limit.ts), and one report per pass over a listener list rather than one
// per forward (each report becomes a whole event line in ha.stdout.log).
import type { GuestListener } from "../../agent/protocol/messages.ts";
import type { HostForwarder } from "../../drivers/driver.ts";
import type { FilledPortForward } from "../config/schema.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import type { Logger } from "../log.ts";
import { rateLimitLog } from "../log-rate-limit.ts";
import { agentDatagramTransport } from "./agent-datagram-transport.ts";
import { watchAgentPresence } from "./agent-presence.ts";
import { agentStreamTransport } from "./agent-stream-transport.ts";
import { DefaultMaxPortForwards } from "./cap-forwards.ts";
import { createForwardLedger } from "./forward-ledger.ts";
import { forwardPath } from "./forward-path.ts";
import { type ForwardHandle, ForwardOpenError, type ForwardRequest, type GuestEndpoint, openFailure } from "./forward-transport.ts";
import { hostForwardTransport } from "./host-forward-transport.ts";
import { plannedListenFailure } from "./listen-failure.ts";
import { hostEndpointText } from "./match-port-rule.ts";
import { dialAddress, guestListText, planForwards, type PlannedForward } from "./plan-forwards.ts";
import type { PortForwardReport } from "./port-forward-report.ts";
import { reconcileForwards } from "./reconcile-forwards.ts";
import { reverseSocketTransport } from "./reverse-socket-transport.ts";
import { startSocketForwards } from "./socket-forwards.ts";
import { unforwardedListeners } from "./unforwarded-listeners.ts";

export interface ForwarderOptions {
  /** The effective rules (effectiveRules()), first match wins. */
  rules: readonly FilledPortForward[];
  /** Index in `rules` of den's catch-all rule: its failures on negligible ports do not degrade the instance. */
  catchAllIndex: number;
  /** Protocols the user switched off wholesale: their unforwarded listeners are not logged one by one. */
  ignored?: { tcp: boolean; udp: boolean };
  /** Owner of the sockets `reverse` rules create in the guest. */
  guestUser: { uid: number; gid: number };
  log: Logger;
  /** Called after every change of the report. */
  onChange: (report: PortForwardReport) => void;
  /** How long the agent may stay "connecting" before that is reported as a failure; 5 s by default. */
  agentGraceMs?: number;
  udpIdleMs?: number;
  /** The driver's own host forwarding (QEMU's slirp hostfwd), when it has one: used for what forwardPath() allows. */
  hostForwarder?: HostForwarder;
  /** Forwards of guest listeners at once (maxPortForwards()); DefaultMaxPortForwards when absent. */
  maxForwards?: number;
  /** Rate limit of the guest-driven log lines (see log-rate-limit.ts). */
  logRate?: { burst?: number; intervalMs?: number };
  now?: () => Date;
}

export interface Forwarder {
  /** Resolves once the first listener list from a connected agent is applied (never rejects). */
  readonly synced: Promise<void>;
  report(): PortForwardReport;
  /** Closes every host listener and connection; never throws. */
  close(): Promise<void>;
}

export function startForwarder(agent: GuestAgentClient, options: ForwarderOptions): Forwarder {
  const now = () => (options.now?.() ?? new Date()).toISOString();
  const maxForwards = options.maxForwards ?? DefaultMaxPortForwards;
  // Each of these lines repeats as often as the guest opens and closes listeners. The bursts leave a compose stack
  // coming up all its lines; a guest looping over listen() and close() gets a count per minute.
  const limited = rateLimitLog(options.log, options.logRate);
  const log = limited.kind("port forwards", { burst: options.logRate?.burst ?? 64 });
  const failureLog = limited.kind("port forward failures", { burst: options.logRate?.burst ?? 16 });
  const ongoingLog = limited.kind("port forward limit", { burst: options.logRate?.burst ?? 4 });
  const ledger = createForwardLedger({ onChange: options.onChange, failureLog, ongoingLog, now });
  const stream = agentStreamTransport(agent);
  const datagram = agentDatagramTransport(agent, { idleMs: options.udpIdleMs });
  const fast = options.hostForwarder && hostForwardTransport(options.hostForwarder, { log });
  const sockets = startSocketForwards(options.rules, { ledger, log, now, transports: { "to-host": stream, reverse: reverseSocketTransport(agent, { guestUser: options.guestUser }) } });
  const logUnforwarded = unforwardedListeners(limited.kind("unforwarded guest listeners", { burst: options.logRate?.burst ?? 16 }), { ignored: options.ignored });
  const loggedFallbacks = new Set<string>();
  const cleanups: (() => void)[] = [];
  const synced = Promise.withResolvers<void>();
  let latest: readonly GuestListener[] | undefined;
  let applying: Promise<void> | undefined;

  const openForward = async (planned: PlannedForward): Promise<void> => {
    const { key } = planned;
    const host = hostEndpointText(planned.host);
    const guest = () => guestListText(ledger.active.get(key)?.planned?.guests ?? planned.guests);
    const viaVm = fast && forwardPath(planned, { hostForwarder: true }) === "qemu-hostfwd";
    const transports = [...(viaVm ? [fast] : []), planned.proto === "udp" ? datagram : stream];
    const request: ForwardRequest = { host: planned.host, guest: guestEndpoint(planned) };
    const ctx = { onTunnel: ledger.tunnelOutcome(key, () => ({ proto: planned.proto, guest: guest(), host })) };
    for (const transport of transports) {
      let handle: ForwardHandle;
      try {
        handle = await transport.open(request, ctx);
      } catch (error) {
        if (!(error instanceof ForwardOpenError && error.fallback)) {
          return ledger.fail(`listen ${key}`, plannedListenFailure(planned, openFailure(error, planned.host), { catchAllIndex: options.catchAllIndex }));
        }
        const text = `Cannot forward guest TCP ${guestListText(planned.guests)} to host ${host} through QEMU (${error.failure.detail}): using the guest agent instead`;
        if (!loggedFallbacks.has(text)) log.info(text);
        loggedFallbacks.add(text);
        continue;
      }
      if (ledger.closed) return void (await handle.close());
      ledger.active.set(key, { forward: { proto: planned.proto, guest: guest(), host, via: handle.via, since: now() }, handle, planned, request });
      ledger.forget(`listen ${key}`);
      log.info(`Forwarding ${planned.proto.toUpperCase()} from ${guest()} to ${host}${handle.via === "qemu-hostfwd" ? " (through QEMU)" : ""}`);
      return ledger.emit();
    }
  };

  const apply = async (listeners: readonly GuestListener[]): Promise<void> => {
    const active = new Map([...ledger.active].flatMap(([key, entry]) => (entry.planned ? [[key, { via: entry.forward.via }] as const] : [])));
    const pass = reconcileForwards(planForwards(options.rules, listeners), { active, failures: ledger.failures.keys(), maxForwards, hostForwarder: fast !== undefined });
    for (const key of pass.stop) {
      const entry = ledger.active.get(key);
      if (!entry?.planned) continue;
      ledger.active.delete(key);
      ledger.forget(`tunnel ${key}`);
      await entry.handle.close();
      log.info(`Stopped forwarding ${entry.planned.proto.toUpperCase()} from ${entry.forward.guest} to ${entry.forward.host}`);
      ledger.emit();
    }
    for (const key of pass.stale) ledger.clear(key);
    for (const step of pass.steps) {
      const { action, planned } = step;
      const entry = ledger.active.get(planned.key);
      if (step.action === "refuse") {
        ledger.fail(`listen ${planned.key}`, step.failure);
        continue;
      }
      if (entry && action === "keep") {
        const guests = guestListText(planned.guests);
        entry.planned = planned;
        if (entry.request) entry.request.guest = guestEndpoint(planned);
        if (entry.forward.guest !== guests) {
          entry.forward = { ...entry.forward, guest: guests };
          ledger.emit();
        }
        continue;
      }
      if (entry && action === "reroute") {
        ledger.active.delete(planned.key);
        await entry.handle.close();
        log.info(`Stopped forwarding TCP from ${entry.forward.guest} to ${entry.forward.host} through QEMU: guest ${guestListText(planned.guests)} is reachable only over the guest agent`);
        ledger.emit();
      }
      await openForward(planned);
      if (ledger.closed) return;
    }
    for (const { key, failure } of pass.conflicts) ledger.fail(key, failure);
    if (pass.limit) ledger.fail("limit", pass.limit, { ongoing: true });
    else ledger.clear("limit");
    logUnforwarded(pass.notForwarded);
  };

  const schedule = (listeners: readonly GuestListener[]) => {
    latest = listeners;
    if (applying) return;
    applying = (async () => {
      while (latest && !ledger.closed) {
        const next = latest;
        latest = undefined;
        await ledger.batch(() =>
          apply(next).catch((error: unknown) => failureLog.error(`Cannot apply the guest's listener list: ${error instanceof Error ? error.message : String(error)}`)),
        );
        if (agent.state.state === "connected") synced.resolve();
      }
      applying = undefined;
    })();
  };

  cleanups.push(
    watchAgentPresence(agent, {
      ledger,
      ...(options.agentGraceMs !== undefined && { graceMs: options.agentGraceMs }),
      onConnected: () => void sockets.ready.then(sockets.exposeInGuest),
      onGraceOver: () => synced.resolve(),
    }),
  );
  cleanups.push(agent.onListeners(schedule));

  return {
    synced: synced.promise,
    report: ledger.report,
    close: async () => {
      if (ledger.closed) return;
      ledger.close();
      for (const cleanup of cleanups) cleanup();
      await applying;
      await sockets.ready;
      await Promise.all([...ledger.active.values()].map((entry) => entry.handle.close().catch(() => {})));
      ledger.active.clear();
      limited.flush();
      synced.resolve();
    },
  };
}

/** The guest end of a planned forward: its target listener, dialled on its family's loopback when a wildcard. */
function guestEndpoint(planned: PlannedForward): GuestEndpoint {
  return { kind: "inet", ip: dialAddress(planned.target), port: planned.target.port };
}
