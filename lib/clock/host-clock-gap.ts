// How the host agent notices that time passed without it: the host slept (its monotonic clock stood still while the
// wall clock went on: CLOCK_MONOTONIC on Linux and the clock behind performance.now() on macOS do not count sleep),
// or the host agent itself was stopped (its timer fired late). Either way the guest stood still as well, and its clock
// is likely behind.

export interface HostClockReading {
  /** The wall clock (Unix ms). */
  wallMs: number;
  /** The monotonic clock (ms). */
  monotonicMs: number;
}

/** More than timer jitter or an NTP slew, less than any sleep worth a correction. */
export const HostGapMs = 2000;

/**
 * Why the guest's clock should be checked, given two readings `intervalMs` apart as scheduled; undefined when
 * nothing happened.
 */
export function hostClockGap(previous: HostClockReading, current: HostClockReading, intervalMs: number): string | undefined {
  const wallElapsedMs = current.wallMs - previous.wallMs;
  const monotonicElapsedMs = current.monotonicMs - previous.monotonicMs;
  const jumpMs = wallElapsedMs - monotonicElapsedMs;
  if (Math.abs(jumpMs) > HostGapMs) return `the host's clock jumped ${seconds(jumpMs)} s (the host slept, or its clock was set)`;
  const lateMs = monotonicElapsedMs - intervalMs;
  if (lateMs > HostGapMs) return `the host agent did not run for ${seconds(lateMs)} s`;
  return undefined;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
