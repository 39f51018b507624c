// Finding plugins on disk. A command plugin is an executable regular file `den-NAME`; the first folder of
// pluginDirs() that has one wins, as PATH lookup does. Running den never scans folders: only `den --help` lists them.
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pluginDescription } from "./plugin-description.ts";
import { isPluginName } from "./plugin-name.ts";

/** File names start with this; `den-hello` is run by `den hello`. */
export const PluginPrefix = "den-";

/** URL scheme plugins: `den-url-SCHEME`, hidden from the help as Lima hides `limactl-url-*`. */
export const UrlPluginPrefix = "url-";

export interface Plugin {
  name: string;
  path: string;
  description?: string;
}

/** How much of a script is read for its description tag. */
const DescriptionHeadBytes = 16 * 1024;

/** The first executable regular file named one of `fileNames` (tried in order within each folder), folder by folder. */
export async function findExecutable(fileNames: readonly string[], dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    for (const fileName of fileNames) {
      const path = join(dir, fileName);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && (info.mode & 0o111) !== 0) return path;
    }
  }
  return undefined;
}

/** The executable of command plugin `name` (`den-NAME`), or undefined when there is none or `name` cannot be one. */
export async function findPlugin(name: string, dirs: readonly string[]): Promise<string | undefined> {
  if (!isPluginName(name)) return undefined;
  return findExecutable([`${PluginPrefix}${name}`], dirs);
}

/**
 * Every command plugin in `dirs`, by name, the first of each name only, without the URL scheme plugins. Synchronous:
 * commander asks for help text synchronously, and only the help lists plugins.
 */
export function discoverPlugins(dirs: readonly string[]): Plugin[] {
  const found = new Map<string, Plugin>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const fileName of names) {
      if (!fileName.startsWith(PluginPrefix)) continue;
      const name = fileName.slice(PluginPrefix.length);
      if (found.has(name) || !isPluginName(name) || name.startsWith(UrlPluginPrefix)) continue;
      const path = join(dir, fileName);
      try {
        const info = statSync(path);
        if (!info.isFile() || (info.mode & 0o111) === 0) continue;
      } catch {
        continue;
      }
      const description = pluginDescription(readHead(path));
      found.set(name, description === undefined ? { name, path } : { name, path, description });
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function readHead(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buffer = Buffer.alloc(DescriptionHeadBytes);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, length).toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
