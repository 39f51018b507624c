// The download locations that instances and templates still name, which `den prune --keep-referred` keeps:
// images with their kernel and initrd, firmware images, containerd archives, as Lima's prune keeps them.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { builtinTemplates } from "../config/builtin-templates.ts";
import { loadInstanceConfig } from "../config/load.ts";
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
      add(parseQuietly(await readFile(join(denHome, name, InstanceYaml), "utf8").catch(() => "")));
    }
  }
  for (const text of builtinTemplates.values()) add(parseQuietly(text));
  for (const file of await yamlFiles(userTemplatesDir(denHome))) add(parseQuietly(await readFile(file, "utf8").catch(() => "")));
  return locations;
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
    return parse(text);
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
