// Which word of argv names den's command, found before the command tree is built: main.ts builds only the command
// that runs, and a word that names no command may be a plugin's (den-NAME). den's own flags may come first
// (`den --debug list`), as Lima parses its global flags before the command's name.

/** den's flags that take no value and may precede a command. */
const FlagsBeforeCommand: ReadonlySet<string> = new Set(["--debug", "-y", "--yes", "--tty", "--no-tty"]);

export interface CommandWord {
  word: string;
  /** The words after it. */
  rest: string[];
}

/**
 * The first word of `argv` (process.argv: runtime, script, then the words) after den's own flags, and the words after
 * it; undefined when there is none, or when a flag before it is one commander must see (--help, --version, a typo).
 */
export function commandWord(argv: readonly string[]): CommandWord | undefined {
  const words = argv.slice(2);
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (FlagsBeforeCommand.has(word) || /^--tty=(true|false|1|0)$/i.test(word) || /^--log-format=/.test(word)) continue;
    if (word === "--log-format") {
      index++;
      continue;
    }
    return word.startsWith("-") ? undefined : { word, rest: words.slice(index + 1) };
  }
  return undefined;
}
