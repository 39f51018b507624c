// The provision entries as seed files: scripts under provision.<mode>/, data contents under provision.data/ and yq
// expressions under provision.yq/, each named by the entry's index in the filled `provision` list (%08d), so the
// file, its den.env keys and the config entry all share one number. `boot` entries go into user-data's bootcmd and
// `ansible` entries run on the host, so neither has a file here.
import { ConfigError, type ConfigIssue } from "../lib/errors.ts";
import type { FilledProvision } from "../lib/config/schema.ts";

export interface ProvisionFile {
  /** Path inside the seed, e.g. `provision.system/00000002`. */
  path: string;
  mode: number;
  text: string;
}

const ScriptModes = new Set(["system", "user", "dependency"]);

/** The 8-digit index that names an entry's file and env keys. */
export function provisionIndex(index: number): string {
  return String(index).padStart(8, "0");
}

/** The seed files of the provision list; throws ConfigError when a data or yq entry has no path. */
export function provisionFiles(provision: readonly FilledProvision[]): ProvisionFile[] {
  checkPaths(provision);
  const files: ProvisionFile[] = [];
  provision.forEach((entry, i) => {
    const name = provisionIndex(i);
    if (ScriptModes.has(entry.mode)) files.push({ path: `provision.${entry.mode}/${name}`, mode: 0o755, text: entry.script ?? "" });
    else if (entry.mode === "data") files.push({ path: `provision.data/${name}`, mode: 0o644, text: entry.content ?? "" });
    else if (entry.mode === "yq") files.push({ path: `provision.yq/${name}`, mode: 0o644, text: entry.expression ?? "" });
  });
  return files;
}

/** den.env keys (without the DEN_CIDATA_ prefix) telling boot.sh where and how to place data and yq results;
 *  OVERWRITE is `1` or empty like every den.env flag. */
export function provisionEnv(provision: readonly FilledProvision[]): [string, string][] {
  checkPaths(provision);
  const entries: [string, string][] = [];
  provision.forEach((entry, i) => {
    const name = provisionIndex(i);
    // The fallbacks repeat fillDefaults' values: an entry built by hand (or by an older den) still renders.
    if (entry.mode === "data") {
      entries.push(
        [`DATAFILE_${name}_PATH`, entry.path ?? ""],
        [`DATAFILE_${name}_OWNER`, entry.owner ?? "root:root"],
        [`DATAFILE_${name}_PERMISSIONS`, entry.permissions ?? "644"],
        [`DATAFILE_${name}_OVERWRITE`, entry.overwrite === false ? "" : "1"],
      );
    } else if (entry.mode === "yq") {
      entries.push(
        [`YQ_PROVISION_${name}_PATH`, entry.path ?? ""],
        [`YQ_PROVISION_${name}_OWNER`, entry.owner ?? "root:root"],
        [`YQ_PROVISION_${name}_PERMISSIONS`, entry.permissions ?? "644"],
        [`YQ_PROVISION_${name}_FORMAT`, entry.format ?? "auto"],
      );
    }
  });
  return entries;
}

function checkPaths(provision: readonly FilledProvision[]): void {
  const issues: ConfigIssue[] = [];
  provision.forEach((entry, i) => {
    if ((entry.mode === "data" || entry.mode === "yq") && !entry.path) {
      issues.push({ path: ["provision", i, "path"], message: `Path is required when mode is "${entry.mode}"`, hint: "give the absolute guest path of the file to write" });
    }
  });
  if (issues.length > 0) throw new ConfigError("CONFIG_INVALID", issues);
}
