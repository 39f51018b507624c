// Keeps the guest's clock on the host's time. A VM that stood still (QEMU stopped, the host asleep) wakes with its
// clock where it stopped, and nothing in the guest notices: its monotonic clock stood still too. Two references do
// notice: the host's clock, asked over the agent channel (protocol 3), and the RTC, which QEMU keeps on the host's
// time. The agent checks when the host asks (a new session, a host that slept), when its tick sees the clock move
// against the RTC or fire late, and once a minute while a host is connected; it steps the clock when it is surely
// more than a second off, logs the step to the journal and reports it to the host.
import type { ClockStep } from "../protocol/messages.ts";
import { type ClockSample, hostClockSample, rtcClockSample } from "./clock-sample.ts";
import { clockCheckReason, type ClockCheckLimits, DefaultClockCheckLimits } from "./clock-check-reason.ts";
import { decideClockStep, StepThresholdMs } from "./decide-clock-step.ts";

/** The clocks the agent reads and sets (system-clock.ts; tests pass a fake one). */
export interface Clock {
  /** CLOCK_REALTIME as Unix ms. */
  realtimeMs(): number;
  /** A clock that never jumps (CLOCK_MONOTONIC), in ms. */
  monotonicMs(): number;
  /** Steps CLOCK_REALTIME; throws with the reason when it cannot. */
  setRealtimeMs(unixMs: number): void;
  /** The RTC's `since_epoch` text; undefined when the VM has no RTC. */
  readRtc(): Promise<string | undefined>;
}

/** A connected host that speaks protocol 3 (agent.ts wires its session in). */
export interface ClockHost {
  /** The host's clock (Unix ms); undefined when the session ended (or a newer request replaced this one) first. */
  request(): Promise<number | undefined>;
  report(step: ClockStep): void;
}

export interface TimeSyncOptions {
  log(line: string): void;
  /** Interval of the tick that looks for lost time (default 2 s). */
  tickMs?: number;
  /** How long a clock request may wait for the host's answer before the RTC is used instead (default 2 s). */
  requestTimeoutMs?: number;
  /** Round trips past this give answers too vague to step by; the request is made again (default 1 s). */
  maxRoundTripMs?: number;
  thresholdMs?: number;
  limits?: ClockCheckLimits;
}

export interface TimeSync {
  /** From now on the clock is compared with this host's; replaces any other. */
  attach(host: ClockHost): void;
  /** Forgets `host` (its session ended); a newer host attached since stays. */
  detach(host: ClockHost): void;
  /** Compares the clock with the best reference now and steps it when it is off; `reason` goes into the log. */
  check(reason: string): Promise<void>;
  stop(): void;
}

