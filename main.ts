#!/usr/bin/env bun
// den's entry point: argv → command → run. The only place that prints errors and sets the exit code.
import { CommanderError } from "@commander-js/extra-typings";
import { ExitError, renderError } from "./lib/errors.ts";
import { buildProgram, normalizeTtyFlags } from "./lib/cli/program.ts";
import { denHome } from "./lib/store/dirs.ts";

async function main(argv: string[]): Promise<number> {
  const program = buildProgram({ globalOptionsOnDemand: true });
  program.exitOverride();
  try {
    await program.parseAsync(normalizeTtyFlags(argv, { program }));
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed help, the version or the usage error.
      return error.exitCode === 0 ? 0 : 1;
    }
    if (error instanceof ExitError) return error.exitCode;
    const debug = argv.includes("--debug");
    process.stderr.write(`${renderError(error, { debug, denHome: denHome() })}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
