// Where den finds the VZ helper, in this order: the executable DEN_VZ_HELPER names (a user's own build, or the
// stand-in the tests run); `den-vz-helper` beside den's executable (Homebrew and the release tarballs put it there);
// the helper embedded in den's binary, written once to `$DEN_HOME/_cache/vz-helper/<sha256>/den-vz-helper`, since
// an embedded file cannot be executed in place. `findVzHelper` only looks; `vzHelperPath` also extracts.
import { createHash, randomUUID } from "node:crypto";
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DenError } from "../../lib/errors.ts";
import { denHome as defaultDenHome } from "../../lib/store/dirs.ts";
import { CacheDir } from "../../lib/store/filenames.ts";
import type { HelperFacts } from "../driver.ts";
import { embeddedVzHelper } from "./embedded-helper.ts";
import { VirtualizationEntitlement } from "./vz-availability.ts";

/** The helper's file name, beside den and in the cache. */
export const VzHelperName = "den-vz-helper";
/** Folder in DEN_HOME/_cache holding one extracted helper per digest. */
export const VzHelperCacheDir = "vz-helper";

export interface EmbeddedVzHelper {
  bytes: () => Promise<Uint8Array>;
  /** SHA-256 of `bytes()`, lower-case hex. */
  sha256: string;
}

