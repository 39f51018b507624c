// One comparison of the guest's clock with a reference whose time is known only within bounds: the host's clock,
// read across the agent channel, or the VM's real-time clock (RTC), which QEMU keeps on the host's time
// (`-rtc clock=host`, its default) even while the guest's own clock stands still.

export interface ClockSample {
  source: "host" | "rtc";
  /** The reference's time (Unix ms) at the moment `guestMs` was read: the middle of what it can have been. */
  referenceMs: number;
  /** How far `referenceMs` may be off, either way (ms). */
  uncertaintyMs: number;
  /** The guest's clock (CLOCK_REALTIME, Unix ms) when the sample was taken. */
  guestMs: number;
}

/** Before 2000-01-01: an RTC that was never set (or reads garbage) says nothing about the time. */
const EarliestPlausibleMs = Date.UTC(2000, 0, 1);

/**
 * The host read its clock (`hostMs`) at some moment between our request (`sentMonoMs`) and its answer
 * (`receivedMonoMs`, when `guestMs` was read), both on the guest's monotonic clock. Now it reads between `hostMs` and
 * `hostMs` + the round trip, so taking the middle is wrong by half the round trip at most. The monotonic clock is what
 * makes a stale answer safe: a reply that sat in a queue while the guest ran shows as a long round trip, not as a
 * time in the past.
 */
export function hostClockSample(hostMs: number, timing: { sentMonoMs: number; receivedMonoMs: number; guestMs: number }): ClockSample {
  const roundTripMs = Math.max(0, timing.receivedMonoMs - timing.sentMonoMs);
  return { source: "host", referenceMs: hostMs + roundTripMs / 2, uncertaintyMs: roundTripMs / 2, guestMs: timing.guestMs };
}

/**
 * `since_epoch` of /sys/class/rtc/rtc0 counts whole seconds, so the time it stands for lies within the next second:
 * the middle of that second, half a second either way. Undefined when the text is no count of seconds or an
 * implausible one.
 */
export function rtcClockSample(sinceEpoch: string, guestMs: number): ClockSample | undefined {
  const text = sinceEpoch.trim();
  if (!/^\d{1,12}$/.test(text)) return undefined;
  const secondMs = Number(text) * 1000;
  if (secondMs < EarliestPlausibleMs) return undefined;
  return { source: "rtc", referenceMs: secondMs + 500, uncertaintyMs: 500, guestMs };
}
