import { expect, test } from "bun:test";
import { cacheEntry, cacheKey, digestFile, isPartialFileName } from "../../../lib/images/cache-layout.ts";

test.each([
  // sha256 of the URL bytes exactly as written, as Lima keys its cache.
  { url: "https://example.org/a.img", want: "f582e00951cb4791e0a0e031f8bd2ebf2f81447afe2f5d85b7084f5b771d59dc" },
  { url: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
])("cacheKey() of $url is the hex sha256 of the URL", ({ url, want }) => {
  expect(cacheKey(url)).toBe(want);
});

test("cacheEntry() lays out an entry as Lima does, with den's partial files beside data", () => {
  const key = cacheKey("https://example.org/a.img");
  const dir = `/c/download/by-url-sha256/${key}`;
  const entry = cacheEntry("/c", "https://example.org/a.img");
  expect(entry).toEqual({
    dir,
    url: `${dir}/url`,
    data: `${dir}/data`,
    time: `${dir}/time`,
    type: `${dir}/type`,
    etag: `${dir}/etag`,
    partial: `${dir}/data.part`,
    partialInfo: `${dir}/data.part.json`,
  });
  expect(digestFile(entry, "sha512")).toBe(`${dir}/sha512.digest`);
});

test.each([
  { name: "data.part", want: true },
  { name: "data.part.json", want: true },
  { name: "data.tmp.1234.5", want: true },
  { name: "time.4242.tmp", want: true },
  { name: "den.lock.4242.abcd1234.tmp", want: false },
  { name: "den.lock", want: false },
  { name: "data", want: false },
  { name: "sha256.digest", want: false },
  { name: "url", want: false },
])("isPartialFileName($name) is $want", ({ name, want }) => {
  expect(isPartialFileName(name)).toBe(want);
});
