#!/usr/bin/env bun
// den's entry point: argv → command → run, and the exit code. `den --version` answers before the CLI is loaded (the
// commander program, the schemas and every command's modules): scripts call it often, and it is the startup floor
// `bun run bench cli-startup` measures. Bun's bundler evaluates a module reached only through import() when it is
// imported, so the compiled den pays for the rest only when it runs a command.
import { versionLine } from "./lib/version.ts";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  process.stdout.write(`${versionLine()}\n`);
} else {
  const { runCli } = await import("./lib/cli/run-cli.ts");
  process.exitCode = await runCli(process.argv);
}
