// Remembers what each recently reported file looked like, so a notification that changed nothing a guest watcher
// could care about is not sent. Above all this breaks the echo loop: the guest makes its events by re-setting a
// file's own mtime or mode, the host sees that as a metadata change of the file, and without this check would send
// it straight back.

/** mtime (ns), size, mode and inode: what a real change of contents, type or permissions alters; ctime is left out
 * because the guest's own touch changes it. */
export interface FileFingerprint {
  mtimeNs: bigint;
  size: bigint;
  mode: bigint;
  ino: bigint;
}

export class ChangeFingerprints {
  readonly #limit: number;
  #entries = new Map<string, string>();

  /** `limit`: paths remembered; the least recently reported are forgotten first. */
  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  /** Records the fingerprint; true when the path was already known with exactly this one. */
  same(path: string, fingerprint: FileFingerprint): boolean {
    const key = `${fingerprint.mtimeNs}:${fingerprint.size}:${fingerprint.mode}:${fingerprint.ino}`;
    const known = this.#entries.get(path);
    this.#entries.delete(path);
    this.#entries.set(path, key);
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return known === key;
  }

  forget(path: string): void {
    this.#entries.delete(path);
  }
}
