// The instances in DEN_HOME: every real folder whose name is an instance name. den's own folders (`_config`,
// `_templates`, `_disks`, `.deleting-*`), symbolic links and names den could never have created are skipped, so
// nothing `den list` shows is refused by the commands that act on it.
import { readdir } from "node:fs/promises";
import { isInstanceName } from "./instance-name.ts";

export async function listInstanceNames(home: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(home, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && isInstanceName(entry.name))
    .map((entry) => entry.name)
    .sort();
}
