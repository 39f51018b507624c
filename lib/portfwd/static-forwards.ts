// Lima's static forwards (`static: true` rules): set up once at start over one SSH connection (ssh-tunnel.ts), a host
// listener per rule whose connections are SSH channels to the rule's guest address (ssh-transport.ts), whatever
// listens in the guest. They need no guest agent, so they also work in plain mode.
import type { FilledPortForward } from "../config/schema.ts";
import type { GuestServiceContext } from "../hostagent/guest-service.ts";
import { rateLimitLog } from "../log-rate-limit.ts";
import { type ForwardHandle, openFailure } from "./forward-transport.ts";
import { joinHostPort } from "./ip-address.ts";
import { dialAddress } from "./plan-forwards.ts";
import type { ActiveForward, ForwardFailure, PortForwardReport } from "./port-forward-report.ts";
import { sshTransport } from "./ssh-transport.ts";
import { openSshTunnel, type SshTunnel } from "./ssh-tunnel.ts";

export interface StaticForwards {
  /** Settles once every rule is forwarded or has failed; never rejects. */
  ready: Promise<void>;
  report(): PortForwardReport;
  /** Called once, when `ready` settles with forwards or failures to show. */
  onChange: () => void;
  close(): Promise<void>;
}

export function startStaticForwards(
  ctx: Pick<GuestServiceContext, "ssh" | "log">,
  rules: readonly FilledPortForward[],
  options: { openTunnel?: typeof openSshTunnel } = {},
): StaticForwards {
  const forwards: { forward: Omit<ActiveForward, "connections">; handle: ForwardHandle }[] = [];
  const failures: ForwardFailure[] = [];
  let tunnel: SshTunnel | undefined;
  // One line per refused connection: as many as connections are tried while the guest service is down.
  const limited = rateLimitLog(ctx.log);
  const tunnelLog = limited.kind("static forward connections");
  const state: StaticForwards = {
    ready: Promise.resolve(),
    onChange: () => {},
    report: () => ({ forwards: forwards.map((entry) => ({ ...entry.forward, connections: entry.handle.connections })), failures: [...failures] }),
    close: async () => {
      await Promise.all(forwards.map((entry) => entry.handle.close()));
      tunnel?.close();
      limited.flush();
    },
  };
  if (rules.length === 0) return state;
  const fail = (failure: Omit<ForwardFailure, "since">) => {
    failures.push({ ...failure, since: new Date().toISOString() });
    ctx.log.warn(failure.message, { reason: failure.reason });
  };
  state.ready = (async () => {
    try {
      tunnel = await (options.openTunnel ?? openSshTunnel)({ port: ctx.ssh.port, user: ctx.ssh.user, privateKey: ctx.ssh.privateKey });
    } catch (error) {
      fail({ reason: "tunnel-failed", message: `Cannot set up static port forwards: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    const transport = sshTransport(tunnel);
    for (const rule of rules) {
      const guest = joinHostPort(rule.guestIP, rule.guestPortRange[0]);
      const host = joinHostPort(rule.hostIP, rule.hostPortRange[0]);
      if (rule.proto === "udp" || rule.guestPortRange[0] !== rule.guestPortRange[1]) {
        fail({ reason: "unsupported", proto: "tcp", guest, host, message: `Cannot set up static forward of guest ${guest}: static rules forward one TCP port (over SSH)`, hint: "use guestPort and hostPort with proto tcp or any" });
        continue;
      }
      const request = {
        host: { kind: "inet" as const, ip: rule.hostIP, port: rule.hostPortRange[0] },
        guest: { kind: "inet" as const, ip: dialAddress({ proto: "tcp", ip: rule.guestIP, port: rule.guestPortRange[0] }), port: rule.guestPortRange[0] },
      };
      const onTunnel = ({ error }: { error?: unknown }) => {
        if (error !== undefined) tunnelLog.warn(`Cannot carry a connection from host ${host} to guest TCP ${guest} (static): ${error instanceof Error ? error.message : String(error)}`);
      };
      try {
        const handle = await transport.open(request, { onTunnel });
        forwards.push({ forward: { proto: "tcp", guest, host, static: true, via: handle.via, since: new Date().toISOString() }, handle });
        ctx.log.info(`Forwarding TCP from ${guest} to ${host} (static, over SSH)`);
      } catch (error) {
        const described = openFailure(error, request.host);
        fail({ reason: described.reason, proto: "tcp", guest, host, message: `Cannot set up static forward of guest TCP ${guest} to host ${host}: ${described.detail}`, hint: described.hint });
      }
    }
    state.onChange();
  })();
  return state;
}
