#!/usr/bin/env bun
// den's entry point: argv → command → run, and the exit code. `den --version` answers before the CLI is loaded (the
// commander program, the schemas and every command's modules): scripts call it often, and it is the startup floor
// `bun run bench cli-startup` measures. scripts/build.ts compiles with --splitting, so that what is reached only
// through import() is a chunk of its own, loaded (with the Node modules it imports) only when a command needs it.
import { versionLine } from "./lib/version.ts";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  // console.log, not process.stdout: touching that builds Node's streams, which would double this answer's time.
  console.log(versionLine());
} else {
  const { runCli } = await import("./lib/cli/run-cli.ts");
  process.exitCode = await runCli(process.argv);
}
