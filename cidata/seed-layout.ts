// The complete list of files in the seed ISO, with their modes, rendered from SeedArgs. Pure: the boot scripts and
// the guest agent arrive as ready entries from the caller, so this module never reads the embedded scripts or disk.
import type { IsoEntry, IsoFileEntry } from "./iso9660.ts";
import { denEnv, etcEnvironment, paramEnv } from "./env-files.ts";
import { metaData } from "./meta-data.ts";
import { networkConfig } from "./network-config.ts";
import { provisionFiles } from "./provision-files.ts";
import type { SeedArgs } from "./seed-args.ts";
import { userData } from "./user-data.ts";

export interface SeedExtras {
  /** boot.sh and boot/** (from cidata/boot-scripts.ts). */
  bootScripts: IsoFileEntry[];
  /**
   * The guest agent's seed files (lib/guestagent/guest-agent-seed-entry.ts: the bundle and the runtime line, modes
   * as given); left out of plain-mode seeds, which run no agent.
   */
  guestAgent?: IsoFileEntry[];
}

/** Every seed file; rendering happens here, so a ConfigError surfaces before anything is written. */
export function seedLayout(args: SeedArgs, extras: SeedExtras): IsoEntry[] {
  const entries: IsoEntry[] = [
    textFile("meta-data", metaData(args), 0o644),
    textFile("user-data", userData(args), 0o644),
    textFile("network-config", networkConfig(args), 0o644),
    textFile("den.env", denEnv(args), 0o644),
    textFile("param.env", paramEnv(args.param), 0o644),
    textFile("etc_environment", etcEnvironment(args.env), 0o644),
    ...extras.bootScripts,
    ...provisionFiles(args.provision).map((file) => textFile(file.path, file.text, file.mode)),
  ];
  if (extras.guestAgent && !args.plain) entries.push(...extras.guestAgent);
  return entries;
}

function textFile(path: string, text: string, mode: number): IsoFileEntry {
  const bytes = new TextEncoder().encode(text);
  return { path, kind: "file", mode, size: bytes.byteLength, source: () => bytes };
}
