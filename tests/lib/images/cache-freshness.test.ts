import { expect, test } from "bun:test";
import { conditionalHeaders, isCacheFresh } from "../../../lib/images/cache-freshness.ts";

const jan1 = "Wed, 01 Jan 2025 00:00:00 GMT";
const jan2 = "Thu, 02 Jan 2025 00:00:00 GMT";

test.each([
  { name: "equal ETags", stored: { etag: '"a"' }, remote: { etag: '"a"' }, want: true },
  { name: "a weak and a strong form of one ETag", stored: { etag: '"a"' }, remote: { etag: 'W/"a"' }, want: true },
  { name: "different ETags even with equal dates", stored: { etag: '"a"', lastModified: jan1 }, remote: { etag: '"b"', lastModified: jan1 }, want: false },
  { name: "equal Last-Modified dates", stored: { lastModified: jan1 }, remote: { lastModified: "Wed, 01 Jan 2025 00:00:00 +0000" }, want: true },
  { name: "different Last-Modified dates", stored: { lastModified: jan1 }, remote: { lastModified: jan2 }, want: false },
  { name: "nothing to compare", stored: {}, remote: { etag: '"a"' }, want: false },
])("isCacheFresh() with $name is $want", ({ stored, remote, want }) => {
  expect(isCacheFresh(stored, remote)).toBe(want);
});

test.each([
  { name: "both validators", stored: { etag: '"a"', lastModified: jan1 }, want: { "if-none-match": '"a"', "if-modified-since": jan1 } },
  { name: "only a date", stored: { lastModified: jan1 }, want: { "if-modified-since": jan1 } },
  { name: "nothing", stored: {}, want: {} },
])("conditionalHeaders() sends $name", ({ stored, want }) => {
  expect(conditionalHeaders(stored)).toEqual(want as Record<string, string>);
});
