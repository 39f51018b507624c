// Whether any process of an instance is alive, decided from its PID files alone. `den clone`, `rename`,
// `factory-reset` and `edit` must work on an instance whose den.yaml does not load (fixing or resetting it is the point),
// and inspectInstance() reports such an instance as Broken although nothing of it runs.
import { join } from "node:path";
import { VmTypes } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { inspectInstance } from "../status/inspect.ts";
import { driverPidFile, HostAgentPid } from "../store/filenames.ts";
import { driverOwner, hostAgentOwner, type ProcessReader, readOwnedPid } from "../store/pid-file.ts";

export interface ActivityOptions {
  /** How process command lines and start times are read before a PID is trusted; the host's by default. */
  readProcess?: ProcessReader | undefined;
  logger?: Logger | undefined;
}

/** The status to show for an instance some process of which is alive, e.g. "Running", "Paused" or "Broken". */
export async function activeStatus(denHome: string, name: string, dir: string, options: ActivityOptions = {}): Promise<string | undefined> {
  const owned = [readOwnedPid(join(dir, HostAgentPid), { expect: hostAgentOwner(name), readProcess: options.readProcess })];
  // Only the driver PID files den writes: readOwnedPid removes a file it does not trust, and any other *.pid is not ours to judge.
  for (const vmType of VmTypes) {
    const path = join(dir, driverPidFile(vmType));
    owned.push(readOwnedPid(path, { expect: driverOwner(path), readProcess: options.readProcess }));
  }
  const live = (await Promise.all(owned)).filter((found) => found.pid !== undefined);
  if (live.length === 0) return undefined;
  const info = await inspectInstance(denHome, name, { logger: options.logger, readProcess: options.readProcess });
  // A live process with a den.yaml that no longer loads still is not Stopped.
  return info.status === "Stopped" ? "Running" : info.status;
}

/** Throws DenError("INSTANCE_STATE") unless no process of the instance is alive. */
export async function requireStopped(denHome: string, name: string, options: ActivityOptions & { dir: string; action: string }): Promise<void> {
  const status = await activeStatus(denHome, name, options.dir, options);
  if (status === undefined) return;
  throw new DenError("INSTANCE_STATE", `Cannot ${options.action} instance "${name}": it is ${status}`, {
    hint: status === "Broken" ? `stop what is left of it first: den stop -f ${name}` : `stop it first: den stop ${name}`,
  });
}
