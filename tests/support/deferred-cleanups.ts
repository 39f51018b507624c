// What a test sets up (servers, handles, temp folders) is undone after it, newest first, whether it passed or not.
import { afterEach } from "bun:test";
import { rm } from "node:fs/promises";
import { makeTempDir } from "./temp-dir.ts";

export type Defer = (...cleanups: (() => Promise<unknown> | void)[]) => void;

/** Call once at a test file's top level; the function it returns defers cleanups to the end of the running test. */
export function deferredCleanups(): Defer {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (...more) => void cleanups.push(...more);
}

/** A fresh folder, removed after the test (and by temp-dir.ts's reaper should the test run be killed first). */
export async function tempDir(defer: Defer): Promise<string> {
  const dir = await makeTempDir("den-test-");
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
