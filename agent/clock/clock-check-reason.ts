// When the agent compares its clock with a reference between the host's requests: a tick every few seconds looks
// for signs that the guest lost time, cheaply, and names the sign it found.

export interface ClockTick {
  /** The guest clock minus the RTC's at this tick (ms); undefined without a readable RTC. */
  rtcOffsetMs: number | undefined;
  /** The same offset measured right after the last check; undefined before the first one. */
  baselineOffsetMs: number | undefined;
  /** How much later than scheduled this tick ran, by the monotonic clock (ms). */
  lateMs: number;
  /** Monotonic ms since the last check ended. */
  sinceCheckMs: number;
  /** Whether a host that answers clock requests is connected. */
  hostAttached: boolean;
}

export interface ClockCheckLimits {
  /**
   * A change of the RTC offset beyond this means the guest clock jumped or stood still against the RTC. The RTC counts
   * whole seconds, so the offset wanders by up to a second on its own.
   */
  rtcJumpMs: number;
  /** A tick this late means the guest (or the agent) did not run for a while. */
  lateMs: number;
  /** How often to ask a connected host anyway: a clock without an RTC (VZ) drifts silently. */
  periodicMs: number;
}

export const DefaultClockCheckLimits: ClockCheckLimits = { rtcJumpMs: 1500, lateMs: 2000, periodicMs: 60_000 };

/** Why to check the clock now, or undefined when nothing suggests it. */
export function clockCheckReason(tick: ClockTick, limits: ClockCheckLimits = DefaultClockCheckLimits): string | undefined {
  if (tick.rtcOffsetMs !== undefined) {
    if (tick.baselineOffsetMs === undefined) return "the RTC can be read";
    const movedMs = tick.rtcOffsetMs - tick.baselineOffsetMs;
    if (Math.abs(movedMs) > limits.rtcJumpMs) return `the clock moved ${seconds(movedMs)} s against the RTC`;
  }
  if (tick.lateMs > limits.lateMs) return `a timer fired ${seconds(tick.lateMs)} s late`;
  if (tick.hostAttached && tick.sinceCheckMs >= limits.periodicMs) return "the periodic check";
  return undefined;
}

/** Signed seconds with one decimal: "-60.0", "2.5". */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
