// Polling for end-to-end tests, where a guest or its host agent changes state in its own time.

export interface UntilOptions<T> {
  /** True once `read()` returned the awaited value. */
  done: (value: T) => boolean;
  timeoutMs: number;
  /** Pause between reads; default 500 ms. */
  intervalMs?: number;
}

/**
 * Calls `read()` until `done(value)` holds and returns that value; after `timeoutMs` it throws an error naming `what`
 * and the last value read, so a failure says what was awaited and what was seen instead.
 */
export async function until<T>(what: string, read: () => Promise<T>, options: UntilOptions<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await read();
    if (options.done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${options.timeoutMs / 1000} s; last: ${JSON.stringify(value)}`);
    await Bun.sleep(options.intervalMs ?? 500);
  }
}
