import { expect, test } from "bun:test";
import { guestPathsFor } from "../../../../lib/mounts/inotify/guest-paths-for.ts";

const mounts = [
  { hostRoot: "/Users/ann", mountPoint: "/Users/ann" },
  { hostRoot: "/Users/ann/work", mountPoint: "/work" },
  { hostRoot: "/tmp/den/", mountPoint: "/tmp/den" },
  { hostRoot: "/", mountPoint: "/host" },
];

test.each<{ hostPath: string; expected: string[] }>([
  { hostPath: "/Users/ann/notes.txt", expected: ["/Users/ann/notes.txt", "/host/Users/ann/notes.txt"] },
  { hostPath: "/Users/ann/work/src/a b/ü.ts", expected: ["/Users/ann/work/src/a b/ü.ts", "/work/src/a b/ü.ts", "/host/Users/ann/work/src/a b/ü.ts"] },
  { hostPath: "/Users/ann/work", expected: ["/Users/ann/work", "/work", "/host/Users/ann/work"] },
  { hostPath: "/tmp/den/x", expected: ["/tmp/den/x", "/host/tmp/den/x"] },
  { hostPath: "/tmp/denx", expected: ["/host/tmp/denx"] },
  { hostPath: "/Users/annie/x", expected: ["/host/Users/annie/x"] },
])("guestPathsFor() maps $hostPath to every mount containing it", ({ hostPath, expected }) => {
  expect(guestPathsFor(hostPath, mounts)).toEqual(expected);
});

test("guestPathsFor() returns nothing for a path outside every mount", () => {
  expect(guestPathsFor("/etc/passwd", mounts.slice(0, 3))).toEqual([]);
});
