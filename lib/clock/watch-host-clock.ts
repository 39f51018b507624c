// Reads the host's clocks every few seconds and calls back when time passed without the host agent (host-clock-gap.ts).
import { type HostClockReading, hostClockGap } from "./host-clock-gap.ts";

export interface HostClocks {
  wallMs(): number;
  monotonicMs(): number;
}

export const SystemHostClocks: HostClocks = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };

/** Watches until stop(); `onGap` gets the reason. */
export function watchHostClock(onGap: (reason: string) => void, options: { intervalMs?: number; clocks?: HostClocks } = {}): { stop(): void } {
  const intervalMs = options.intervalMs ?? 2_000;
  const clocks = options.clocks ?? SystemHostClocks;
  const read = (): HostClockReading => ({ wallMs: clocks.wallMs(), monotonicMs: clocks.monotonicMs() });
  let previous = read();
  const timer = setInterval(() => {
    const current = read();
    const reason = hostClockGap(previous, current, intervalMs);
    previous = current;
    if (reason !== undefined) onGap(reason);
  }, intervalMs);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}
