// The format version of an instance folder. Each folder carries `den-format` (one integer) from the den that wrote
// it. A folder without one comes from a den before versions and is brought up to date the first time a command
// uses it; a folder from a newer den is refused untouched, since what this den would do to it is unknown.
//
// Format history (each step's migration is in Migrations):
//   0  no den-format file. The first den releases named the configuration lima.yaml; later ones den.yaml.
//   1  den-format written; the configuration is den.yaml.
import { lstat, rename } from "node:fs/promises";
import { join } from "node:path";
import { DenError, excerptPath } from "../errors.ts";
import { writeFileAtomically } from "../fs/write-file-atomically.ts";
import { InstanceFormatFile, InstanceYaml, LegacyInstanceYaml } from "./filenames.ts";

/** The format this den writes and reads. */
export const CurrentInstanceFormat = 1;

/** Before den-format existed. */
const UnversionedFormat = 0;

/** The file's text for `format`. */
export function instanceFormatText(format: number = CurrentInstanceFormat): string {
  return `${format}\n`;
}

/** The version a den-format file holds; undefined when the text is not one non-negative integer. Pure. */
export function parseInstanceFormat(text: string): number | undefined {
  const trimmed = text.trim();
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** What to do with a folder of format `found` (undefined: no den-format file). Pure. */
export function formatAction(found: number | undefined, current: number = CurrentInstanceFormat): "use" | "migrate" | "refuse" {
  const format = found ?? UnversionedFormat;
  if (format === current) return "use";
  return format < current ? "migrate" : "refuse";
}

export interface InstanceFormatOptions {
  /** The instance's name, for messages. */
  name: string;
}

/**
 * Makes the folder `dir` one this den reads: does nothing for the current format (one small file read), migrates an
 * older folder in place, and throws INSTANCE_FORMAT for a folder of a newer den or an unreadable version.
 */
export async function ensureInstanceFormat(dir: string, options: InstanceFormatOptions): Promise<void> {
  const file = join(dir, InstanceFormatFile);
  const text = await Bun.file(file)
    .text()
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw new DenError("INSTANCE_FORMAT", `Cannot read the format version of instance "${options.name}" in "${excerptPath(file)}": ${error.message}`, {
        hint: `check the permissions of ${excerptPath(dir)}`,
        cause: error,
      });
    });
  const found = text === undefined ? undefined : parseInstanceFormat(text);
  if (text !== undefined && found === undefined) {
    throw new DenError("INSTANCE_FORMAT", `Cannot use instance "${options.name}": "${excerptPath(file)}" holds no format version`, {
      hint: `it should hold one number; if this den made the folder, write ${CurrentInstanceFormat} into it`,
    });
  }
  const action = formatAction(found);
  if (action === "use") return;
  if (action === "refuse") {
    throw new DenError(
      "INSTANCE_FORMAT",
      `Cannot use instance "${options.name}" in "${excerptPath(dir)}": its folder has format version ${found}, and this den reads version ${CurrentInstanceFormat} and older`,
      { hint: "a newer den wrote it; use that den (or a newer one) for this instance, and leave the folder as it is" },
    );
  }
  await migrateInstanceFolder(dir, found ?? UnversionedFormat, options);
}

/** Migrations[n] takes a folder from format n to n + 1. */
const Migrations: readonly ((dir: string) => Promise<void>)[] = [
  async (dir) => {
    // The first releases wrote lima.yaml. Renaming is atomic, and a second den migrating at the same moment finds
    // the file gone (ENOENT), which is success too. A den.yaml already there is never overwritten.
    if (await exists(join(dir, InstanceYaml))) return;
    await rename(join(dir, LegacyInstanceYaml), join(dir, InstanceYaml)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  },
];

async function migrateInstanceFolder(dir: string, from: number, options: InstanceFormatOptions): Promise<void> {
  try {
    for (let format = from; format < CurrentInstanceFormat; format++) await Migrations[format]!(dir);
    const file = join(dir, InstanceFormatFile);
    await writeFileAtomically(file, oneChunk(instanceFormatText()), {
      mode: 0o644,
      failure: (cause) => new DenError("IO", cause instanceof Error ? cause.message : String(cause), { cause }),
    });
  } catch (error) {
    throw new DenError("INSTANCE_FORMAT", `Cannot migrate instance "${options.name}" in "${excerptPath(dir)}" from format ${from} to ${CurrentInstanceFormat}: ${(error as Error).message}`, {
      hint: `check that you own ${excerptPath(dir)} and can write to it`,
      cause: error,
    });
  }
}

async function* oneChunk(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
