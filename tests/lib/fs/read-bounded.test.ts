import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readRegularFileBounded, readStreamBounded } from "../../../lib/fs/read-bounded.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function scratch(): Promise<string> {
  return makeTempDir("den-read-bounded-");
}

function mkfifo(path: string): void {
  expect(spawnSync("mkfifo", [path]).status).toBe(0);
}

test("readRegularFileBounded() reads a regular file up to the limit", async () => {
  const dir = await scratch();
  await writeFile(join(dir, "t.yaml"), "cpus: 2\n");
  expect(await readRegularFileBounded(join(dir, "t.yaml"), { maxBytes: 8, what: "template" })).toBe("cpus: 2\n");
});

test.each([
  { name: "one byte over the limit", size: 9, maxBytes: 8 },
  { name: "a sparse 5 GiB file", size: 5 * 1024 ** 3, maxBytes: 4 * 1024 * 1024 },
])("readRegularFileBounded() refuses $name before reading it", async ({ size, maxBytes }) => {
  const dir = await scratch();
  const path = join(dir, "big.yaml");
  await writeFile(path, "");
  await truncate(path, size);
  const error = await rejectedDenError(readRegularFileBounded(path, { maxBytes, what: `template "${path}"`, tooLargeCode: "TEMPLATE_TOO_LARGE" }));
  expect(error.code).toBe("TEMPLATE_TOO_LARGE");
  expect(error.message).toBe(`Cannot read template "${path}": it is larger than ${maxBytes === 8 ? "8 bytes" : "4 MiB"}`);
});

test.each([
  {
    name: "a named pipe",
    make: (dir: string) => {
      mkfifo(join(dir, "fifo"));
      return join(dir, "fifo");
    },
    kind: "a named pipe",
  },
  { name: "/dev/zero", make: () => "/dev/zero", kind: "a device" },
  { name: "a folder", make: (dir: string) => dir, kind: "a folder" },
])("readRegularFileBounded() refuses $name unread and at once", async ({ make, kind }) => {
  const path = make(await scratch());
  const started = performance.now();
  const error = await rejectedDenError(readRegularFileBounded(path, { maxBytes: 1024, what: `configuration "${path}"` }));
  expect(performance.now() - started).toBeLessThan(2000);
  expect(error.code).toBe("FILE_NOT_REGULAR");
  expect(error.message).toBe(`Cannot read configuration "${path}": it is ${kind}, not a regular file`);
  expect(error.hint).toBeDefined();
});

test("readRegularFileBounded() refuses a unix socket", async () => {
  const path = join(await scratch(), "s.sock");
  const server = Bun.listen({ unix: path, socket: { data() {} } });
  try {
    const error = await rejectedDenError(readRegularFileBounded(path, { maxBytes: 1024, what: `template "${path}"` }));
    expect(error.message).toContain("it is a socket, not a regular file");
  } finally {
    server.stop(true);
  }
});

test("readRegularFileBounded() passes a missing file on as ENOENT", async () => {
  const path = join(await scratch(), "nope.yaml");
  const error = await readRegularFileBounded(path, { maxBytes: 8, what: "x" }).catch((caught: unknown) => caught);
  expect((error as NodeJS.ErrnoException).code).toBe("ENOENT");
});

function streamOf(chunks: number, chunkSize: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(chunkSize).fill(0x79));
    },
  });
  return { stream, pulled: () => pulled };
}

test("readStreamBounded() reads a stream within the limit", async () => {
  const { stream } = streamOf(3, 4);
  expect(await readStreamBounded(stream, { maxBytes: 12, what: "stdin" })).toBe("y".repeat(12));
});

test("readStreamBounded() stops an endless stream just past the limit", async () => {
  const { stream, pulled } = streamOf(Number.POSITIVE_INFINITY, 1024);
  const error = await rejectedDenError(readStreamBounded(stream, { maxBytes: 4096, what: 'template "-"', tooLargeCode: "TEMPLATE_TOO_LARGE" }));
  expect(error.code).toBe("TEMPLATE_TOO_LARGE");
  expect(error.message).toBe('Cannot read template "-": it is larger than 4096 bytes');
  expect(pulled()).toBeLessThanOrEqual(6);
});
