import { describe, expect, test } from "bun:test";
import { getEventListeners } from "node:events";
import { sleep } from "../../../lib/process/sleep.ts";

const reason = new Error("stop now");

describe("sleep()", () => {
  test("sleep() resolves after the time has passed", async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  test.each([
    { when: "aborted before the call", abortAfterMs: undefined },
    { when: "aborted during the wait", abortAfterMs: 10 },
  ])("sleep() rejects with the signal's reason when $when", async ({ abortAfterMs }) => {
    const controller = new AbortController();
    if (abortAfterMs === undefined) controller.abort(reason);
    else setTimeout(() => controller.abort(reason), abortAfterMs);
    const started = performance.now();
    await expect(sleep(10_000, controller.signal)).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test.each([
    { outcome: "resolves", abort: false },
    { outcome: "is aborted", abort: true },
  ])("sleep() leaves no abort listener on the signal once it $outcome", async ({ abort }) => {
    const controller = new AbortController();
    const sleeps = Array.from({ length: 5 }, () => sleep(abort ? 10_000 : 5, controller.signal).catch((error: unknown) => error));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(5);
    if (abort) controller.abort(reason);
    const outcomes = await Promise.all(sleeps);
    expect(outcomes).toEqual(Array(5).fill(abort ? reason : undefined));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  test("sleep() without a signal cannot be aborted and still resolves", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
