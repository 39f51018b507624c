// Turns a batch of raw notifications into events: the file is looked at once, when the batch is sent, so a path
// created and deleted within the batch is reported by what is there now, not by the history of the burst.
import type { ChangeFingerprints, FileFingerprint } from "./change-fingerprints.ts";
import type { PendingChange } from "./fs-change-coalescer.ts";

export interface HostChange {
  /** Host path. */
  path: string;
  kind: "modify" | "create" | "delete";
}

export interface ClassifyContext {
  /** lstat with bigint times; undefined when the path does not exist (or cannot be seen). */
  stat(path: string): Promise<FileFingerprint | undefined>;
  fingerprints: ChangeFingerprints;
}

/** Classifies each pending change and drops those that changed nothing a guest watcher could see. */
export async function classifyChanges(batch: readonly PendingChange[], ctx: ClassifyContext): Promise<HostChange[]> {
  const stats = await Promise.all(batch.map((change) => ctx.stat(change.path)));
  const changes: HostChange[] = [];
  batch.forEach((change, index) => {
    const fingerprint = stats[index];
    if (fingerprint === undefined) {
      ctx.fingerprints.forget(change.path);
      changes.push({ path: change.path, kind: "delete" });
      return;
    }
    const unchanged = ctx.fingerprints.same(change.path, fingerprint);
    if (change.hint === "rename") changes.push({ path: change.path, kind: unchanged ? "modify" : "create" });
    else if (!unchanged) changes.push({ path: change.path, kind: "modify" });
  });
  return changes;
}
