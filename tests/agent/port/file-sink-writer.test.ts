// fileSinkWriter() against a scripted FileSink: each flush either completes at once or parks until the test settles
// it, as Bun's sink does when the kernel buffer is full.
import { expect, test } from "bun:test";
import type { FileSink } from "bun";
import { fileSinkWriter } from "../../../agent/port/file-sink-writer.ts";

function scriptedSink(options: { failWrite?: boolean } = {}) {
  const written: number[] = [];
  const parked: PromiseWithResolvers<number>[] = [];
  let full = false;
  const sink = {
    write(bytes: Uint8Array) {
      if (options.failWrite) throw new Error("EPIPE: broken pipe, write");
      written.push(bytes.byteLength);
      return bytes.byteLength;
    },
    flush() {
      if (!full) return 0;
      const flush = Promise.withResolvers<number>();
      parked.push(flush);
      return flush.promise;
    },
  };
  return {
    sink: sink as unknown as FileSink,
    written,
    parked,
    fill: (value: boolean) => {
      full = value;
    },
  };
}

test("fileSinkWriter() is not congested while every flush completes at once", () => {
  const { sink, written } = scriptedSink();
  const writer = fileSinkWriter(sink, () => undefined);
  writer.write(new Uint8Array(10));
  writer.write(new Uint8Array(20));
  expect(written).toEqual([10, 20]);
  expect(writer.congested()).toBe(false);
});

test("fileSinkWriter() is congested until every parked flush settles, then calls the drain listeners once", async () => {
  const scripted = scriptedSink();
  const writer = fileSinkWriter(scripted.sink, () => undefined);
  let drains = 0;
  writer.onDrained(() => drains++);
  scripted.fill(true);
  writer.write(new Uint8Array(1));
  writer.write(new Uint8Array(1));
  expect(writer.congested()).toBe(true);
  scripted.parked[0]?.resolve(1);
  await Bun.sleep(0);
  expect(writer.congested()).toBe(true);
  expect(drains).toBe(0);
  scripted.parked[1]?.resolve(1);
  await Bun.sleep(0);
  expect(writer.congested()).toBe(false);
  expect(drains).toBe(1);
});

test.each([
  { name: "a write that throws", failWrite: true, failFlush: false },
  { name: "a parked flush that rejects", failWrite: false, failFlush: true },
])("fileSinkWriter() reports $name once and drops later writes", async ({ failWrite, failFlush }) => {
  const scripted = scriptedSink({ failWrite });
  const errors: unknown[] = [];
  const writer = fileSinkWriter(scripted.sink, (error) => errors.push(error));
  scripted.fill(failFlush);
  writer.write(new Uint8Array(1));
  scripted.parked[0]?.reject(new Error("EPIPE"));
  await Bun.sleep(0);
  writer.write(new Uint8Array(1));
  expect(errors).toHaveLength(1);
  expect(writer.congested()).toBe(false);
  expect(scripted.written.length).toBeLessThanOrEqual(1);
});
