// What every command receives from the global flags: a logger, DEN_HOME, and the output streams.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { maxTemplateBytes, tooLargeTemplateHint } from "../config/read-locator.ts";
import { DenError, excerpt } from "../errors.ts";
import { readStreamBounded } from "../fs/read-bounded.ts";
import { createLogger, type LogFormat, type Logger } from "../log.ts";
import { denHome } from "../store/dirs.ts";
import { writeStdout } from "./write-stdout.ts";

export interface CliContext {
  logger: Logger;
  denHome: string;
  /** True when den may ask questions or open an editor. */
  tty: boolean;
  debug: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: (text: string) => void;
  /** All of stdin, which den reads only as a template: more than 4 MiB is refused while reading. */
  readStdin: () => Promise<string>;
}

interface GlobalOptions {
  debug?: boolean;
  logFormat?: string;
  yes?: boolean;
  tty?: boolean;
}

/** Reads the global flags once for a command's action. */
export function contextFrom(command: CommandUnknownOpts): CliContext {
  const globals = command.optsWithGlobals() as GlobalOptions;
  const format = globals.logFormat ?? "text";
  if (format !== "text" && format !== "json") {
    throw new DenError("USAGE", `Cannot use --log-format "${excerpt(format)}": unknown format`, { hint: "use text or json" });
  }
  if (globals.yes && globals.tty) {
    throw new DenError("USAGE", "Cannot use --yes together with --tty", { hint: "--yes means no terminal interaction; pick one" });
  }
  const debug = Boolean(globals.debug);
  return {
    logger: createLogger({ format: format as LogFormat, debug }),
    denHome: denHome(process.env),
    // A getter: only commands that may ask read it, and reading process.stdout builds Node's streams (write-stdout.ts).
    get tty() {
      return globals.yes ? false : (globals.tty ?? Boolean(process.stdout.isTTY));
    },
    debug,
    env: process.env,
    cwd: process.cwd(),
    stdout: writeStdout,
    // Never Bun.stdin.text(): `yes | den create -` would grow until Bun aborts.
    readStdin: () =>
      readStreamBounded(Bun.stdin.stream(), {
        maxBytes: maxTemplateBytes,
        what: 'template "-" (stdin)',
        tooLargeCode: "TEMPLATE_TOO_LARGE",
        tooLargeHint: tooLargeTemplateHint,
      }),
  };
}
