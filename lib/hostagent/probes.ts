// The template's `probes:` as readiness checks (Lima runs each `mode: readiness` probe as an optional requirement,
// after the engine's). fillDefaults has already expanded each script's Go template and named unnamed probes
// "user probe i/N"; a `file:` probe was inlined into `script` when the instance was created.
import type { FilledProbe } from "../config/schema.ts";
import type { ReadinessCheck } from "./readiness-check.ts";

/** The readiness probes of `probes`, in order. */
export function probeChecks(probes: readonly FilledProbe[]): ReadinessCheck[] {
  return probes
    .filter((probe) => probe.mode === "readiness")
    .map((probe) => ({ kind: "probe" as const, description: probe.description, script: probe.script ?? "", hint: probe.hint ?? "" }));
}
