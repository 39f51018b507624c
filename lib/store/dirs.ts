// Where den keeps its state. DEN_HOME (default ~/.den) holds one folder per instance.
import { chmod, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { DenError } from "../errors.ts";
import { ConfigDir, TemplatesDir } from "./filenames.ts";

export type DirsEnv = Readonly<Record<string, string | undefined>>;

/** DEN_HOME, or ~/.den. Kept short because unix socket paths inside it are length-limited. */
export function denHome(env: DirsEnv = process.env): string {
  if (env.DEN_HOME) return resolve(env.DEN_HOME);
  return join(env.HOME || homedir(), ".den");
}

export function configDir(home: string): string {
  return join(home, ConfigDir);
}

export function userTemplatesDir(home: string): string {
  return join(home, TemplatesDir);
}

export function instanceDir(home: string, name: string): string {
  return join(home, name);
}

/** Folders starting with `_` or `.` hold den's own state (or a half-made instance), never an instance. */
export function isInstanceFolderName(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".");
}

/** Mode of every folder den makes under DEN_HOME: they hold keys, sockets and the agent the guest runs as root. */
export const PrivateDirMode = 0o700;

/**
 * Makes `path` and its missing parents folders only the user can open, and tightens `path` itself when it exists
 * (a den folder made by an older den under `umask 000` was 0777). The mode is set with chmod, so no umask decides
 * it; parents that existed before are left as they are, since DEN_HOME may be a folder the user made on purpose.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  const target = resolve(path);
  try {
    const firstCreated = await mkdir(target, { recursive: true, mode: PrivateDirMode });
    const created = [target];
    if (firstCreated !== undefined) {
      for (let dir = dirname(target); dir.length >= firstCreated.length && dir !== dirname(dir); dir = dirname(dir)) created.push(dir);
    }
    for (const dir of created) await chmod(dir, PrivateDirMode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new DenError("IO", `Cannot make the private folder "${path}": ${code}`, {
      cause: error,
      hint: "den keeps its state in folders only you can open: check that DEN_HOME is yours and writable",
    });
  }
}
