// The whole CLI behind main.ts: plugins, the commander program and the rendering of errors.
import { CommanderError } from "@commander-js/extra-typings";
import { ExitError, renderError } from "../errors.ts";
import { commandWord } from "./command-word.ts";
import { buildProgram, CommandNames, normalizeTtyFlags } from "./program.ts";
import { denHome } from "../store/dirs.ts";
import { discoverPlugins, findPlugin } from "../plugins/find-plugin.ts";
import { processPluginDirs } from "../plugins/plugin-dirs.ts";
import { pluginEnv } from "../plugins/plugin-env.ts";
import { renderPluginHelp } from "../plugins/plugin-help.ts";
import { pluginInvocation, type PluginInvocation } from "./plugin-invocation.ts";

/** The plugin's exit status, or undefined when no den-NAME exists (commander then reports the unknown command). */
async function runPluginIfFound(plugin: PluginInvocation): Promise<number | undefined> {
  const dirs = processPluginDirs();
  const path = await findPlugin(plugin.name, dirs);
  if (path === undefined) return undefined;
  const { runCommandPlugin } = await import("../plugins/run-command-plugin.ts");
  return runCommandPlugin(path, { args: plugin.args, env: pluginEnv(process.env, { denHome: denHome(), dirs }) });
}

/** The "Available plugins" section of `den --help` and `den help`; the folders are read only when help is shown. */
function pluginHelpText(): string {
  return renderPluginHelp(discoverPlugins(processPluginDirs()));
}

/** Parses `argv` and runs the command; resolves with the exit code. The only place that prints a command's error. */
export async function runCli(argv: string[]): Promise<number> {
  // What den prints goes through writeStdout(), which ends den quietly when the reader went away (`den --help | head`);
  // process.stdout is left alone, as touching it costs every start the building of Node's streams.
  const found = commandWord(argv);
  const program = buildProgram({ globalOptionsOnDemand: true, command: found?.word });
  program.exitOverride();
  try {
    // `den NAME …` for a NAME that is no den command runs the plugin den-NAME when there is one (Lima 2.x).
    const plugin = pluginInvocation(found, { commands: CommandNames });
    if (plugin !== undefined) {
      const exitCode = await runPluginIfFound(plugin);
      if (exitCode !== undefined) return exitCode;
    }
    program.addHelpText("after", pluginHelpText);
    await program.parseAsync(normalizeTtyFlags(argv));
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
