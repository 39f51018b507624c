// The instances in DEN_HOME: every folder whose name does not start with `_` or `.`.
import { readdir } from "node:fs/promises";
import { isInstanceFolderName } from "./dirs.ts";

export async function listInstanceNames(home: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(home, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && isInstanceFolderName(entry.name))
    .map((entry) => entry.name)
    .sort();
}
