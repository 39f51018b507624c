import { describe, expect, test } from "bun:test";
import { caughtDenError } from "../../support/caught-den-error.ts";
import { formatSize, parseSize } from "../../../lib/config/units.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe("parseSize()", () => {
  test.each([
    { text: "4G", want: 4 * GiB },
    { text: "4GB", want: 4 * GiB },
    { text: "4GiB", want: 4 * GiB },
    { text: "4g", want: 4 * GiB },
    { text: "4gib", want: 4 * GiB },
    { text: "4 GiB", want: 4 * GiB },
    { text: "100GiB", want: 100 * GiB },
    { text: "512M", want: 512 * MiB },
    { text: "128KiB", want: 128 * KiB },
    { text: "1.5GiB", want: 1.5 * GiB },
    { text: "0.5k", want: 512 },
    { text: "2T", want: 2 * TiB },
    { text: "1P", want: 2 ** 50 },
    { text: "1073741824", want: GiB },
    { text: "10b", want: 10 },
    { text: "10.7", want: 10 },
  ])("parseSize() reads $text as $want bytes", ({ text, want }) => {
    expect(parseSize(text)).toBe(want);
  });

  test.each([
    { text: "4XB", message: 'Cannot parse size "4XB": unknown unit' },
    { text: "4 G B", message: 'Cannot parse size "4 G B": unknown unit' },
    { text: "", message: 'Cannot parse size "": not a number' },
    { text: "GiB", message: 'Cannot parse size "GiB": not a number' },
    { text: "-1G", message: 'Cannot parse size "-1G": a size cannot be negative' },
    { text: " 4G", message: 'Cannot parse size " 4G": not a number' },
  ])("parseSize() rejects $text with a message naming the value", ({ text, message }) => {
    const error = caughtDenError(() => parseSize(text));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toBe(message);
    expect(error.hint).toContain("4GiB");
  });
});

describe("formatSize()", () => {
  test.each([
    { bytes: 0, want: "0B" },
    { bytes: 1, want: "1B" },
    { bytes: 1023, want: "1023B" },
    { bytes: 1024, want: "1KiB" },
    { bytes: 1536, want: "1.5KiB" },
    { bytes: 128 * KiB, want: "128KiB" },
    { bytes: MiB, want: "1MiB" },
    { bytes: 4 * GiB, want: "4GiB" },
    { bytes: 100 * GiB, want: "100GiB" },
    { bytes: 3.75 * GiB, want: "3.75GiB" },
    { bytes: 8 * GiB - 1, want: "8GiB" },
    { bytes: 1234567, want: "1.177MiB" },
    { bytes: 2 * TiB, want: "2TiB" },
  ])("formatSize($bytes) is $want", ({ bytes, want }) => {
    expect(formatSize(bytes)).toBe(want);
  });

  test("formatSize() and parseSize() round-trip whole binary sizes", () => {
    for (const bytes of [KiB, 3 * MiB, 4 * GiB, 100 * GiB]) expect(parseSize(formatSize(bytes))).toBe(bytes);
  });
});
