// Where den keeps its state. DEN_HOME (default ~/.den) holds one folder per instance.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
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
