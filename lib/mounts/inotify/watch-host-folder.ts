// The host side's eyes: a recursive watch of one shared folder with the runtime's own watcher (inotify on Linux,
// where Bun adds a watch per folder and follows new ones; FSEvents on macOS). Measured against a hand-rolled
// inotify walk it reports the same paths, picks up new folders, and costs nothing to maintain here.
import { watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { ChangeHint } from "./fs-change-coalescer.ts";

export interface HostFolderWatch {
  close(): void;
}

export interface WatchHostFolderOptions {
  /** The watch failed (e.g. ENOSPC: the inotify watch limit) or the folder went away; the watch has stopped. */
  onError(error: Error): void;
}

/** Watches `root` recursively and calls `onChange` with the absolute host path of every notification. */
export function watchHostFolder(root: string, onChange: (path: string, hint: ChangeHint) => void, options: WatchHostFolderOptions): HostFolderWatch {
  let watcher: FSWatcher | undefined = watch(root, { recursive: true, persistent: false }, (eventType, filename) => {
    const name = filename === null ? "" : filename.toString();
    onChange(name === "" ? root : join(root, name), eventType === "rename" ? "rename" : "change");
  });
  watcher.on("error", (error: Error) => {
    close();
    options.onError(error);
  });
  function close(): void {
    watcher?.close();
    watcher = undefined;
  }
  return { close };
}
