// "Did you mean" for template names (functions, map keys), stricter than the config's closestMatch.
import { closestMatch, editDistance } from "../text/closest-match.ts";

/** A guess only for a slip of a letter or two: short field names are otherwise all "close". */
export function suggestName(word: string, candidates: readonly string[]): string | undefined {
  const guess = closestMatch(word, candidates);
  if (guess === undefined) return undefined;
  const close = guess.toLowerCase() === word.toLowerCase() || editDistance(word, guess) <= Math.max(1, Math.floor(word.length / 4));
  return close ? guess : undefined;
}
