import { expect, test } from "bun:test";
import { parseImageLocation } from "../../../lib/images/image-location.ts";

const ctx = { home: "/home/alice", cwd: "/work" };

test.each([
  { name: "an absolute path as it is", location: "/img/disk.qcow2", want: { kind: "local", path: "/img/disk.qcow2" } },
  { name: "~/ against the home folder", location: "~/images/a.img", want: { kind: "local", path: "/home/alice/images/a.img" } },
  { name: "a relative path against the working folder", location: "images/a.img", want: { kind: "local", path: "/work/images/a.img" } },
  { name: "a file:// URL as its path", location: "file:///img/disk%20one.qcow2", want: { kind: "local", path: "/img/disk one.qcow2" } },
  { name: "an https URL as remote", location: "https://example.org/a.img", want: { kind: "remote", url: "https://example.org/a.img" } },
  { name: "an http URL as remote", location: "HTTP://example.org/a.img", want: { kind: "remote", url: "HTTP://example.org/a.img" } },
])("parseImageLocation() takes $name", ({ location, want }) => {
  expect(parseImageLocation(location, ctx)).toEqual(want as ReturnType<typeof parseImageLocation>);
});

test.each([
  { name: "an unknown scheme", location: "oci://registry/image" },
  { name: "a file URL with a host", location: "file://server/share/a.img" },
])("parseImageLocation() refuses $name", ({ location }) => {
  expect(() => parseImageLocation(location, ctx)).toThrow(expect.objectContaining({ code: "LOCATOR_INVALID" }));
});
