// Whether this den is a compiled binary (`bun build --compile`) or the source run by bun: from it follow how den runs
// itself again and which file counts as den's own executable.

/** True in a compiled binary, whose modules live in Bun's virtual filesystem (`/$bunfs/…`, `B:/~BUN/…` on Windows). */
export function runningCompiled(moduleDir: string = import.meta.dir): boolean {
  return moduleDir.includes("$bunfs") || moduleDir.includes("~BUN");
}
