// Loading an instance configuration, in Lima's stages: parse and schema-check each layer
// (`_config/default.yaml`, the instance's lima.yaml, `_config/override.yaml`), merge them, fill the
// built-in defaults, then run the cross-field rules. Every problem is reported with its file and line.
import { join } from "node:path";
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { readRegularFileBounded } from "../fs/read-bounded.ts";
import { isDirectorySync } from "../fs/quiet-stat.ts";
import { DefaultYaml, InstanceYaml, OverrideYaml } from "../store/filenames.ts";
import { configDir } from "../store/dirs.ts";
import { checkConfig } from "./check.ts";
import { fillDefaults } from "./defaults.ts";
import { readHostInfo } from "./host-info.ts";
import { locateNode } from "./locate.ts";
import { mergeLayers } from "./merge.ts";
import { parseConfigText } from "./parse.ts";
import { maxTemplateBytes } from "./read-locator.ts";
import type { DenYaml, FilledDenYaml } from "./schema.ts";
import { validateConfig } from "./validate.ts";

export interface LoadOptions {
  /** File name used in messages (and to locate issues). */
  file: string;
  instanceName: string;
  instanceDir: string;
  denHome: string;
  /** Facts about the host; read from the machine when absent. */
  host?: Awaited<ReturnType<typeof readHostInfo>>;
  /** Whether mount locations etc. are checked on disk (validate does; tests may not). */
  isDirectory?: (path: string) => boolean;
  /**
   * `text` already parsed and schema-checked (checkLayer(text, file)), when the caller has it: parsing is the
   * costly step (a second for a 1 MB template), so a template is not parsed again only to be loaded.
   */
  layer?: CheckedLayer | undefined;
  /** Receives the line saying why vmType is not Lima's default here (see DefaultsContext.notice). */
  notice?: ((line: string) => void) | undefined;
}

export interface CheckedLayer {
  file: string;
  parsed: ReturnType<typeof parseConfigText>;
  config: DenYaml;
}

/** Parses and schema-checks one YAML text; throws a located ConfigError. */
export function checkLayer(text: string, file: string): CheckedLayer {
  const parsed = parseConfigText(text, { file });
  return { file, parsed, config: checkConfig(parsed, { file }) };
}

/** default.yaml and override.yaml of DEN_HOME (either may be absent). */
export async function readConfigLayers(denHome: string): Promise<{ defaults?: CheckedLayer; override?: CheckedLayer }> {
  const read = async (name: string) => {
    const file = join(configDir(denHome), name);
    try {
      return checkLayer(await readConfigFile(file), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };
  const [defaults, override] = await Promise.all([read(DefaultYaml), read(OverrideYaml)]);
  return { ...(defaults && { defaults }), ...(override && { override }) };
}

/** The whole pipeline for one configuration text; returns the filled, validated configuration. */
export async function loadConfig(text: string, options: LoadOptions): Promise<FilledDenYaml> {
  const instance = options.layer ?? checkLayer(text, options.file);
  const layers = await readConfigLayers(options.denHome);
  const merged = mergeLayers({ defaults: layers.defaults?.config, instance: instance.config, override: layers.override?.config });
  const host = options.host ?? (await readHostInfo());
  const filled = fillDefaults(merged as DenYaml, {
    host,
    instanceName: options.instanceName,
    instanceDir: options.instanceDir,
    denHome: options.denHome,
    ...(options.notice && { notice: options.notice }),
  });
  const issues = validateConfig(filled, { isDirectory: options.isDirectory ?? isDirectorySync });
  if (issues.length > 0) {
    throw new ConfigError("CONFIG_INVALID", issues.map((issue) => locate(issue, [instance, layers.override, layers.defaults])));
  }
  return filled;
}

/** Loads `DEN_HOME/NAME/den.yaml`. */
export async function loadInstanceConfig(denHome: string, name: string, options: Partial<LoadOptions> = {}): Promise<FilledDenYaml> {
  const instanceDir = join(denHome, name);
  const file = join(instanceDir, InstanceYaml);
  const text = await readConfigFile(file);
  return loadConfig(text, { file, instanceName: name, instanceDir, denHome, ...options });
}

/**
 * A configuration file's text. Every command that lists or starts instances reads these, so a FIFO or a
 * huge file put in their place must be refused unread rather than hang `den list` or fill memory.
 */
export function readConfigFile(file: string): Promise<string> {
  return readRegularFileBounded(file, {
    maxBytes: maxTemplateBytes,
    what: `configuration "${file}"`,
    tooLargeHint: "a den.yaml is made from a template of at most 4 MiB; check what replaced it",
  });
}

/** Points a cross-field issue at the first layer that has the node (the instance file first). */
function locate(issue: ConfigIssue, layers: (CheckedLayer | undefined)[]): ConfigIssue {
  for (const layer of layers) {
    if (!layer || !hasPath(layer.config, issue.path)) continue;
    const position = locateNode(layer.parsed, issue.path);
    return { ...issue, file: layer.file, ...(position && { line: position.line, column: position.column }) };
  }
  return { ...issue, file: layers[0]?.file };
}

function hasPath(value: unknown, path: readonly (string | number)[]): boolean {
  let node = value;
  for (const part of path) {
    if (node === null || typeof node !== "object" || !(part in (node as Record<string | number, unknown>))) return false;
    node = (node as Record<string | number, unknown>)[part];
  }
  return true;
}
