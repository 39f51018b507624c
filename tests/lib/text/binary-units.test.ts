import { expect, test } from "bun:test";
import { inBinaryUnits } from "../../../lib/text/binary-units.ts";

test.each([
  { name: "a count below 1024 in bytes", bytes: 1023, largest: undefined, want: { value: 1023, unit: "B" } },
  { name: "1024 bytes as one KiB", bytes: 1024, largest: undefined, want: { value: 1, unit: "KiB" } },
  { name: "a fraction of a MiB", bytes: 1.5 * 1024 ** 2, largest: undefined, want: { value: 1.5, unit: "MiB" } },
  { name: "a PiB in TiB when TiB is the largest unit", bytes: 1024 ** 5, largest: "TiB" as const, want: { value: 1024, unit: "TiB" } },
])("inBinaryUnits() counts $name", ({ bytes, largest, want }) => {
  expect(inBinaryUnits(bytes, largest)).toEqual(want);
});
