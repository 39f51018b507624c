// Collects the host's raw file notifications between two sends. A save in an editor is a handful of notifications
// for one path within a millisecond, and `git checkout` is tens of thousands within a second; both must reach the
// guest as one entry per path, soon after the burst ends, and never as an unbounded stream.
//
// Pure: the caller passes the clock, so tests drive the timing.

/** What the platform's watcher said: "rename" (appeared, disappeared or moved) or "change" (contents/metadata). */
export type ChangeHint = "rename" | "change";

export interface PendingChange {
  /** Host path. */
  path: string;
  /** "rename" when any notification for the path in this batch was a rename: its existence may have changed. */
  hint: ChangeHint;
}

export interface CoalescerTiming {
  /** A batch is sent once no notification came for this long… */
  quietMs: number;
  /** …or this long after its first notification, however busy the folder stays. */
  maxDelayMs: number;
}

/** Send soon enough for the 200 ms host-write → guest-event budget, late enough to merge an editor's save. */
export const defaultCoalescerTiming: CoalescerTiming = { quietMs: 20, maxDelayMs: 100 };

export class FsChangeCoalescer {
  readonly #timing: CoalescerTiming;
  #pending = new Map<string, ChangeHint>();
  #firstAt = 0;
  #lastAt = 0;
  #holdUntil = 0;

  constructor(timing: CoalescerTiming = defaultCoalescerTiming) {
    this.#timing = timing;
  }

  get size(): number {
    return this.#pending.size;
  }

  add(path: string, hint: ChangeHint, now: number): void {
    if (this.#pending.size === 0) this.#firstAt = now;
    this.#lastAt = now;
    const known = this.#pending.get(path);
    // Re-inserting moves the path to the end: the batch lists paths in the order they last changed.
    this.#pending.delete(path);
    this.#pending.set(path, known === "rename" ? "rename" : hint);
  }

  /** When the current batch is due; undefined when nothing is pending. */
  dueAt(): number | undefined {
    if (this.#pending.size === 0) return undefined;
    return Math.max(this.#holdUntil, Math.min(this.#lastAt + this.#timing.quietMs, this.#firstAt + this.#timing.maxDelayMs));
  }

  /** Holds the next batch back until `time` (after a storm, so the guest can catch up and the batch grows). */
  holdUntil(time: number): void {
    this.#holdUntil = time;
  }

  /** Empties and returns the batch when it is due at `now`; an empty list otherwise. */
  takeDue(now: number): PendingChange[] {
    const due = this.dueAt();
    if (due === undefined || now < due) return [];
    return this.takeAll();
  }

  /** Empties and returns the batch regardless of timing. */
  takeAll(): PendingChange[] {
    const batch = [...this.#pending].map(([path, hint]) => ({ path, hint }));
    this.#pending = new Map();
    return batch;
  }
}
