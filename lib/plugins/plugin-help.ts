// The help section that lists command plugins, worded and aligned as Lima's "Available Plugins (Experimental)".
import type { Plugin } from "./find-plugin.ts";

/** The section text, or "" when there are no plugins (the help then ends as it always did). */
export function renderPluginHelp(plugins: readonly Plugin[]): string {
  if (plugins.length === 0) return "";
  const width = Math.max(...plugins.map((plugin) => plugin.name.length)) + 2;
  const lines = plugins.map((plugin) => `  ${plugin.description ? `${plugin.name.padEnd(width)}${plugin.description}` : plugin.name}`);
  return `\nAvailable plugins (experimental):\n${lines.join("\n")}`;
}
