import { expect, test } from "bun:test";
import { makeDenHome, runDen } from "./support/run-den.ts";

test.each([
  { name: "den's own help without a command", args: ["help"], want: "Usage: den [options] [command]" },
  { name: "a command's help by its name", args: ["help", "list"], want: "Usage: den list|ls" },
  { name: "a command's help by its alias", args: ["help", "ls"], want: "Usage: den list|ls" },
])("den help prints $name", async ({ args, want }) => {
  const run = await runDen(args, { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain(want);
});

test.each([
  { name: "nope", shown: "nope" },
  { name: "\u001b[2J", shown: "\\x1b[2J" },
  { name: "x".repeat(10_000), shown: `${"x".repeat(39)}…` },
])("den help of the unknown command $shown says error: with a hint and quotes an escaped excerpt", async ({ name, shown }) => {
  const run = await runDen(["help", name], { denHome: await makeDenHome() });
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toBe(`error: Unknown command "${shown}"\nhint: run "den --help" to see the commands\n`);
});
