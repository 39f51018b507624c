// Where an `images[]` file comes from. Lima treats a location without "://" as a local path (with `~` expanded
// and relative paths taken from the working folder), `file://` as a local file, and http(s) as a download.
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DenError } from "../errors.ts";

export type ImageLocation = { kind: "local"; path: string } | { kind: "remote"; url: string };

export interface LocationContext {
  /** The host user's home folder, for `~` and `~/…`. */
  home: string;
  /** Base of relative paths. */
  cwd: string;
}

const SchemePattern = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** Classifies `location` and turns a local one into an absolute path; throws LOCATOR_INVALID for other schemes. */
export function parseImageLocation(location: string, ctx: LocationContext): ImageLocation {
  const scheme = SchemePattern.exec(location)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return { kind: "remote", url: location };
  if (scheme === "file") {
    try {
      return { kind: "local", path: fileURLToPath(location) };
    } catch (error) {
      throw new DenError("LOCATOR_INVALID", `Cannot use location "${location}": ${(error as Error).message}`, {
        hint: "write a file URL as file:///absolute/path",
        cause: error,
      });
    }
  }
  if (scheme !== undefined) {
    throw new DenError("LOCATOR_INVALID", `Cannot use location "${location}": unsupported scheme "${scheme}"`, {
      hint: "use a local path, a file:// URL, or an http(s) URL",
    });
  }
  if (location === "~") return { kind: "local", path: ctx.home };
  if (location.startsWith("~/")) return { kind: "local", path: join(ctx.home, location.slice(2)) };
  return { kind: "local", path: isAbsolute(location) ? location : resolve(ctx.cwd, location) };
}
