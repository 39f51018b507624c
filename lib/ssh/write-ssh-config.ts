// Writes `<instance>/ssh.config`. Editors (VS Code Remote-SSH) and `den list` read it while den may be
// rewriting it, so it is replaced in one rename and never seen half-written.
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { DenError } from "../errors.ts";
import { SshConfig } from "../store/filenames.ts";
import { renderSshConfig, type SshOption } from "./ssh-options.ts";

/** Writes the instance's `ssh.config` (mode 0600, `Host den-<folder name>`) and returns its path. */
export async function writeSshConfig(instanceDir: string, options: readonly SshOption[]): Promise<string> {
  const path = join(instanceDir, SshConfig);
  const text = renderSshConfig(basename(instanceDir), options);
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: "wx" });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new DenError("IO", `Cannot write "${path}": ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${instanceDir} exists and is writable`,
    });
  }
  return path;
}
