// Small files of the cache and the instance folder are written whole or not at all: a reader never sees half.
import { rename, rm, writeFile } from "node:fs/promises";

export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
