import { describe, expect, test } from "bun:test";
import { mountInotifyWarnings } from "../../../../lib/mounts/inotify/mount-inotify-warnings.ts";

type Config = Parameters<typeof mountInotifyWarnings>[0];

function config(mountType: Config["mountType"], mountInotify: boolean, caches: string[]): Config {
  return {
    mountType,
    mountInotify,
    mounts: caches.map((cache, i) => ({ mountPoint: `/m${i}`, "9p": { cache } })) as unknown as Config["mounts"],
  };
}

describe("mountInotifyWarnings", () => {
  test.each<{ name: string; input: Config; want: string | undefined }>([
    { name: "9p with a writable (cache=mmap) mount warns", input: config("9p", true, ["mmap", "fscache"]), want: 'subfolders of "/m0" wake no watcher' },
    { name: "9p with cache=none warns", input: config("9p", true, ["none"]), want: "use mountType virtiofs or reverse-sshfs" },
    { name: "9p with only cached (read-only) mounts", input: config("9p", true, ["fscache", "loose"]), want: undefined },
    { name: "9p without mountInotify", input: config("9p", false, ["mmap"]), want: undefined },
    { name: "virtiofs", input: config("virtiofs", true, ["mmap"]), want: undefined },
    { name: "reverse-sshfs", input: config("reverse-sshfs", true, ["mmap"]), want: undefined },
  ])("mountInotifyWarnings() for $name", ({ input, want }) => {
    const warnings = mountInotifyWarnings(input);
    if (want === undefined) expect(warnings).toEqual([]);
    else expect(warnings).toEqual([expect.stringContaining(want)]);
  });

  test("mountInotifyWarnings() names every affected mount on one line", () => {
    const warnings = mountInotifyWarnings(config("9p", true, ["mmap", "mmap"]));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"/m0", "/m1"');
    expect(warnings[0]).not.toContain("\n");
  });
});
