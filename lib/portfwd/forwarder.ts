// The port forwarder: follows the guest's listener list (agent.onListeners), keeps one host listener per planned
// forward, and carries its connections over the guest agent (agent.openStream); for a TCP listener on 0.0.0.0 or ::
// it has the VM's network stack forward the host port itself instead, when the driver can (options.hostForwarder,
// forwardPath()), falling back to the agent when that fails for any reason but a taken host port. Unix-socket rules
// are set up once: host → guest with a host socket, guest → host (`reverse`) with agent.listenInGuest. Whatever does
// not work becomes a failure in the report, and a log line, at the moment it happens: nothing is dropped silently.
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { HostForward, HostForwarder, HostForwardResult } from "../../drivers/driver.ts";
import type { FilledPortForward } from "../config/schema.ts";
import type { GuestAgentClient, GuestAgentState, GuestListener } from "../guestagent/guest-agent-client.ts";
import type { Logger } from "../log.ts";
import { forwardPath } from "./forward-path.ts";
import { describeListenFailure, isNegligiblePort, type ListenFailure } from "./listen-failure.ts";
import { guestAddressText, hostEndpointText } from "./match-port-rule.ts";
import { pipeDuplex } from "./pipe-duplex.ts";
import { dialAddress, guestListText, planForwards, type PlannedForward } from "./plan-forwards.ts";
import type { ActiveForward, ForwardFailure, PortForwardReport } from "./port-forward-report.ts";
import { type HostListener, listenForStreams } from "./stream-host-listener.ts";
import { listenForDatagrams } from "./udp-host-listener.ts";

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
  now?: () => Date;
}

export interface Forwarder {
  /** Resolves once the first listener list from a connected agent is applied (never rejects). */
  readonly synced: Promise<void>;
  report(): PortForwardReport;
  /** Closes every host listener and connection; never throws. */
  close(): Promise<void>;
}

interface ActiveEntry {
  forward: Omit<ActiveForward, "connections">;
  listener: HostListener | undefined;
  close(): Promise<void>;
  planned?: PlannedForward;
}

