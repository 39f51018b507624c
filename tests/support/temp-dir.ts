// Temporary folders for tests, removed once the test run is over, however it ends.
//
// `bun test` runs every file in one process and never emits `process.on("exit")` there, and a hook registered by a
// shared module belongs to whichever file imported it first. So the removal is left to a small reaper: this same
// module run as a child, which is told each folder on its stdin and removes them all when that pipe closes, that is
// when the test process is gone (passed, failed, crashed or killed), together with the tests' children that only
// it waited for.
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Reaper = Bun.Subprocess<"pipe", "ignore", "ignore">;
let reaper: Reaper | undefined;

/** A fresh folder `<tmpdir>/<prefix>XXXXXX`, removed after the test run even if a test took its write bits away. */
export async function makeTempDir(prefix: string): Promise<string> {
  return track(await mkdtemp(join(tmpdir(), prefix)));
}

/** `makeTempDir` for a test file's top level, where the folder is needed before any hook runs. */
export function makeTempDirSync(prefix: string): string {
  return track(mkdtempSync(join(tmpdir(), prefix)));
}

function track(dir: string): string {
  reaper ??= startReaper();
  reaper.stdin.write(`${dir}\n`);
  // Written now, not at the next tick: a test run killed right after this line still gets the folder removed.
  reaper.stdin.flush();
  return dir;
}

function startReaper(): Reaper {
  // Its own session, so that a Ctrl-C meant for the test run does not stop it before it has done its work.
  const child = Bun.spawn([process.execPath, import.meta.path], { stdin: "pipe", stdout: "ignore", stderr: "ignore", detached: true });
  child.unref();
  return child;
}

/** Removes `path` and everything in it, giving back the owner's rights to folders a test made read-only. */
function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    grantOwnerAccess(path);
    rmSync(path, { recursive: true, force: true });
  }
}

function grantOwnerAccess(path: string): void {
  let mode: number;
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory()) return;
    mode = stat.mode;
  } catch {
    return;
  }
  chmodSync(path, (mode & 0o7777) | 0o700);
  for (const name of readdirSync(path)) grantOwnerAccess(join(path, name));
}

async function reap(): Promise<void> {
  const listed = await new Response(Bun.stdin.stream()).text();
  for (const dir of new Set(listed.split("\n").filter(Boolean))) {
    try {
      removeTree(dir);
    } catch {
      // Nobody is left to tell: the next folder is still worth removing.
    }
  }
}

if (import.meta.main) await reap();
