// The I/O edge of the seed: reads the CA certificate files, renders every file (so a configuration error stops the
// start before anything on disk changes), then replaces cidata.iso and cloud-config.yaml atomically. A failure or a
// full disk leaves either the previous file or the new one, never a torn seed the VM would boot from.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { FilledDenYaml } from "../lib/config/schema.ts";
import { DenError } from "../lib/errors.ts";
import { isNoSpaceError, noSpaceError } from "../lib/fs/no-space-error.ts";
import { writeFileAtomically } from "../lib/fs/write-file-atomically.ts";
import { CidataIso, CloudConfig } from "../lib/store/filenames.ts";
import { bootScriptEntries } from "./boot-scripts.ts";
import { DEFAULT_VOLUME_ID, type IsoFileEntry, type IsoOptions, planIso9660, writeIso9660 } from "./iso9660.ts";
import { seedArgsFrom, type SeedFacts } from "./seed-args.ts";
import { seedLayout } from "./seed-layout.ts";
import { userData } from "./user-data.ts";

export interface WriteSeedOptions {
  config: FilledDenYaml;
  /** The facts except the folder (the first argument) and the CA file contents (read here). */
  facts: Omit<SeedFacts, "instanceDir" | "caCertFiles" | "containerdArchiveSha256">;
  /** The guest agent's seed files (guestAgentSeedEntries()): a small bundle and one line, never the runtime. */
  guestAgent?: IsoFileEntry[];
  /**
   * The sha256 of the containerd archive on the instance's DENCONTAINERD disk (lib/containerd/archive-disk.ts); the
   * seed names it when containerd is on and never carries the archive itself.
   */
  containerdArchiveSha256?: string;
  /** Dates recorded in the image; the ISO writer's fixed default keeps the image reproducible. */
  timestamp?: IsoOptions["timestamp"];
}

export interface WriteSeedResult {
  /** The written cidata.iso. */
  path: string;
  bytes: number;
}

/** Writes `<instanceDir>/cidata.iso` and `<instanceDir>/cloud-config.yaml` (read-only: a reference copy of user-data). */
export async function writeSeed(instanceDir: string, options: WriteSeedOptions): Promise<WriteSeedResult> {
  const { config } = options;
  const caCertFiles = await Promise.all(config.caCerts.files.map((file) => readCaCert(file, options.facts.hostHome)));
  const args = seedArgsFrom(config, { ...options.facts, instanceDir, caCertFiles, containerdArchiveSha256: options.containerdArchiveSha256 });
  const entries = seedLayout(args, {
    bootScripts: bootScriptEntries(),
    ...(options.guestAgent && { guestAgent: options.guestAgent }),
  });
  const cloudConfigText = userData(args);

  const isoPath = join(instanceDir, CidataIso);
  const isoOptions: IsoOptions = { volumeId: DEFAULT_VOLUME_ID, ...(options.timestamp && { timestamp: options.timestamp }) };
  const cloudConfig = new TextEncoder().encode(cloudConfigText);
  // Both files need their room at once: the old ones are replaced only after the new ones are written in full.
  const neededBytes = planIso9660(entries, isoOptions).totalBytes + cloudConfig.byteLength;
  const bytes = await writeAtomically(isoPath, writeIso9660(entries, isoOptions), { mode: 0o644, neededBytes });
  await writeAtomically(join(instanceDir, CloudConfig), once(cloudConfig), { mode: 0o444, neededBytes });
  return { path: isoPath, bytes };
}

async function readCaCert(file: string, hostHome: string): Promise<string> {
  const path = file === "~" ? hostHome || homedir() : file.startsWith("~/") ? join(hostHome || homedir(), file.slice(2)) : file;
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new DenError("IO", `Cannot read CA certificate "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: "fix or remove the entry in caCerts.files",
    });
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * Replaces `path` atomically with `chunks`. No fsync: den writes both files afresh at every start, before the VM
 * reads them, so after a crash the next start replaces whatever the crash left; a flush would only put the disk's
 * latency (hundreds of milliseconds on a busy host) into every start. The mode is set on the file: the umask must
 * not decide it (cloud-config.yaml is read-only on purpose).
 */
function writeAtomically(path: string, chunks: AsyncIterable<Uint8Array>, options: { mode: number; neededBytes: number }): Promise<number> {
  return writeFileAtomically(path, chunks, {
    mode: options.mode,
    failure: (cause, { step, temporary }) =>
      isNoSpaceError(cause)
        ? noSpaceError(path, { what: "the seed", neededBytes: options.neededBytes, cause, hint: "the instance's previous seed, if any, is left as it was" })
        : ioError(step === "create" ? `Cannot create "${temporary}"` : `Cannot write "${path}"`, cause),
  });
}

function ioError(message: string, cause: unknown): DenError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new DenError("IO", code ? `${message}: ${code}` : message, { cause, hint: "check that the instance folder exists, is writable and the disk has space" });
}
