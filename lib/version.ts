// den's version: the package.json version plus the git commit it was built from.
import packageJson from "../package.json" with { type: "json" };

// Set by scripts/build.ts through `bun build --define`; absent when running from source.
declare const DEN_BUILD_COMMIT: string | undefined;

export const version: string = packageJson.version;

/** Whether this den is a build (scripts/build.ts) rather than the source run with bun. */
export function isBuild(): boolean {
  return typeof DEN_BUILD_COMMIT === "string" && DEN_BUILD_COMMIT !== "";
}

/** The commit den was built from, or the checkout's HEAD when run from source ("unknown" outside git). */
export function buildCommit(): string {
  if (isBuild()) return DEN_BUILD_COMMIT as string;
  try {
    const result = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], {
      cwd: import.meta.dir,
      stdout: "pipe",
      stderr: "ignore",
    });
    const commit = result.success ? result.stdout.toString().trim() : "";
    return commit === "" ? "unknown" : commit;
  } catch {
    // A binary built without the define runs from a virtual folder that git (or spawn itself) cannot use.
    return "unknown";
  }
}

/** `den version 0.1.0 (commit abc123)` */
export function versionLine(): string {
  return `den version ${version} (commit ${buildCommit()})`;
}
