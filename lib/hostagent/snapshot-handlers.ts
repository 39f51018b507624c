// The host agent's side of `den snapshot` for a running VM: the driver's SnapshotManager behind the snapshot routes of
// ha.sock. QEMU's HMP savevm/loadvm go through the QMP socket the host agent owns, so the CLI never opens it itself.
import type { Driver } from "../../drivers/driver.ts";
import { DenError } from "../errors.ts";
import type { SnapshotHandlers } from "./api-server.ts";

export interface SnapshotHooks {
  /**
   * Runs once a snapshot is applied to the running VM: the guest is back in the moment it was taken, so every
   * connection opened since (den's SSH master above all) points at a TCP session the guest no longer knows and would
   * hang its next user.
   */
  afterApply?: () => Promise<void>;
}

/**
 * The snapshot handlers for the driver `current()` returns once its VM has started (undefined before). One request
 * runs at a time: a savevm holds the monitor for as long as it writes the guest's memory, and a second one queued
 * behind it in QEMU would only time out.
 */
export function snapshotHandlers(current: () => Driver | undefined, hooks: SnapshotHooks = {}): SnapshotHandlers {
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  };
  const manager = () => {
    const driver = current();
    if (!driver) throw new DenError("USAGE", "Cannot snapshot: the VM has not started yet");
    if (!driver.snapshots) {
      throw new DenError("SNAPSHOT_UNSUPPORTED", `Cannot snapshot: vmType "${driver.info().name}" has no snapshots`, { hint: "snapshots need vmType: qemu" });
    }
    return driver.snapshots;
  };
  return {
    run: (action, tag) =>
      serialized(async () => {
        await manager()[action](tag);
        if (action === "apply") await hooks.afterApply?.();
      }),
    list: () => serialized(() => manager().list()),
  };
}
