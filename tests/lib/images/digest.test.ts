import { expect, test } from "bun:test";
import { formatDigest, parseDigest } from "../../../lib/images/digest.ts";

const hex64 = "ab".repeat(32);
const hex128 = "cd".repeat(64);

test.each([
  { name: "a sha256 digest", text: `sha256:${hex64}`, want: { algorithm: "sha256", hex: hex64 } },
  { name: "a sha512 digest", text: `sha512:${hex128}`, want: { algorithm: "sha512", hex: hex128 } },
  { name: "upper-case hex as lower case", text: `sha256:${hex64.toUpperCase()}`, want: { algorithm: "sha256", hex: hex64 } },
])("parseDigest() reads $name", ({ text, want }) => {
  expect(parseDigest(text)).toEqual(want as ReturnType<typeof parseDigest>);
});

test.each([
  { name: "an unsupported algorithm", text: `md5:${"0".repeat(32)}`, message: 'unsupported algorithm "md5"' },
  { name: "a digest without an algorithm", text: hex64, message: 'unsupported algorithm ""' },
  { name: "a sha256 with too few digits", text: "sha256:abc", message: "expected 64 hex digits" },
  { name: "non-hex digits", text: `sha256:${"g".repeat(64)}`, message: "expected 64 hex digits" },
])("parseDigest() refuses $name", ({ text, message }) => {
  expect(() => parseDigest(text)).toThrow(message);
});

test("formatDigest() writes algorithm:hex", () => {
  expect(formatDigest({ algorithm: "sha256", hex: hex64 })).toBe(`sha256:${hex64}`);
});
