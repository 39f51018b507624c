// Go-style durations for flags such as `--timeout 10m0s` (Lima's spelling), also plain seconds.
import { DenError, excerpt } from "../errors.ts";

const UnitMs: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `10m`, `1m30s`, `90s`, `1h`, `250ms`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, flag = "--timeout"): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== trimmed) {
    throw new DenError("USAGE", `Cannot parse ${flag} "${excerpt(text)}": not a duration`, { hint: 'write it like "10m", "1m30s" or "90s"' });
  }
  return Math.round(parts.reduce((total, part) => total + Number(part[1]) * (UnitMs[part[2] as string] as number), 0));
}
