// Keeps one batch of guest events small enough for the guest to apply quickly and for its watchers' inotify queues
// (16384 events by default; each touched path costs about three). When a batch has more paths than allowed, the
// folders with the most changed entries are reported instead of their entries: a watcher gets one event on the
// folder and rescans it, which is what it would have to do after a queue overflow anyway, minus the overflow.
import { posix } from "node:path";
import type { GuestFsEvent } from "../../../agent/protocol/messages.ts";

export interface CollapseOptions {
  maxEvents: number;
  /** Guest mount points: a collapse never reports a folder above the mount point its entries are in. */
  roots: readonly string[];
}

/**
 * Merges a batch down to at most `maxEvents` events, folding the busiest folders first (pure). Mount points are
 * never folded away, so a batch of more mount points than `maxEvents` stays longer than the limit.
 */
export function collapseToFolders(events: readonly GuestFsEvent[], options: CollapseOptions): GuestFsEvent[] {
  let current = dedupeByPath(events);
  while (current.length > options.maxEvents) {
    const groups = new Map<string, number>();
    for (const event of current) {
      const parent = parentWithinRoots(event.path, options.roots);
      if (parent !== undefined) groups.set(parent, (groups.get(parent) ?? 0) + 1);
    }
    const busiest = [...groups].filter(([, count]) => count > 1).sort((a, b) => b[1] - a[1]);
    const folded = new Set<string>();
    let length = current.length;
    for (const [folder, count] of busiest) {
      if (length <= options.maxEvents) break;
      folded.add(folder);
      // n entries become one folder event (or merge into one already in the batch).
      length -= count - 1;
    }
    // Every folder holds a single changed entry: fold all of them one level up.
    if (folded.size === 0) for (const folder of groups.keys()) folded.add(folder);
    // Nothing left to fold (every event is a mount point): better over the limit than an event lost.
    if (folded.size === 0) return current;
    current = dedupeByPath(
      current.map((event) => {
        const parent = parentWithinRoots(event.path, options.roots);
        return parent !== undefined && folded.has(parent) ? { path: parent, kind: "modify" } : event;
      }),
    );
  }
  return current;
}

// The last event for a path wins (a create then a delete is a delete), at the position of the first.
function dedupeByPath(events: readonly GuestFsEvent[]): GuestFsEvent[] {
  const byPath = new Map<string, GuestFsEvent>();
  for (const event of events) byPath.set(event.path, event);
  return [...byPath.values()];
}

function parentWithinRoots(path: string, roots: readonly string[]): string | undefined {
  const parent = posix.dirname(path);
  if (parent === path) return undefined;
  const inside = roots.some((root) => parent === root || parent.startsWith(root === "/" ? "/" : `${root}/`));
  return inside ? parent : undefined;
}
