// Where den keeps downloaded images: the platform's per-user cache folder, as Lima uses os.UserCacheDir()/lima.
// DEN_CACHE_DIR replaces it outright, so tests and CI never fill the user's real cache.
import { isAbsolute, join, resolve } from "node:path";

export interface CacheDirContext {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** The user's home folder. */
  home: string;
}

/** `DEN_CACHE_DIR`, else `~/Library/Caches/den` (macOS), `%LocalAppData%\den` (Windows), `$XDG_CACHE_HOME/den` or `~/.cache/den`. */
export function denCacheDir(ctx: CacheDirContext): string {
  const { env, platform, home } = ctx;
  if (env.DEN_CACHE_DIR) return resolve(env.DEN_CACHE_DIR);
  if (platform === "darwin") return join(home, "Library", "Caches", "den");
  if (platform === "win32" && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, "den");
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "den");
  return join(home, ".cache", "den");
}
