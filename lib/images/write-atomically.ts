// Small files of the cache and the instance folder are written whole or not at all: a reader never sees half.
import { rename, rm, writeFile } from "node:fs/promises";

export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    // "wx" after removing a leftover: a file or symlink planted under the temporary name is never written through.
    await rm(temporary, { force: true });
    await writeFile(temporary, text, { mode: 0o644, flag: "wx" });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}