export function startForwarder(agent: GuestAgentClient, options: ForwarderOptions): Forwarder {
  const now = () => (options.now?.() ?? new Date()).toISOString();
  const { log } = options;
  const active = new Map<string, ActiveEntry>();
  const failures = new Map<string, ForwardFailure>();
  const loggedNotForwarded = new Set<string>();
  const loggedFallbacks = new Set<string>();
  const cleanups: (() => void)[] = [];
  const synced = Promise.withResolvers<void>();
  let closed = false;
  let latest: readonly GuestListener[] | undefined;
  let applying: Promise<void> | undefined;

  const report = (): PortForwardReport => ({
    forwards: [...active.values()]
      .map((entry) => ({ ...entry.forward, connections: entry.listener?.connections ?? 0 }))
      .sort((a, b) => a.host.localeCompare(b.host, undefined, { numeric: true })),
    failures: [...failures.values()],
  });
  const emit = () => {
    if (!closed) options.onChange(report());
  };

  /** Records a failure; logs it only when it is new or its message changed, so a retried failure does not spam. */
  const fail = (key: string, failure: Omit<ForwardFailure, "since">) => {
    const previous = failures.get(key);
    if (previous?.message === failure.message) return;
    failures.set(key, { ...failure, since: now() });
    const fields = { reason: failure.reason, ...(failure.hint && { hint: failure.hint }) };
    if (failure.negligible) log.info(failure.message, fields);
    else log.warn(failure.message, fields);
    emit();
  };
  const clear = (key: string) => {
    if (failures.delete(key)) emit();
  };

  const tunnelOutcome = (key: string, describe: () => { proto: "tcp" | "udp" | "unix"; guest: string; host: string }) => (outcome: { error?: unknown }) => {
    if (outcome.error === undefined) {
      clear(`tunnel ${key}`);
      return;
    }
    const where = describe();
    const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    fail(`tunnel ${key}`, {
      reason: "tunnel-failed",
      ...where,
      message: `Cannot carry a connection from host ${where.host} to guest ${where.proto.toUpperCase()} ${where.guest}: ${reason}`,
      hint: "the guest service may have stopped listening; see ha.stderr.log in the instance folder",
    });
  };

  const openForward = async (planned: PlannedForward): Promise<void> => {
    const key = planned.key;
    const host = hostEndpointText(planned.host);
    const guest = () => guestListText(active.get(key)?.planned?.guests ?? planned.guests);
    const proto = planned.proto.toUpperCase();
    if (planned.proto === "udp" && planned.host.kind === "unix") {
      fail(`listen ${key}`, {
        reason: "unsupported",
        proto: "udp",
        guest: guest(),
        host,
        message: `Cannot forward guest UDP ${guest()} to host socket "${host}": datagrams cannot go to a stream socket`,
        hint: "drop hostSocket from the rule, or restrict it to proto: tcp",
      });
      return;
    }
    const path = forwardPath(planned, { hostForwarder: options.hostForwarder !== undefined });
    if (path.via === "qemu-hostfwd" && options.hostForwarder) {
      if ((await openHostForward(planned, path.forward, options.hostForwarder)) === "done") return;
    }
    const open = (): Promise<Duplex> => {
      const target = active.get(key)?.planned?.target ?? planned.target;
      return agent.openStream({ kind: planned.proto, host: dialAddress(target), port: target.port });
    };
    const onTunnel = tunnelOutcome(key, () => ({ proto: planned.proto, guest: guest(), host }));
    let listener: HostListener;
    try {
      listener =
        planned.proto === "tcp" || planned.host.kind === "unix"
          ? await listenForStreams(planned.host, { open, onTunnel })
          : await listenForDatagrams(planned.host, { open, onTunnel, ...(options.udpIdleMs !== undefined && { idleMs: options.udpIdleMs }) });
    } catch (error) {
      const described = describeListenFailure(error, planned.host.kind === "inet" ? { port: planned.host.port } : { path: planned.host.path });
      listenFailed(planned, described);
      return;
    }
    if (closed) {
      await listener.close();
      return;
    }
    active.set(key, {
      forward: { proto: planned.proto, guest: guest(), host, via: "agent", since: now() },
      listener,
      planned,
      close: () => listener.close(),
    });
    failures.delete(`listen ${key}`);
    log.info(`Forwarding ${proto} from ${guest()} to ${host}`);
    emit();
  };

  const listenFailed = (planned: PlannedForward, described: ListenFailure) => {
    const port = planned.host.kind === "inet" ? planned.host.port : undefined;
    const negligible =
      planned.ruleIndex === options.catchAllIndex &&
      port !== undefined &&
      (described.reason === "privileged-port" || (described.reason === "port-in-use" && isNegligiblePort(planned.proto, port)));
    const guest = guestListText(planned.guests);
    const host = hostEndpointText(planned.host);
    fail(`listen ${planned.key}`, {
      reason: described.reason,
      proto: planned.proto,
      guest,
      host,
      message: `Cannot forward guest ${planned.proto.toUpperCase()} ${guest} to host ${host}: ${described.detail}`,
      hint: described.hint,
      ...(negligible && { negligible: true }),
    });
  };

  /** "done" when the forward is up or its failure reported; "fallback" when the agent should carry it instead. */
  const openHostForward = async (planned: PlannedForward, forward: HostForward, hostForwarder: HostForwarder): Promise<"done" | "fallback"> => {
    const key = planned.key;
    const guest = guestListText(planned.guests);
    const host = hostEndpointText(planned.host);
    const result: HostForwardResult = await hostForwarder.add(forward).catch((error: unknown) => ({
      ok: false,
      reason: "listen-failed",
      detail: error instanceof Error ? error.message : String(error),
    }));
    if (!result.ok) {
      if (result.reason === "port-in-use") {
        // The agent's listener would meet the same taken port: report it as it stands.
        listenFailed(planned, { ...describeListenFailure({ code: "EADDRINUSE" }, { port: forward.hostPort }), detail: result.detail });
        return "done";
      }
      const text = `Cannot forward guest TCP ${guest} to host ${host} through QEMU (${result.detail}): using the guest agent instead`;
      if (!loggedFallbacks.has(text)) log.info(text);
      loggedFallbacks.add(text);
      return "fallback";
    }
    const remove = () =>
      hostForwarder.remove(forward).catch((error: unknown) => {
        log.warn(`Cannot stop forwarding host ${host} through QEMU: ${error instanceof Error ? error.message : String(error)}`);
      });
    if (closed) {
      await remove();
      return "done";
    }
    active.set(key, { forward: { proto: "tcp", guest, host, via: "qemu-hostfwd", since: now() }, listener: undefined, planned, close: remove });
    failures.delete(`listen ${key}`);
    log.info(`Forwarding TCP from ${guest} to ${host} (through QEMU)`);
    emit();
    return "done";
  };

  const apply = async (listeners: readonly GuestListener[]): Promise<void> => {
    const plan = planForwards(options.rules, listeners);
    const wanted = new Map(plan.forwards.map((forward) => [forward.key, forward]));
    for (const [key, entry] of active) {
      if (!entry.planned || wanted.has(key)) continue;
      active.delete(key);
      failures.delete(`tunnel ${key}`);
      await entry.close();
      log.info(`Stopped forwarding ${entry.planned.proto.toUpperCase()} from ${entry.forward.guest} to ${entry.forward.host}`);
      emit();
    }
    const conflictKeys = new Set(plan.conflicts.map((conflict) => `conflict ${conflict.key} ${guestAddressText(conflict.guest)}`));
    for (const key of [...failures.keys()]) {
      const [kind, ...rest] = key.split(" ");
      const forwardKey = rest.slice(0, 2).join(" ");
      const listenerBound = forwardKey.startsWith("tcp ") || forwardKey.startsWith("udp ");
      const gone = kind === "conflict" ? !conflictKeys.has(key) : (kind === "listen" || kind === "tunnel") && listenerBound && !wanted.has(forwardKey);
      if (gone) clear(key);
    }
    for (const planned of plan.forwards) {
      const entry = active.get(planned.key);
      if (entry?.forward.via === "qemu-hostfwd" && forwardPath(planned, { hostForwarder: true }).via !== "qemu-hostfwd") {
        // The wildcard listener went while a loopback one on the same port stayed: QEMU cannot reach that one.
        active.delete(planned.key);
        await entry.close();
        log.info(`Stopped forwarding TCP from ${entry.forward.guest} to ${entry.forward.host} through QEMU: guest ${guestListText(planned.guests)} is reachable only over the guest agent`);
        emit();
        await openForward(planned);
        if (closed) return;
        continue;
      }
      if (entry) {
        const guests = guestListText(planned.guests);
        entry.planned = planned;
        if (entry.forward.guest !== guests) {
          entry.forward = { ...entry.forward, guest: guests };
          emit();
        }
        continue;
      }
      // A host port that was taken may have been freed since: every pass tries again.
      await openForward(planned);
      if (closed) return;
    }
    for (const conflict of plan.conflicts) {
      const guest = guestAddressText(conflict.guest);
      const host = hostEndpointText(conflict.host);
      fail(`conflict ${conflict.key} ${guest}`, {
        reason: "conflict",
        proto: conflict.proto,
        guest,
        host,
        message: `Cannot forward guest ${conflict.proto.toUpperCase()} ${guest} to host ${host}: guest ${guestAddressText(conflict.holder)} is already forwarded there (rules map both to one host port)`,
        hint: "give one of them its own hostPort in portForwards, or ignore it",
      });
    }
    const seen = new Set<string>();
    for (const { listener, why } of plan.notForwarded) {
      const text = `${listener.proto.toUpperCase()} ${guestAddressText(listener)}`;
      seen.add(text);
      if (loggedNotForwarded.has(text)) continue;
      loggedNotForwarded.add(text);
      if (why === "none" && !options.ignored?.[listener.proto]) log.info(`Not forwarding ${text}`);
      else log.debug(`Not forwarding ${text} (${why === "static" ? "a static rule covers it" : "ignored by a rule"})`);
    }
    for (const text of loggedNotForwarded) if (!seen.has(text)) loggedNotForwarded.delete(text);
  };

  const schedule = (listeners: readonly GuestListener[]) => {
    latest = listeners;
    if (applying) return;
    applying = (async () => {
      while (latest && !closed) {
        const next = latest;
        latest = undefined;
        try {
          await apply(next);
        } catch (error) {
          log.error(`Cannot apply the guest's listener list: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (agent.state.state === "connected") synced.resolve();
      }
      applying = undefined;
    })();
  };

  // Unix-socket rules do not follow listeners: they hold for the instance's life, as Lima's ssh -L/-R do.
  const reverseRules: { rule: FilledPortForward; key: string; handle?: { close(): Promise<void> }; pending?: boolean }[] = [];
  const socketRules = options.rules.filter((rule) => rule.guestSocket && !rule.ignore);
  const socketsReady = Promise.all(
    socketRules.map(async (rule) => {
      const guestSocket = rule.guestSocket as string;
      const key = `unix:${rule.hostSocket ?? ""}:${guestSocket}`;
      if (!rule.hostSocket) {
        fail(`listen ${key}`, {
          reason: "unsupported",
          proto: "unix",
          guest: guestSocket,
          message: `Cannot forward guest socket "${guestSocket}": the rule has no hostSocket`,
          hint: "add hostSocket to the portForwards rule",
        });
        return;
      }
      if (rule.reverse) {
        reverseRules.push({ rule, key });
        return;
      }
      const hostSocket = rule.hostSocket;
      const onTunnel = tunnelOutcome(key, () => ({ proto: "unix", guest: guestSocket, host: hostSocket }));
      try {
        const listener = await listenForStreams({ kind: "unix", path: hostSocket }, { open: () => agent.openStream({ kind: "unix", path: guestSocket }), onTunnel });
        if (closed) return void (await listener.close());
        active.set(key, { forward: { proto: "unix", guest: guestSocket, host: hostSocket, via: "agent", since: now() }, listener, close: () => listener.close() });
        log.info(`Forwarding unix socket from ${guestSocket} to ${hostSocket}`);
        emit();
      } catch (error) {
        const described = describeListenFailure(error, { path: hostSocket });
        fail(`listen ${key}`, {
          reason: described.reason,
          proto: "unix",
          guest: guestSocket,
          host: hostSocket,
          message: `Cannot forward guest socket "${guestSocket}" to host socket "${hostSocket}": ${described.detail}`,
          hint: described.hint,
        });
      }
    }),
  );

  const setUpReverse = async () => {
    for (const entry of reverseRules) {
      if (entry.handle || entry.pending || closed) continue;
      entry.pending = true;
      const guestSocket = entry.rule.guestSocket as string;
      const hostSocket = entry.rule.hostSocket as string;
      const onTunnel = tunnelOutcome(entry.key, () => ({ proto: "unix", guest: guestSocket, host: hostSocket }));
      let connections = 0;
      try {
        // sshd's -R creates the socket as the user with mode 0600 (StreamLocalBindMask 0177); the agent does the same.
        const handle = await agent.listenInGuest({ path: guestSocket, uid: options.guestUser.uid, gid: options.guestUser.gid, mode: 0o600 }, (stream) => {
          connections++;
          const socket = connect(hostSocket);
          socket.on("error", (error) => onTunnel({ error }));
          socket.once("connect", () => {
            onTunnel({});
            pipeDuplex(socket, stream);
          });
          stream.on("error", () => socket.destroy());
        });
        entry.handle = handle;
        if (closed) return void (await handle.close());
        active.set(entry.key, {
          forward: { proto: "unix", guest: guestSocket, host: hostSocket, reverse: true, via: "agent", since: now() },
          listener: { get connections() { return connections; }, close: () => handle.close() },
          close: () => handle.close(),
        });
        failures.delete(`listen ${entry.key}`);
        log.info(`Forwarding unix socket from host ${hostSocket} to guest ${guestSocket} (reverse)`);
        emit();
      } catch (error) {
        fail(`listen ${entry.key}`, {
          reason: "listen-failed",
          proto: "unix",
          guest: guestSocket,
          host: hostSocket,
          message: `Cannot expose host socket "${hostSocket}" in the guest as "${guestSocket}": ${error instanceof Error ? error.message : String(error)}`,
          hint: "den tries again when the guest agent reconnects; see ha.stderr.log in the instance folder",
        });
      } finally {
        entry.pending = false;
      }
    }
  };

  const onAgentState = (state: GuestAgentState) => {
    if (state.state === "connected") {
      clear("agent");
      void socketsReady.then(setUpReverse);
    } else if (state.state === "disconnected") {
      fail("agent", {
        reason: "no-agent",
        message: `Cannot forward guest ports: the guest agent is disconnected (${state.reason})`,
        hint: "den reconnects by itself; if this stays, run systemctl status den-guestagent in the guest (den shell)",
      });
    }
  };
  const graceTimer = setTimeout(() => {
    if (agent.state.state === "connecting") {
      fail("agent", {
        reason: "no-agent",
        message: "Cannot forward guest ports: the guest agent has not connected yet",
        hint: "run systemctl status den-guestagent in the guest (den shell) and see ha.stderr.log in the instance folder",
      });
    }
    synced.resolve();
  }, options.agentGraceMs ?? 5_000);
  graceTimer.unref?.();
  cleanups.push(() => clearTimeout(graceTimer));
  cleanups.push(agent.onState(onAgentState));
  onAgentState(agent.state);
  cleanups.push(agent.onListeners(schedule));

  return {
    synced: synced.promise,
    report,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const cleanup of cleanups) cleanup();
      await applying;
      await socketsReady;
      await Promise.all([...active.values()].map((entry) => entry.close().catch(() => {})));
      await Promise.all(reverseRules.map((entry) => (active.has(entry.key) ? undefined : entry.handle?.close().catch(() => {}))));
      active.clear();
      synced.resolve();
    },
  };
}
