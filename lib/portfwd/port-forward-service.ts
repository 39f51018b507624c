// The "ports" guest service: static rules over SSH at start (static-forwards.ts), every other rule as listeners come
// and go, through the guest agent or, for wildcard TCP listeners, the driver's own host forwarding (forwarder.ts).
// Its report lists the active forwards and the failures, and turns degraded while any failure that is not negligible
// stands, so `den start`, `den list --json` and `den ports` all show what does not work and why.
import type { FilledDenYaml } from "../config/schema.ts";
import type { GuestService, GuestServiceContext, RunningGuestService } from "../hostagent/guest-service.ts";
import { maxPortForwards } from "./cap-forwards.ts";
import { effectiveRules, ignoredProtocols } from "./effective-rules.ts";
import { type Forwarder, startForwarder } from "./forwarder.ts";
import type { PortForwardReport } from "./port-forward-report.ts";
import { startStaticForwards } from "./static-forwards.ts";
import { sleep } from "../process/sleep.ts";

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
  // Read first: a bad value fails the service with its reason rather than forwarding without a cap.
  const maxForwards = maxPortForwards(ctx.env);
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
        maxForwards,
        ...(ctx.driver.hostForwarder && { hostForwarder: ctx.driver.hostForwarder }),
        onChange: (report) => {
          agentReport = report;
          publish();
        },
      });
      await Promise.race([forwarder.synced, sleep(FirstSyncWaitMs, ctx.signal).catch(() => undefined)]);
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
