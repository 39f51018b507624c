import { afterEach, expect, test } from "bun:test";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { writeFileAtomically, type WriteFileAtomicallyOptions } from "../../../lib/fs/write-file-atomically.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { deferredCleanups, tempDir } from "../../support/deferred-cleanups.ts";

const defer = deferredCleanups();
const umask = process.umask();
afterEach(() => void process.umask(umask));

const failure: WriteFileAtomicallyOptions["failure"] = (cause, { step, temporary }) =>
  new DenError("IO", `Cannot ${step} "${temporary}": ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);

async function* chunks(...parts: (Uint8Array | Error)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    yield part;
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

test.each([
  { name: "nothing", parts: [], want: "" },
  { name: "small chunks batched", parts: ["a", "b", "c"], want: "abc" },
  { name: "a chunk larger than the batch", parts: ["x", "y".repeat(3 << 20), "z"], want: `x${"y".repeat(3 << 20)}z` },
])("writeFileAtomically() writes $name and counts the bytes", async ({ parts, want }) => {
  const path = join(await tempDir(defer), "out");
  const written = await writeFileAtomically(path, chunks(...parts.map(bytes)), { mode: 0o644, failure });
  expect(written).toBe(want.length);
  expect(await readFile(path, "utf8")).toBe(want);
});

test("writeFileAtomically() sets the mode on the file whatever the umask", async () => {
  const dir = await tempDir(defer);
  process.umask(0);
  await writeFileAtomically(join(dir, "ro"), chunks(bytes("x")), { mode: 0o444, sync: true, failure });
  expect((await stat(join(dir, "ro"))).mode & 0o777).toBe(0o444);
});

test("writeFileAtomically() keeps the previous file, removes its temporary file and passes a DenError of the source on", async () => {
  const dir = await tempDir(defer);
  await writeFile(join(dir, "out"), "old");
  const refusal = new DenError("IO", "the source gave up");
  const error = await rejectedDenError(writeFileAtomically(join(dir, "out"), chunks(bytes("new"), refusal), { mode: 0o644, failure }));
  expect(error).toBe(refusal);
  expect(await readdir(dir)).toEqual(["out"]);
  expect(await readFile(join(dir, "out"), "utf8")).toBe("old");
});

test("writeFileAtomically() turns another failure of the write into the caller's error", async () => {
  const dir = await tempDir(defer);
  const error = await rejectedDenError(writeFileAtomically(join(dir, "out"), chunks(new Error("disk on fire")), { mode: 0o644, failure }));
  expect(error.message).toMatch(/^Cannot write ".*\/out\..*\.tmp": Error: disk on fire$/);
  expect(await readdir(dir)).toEqual([]);
});

test("writeFileAtomically() names the temporary file it cannot create", async () => {
  const dir = await tempDir(defer);
  const error = await rejectedDenError(writeFileAtomically(join(dir, "missing", "out"), chunks(), { mode: 0o644, failure }));
  expect(error.message).toMatch(/^Cannot create ".*\/missing\/out\..*\.tmp": ENOENT$/);
});