/** The file operations the lookup needs, replaceable in tests. */
export interface VzHelperFs {
  /** Whether `path` is a regular file this user may execute. */
  isExecutableFile(path: string): boolean;
  readFile(path: string): Promise<Uint8Array>;
  /** Makes `path` and its parents. */
  mkdir(path: string): Promise<void>;
  /** Writes a new file with `mode` (not subject to the umask). */
  writeFile(path: string, bytes: Uint8Array, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
}

export interface VzHelperLocationContext {
  env: Readonly<Record<string, string | undefined>>;
  /** den's executable (default `process.execPath`): a `den-vz-helper` beside it is used. */
  execPath?: string;
  /** Where the embedded helper is extracted (default: DEN_HOME from `env`). */
  denHome?: string;
  /** The helper in den's binary (default: drivers/vz/embedded-helper.ts). */
  embedded?: () => EmbeddedVzHelper | null;
  fs?: VzHelperFs;
}

/** Finds the helper without writing anything; `entitled` is left unchecked (null). */
export function findVzHelper(ctx: VzHelperLocationContext): HelperFacts {
  const fs = ctx.fs ?? NodeFs;
  const named = ctx.env.DEN_VZ_HELPER;
  if (named !== undefined && named !== "") {
    return { source: "env", path: named, executable: fs.isExecutableFile(named), entitled: null };
  }
  const beside = join(dirname(ctx.execPath ?? process.execPath), VzHelperName);
  if (fs.isExecutableFile(beside)) return { source: "beside", path: beside, executable: true, entitled: null };
  const embedded = (ctx.embedded ?? embeddedVzHelper)();
  if (embedded !== null) return { source: "embedded", path: extractedPath(embedded, ctx), executable: true, entitled: null };
  return { source: null, path: null, executable: false, entitled: null };
}

/** How to ask macOS for a file's entitlements: the plist XML, "" for none (or unsigned), null when it cannot tell. */
export type EntitlementsReader = (path: string) => string | null;

/**
 * `findVzHelper` plus, on macOS, whether the helper carries the virtualization entitlement (one `codesign` run).
 * An embedded helper is not asked: the build signs it before embedding it, and asking would mean extracting it.
 */
export function readVzHelperFacts(options: { os: string }, ctx: VzHelperLocationContext & { entitlements?: EntitlementsReader } = { env: process.env }): HelperFacts {
  const facts = findVzHelper(ctx);
  if (options.os !== "darwin" || facts.path === null || !facts.executable || facts.source === "embedded") return facts;
  const xml = (ctx.entitlements ?? codesignEntitlements)(facts.path);
  return { ...facts, entitled: xml === null ? null : hasEntitlement(xml, VirtualizationEntitlement) };
}

/** Whether an entitlements plist (`codesign -d --entitlements - --xml`) grants `key` as true. */
export function hasEntitlement(plistXml: string, key: string): boolean {
  const escaped = key.replaceAll(".", "\\.");
  return new RegExp(`<key>${escaped}</key>\\s*<true\\s*/>`).test(plistXml);
}

/**
 * The path of an executable helper, extracting the embedded one on first use. Throws DRIVER_UNAVAILABLE when there
 * is none or DEN_VZ_HELPER names something that cannot run, and DIGEST_MISMATCH when the embedded bytes are not the
 * ones the build recorded.
 */
export async function vzHelperPath(ctx: VzHelperLocationContext): Promise<string> {
  const facts = findVzHelper(ctx);
  if (facts.source === "env" && !facts.executable) {
    throw new DenError("DRIVER_UNAVAILABLE", `Cannot run the VZ helper "${facts.path}" that DEN_VZ_HELPER names: it is not an executable file`, {
      hint: "point DEN_VZ_HELPER at a den-vz-helper (chmod +x), or unset it to use den's own",
    });
  }
  if (facts.source === null || facts.path === null) {
    throw new DenError("DRIVER_UNAVAILABLE", "Cannot find the VZ helper: this den was built without it", {
      hint: `install den from Homebrew or a release tarball, or set DEN_VZ_HELPER to a ${VzHelperName}`,
    });
  }
  if (facts.source !== "embedded") return facts.path;
  const embedded = (ctx.embedded ?? embeddedVzHelper)();
  if (embedded === null) throw new DenError("INTERNAL", "The embedded VZ helper disappeared while den ran");
  await extractHelper(embedded, facts.path, ctx.fs ?? NodeFs);
  return facts.path;
}

function extractedPath(embedded: EmbeddedVzHelper, ctx: VzHelperLocationContext): string {
  // The digest becomes a folder name: anything but hex would be a build bug, and must not reach a path.
  if (!/^[0-9a-f]{64}$/.test(embedded.sha256)) {
    throw new DenError("INTERNAL", `The embedded VZ helper has a malformed SHA-256 "${embedded.sha256}"`, { hint: "rebuild den (scripts/build.ts)" });
  }
  return join(ctx.denHome ?? defaultDenHome(ctx.env), CacheDir, VzHelperCacheDir, embedded.sha256, VzHelperName);
}

/**
 * Writes the helper unless a copy with the right digest is there. Written under a temporary name and renamed, so a
 * second den extracting at the same time, or a crash halfway, never leaves a partial executable at `path`.
 */
async function extractHelper(embedded: EmbeddedVzHelper, path: string, fs: VzHelperFs): Promise<void> {
  if (fs.isExecutableFile(path)) {
    const present = await fs.readFile(path).catch(() => undefined);
    if (present !== undefined && sha256(present) === embedded.sha256) return;
  }
  const bytes = await embedded.bytes();
  const actual = sha256(bytes);
  if (actual !== embedded.sha256) {
    throw new DenError("DIGEST_MISMATCH", `Cannot extract the embedded VZ helper: its SHA-256 is ${actual}, not ${embedded.sha256}`, {
      hint: "den's binary is damaged; install it again",
    });
  }
  await fs.mkdir(dirname(path));
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(temporary, bytes, 0o755);
    await fs.rename(temporary, path);
  } finally {
    await fs.remove(temporary);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function codesignEntitlements(path: string): string | null {
  const result = spawnSync("codesign", ["-d", "--entitlements", "-", "--xml", path], { encoding: "utf8", timeout: 10_000 });
  if (result.error) return null;
  // An unsigned file makes codesign fail ("code object is not signed at all"): it has no entitlements.
  return result.status === 0 ? result.stdout : "";
}

const NodeFs: VzHelperFs = {
  isExecutableFile(path) {
    try {
      if (!statSync(path).isFile()) return false;
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  readFile: async (path) => new Uint8Array(await readFile(path)),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true, mode: 0o700 });
  },
  writeFile: async (path, bytes, mode) => {
    await writeFile(path, bytes, { mode, flag: "wx" });
    await chmod(path, mode);
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
};
