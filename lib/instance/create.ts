// `den create`: writes a new instance folder, all or nothing. The folder is assembled under a
// hidden name in DEN_HOME and renamed into place, so no half-written instance is ever visible.
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { InstanceFormatFile, LimaVersion, InstanceYaml } from "../store/filenames.ts";
import { instanceFormatText } from "../store/instance-format.ts";
import { version } from "../version.ts";

export interface CreateInstanceOptions {
  denHome: string;
  /** The final den.yaml text: bases embedded, edit flags applied. */
  yamlText: string;
  /**
   * Throws when the configuration is not valid for an instance at `dir`; runs before anything is written. May return
   * the text to write instead (e.g. with a setting den resolved pinned into it).
   */
  check: (yamlText: string, where: { name: string; dir: string; file: string }) => Promise<string | void>;
}

export async function createInstance(name: string, options: CreateInstanceOptions): Promise<{ dir: string }> {
  const dir = join(options.denHome, name);
  if (await isDirectory(dir)) {
    throw new DenError("INSTANCE_EXISTS", `Cannot create instance "${name}": it already exists in ${dir}`, {
      hint: `pick another --name, or delete it first with "den delete ${name}"`,
    });
  }
  const yamlText = (await options.check(options.yamlText, { name, dir, file: join(dir, InstanceYaml) })) ?? options.yamlText;

  await mkdir(options.denHome, { recursive: true, mode: 0o700 });
  const staging = join(options.denHome, `.create-${name}-${crypto.randomUUID()}`);
  try {
    await mkdir(staging, { mode: 0o700 });
    await writeFile(join(staging, InstanceYaml), yamlText, { mode: 0o644 });
    await writeFile(join(staging, LimaVersion), `${version}\n`, { mode: 0o444 });
    await writeFile(join(staging, InstanceFormatFile), instanceFormatText(), { mode: 0o644 });
    await renameIntoPlace(staging, dir, name);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir };
}

async function renameIntoPlace(staging: string, dir: string, name: string): Promise<void> {
  try {
    // rename() onto an existing empty folder would succeed on Linux: check for a racing create first.
    if (await isDirectory(dir)) throw Object.assign(new Error("exists"), { code: "EEXIST" });
    await rename(staging, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY") {
      throw new DenError("INSTANCE_EXISTS", `Cannot create instance "${name}": another den created it at the same time`, {
        hint: `see ${dir}`,
      });
    }
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
