// The guest agent's runtimes den knows about: for each guest target, the plain Bun executable (its sha256 and size)
// and the zstd file it travels in (`den-guestagent-runtime-bun-<bunVersion>-<target>.zst`, published with each
// release as Lima publishes its "additional guest agents"). scripts/build.ts holds every runtime when it builds, so
// it writes this manifest into dist/agent/runtime-manifest.json and defines it into the binary; den then checks a
// runtime it unpacks or downloads against these digests, never against a file that came with the runtime.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DenError } from "../errors.ts";

// Set by scripts/build.ts through `bun build --define` (the manifest as JSON); absent when running from source.
declare const DEN_GUESTAGENT_RUNTIMES: string | undefined;

// The -musl targets are Bun's builds for musl guests (Alpine): den never runs on musl itself, so their runtimes always
// come from the manifest, and they travel beside the glibc runtime on the runtime disk (runtime-disk.ts).
export const AgentTargets = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl"] as const;
export type AgentTarget = (typeof AgentTargets)[number];

/** The C library of a guest; Bun has a runtime build for each. */
export const GuestLibcs = ["glibc", "musl"] as const;
export type GuestLibc = (typeof GuestLibcs)[number];

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const RuntimeEntrySchema = z.strictObject({
  /** The published file name, `den-guestagent-runtime-bun-1.4.5-linux-arm64.zst`. */
  file: z.string().min(1),
  /** sha256 (hex) and size of the runtime itself, as the guest runs it. */
  sha256: Sha256Hex,
  size: z.number().int().positive(),
  /** sha256 (hex) and size of the .zst file, as the download cache checks it. */
  compressedSha256: Sha256Hex,
  compressedSize: z.number().int().positive(),
});
export type RuntimeEntry = z.output<typeof RuntimeEntrySchema>;

export const RuntimeManifestSchema = z.strictObject({
  bunVersion: z.string().min(1),
  /** Where the release publishes the runtime files (no trailing slash); "" for a build made without a release URL. */
  baseUrl: z.string(),
  runtimes: z.partialRecord(z.enum(AgentTargets), RuntimeEntrySchema),
});
export type RuntimeManifest = z.output<typeof RuntimeManifestSchema>;

export const RuntimeManifestFile = "runtime-manifest.json";

/** Where a source checkout keeps the agent's build outputs (`bun scripts/build.ts --agent-only`). */
export const DistAgentDir = join(import.meta.dir, "..", "..", "dist", "agent");

/** The `bun build` target of each guest arch den runs an agent on (den's arch names: x86_64, aarch64), glibc by default. */
export function agentTargetFor(arch: string, options: { libc?: GuestLibc } = {}): AgentTarget | undefined {
  const base = arch === "x86_64" ? "linux-x64" : arch === "aarch64" ? "linux-arm64" : undefined;
  if (!base) return undefined;
  return options.libc === "musl" ? `${base}-musl` : base;
}

/** The agent target whose runtime is this very process's executable (den itself, or bun from source), if any. */
export function nativeAgentTarget(platform: string, arch: string): AgentTarget | undefined {
  if (platform !== "linux") return undefined;
  return arch === "x64" ? "linux-x64" : arch === "arm64" ? "linux-arm64" : undefined;
}

export function runtimeFileName(bunVersion: string, target: AgentTarget): string {
  return `den-guestagent-runtime-bun-${bunVersion}-${target}.zst`;
}

/** Parses a manifest's JSON text; `source` names it in the error. */
export function parseRuntimeManifest(text: string, source: string): RuntimeManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw manifestError(source, (error as Error).message, error);
  }
  const parsed = RuntimeManifestSchema.safeParse(json);
  if (!parsed.success) throw manifestError(source, parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  return parsed.data;
}

/**
 * The manifest this den carries: the one defined at build time, else dist/agent/runtime-manifest.json of a source
 * checkout; undefined when there is neither (a checkout where the agent was never built).
 */
export function builtInRuntimeManifest(distDir: string = DistAgentDir): RuntimeManifest | undefined {
  if (typeof DEN_GUESTAGENT_RUNTIMES === "string" && DEN_GUESTAGENT_RUNTIMES !== "") return parseRuntimeManifest(DEN_GUESTAGENT_RUNTIMES, "the built-in runtime manifest");
  const path = join(distDir, RuntimeManifestFile);
  if (!existsSync(path)) return undefined;
  return parseRuntimeManifest(readFileSync(path, "utf8"), path);
}

function manifestError(source: string, reason: string, cause?: unknown): DenError {
  return new DenError("GUEST_AGENT", `Cannot read ${source}: ${reason}`, {
    ...(cause !== undefined && { cause }),
    hint: "rebuild with bun scripts/build.ts (a source checkout: bun scripts/build.ts --agent-only)",
  });
}
