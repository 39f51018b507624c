// Which images[] entries may boot the instance: those of its arch, in the order written. Lima tries them in turn
// and uses the first that downloads, so a template lists a dated image with a digest first and a "latest" fallback
// after it.
import type { FilledImage } from "../config/schema.ts";
import { DenError } from "../errors.ts";

/** The images[] entries for `arch`, in order; throws CONFIG_INVALID naming the arches there are when none fits. */
export function imageCandidates(images: readonly FilledImage[], arch: string): FilledImage[] {
  const candidates = images.filter((candidate) => candidate.arch === arch);
  if (candidates.length > 0) return candidates;
  const available = [...new Set(images.map((candidate) => candidate.arch))];
  throw new DenError("CONFIG_INVALID", `No image for arch "${arch}" in images`, {
    hint: available.length > 0 ? `add an images[] entry with arch: ${arch}, or set arch to one of: ${available.join(", ")}` : "add an images[] entry with a location and an arch",
  });
}
