// How den runs itself again (for the detached host agent): the compiled binary is one file, while from source the
// entry script must be named after the Bun executable.
import { resolve } from "node:path";

/** argv prefix that starts this same den: `[den]` when compiled, `[bun, /path/main.ts]` from source. */
export function selfCommand(): string[] {
  // Modules of a compiled binary live in Bun's virtual filesystem (`/$bunfs/…`, `B:/~BUN/…` on Windows).
  const compiled = import.meta.dir.includes("$bunfs") || import.meta.dir.includes("~BUN");
  return compiled ? [process.execPath] : [process.execPath, resolve(import.meta.dir, "../../main.ts")];
}
