// The one abortable wait. Every retry loop in den sleeps through it, so an abort ends each of them the same way:
// at once, with the signal's reason, and without a timer or a listener left behind on a long-lived signal.

/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as the signal aborts (at once when it
 * already has). Either way the timer and the abort listener are gone when the promise settles.
 */
export function sleep(ms: number, signal?: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    // A host agent's signal lives for days and sees thousands of sleeps: a listener left per sleep would pile up.
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
