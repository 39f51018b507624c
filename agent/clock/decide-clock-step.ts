// Whether the guest's clock is off far enough from a reference to step it. Only a drift that is certain counts: the
// sample's own uncertainty is taken off first, so a slow answer or the RTC's whole seconds never cause a step.
import type { ClockSample } from "./clock-sample.ts";

/**
 * Steps are for jumps (a VM that stood still, a host that slept), not for the small drift an NTP daemon in the guest
 * slews away: chrony's default `makestep` threshold is the same second.
 */
export const StepThresholdMs = 1000;

export interface ClockStepDecision {
  /** The guest clock minus the reference (ms): positive when the guest is ahead. */
  driftMs: number;
  /** Whether the drift certainly exceeds the threshold: the clock is to be set back by `driftMs`. */
  step: boolean;
}

export function decideClockStep(sample: ClockSample, thresholdMs: number = StepThresholdMs): ClockStepDecision {
  const driftMs = sample.guestMs - sample.referenceMs;
  return { driftMs, step: Math.abs(driftMs) - sample.uncertaintyMs > thresholdMs };
}
