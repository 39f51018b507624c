// The "ports" guest service: static rules over SSH at start, every other rule as listeners come and go, through the
// guest agent or, for wildcard TCP listeners, the driver's own host forwarding (see forwarder.ts). Its report lists the active forwards and the failures, and turns degraded while any failure that is
// not negligible stands, so `den start`, `den list --json` and `den ports` all show what does not work and why.
import type { FilledDenYaml, FilledPortForward } from "../config/schema.ts";
import type { GuestService, GuestServiceContext, RunningGuestService } from "../hostagent/guest-service.ts";
import { effectiveRules, ignoredProtocols } from "./effective-rules.ts";
import { type Forwarder, startForwarder } from "./forwarder.ts";
import { describeListenFailure } from "./listen-failure.ts";
import { joinHostPort } from "./ip-address.ts";
import { dialAddress } from "./plan-forwards.ts";
import type { ActiveForward, ForwardFailure, PortForwardReport } from "./port-forward-report.ts";
import { openSshTunnel, type SshTunnel } from "./ssh-tunnel.ts";
import { type HostListener, listenForStreams } from "./stream-host-listener.ts";

/** How long start() waits for the first listener list, so forwards of services already up exist when den start returns. */
const FirstSyncWaitMs = 2_000;

export const portForwardService: GuestService = {
  name: "ports",
  waitingFor: "the port forwards",
  // Plain mode drops every rule but the static ones (fillDefaults), and runs no guest agent.
  enabled: (config: FilledDenYaml) => !config.plain || config.portForwards.length > 0,
  start: startPortForwards,
};

async function startPortForwards(ctx: GuestServiceContext): Promise<RunningGuestService> {
  const rules = effectiveRules(ctx.config, { sshLocalPort: ctx.ssh.port });
  const statics = startStaticForwards(ctx, rules.filter((rule) => rule.static && !rule.guestSocket));
  let forwarder: Forwarder | undefined;
  let agentReport: PortForwardReport = { forwards: [], failures: [] };
  const publish = () => {
    const report: PortForwardReport = {
      forwards: [...statics.report().forwards, ...agentReport.forwards],
      failures: [...statics.report().failures, ...agentReport.failures],
    };
    const serious = report.failures.filter((failure) => !failure.negligible);
    if (serious.length === 0) ctx.report({ state: "ready", data: report });
    else ctx.report({ state: "degraded", message: `${serious[0]?.message}${serious.length > 1 ? ` (and ${serious.length - 1} more: see den ports ${ctx.instanceName})` : ""}`, data: report });
  };
  statics.onChange = publish;

  if (!ctx.config.plain) {
    if (ctx.agent) {
      forwarder = startForwarder(ctx.agent, {
        rules,
        catchAllIndex: rules.length - 1,
        ignored: ignoredProtocols(ctx.config),
        // cloud-init's useradd gives the user a group of its own name; on the test images its gid equals the uid.
        guestUser: { uid: ctx.config.user.uid, gid: ctx.config.user.uid },
        log: ctx.log,
        ...(ctx.driver.hostForwarder && { hostForwarder: ctx.driver.hostForwarder }),
        onChange: (report) => {
          agentReport = report;
          publish();
        },
      });
      await Promise.race([forwarder.synced, Bun.sleep(FirstSyncWaitMs), new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }))]);
      agentReport = forwarder.report();
    } else {
      const message = "Cannot forward guest ports: this instance runs without a guest agent";
      ctx.log.warn(message);
      agentReport = { forwards: [], failures: [{ reason: "no-agent", message, hint: "only static: true rules work without the agent (over SSH)", since: new Date().toISOString() }] };
    }
  }
  await statics.ready;
  publish();
  return {
    stop: async () => {
      await forwarder?.close();
      await statics.close();
    },
  };
}

interface StaticForwards {
  ready: Promise<void>;
  report(): PortForwardReport;
  onChange: () => void;
  close(): Promise<void>;
}

/** Lima's static forwards: a host listener per rule, each connection an SSH channel to the rule's guest address. */
function startStaticForwards(ctx: GuestServiceContext, rules: readonly FilledPortForward[]): StaticForwards {
  const forwards: { forward: Omit<ActiveForward, "connections">; listener: HostListener }[] = [];
  const failures: ForwardFailure[] = [];
  let tunnel: SshTunnel | undefined;
  const state: StaticForwards = {
    ready: Promise.resolve(),
    onChange: () => {},
    report: () => ({ forwards: forwards.map((entry) => ({ ...entry.forward, connections: entry.listener.connections })), failures: [...failures] }),
    close: async () => {
      await Promise.all(forwards.map((entry) => entry.listener.close()));
      tunnel?.close();
    },
  };
  if (rules.length === 0) return state;
  const fail = (failure: Omit<ForwardFailure, "since">) => {
    failures.push({ ...failure, since: new Date().toISOString() });
    ctx.log.warn(failure.message, { reason: failure.reason });
  };
  state.ready = (async () => {
    try {
      tunnel = await openSshTunnel({ port: ctx.ssh.port, user: ctx.ssh.user, privateKey: ctx.ssh.privateKey });
    } catch (error) {
      fail({ reason: "tunnel-failed", message: `Cannot set up static port forwards: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    const open = tunnel;
    for (const rule of rules) {
      const guest = joinHostPort(rule.guestIP, rule.guestPortRange[0]);
      const host = joinHostPort(rule.hostIP, rule.hostPortRange[0]);
      if (rule.proto === "udp" || rule.guestPortRange[0] !== rule.guestPortRange[1]) {
        fail({ reason: "unsupported", proto: "tcp", guest, host, message: `Cannot set up static forward of guest ${guest}: static rules forward one TCP port (over SSH)`, hint: "use guestPort and hostPort with proto tcp or any" });
        continue;
      }
      const dial = dialAddress({ proto: "tcp", ip: rule.guestIP, port: rule.guestPortRange[0] });
      try {
        const listener = await listenForStreams(
          { kind: "inet", ip: rule.hostIP, port: rule.hostPortRange[0] },
          {
            open: () => open.forwardOut(dial, rule.guestPortRange[0]),
            onTunnel: ({ error }) => {
              if (error !== undefined) ctx.log.warn(`Cannot carry a connection from host ${host} to guest TCP ${guest} (static): ${error instanceof Error ? error.message : String(error)}`);
            },
          },
        );
        forwards.push({ forward: { proto: "tcp", guest, host, static: true, via: "ssh", since: new Date().toISOString() }, listener });
        ctx.log.info(`Forwarding TCP from ${guest} to ${host} (static, over SSH)`);
      } catch (error) {
        const described = describeListenFailure(error, { port: rule.hostPortRange[0] });
        fail({ reason: described.reason, proto: "tcp", guest, host, message: `Cannot set up static forward of guest TCP ${guest} to host ${host}: ${described.detail}`, hint: described.hint });
      }
    }
    state.onChange();
  })();
  return state;
}
