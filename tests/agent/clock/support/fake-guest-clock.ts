// A guest's clocks for agent/clock/time-sync.ts without touching the machine's: the guest clock is this machine's
// clock plus an offset the test moves (a VM that stood still wakes with its clock behind), the RTC follows this
// machine's clock as QEMU's does (or is missing, as under VZ), and setting the clock records the call and moves the
// offset. The monotonic clock is the real one: the guest's monotonic clock never sees a stall either.
import type { Clock } from "../../../../agent/clock/time-sync.ts";

export interface FakeGuestClock {
  clock: Clock;
  /** Guest clock minus the true time (ms). */
  readonly offsetMs: number;
  /** Every time the agent set, as Unix ms. */
  readonly sets: number[];
  /** The guest clock loses `ms`, as a VM that stood still that long. */
  stall(ms: number): void;
  /** From now on setting the clock fails with this message (undefined: it works again). */
  failSetsWith(message: string | undefined): void;
}

export function fakeGuestClock(options: { rtc?: boolean } = {}): FakeGuestClock {
  let offsetMs = 0;
  let failure: string | undefined;
  const sets: number[] = [];
  return {
    clock: {
      realtimeMs: () => Date.now() + offsetMs,
      monotonicMs: () => performance.now(),
      setRealtimeMs: (unixMs) => {
        if (failure !== undefined) throw new Error(failure);
        sets.push(unixMs);
        offsetMs = unixMs - Date.now();
      },
      readRtc: async () => (options.rtc === false ? undefined : `${Math.floor(Date.now() / 1000)}\n`),
    },
    get offsetMs() {
      return offsetMs;
    },
    sets,
    stall: (ms) => {
      offsetMs -= ms;
    },
    failSetsWith: (message) => {
      failure = message;
    },
  };
}
