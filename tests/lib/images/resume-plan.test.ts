import { expect, test } from "bun:test";
import { expectedTotalBytes, parseContentRange, resumeDecision, resumeHeaders } from "../../../lib/images/resume-plan.ts";

const url = "http://h/a";

test.each([
  { name: "nothing without a partial file", bytes: 0, info: { url, etag: '"e"' }, want: {} },
  { name: "nothing without a record of the response", bytes: 10, info: undefined, want: {} },
  { name: "nothing without a validator", bytes: 10, info: { url }, want: {} },
  { name: "a range with the strong ETag", bytes: 10, info: { url, etag: '"e"', lastModified: "Wed, 01 Jan 2025 00:00:00 GMT" }, want: { range: "bytes=10-", "if-range": '"e"' } },
  { name: "a range with Last-Modified when the ETag is weak", bytes: 5, info: { url, etag: 'W/"e"', lastModified: "Wed, 01 Jan 2025 00:00:00 GMT" }, want: { range: "bytes=5-", "if-range": "Wed, 01 Jan 2025 00:00:00 GMT" } },
  { name: "nothing when the only ETag is weak", bytes: 5, info: { url, etag: 'W/"e"' }, want: {} },
])("resumeHeaders() sends $name", ({ bytes, info, want }) => {
  expect(resumeHeaders(bytes, info)).toEqual(want as Record<string, string>);
});

test.each([
  { name: "appends a 206 that starts at the offset", offset: 100, status: 206, contentRange: "bytes 100-199/200", want: { kind: "append", offset: 100 } },
  { name: "replaces on a 200 to a range request (range refused or file changed)", offset: 100, status: 200, contentRange: null, want: { kind: "replace" } },
  { name: "replaces on a 200 to a plain request", offset: 0, status: 200, contentRange: null, want: { kind: "replace" } },
  { name: "refetches a 206 that starts elsewhere", offset: 100, status: 206, contentRange: "bytes 0-199/200", want: { kind: "refetch" } },
  { name: "refetches a 206 nobody asked for", offset: 0, status: 206, contentRange: "bytes 0-9/200", want: { kind: "refetch" } },
  { name: "refetches a 416 to a range request", offset: 300, status: 416, contentRange: "bytes */200", want: { kind: "refetch" } },
  { name: "fails on a 404", offset: 0, status: 404, contentRange: null, want: { kind: "fail", reason: "HTTP 404" } },
  { name: "fails on a 416 without a range", offset: 0, status: 416, contentRange: null, want: { kind: "fail", reason: "HTTP 416" } },
])("resumeDecision() $name", ({ offset, status, contentRange, want }) => {
  expect(resumeDecision(offset, { status, contentRange })).toMatchObject(want);
});

test.each([
  { header: "bytes 100-199/1000", want: { start: 100, end: 199, total: 1000 } },
  { header: "bytes 0-0/*", want: { start: 0, end: 0, total: undefined } },
  { header: "BYTES 5-9/10 ", want: { start: 5, end: 9, total: 10 } },
  { header: "bytes */1000", want: undefined },
  { header: null, want: undefined },
])("parseContentRange($header)", ({ header, want }) => {
  expect(parseContentRange(header)).toEqual(want);
});

test.each([
  { name: "Content-Length of a 200", status: 200, contentRange: null, contentLength: "1000", offset: 0, want: 1000 },
  { name: "nothing for a 200 without Content-Length", status: 200, contentRange: null, contentLength: null, offset: 0, want: undefined },
  { name: "the total of a 206's Content-Range", status: 206, contentRange: "bytes 100-999/1000", contentLength: "900", offset: 100, want: 1000 },
  { name: "offset plus length for a 206 of unknown total", status: 206, contentRange: "bytes 100-999/*", contentLength: "900", offset: 100, want: 1000 },
])("expectedTotalBytes() takes $name", ({ status, contentRange, contentLength, offset, want }) => {
  expect(expectedTotalBytes({ status, contentRange, contentLength }, offset)).toBe(want);
});
