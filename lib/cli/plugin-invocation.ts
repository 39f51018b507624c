// `den NAME …` where NAME is no den command: which plugin argv asks for. Everything after the name is the plugin's,
// untouched.
import type { CommandWord } from "./command-word.ts";
import { isPluginName } from "../plugins/plugin-name.ts";

export interface PluginInvocation {
  name: string;
  args: string[];
}

/**
 * The plugin that argv's command word (commandWord()) runs, or undefined when there is none, or it is a den command or
 * not a plugin name.
 */
export function pluginInvocation(found: CommandWord | undefined, options: { commands: ReadonlySet<string> }): PluginInvocation | undefined {
  if (found === undefined || options.commands.has(found.word) || !isPluginName(found.word)) return undefined;
  return { name: found.word, args: found.rest };
}
