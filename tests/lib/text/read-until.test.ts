import { expect, test } from "bun:test";
import { readUntil } from "../../../lib/text/read-until.ts";

/** A stream that gives `chunks`, then either ends or stays open. */
function streamOf(chunks: readonly string[], options: { end: boolean }): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      if (options.end) controller.close();
    },
  });
}

test("readUntil() stops at the chunk that completes the text, which may arrive in pieces", async () => {
  const stream = streamOf(["Setting up watches.\nWatches est", "ablished.\n", "later"], { end: false });
  expect(await readUntil(stream, "Watches established", { timeoutMs: 5_000 })).toBe("Setting up watches.\nWatches established.\n");
  // Released, not cancelled: the rest is still there to read.
  const { value } = await stream.getReader().read();
  expect(new TextDecoder().decode(value)).toBe("later");
});

test("readUntil() gives what came when the stream ends without the text", async () => {
  expect(await readUntil(streamOf(["Couldn't watch: no such file\n"], { end: true }), "Watches established", { timeoutMs: 5_000 })).toBe("Couldn't watch: no such file\n");
});

test("readUntil() gives up after timeoutMs on a stream that stays silent", async () => {
  const started = performance.now();
  expect(await readUntil(streamOf(["partial"], { end: false }), "never", { timeoutMs: 50 })).toBe("partial");
  expect(performance.now() - started).toBeLessThan(2_000);
});
