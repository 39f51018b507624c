// `den NAME …` where NAME is no den command: which plugin argv asks for. Everything after the name is the plugin's,
// untouched.
import { commandWord } from "./command-word.ts";
import { isPluginName } from "../plugins/plugin-name.ts";

export interface PluginInvocation {
  name: string;
  args: string[];
}

/**
 * The plugin `argv` (process.argv: runtime, script, then the words) runs, or undefined when the first word is a den
 * command, is not a plugin name, or a flag before it is one commander must see (--help, --version, a typo).
 */
export function pluginInvocation(argv: readonly string[], options: { commands: ReadonlySet<string> }): PluginInvocation | undefined {
  const found = commandWord(argv);
  if (found === undefined || options.commands.has(found.word) || !isPluginName(found.word)) return undefined;
  return { name: found.word, args: found.rest };
}
