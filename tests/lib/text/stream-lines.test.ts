import { expect, test } from "bun:test";
import { streamLines } from "../../../lib/text/stream-lines.ts";

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

const encode = (text: string) => new TextEncoder().encode(text);
const euro = encode("€");

test.each<{ name: string; chunks: Uint8Array[]; want: string[] }>([
  { name: "one line a chunk", chunks: [encode("a\n"), encode("b\n")], want: ["a", "b"] },
  { name: "several lines in one chunk", chunks: [encode("a\nb\n\nc\n")], want: ["a", "b", "", "c"] },
  { name: "a line split over chunks", chunks: [encode("ab"), encode("c\nd"), encode("e\n")], want: ["abc", "de"] },
  { name: "a character split over chunks", chunks: [euro.subarray(0, 1), euro.subarray(1), encode("\n")], want: ["€"] },
  { name: "no unterminated last line", chunks: [encode("a\npartial")], want: ["a"] },
  { name: "nothing from an empty stream", chunks: [], want: [] },
])("streamLines() yields $name", async ({ chunks, want }) => {
  expect(await Array.fromAsync(streamLines(streamOf(chunks)))).toEqual(want);
});
