// The VZ helper a darwin den carries. On a macOS build host scripts/build.ts compiles drivers/vz/helper/ for each
// darwin arch, signs it with the virtualization entitlement, passes the signed file to `bun build --compile` as an
// extra entrypoint (so it becomes one of Bun.embeddedFiles, named den-vz-helper-darwin-<arch>-<content hash>.) and
// defines DEN_VZ_HELPER_SHA256 as its sha256. A den built on Linux, den run from source and every Linux den have
// neither, and so no embedded helper: drivers/vz/vz-helper-location.ts then looks for DEN_VZ_HELPER or a
// den-vz-helper beside den's executable.

declare const DEN_VZ_HELPER_SHA256: string | undefined;

export interface EmbeddedVzHelperContext {
  /** Defaults to Bun.embeddedFiles. */
  embeddedFiles?: readonly Blob[];
  /** Defaults to the DEN_VZ_HELPER_SHA256 the build defined. */
  sha256?: string;
  /** Defaults to process.arch. */
  arch?: string;
}

/** The embedded helper's bytes (read on demand) and their sha256 in hex, or null when this den carries none. */
export function embeddedVzHelper(context: EmbeddedVzHelperContext = {}): { bytes: () => Promise<Uint8Array>; sha256: string } | null {
  const sha256 = context.sha256 ?? (typeof DEN_VZ_HELPER_SHA256 === "string" ? DEN_VZ_HELPER_SHA256 : "");
  if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
  const prefix = `den-vz-helper-darwin-${context.arch ?? process.arch}-`;
  const file = (context.embeddedFiles ?? Bun.embeddedFiles).find((blob) => ((blob as Blob & { name?: string }).name ?? "").startsWith(prefix));
  if (!file) return null;
  return { bytes: async () => new Uint8Array(await file.arrayBuffer()), sha256 };
}
