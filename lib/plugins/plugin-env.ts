// The environment a plugin runs with: den's own, as Lima passes limactl's, with PATH led by den's folders (Lima's
// UpdatePath) so a plugin finds den and its sibling plugins, and DEN_HOME set to the home den resolved, so a plugin
// reads the same instances even when den fell back to ~/.den. LIMA_HOME is left as it is: a Lima plugin that reads
// it expects Lima's folders, which den's are not.
import { delimiter } from "node:path";

export interface PluginEnvOptions {
  denHome: string;
  /** pluginDirs(): den's folders come first in it. */
  dirs: readonly string[];
}

export function pluginEnv(env: Readonly<Record<string, string | undefined>>, options: PluginEnvOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  out.DEN_HOME = options.denHome;
  out.PATH = options.dirs.join(delimiter);
  return out;
}
