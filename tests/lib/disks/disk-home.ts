// Shared by the disk tests: a temporary DEN_HOME with disks in _disks (small raw or qcow2 files written directly, no
// qemu-img) and instance folders, released with `await using`.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DiskHome extends AsyncDisposable {
  home: string;
  /** Makes `_disks/NAME/datadisk` (raw, `size` bytes of zeros) and returns the disk's folder. */
  disk(name: string, size?: number): string;
  /** Makes instance folder NAME and returns it. */
  instance(name: string): string;
  /** Points `_disks/NAME/in_use_by` at `target`. */
  lock(name: string, target: string): void;
}

export function makeDiskHome(): DiskHome {
  const home = mkdtempSync(join(tmpdir(), "den-disks-"));
  return {
    home,
    disk(name, size = 4096) {
      const dir = join(home, "_disks", name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "datadisk"), new Uint8Array(size));
      return dir;
    },
    instance(name) {
      const dir = join(home, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    lock(name, target) {
      symlinkSync(target, join(home, "_disks", name, "in_use_by"));
    },
    async [Symbol.asyncDispose]() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A logger that keeps what it was told. */
export function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    debug: (message: string) => void lines.push(`debug: ${message}`),
    info: (message: string) => void lines.push(`info: ${message}`),
    warn: (message: string) => void lines.push(`warn: ${message}`),
    error: (message: string) => void lines.push(`error: ${message}`),
  };
}
