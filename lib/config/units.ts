// Size strings as Lima reads and prints them (docker/go-units `RAMInBytes` and `BytesSize`).
// Every suffix is binary: `4G`, `4GB`, `4GiB` and `4g` all mean 4 × 2^30, so a lima.yaml keeps the
// exact size it had under Lima.
import { DenError, excerpt } from "../errors.ts";
import { inBinaryUnits } from "../text/binary-units.ts";

const SizeHint = 'write a number of bytes with an optional unit, e.g. "4GiB", "512MiB" or "100G"';

/** Multipliers by the unit's first letter; `b`/absent means bytes. */
const Multipliers: Record<string, number> = {
  "": 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

const SizePattern = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const NumberPrefix = /^\d+(?:\.\d+)?/;

/** Bytes in a size string such as `4GiB`, `4G`, `1.5g` or `1073741824`; fractions of a byte are dropped. */
export function parseSize(text: string): number {
  const match = SizePattern.exec(text);
  if (!match) {
    const reason = NumberPrefix.test(text) ? "unknown unit" : /^-\d/.test(text) ? "a size cannot be negative" : "not a number";
    throw new DenError("CONFIG_INVALID", `Cannot parse size "${excerpt(text, 40)}": ${reason}`, { hint: SizeHint });
  }
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  return Math.trunc(amount * (Multipliers[unit] ?? 1));
}

/** A byte count as Lima prints it: four significant digits and a binary unit, e.g. `4GiB`, `1.5MiB`, `1023B`. */
export function formatSize(bytes: number): string {
  const { value, unit } = inBinaryUnits(bytes);
  return `${formatG4(value)}${unit}`;
}

/** Go's `%.4g`: four significant digits, no trailing zeros, exponent form only when the number needs it. */
function formatG4(value: number): string {
  if (value === 0) return "0";
  const exact = value.toPrecision(4);
  const exponent = Number(Number(exact).toExponential().split("e")[1]);
  if (exponent < -4 || exponent >= 4) {
    const [mantissa = "", power = "0"] = Number(exact).toExponential(3).split("e");
    const sign = power.startsWith("-") ? "-" : "+";
    const digits = power.replace(/^[+-]/, "").padStart(2, "0");
    return `${stripZeros(mantissa)}e${sign}${digits}`;
  }
  return stripZeros(Number(exact).toFixed(Math.max(0, 3 - exponent)));
}

function stripZeros(text: string): string {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}
