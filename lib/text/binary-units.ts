/** Binary (IEC) units, as Lima and den print sizes. */
export const BinaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"] as const;
export type BinaryUnit = (typeof BinaryUnits)[number];

/** `bytes` divided by 1024 until it is below 1024 or counted in `largest`, and the unit it is then counted in. */
export function inBinaryUnits(bytes: number, largest: BinaryUnit = "YiB"): { value: number; unit: BinaryUnit } {
  const last = BinaryUnits.indexOf(largest);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < last) {
    value /= 1024;
    unit++;
  }
  return { value, unit: BinaryUnits[unit] as BinaryUnit };
}
