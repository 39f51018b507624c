// The download locations that instances and templates still name, which `den prune --keep-referred` keeps:
// images with their kernel and initrd, firmware images, containerd archives, as Lima's prune keeps them.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { builtinTemplates } from "../config/builtin-templates.ts";
import { loadInstanceConfig, readConfigFile } from "../config/load.ts";
import { QuietYamlOptions } from "../config/parse.ts";
import { maxTemplateBytes } from "../config/read-locator.ts";
import { readRegularFileBounded } from "../fs/read-bounded.ts";
import { userTemplatesDir } from "../store/dirs.ts";
import { InstanceYaml } from "../store/filenames.ts";
import { listInstanceNames } from "../store/instance-names.ts";

/** Every location a configuration (filled, or as parsed from YAML) names for a download. */
export function configLocations(config: unknown): string[] {
  const root = record(config);
  const files = [
    ...list(root?.images).flatMap((image) => [image, record(image)?.kernel, record(image)?.initrd]),
    ...list(record(root?.firmware)?.images),
    ...list(record(root?.containerd)?.archives),
  ];
  return files.map((file) => record(file)?.location).filter((location): location is string => typeof location === "string" && location !== "");
}

/** Locations named by the instances in `denHome` (with their defaults and overrides), the built-in templates and the user's templates. */
export async function referredLocations(denHome: string): Promise<Set<string>> {
  const locations = new Set<string>();
  const add = (config: unknown): void => configLocations(config).forEach((location) => locations.add(location));
  for (const name of await listInstanceNames(denHome)) {
    try {
      add(await loadInstanceConfig(denHome, name));
    } catch {
      // A configuration that no longer loads still names its images as written.
      add(parseQuietly(await readConfigFile(join(denHome, name, InstanceYaml)).catch(() => "")));
    }
  }
  for (const text of builtinTemplates.values()) add(parseQuietly(text));
  for (const file of await yamlFiles(userTemplatesDir(denHome))) add(parseQuietly(await readTemplateFile(file).catch(() => "")));
  return locations;
}

/**
 * A user template's text. `den prune` must not hang on a FIFO or fill memory with a huge file put in
 * the templates folder; such a file is skipped like one that does not parse.
 */
function readTemplateFile(file: string): Promise<string> {
  return readRegularFileBounded(file, { maxBytes: maxTemplateBytes, what: `template "${file}"` });
}

async function yamlFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

function parseQuietly(text: string): unknown {
  try {
    return parse(text, QuietYamlOptions);
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
