// The guest's real clocks for time-sync.ts: CLOCK_REALTIME read through Date.now() and set with clock_settime(2)
// through bun:ffi (the agent runs as root, which holds CAP_SYS_TIME), the monotonic clock, and the RTC's seconds
// from sysfs, which reads the (virtual) hardware on every read.
import { FFIType, ptr, read } from "bun:ffi";
import { readFile } from "node:fs/promises";
import { DenError } from "../../lib/errors.ts";
import { openLibc } from "../open-libc.ts";
import type { Clock } from "./time-sync.ts";

const ClockRealtime = 0;
const DefaultRtcPath = "/sys/class/rtc/rtc0/since_epoch";
const ErrnoNames: Readonly<Record<number, string>> = { 1: "EPERM", 22: "EINVAL" };

function openClockLibc() {
  return openLibc(
    {
      clock_settime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    },
    "set the clock",
  );
}

let libcCache: ReturnType<typeof openClockLibc> | undefined;

export function systemClock(options: { rtcPath?: string } = {}): Clock {
  const rtcPath = options.rtcPath ?? DefaultRtcPath;
  return {
    realtimeMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    setRealtimeMs,
    readRtc: async () => {
      try {
        return await readFile(rtcPath, "utf8");
      } catch (error) {
        // No RTC (a VZ guest, a kernel without the driver): the host is then the only reference.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
  };
}

function setRealtimeMs(unixMs: number): void {
  libcCache ??= openClockLibc();
  const { clock_settime, __errno_location } = libcCache.symbols;
  const whole = Math.floor(unixMs / 1000);
  // struct timespec on the 64-bit guests den runs: two 64-bit fields, seconds and nanoseconds.
  const timespec = new BigInt64Array([BigInt(whole), BigInt(Math.min(999_999_999, Math.round((unixMs - whole * 1000) * 1e6)))]);
  if (clock_settime(ClockRealtime, ptr(timespec)) === 0) return;
  const location = __errno_location();
  const errno = location === null ? 0 : read.i32(location, 0);
  throw new DenError("IO", `Cannot set the clock: clock_settime() failed with ${ErrnoNames[errno] ?? `errno ${errno}`}`);
}
