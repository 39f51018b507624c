// How much of its input a command echoed back: the longest stretch shared by the output and any input. An error
// message may quote a short excerpt; a whole file or a 10 KB name in it is what issue 12 (#7) forbids.

/** Stretches shorter than this are not looked for (they are names, paths and YAML keys, not echoes). */
const Window = 64;
/** Stop extending once a stretch is this long: the caller only needs to know it is over its limit. */
const Enough = 64 * 1024;

/**
 * The length of the longest stretch of `output` that also occurs in one of `inputs`, or 0 when none is at least
 * 2 × 64 characters long (shorter stretches may be missed). Linear in the inputs' total length.
 */
export function longestEcho(output: string, inputs: readonly string[]): number {
  if (output.length < Window) return 0;
  // Every window of the output, by its text; a stretch of ≥ 2 windows in an input covers one aligned window.
  const windows = new Map<string, number[]>();
  for (let at = 0; at + Window <= output.length; at++) {
    const key = output.slice(at, at + Window);
    const positions = windows.get(key);
    if (positions === undefined) windows.set(key, [at]);
    else if (positions.length < 4) positions.push(at);
  }
  let longest = 0;
  for (const input of inputs) {
    for (let aligned = 0; aligned + Window <= input.length; aligned += Window) {
      const positions = windows.get(input.slice(aligned, aligned + Window));
      if (positions === undefined) continue;
      for (const at of positions) {
        longest = Math.max(longest, stretch(output, at, input, aligned));
        if (longest >= Enough) return longest;
      }
    }
  }
  return longest >= 2 * Window - 1 ? longest : 0;
}

function stretch(output: string, at: number, input: string, aligned: number): number {
  let before = 0;
  while (before < Enough && at - before > 0 && aligned - before > 0 && output[at - before - 1] === input[aligned - before - 1]) before++;
  let after = Window;
  while (after < Enough && at + after < output.length && aligned + after < input.length && output[at + after] === input[aligned + after]) after++;
  return before + after;
}
