// Where plugins are looked for, in Lima's order: the folder of den's own executable (and of its real file when that
// is a symbolic link), then every PATH entry, then PREFIX/libexec/den (Lima: PREFIX/libexec/lima), where packages
// install plugins that need not be on PATH.
import { realpathSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { runningCompiled } from "../process/running-compiled.ts";

export interface PluginDirsContext {
  /** PATH as den was started with. */
  path: string | undefined;
  /** den's own executable: the compiled binary, or main.ts when den runs from source (package.json's `bin`). */
  selfPath: string;
  /** The real file behind `selfPath`, when it is reached through a symbolic link. */
  realSelfPath?: string | undefined;
}

/** The folders searched for `den-NAME`, first match wins; duplicates are dropped (a folder is read once). */
export function pluginDirs(ctx: PluginDirsContext): string[] {
  const selfDirs = [dirname(ctx.selfPath), ...(ctx.realSelfPath === undefined ? [] : [dirname(ctx.realSelfPath)])];
  const pathDirs = (ctx.path ?? "").split(delimiter).filter((dir) => dir !== "");
  const libexec = join(dirname(dirname(ctx.realSelfPath ?? ctx.selfPath)), "libexec", "den");
  return [...new Set([...selfDirs, ...pathDirs, libexec].map((dir) => resolve(dir)))];
}

/**
 * den's own executable, as pluginDirs wants it: the compiled binary, or from source main.ts (its shebang runs it with
 * bun). The same rule as lib/instance/self-command.ts, kept here so that main.ts, which lists plugins in its help,
 * loads nothing of lib/instance at start.
 */
export function denSelfPath(): { selfPath: string; realSelfPath?: string } {
  const compiled = runningCompiled();
  const selfPath = compiled ? process.execPath : resolve(import.meta.dir, "../../main.ts");
  try {
    const real = realpathSync(selfPath);
    return real === selfPath ? { selfPath } : { selfPath, realSelfPath: real };
  } catch {
    return { selfPath };
  }
}

/** The plugin folders of this process: PATH from its environment, den's own folder from how it was started. */
export function processPluginDirs(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return pluginDirs({ path: env.PATH, ...denSelfPath() });
}
