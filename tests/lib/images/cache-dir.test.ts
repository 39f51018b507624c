import { expect, test } from "bun:test";
import { denCacheDir } from "../../../lib/images/cache-dir.ts";

test.each([
  { name: "DEN_CACHE_DIR over everything", platform: "darwin", env: { DEN_CACHE_DIR: "/tmp/c", XDG_CACHE_HOME: "/x" }, want: "/tmp/c" },
  { name: "~/Library/Caches/den on macOS", platform: "darwin", env: { XDG_CACHE_HOME: "/x" }, want: "/Users/a/Library/Caches/den" },
  { name: "$XDG_CACHE_HOME/den on Linux", platform: "linux", env: { XDG_CACHE_HOME: "/var/cache/a" }, want: "/var/cache/a/den" },
  { name: "~/.cache/den on Linux without XDG_CACHE_HOME", platform: "linux", env: {}, want: "/Users/a/.cache/den" },
  { name: "~/.cache/den when XDG_CACHE_HOME is relative (the spec says ignore it)", platform: "linux", env: { XDG_CACHE_HOME: "cache" }, want: "/Users/a/.cache/den" },
  { name: "%LocalAppData%\\den on Windows", platform: "win32", env: { LOCALAPPDATA: "/appdata" }, want: "/appdata/den" },
] as const)("denCacheDir() uses $name", ({ platform, env, want }) => {
  expect(denCacheDir({ env, platform, home: "/Users/a" })).toBe(want);
});
