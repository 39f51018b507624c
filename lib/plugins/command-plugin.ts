// `den NAME …` where NAME is no den command: which plugin argv asks for. den's own flags may come first
// (`den --debug hello`), as Lima parses its global flags before a plugin's name; everything after the name is the
// plugin's, untouched.
import { isPluginName } from "./plugin-name.ts";

export interface PluginInvocation {
  name: string;
  args: string[];
}

/** den's flags that take no value and may precede a command. */
const FlagsBeforeCommand: ReadonlySet<string> = new Set(["--debug", "-y", "--yes", "--tty", "--no-tty"]);

/**
 * The plugin `argv` (process.argv: runtime, script, then the words) runs, or undefined when the first word is a den
 * command, is not a plugin name, or a flag before it is one commander must see (--help, --version, a typo).
 */
export function pluginInvocation(argv: readonly string[], options: { commands: ReadonlySet<string> }): PluginInvocation | undefined {
  const words = argv.slice(2);
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (FlagsBeforeCommand.has(word) || /^--tty=(true|false|1|0)$/i.test(word) || /^--log-format=/.test(word)) continue;
    if (word === "--log-format") {
      index++;
      continue;
    }
    if (word.startsWith("-") || options.commands.has(word) || !isPluginName(word)) return undefined;
    return { name: word, args: words.slice(index + 1) };
  }
  return undefined;
}
