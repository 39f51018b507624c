// How den runs itself again (for the detached host agent): the compiled binary is one file, while from source the
// entry script must be named after the Bun executable.
import { resolve } from "node:path";
import { runningCompiled } from "../process/running-compiled.ts";

/** argv prefix that starts this same den: `[den]` when compiled, `[bun, /path/main.ts]` from source. */
export function selfCommand(): string[] {
  const compiled = runningCompiled();
  return compiled ? [process.execPath] : [process.execPath, resolve(import.meta.dir, "../../main.ts")];
}
