// `den factory-reset NAME`: back to the image, keeping the configuration, as `limactl factory-reset` does. Everything
// den made in the instance folder goes (disk, image copy, cidata, logs, ssh.config, firmware variables); what the user
// wrote or what identifies the folder stays (den.yaml and any other YAML file, den.yaml.REJECTED, lima-version,
// den-format, vz-identifier). The next `den start` copies the image from the cache again and boots a fresh disk.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { CloudConfig, Disk, InstanceFormatFile, InstanceLockFile, InstanceYamlRejected, LimaVersion, Protected, VzIdentifierFile } from "../store/filenames.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import type { ProcessReader } from "../store/pid-file.ts";
import { requireStopped } from "./require-stopped.ts";

export interface FactoryResetOptions {
  logger?: Logger | undefined;
  readProcess?: ProcessReader | undefined;
}

const Kept: ReadonlySet<string> = new Set([LimaVersion, InstanceFormatFile, Protected, VzIdentifierFile, InstanceYamlRejected]);

/** Whether a top-level entry of the instance folder survives a factory reset. */
export function isKeptOnReset(name: string): boolean {
  if (Kept.has(name) || name.startsWith(InstanceLockFile)) return true;
  // den.yaml and whatever other YAML the user put there, as Lima keeps *.yaml; cloud-config.yaml is only generated.
  return /\.ya?ml$/.test(name) && name !== CloudConfig;
}

/** Factory-resets stopped instance `name`; returns the names of the entries removed. */
export async function factoryResetInstance(denHome: string, name: string, options: FactoryResetOptions = {}): Promise<{ removed: string[] }> {
  const dir = await existingInstanceDir(denHome, name, { action: "factory-reset" });
  if (await Bun.file(join(dir, Protected)).exists()) {
    throw new DenError("INSTANCE_PROTECTED", `Cannot factory-reset instance "${name}": it is protected`, { hint: `unprotect it first: den unprotect ${name}` });
  }
  await using _lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: "den factory-reset" });
  await requireStopped(denHome, name, { dir, action: "factory-reset", readProcess: options.readProcess, logger: options.logger });
  const removed = (await readdir(dir)).filter((entry) => !isKeptOnReset(entry)).sort();
  // The disk first: should the reset be cut short, a start makes a new disk from what is left, never boots an
  // overlay whose image was already removed.
  const ordered = [...removed.filter((entry) => entry === Disk), ...removed.filter((entry) => entry !== Disk)];
  for (const entry of ordered) {
    options.logger?.debug(`Removing "${join(dir, entry)}"`);
    await rm(join(dir, entry), { recursive: true, force: true });
  }
  return { removed };
}