export function startTimeSync(clock: Clock, options: TimeSyncOptions): TimeSync {
  const tickMs = options.tickMs ?? 2_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  const maxRoundTripMs = options.maxRoundTripMs ?? 1_000;
  const thresholdMs = options.thresholdMs ?? StepThresholdMs;
  const limits = options.limits ?? DefaultClockCheckLimits;
  const log = options.log;
  let host: ClockHost | undefined;
  /** A step made while no host was connected: reported to the next one, so the host learns of it after a reconnect. */
  let unreported: ClockStep | undefined;
  let running: Promise<void> | undefined;
  let rerun: string | undefined;
  let baselineOffsetMs: number | undefined;
  let lastCheckMonoMs = clock.monotonicMs();
  let lastTickMonoMs = clock.monotonicMs();
  let ticking = false;
  let noReferenceLogged = false;

  const rtcSample = async (): Promise<ClockSample | undefined> => {
    let text: string | undefined;
    try {
      text = await clock.readRtc();
    } catch {
      return undefined;
    }
    return text === undefined ? undefined : rtcClockSample(text, clock.realtimeMs());
  };

  const hostSample = async (): Promise<ClockSample | undefined> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = host;
      if (!current) return undefined;
      const sentMonoMs = clock.monotonicMs();
      const hostMs = await answerWithin(current.request(), requestTimeoutMs);
      const receivedMonoMs = clock.monotonicMs();
      if (hostMs === undefined) {
        // The session ended under the request (the host started a new one after the guest stood still): ask the new one.
        if (host !== undefined && host !== current) continue;
        return undefined;
      }
      const sample = hostClockSample(hostMs, { sentMonoMs, receivedMonoMs, guestMs: clock.realtimeMs() });
      if (sample.uncertaintyMs * 2 <= maxRoundTripMs) return sample;
      log(`clock: the host answered after ${Math.round(receivedMonoMs - sentMonoMs)} ms, too late to set the clock by`);
    }
    return undefined;
  };

  const step = (sample: ClockSample, driftMs: number, reason: string) => {
    const beforeMs = clock.realtimeMs();
    let error: string | undefined;
    try {
      // Relative to now, not to the sample: time went on while the decision was made.
      clock.setRealtimeMs(beforeMs - driftMs);
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const afterMs = clock.realtimeMs();
    const against = sample.source === "host" ? "the host's clock" : "the RTC";
    const off = `${(Math.abs(driftMs) / 1000).toFixed(3)} s ${driftMs < 0 ? "behind" : "ahead of"} ${against}`;
    if (error === undefined) log(`clock: stepped the clock from ${iso(beforeMs)} to ${iso(afterMs)}: it was ${off} (${reason})`);
    else log(`clock: cannot step the clock, ${off} (${reason}): ${error}`);
    const report: ClockStep = {
      type: "clock-stepped",
      source: sample.source,
      driftMs: Math.round(driftMs),
      beforeMs,
      afterMs,
      reason: reason.slice(0, 200),
      ...(error !== undefined && { error: error.slice(0, 200) }),
    };
    if (host) host.report(report);
    else unreported = report;
  };

  const checkOnce = async (reason: string) => {
    const sample = (await hostSample()) ?? (await rtcSample());
    if (!sample) {
      if (!noReferenceLogged) log(`clock: nothing to compare the clock with (no host answers, no RTC) (${reason})`);
      noReferenceLogged = true;
    } else {
      noReferenceLogged = false;
      const decision = decideClockStep(sample, thresholdMs);
      if (decision.step) step(sample, decision.driftMs, reason);
    }
    const rtc = await rtcSample();
    baselineOffsetMs = rtc && rtc.guestMs - rtc.referenceMs;
    lastCheckMonoMs = clock.monotonicMs();
  };

  const check = (reason: string): Promise<void> => {
    if (running) {
      // A host asking while a check runs may have just connected: its answer is better than the RTC the running
      // check may have fallen back to, so one more check follows.
      rerun = reason;
      return running;
    }
    running = (async () => {
      try {
        let next: string | undefined = reason;
        while (next !== undefined) {
          rerun = undefined;
          await checkOnce(next);
          next = rerun;
        }
      } catch (error) {
        log(`clock: the check failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const tick = async () => {
    const nowMonoMs = clock.monotonicMs();
    const lateMs = nowMonoMs - lastTickMonoMs - tickMs;
    lastTickMonoMs = nowMonoMs;
    if (ticking || running) return;
    ticking = true;
    try {
      const rtc = await rtcSample();
      const reason = clockCheckReason(
        { rtcOffsetMs: rtc && rtc.guestMs - rtc.referenceMs, baselineOffsetMs, lateMs, sinceCheckMs: clock.monotonicMs() - lastCheckMonoMs, hostAttached: host !== undefined },
        limits,
      );
      if (reason !== undefined) await check(reason);
    } finally {
      ticking = false;
    }
  };

  const timer = setInterval(() => void tick(), tickMs);
  timer.unref?.();
  void check("the agent started");

  return {
    attach(next) {
      host = next;
      if (unreported) next.report(unreported);
      unreported = undefined;
    },
    detach(previous) {
      if (host === previous) host = undefined;
    },
    check,
    stop() {
      clearInterval(timer);
      host = undefined;
    },
  };
}

/** The answer, or undefined when it does not come within `ms`. */
async function answerWithin(answer: Promise<number | undefined>, ms: number): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function iso(unixMs: number): string {
  return new Date(unixMs).toISOString();
}
