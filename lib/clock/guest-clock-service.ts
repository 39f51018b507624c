// The "clock" guest service: keeps the guest's clock on the host's after the VM stood still (the host slept, QEMU was
// stopped). The guest agent does the work (agent/clock/time-sync.ts): the host client asks it to check at every new
// session, and this service asks again whenever the host itself lost time (watch-host-clock.ts). Each step the agent
// reports becomes the service's message, so `den watch` shows it and `den list --json` keeps the last one in `data`.
// A step that failed turns the service degraded: a guest clock a minute behind breaks TLS and tokens, never silently.
import { z } from "zod";
import { ClockStepSchema, type ClockStep } from "../../agent/protocol/messages.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import type { GuestServiceReport, GuestService, GuestServiceContext, RunningGuestService } from "../hostagent/guest-service.ts";
import { clockStepMessage } from "./clock-step-message.ts";
import { type HostClocks, watchHostClock } from "./watch-host-clock.ts";

/** `services.clock.data`. */
export const GuestClockReportDataSchema = z.object({
  /** Steps the agent reported since the host agent started, failed ones included. */
  steps: z.number().int().nonnegative(),
  /** Times the host agent noticed the host lost time and asked the guest to check. */
  hostGaps: z.number().int().nonnegative(),
  /** The newest step, with the host's time it was reported at. */
  last: ClockStepSchema.omit({ type: true }).extend({ reportedAt: z.string() }).optional(),
});
export type GuestClockReportData = z.output<typeof GuestClockReportDataSchema>;

/** A guest flooding clock reports makes at most one event a second. */
const MinReportIntervalMs = 1000;

export const guestClockService: GuestService = {
  name: "clock",
  waitingFor: "the guest clock",
  // Plain mode runs no guest agent.
  enabled: (config: FilledDenYaml) => !config.plain,
  start: (ctx) => startGuestClock(ctx),
};

export interface GuestClockOptions {
  /** The host's clocks (tests pass fake ones). */
  clocks?: HostClocks;
  /** Interval of the host clock watch (default 2 s). */
  intervalMs?: number;
}

export async function startGuestClock(ctx: GuestServiceContext, options: GuestClockOptions = {}): Promise<RunningGuestService> {
  const agent = ctx.agent;
  if (!agent?.onClockStep || !agent.syncClock) {
    ctx.report({ state: "ready", message: "the guest clock is left to the guest: this instance has no guest agent" });
    return { stop: async () => undefined };
  }
  const syncClock = agent.syncClock.bind(agent);
  const data: GuestClockReportData = { steps: 0, hostGaps: 0 };
  let lastReportAt = Number.NEGATIVE_INFINITY;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const report = (): GuestServiceReport => {
    const last = data.last;
    if (!last) return { state: "ready", data: { ...data } };
    const message = clockStepMessage({ type: "clock-stepped", ...last });
    return { state: last.error === undefined ? "ready" : "degraded", message, data: { ...data } };
  };
  const publish = () => {
    pending = undefined;
    lastReportAt = Date.now();
    ctx.report(report());
  };
  const schedule = () => {
    const waitMs = lastReportAt + MinReportIntervalMs - Date.now();
    if (waitMs <= 0) return publish();
    pending ??= setTimeout(publish, waitMs);
  };
  const offStep = agent.onClockStep((step: ClockStep) => {
    const { type: _type, ...rest } = step;
    data.steps++;
    data.last = { ...rest, reportedAt: new Date().toISOString() };
    schedule();
  });
  const watch = watchHostClock(
    (reason) => {
      data.hostGaps++;
      const asked = syncClock(reason);
      ctx.log.info(`${reason}: ${asked ? "asking the guest agent to check the guest clock" : "no guest agent that syncs the clock is connected"}`);
      schedule();
    },
    { ...(options.clocks && { clocks: options.clocks }), ...(options.intervalMs !== undefined && { intervalMs: options.intervalMs }) },
  );
  const stop = async () => {
    watch.stop();
    offStep();
    clearTimeout(pending);
  };
  ctx.signal.addEventListener("abort", () => void stop(), { once: true });
  ctx.report(report());
  return { stop };
}
