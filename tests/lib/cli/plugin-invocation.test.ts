import { expect, test } from "bun:test";
import { commandWord } from "../../../lib/cli/command-word.ts";
import { pluginInvocation } from "../../../lib/cli/plugin-invocation.ts";

const commands = new Set(["create", "list", "ls", "shell", "help"]);

test.each<{ words: string[]; want: { name: string; args: string[] } | undefined }>([
  { words: ["hello", "a", "b"], want: { name: "hello", args: ["a", "b"] } },
  { words: ["--debug", "hello", "--json"], want: { name: "hello", args: ["--json"] } },
  { words: ["--log-format", "json", "-y", "hello"], want: { name: "hello", args: [] } },
  { words: ["--log-format=json", "--tty=false", "hello", "--", "x"], want: { name: "hello", args: ["--", "x"] } },
  { words: ["list"], want: undefined },
  { words: ["ls", "hello"], want: undefined },
  { words: ["--help", "hello"], want: undefined },
  { words: ["--version"], want: undefined },
  { words: ["--bogus", "hello"], want: undefined },
  { words: ["../evil"], want: undefined },
  { words: ["a/b"], want: undefined },
  { words: [], want: undefined },
])("pluginInvocation() of $words is $want", ({ words, want }) => {
  expect(pluginInvocation(commandWord(["bun", "main.ts", ...words]), { commands })).toEqual(want);
});
