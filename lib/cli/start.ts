// `den start [NAME|TEMPLATE]`, `den restart [NAME]` and the hidden `den hostagent NAME` they launch.
import { Command, Option } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { DenError, ExitError, excerpt } from "../errors.ts";
import { runHostAgent } from "../hostagent/host-agent.ts";
import { createFromTemplate } from "../instance/create-from-template.ts";
import { editInstance } from "../instance/edit.ts";
import { startInstance } from "../instance/start.ts";
import { stopInstance } from "../instance/stop.ts";
import { DefaultInstanceName, existingInstanceDir, instanceDirOf, validateInstanceName } from "../store/instance-name.ts";
import { type CliContext, contextFrom } from "./context.ts";
import { DefaultTemplateLocator, reportCreated } from "./create.ts";
import { parseDuration } from "./duration.ts";
import { addEditOptions, editFlagsFrom } from "./edit-options.ts";
import { templateContextFrom } from "./template-context.ts";

export function createStartCommand() {
  const command = new Command("start")
    .summary("start an instance (creating it first when given a template)")
    .description(
      "Start instance NAME (default: default). Given a template locator instead (template:NAME, a path or URL), create\n" +
        "the instance from it first. Progress is shown per boot stage; a failure names the stage and shows the console.",
    )
    .argument("[instance]", "instance name or template locator")
    .option("--name <name>", "instance name when creating from a template")
    .addOption(new Option("--timeout <duration>", "give up (and stop the instance) after this long").default("10m"))
    .option("--foreground", "keep the host agent in the foreground until the instance stops");
  addEditOptions(command);
  command.action(async (target, options, self) => {
    const ctx = warningOnce(contextFrom(self));
    const timeoutMs = parseDuration(options.timeout);
    const name = await resolveInstance(ctx, target, options.name, editFlagsFrom(options));
    await startInstance(ctx.denHome, name, { timeoutMs, foreground: Boolean(options.foreground), logger: ctx.logger, env: ctx.env, progress: (line) => ctx.logger.info(line), warn: (line) => ctx.logger.warn(line), interactive: ctx.tty, stdout: ctx.stdout, cwd: ctx.cwd });
  });
  return command;
}

export function createRestartCommand() {
  return new Command("restart")
    .summary("stop and start an instance")
    .argument("[instance]", "instance name", DefaultInstanceName)
    .option("-f, --force", "force-stop (kill) instead of a clean shutdown")
    .addOption(new Option("--timeout <duration>", "give up starting after this long").default("10m"))
    .action(async (name, options, self) => {
      const ctx = contextFrom(self);
      await stopInstance(ctx.denHome, name, { logger: ctx.logger, force: Boolean(options.force) });
      await startInstance(ctx.denHome, name, { timeoutMs: parseDuration(options.timeout), foreground: false, logger: ctx.logger, env: ctx.env, progress: (line) => ctx.logger.info(line), warn: (line) => ctx.logger.warn(line), interactive: ctx.tty, stdout: ctx.stdout, cwd: ctx.cwd });
    });
}

/**
 * The context with a logger that prints each warning once: `den start TEMPLATE` creates the instance, then starts
 * it, and both say why vmType fell back to qemu.
 */
function warningOnce(ctx: CliContext): CliContext {
  const warned = new Set<string>();
  const warn = (message: string, fields?: Record<string, unknown>) => {
    if (!warned.has(message)) ctx.logger.warn(message, fields);
    warned.add(message);
  };
  return { ...ctx, logger: { ...ctx.logger, warn } };
}

/** The hidden daemon command; its stdout is ha.stdout.log and its stderr ha.stderr.log. */
export function createHostAgentCommand() {
  return new Command("hostagent")
    .summary("run the host agent of an instance (started by den start)")
    .argument("<instance>", "instance name")
    .addOption(new Option("--start-deadline <epoch-ms>", "when den start gives up (ms since the epoch); the readiness checks end before it").argParser(parseEpochMs))
    .action(async (name, options, self) => {
      const ctx = contextFrom(self);
      // The host agent writes ha.pid and sockets into the folder: only a real instance folder inside DEN_HOME.
      await existingInstanceDir(ctx.denHome, name, { action: "run the host agent of" });
      // Everything the host agent and its children (QEMU, virtiofsd) create — sockets, pid files, serial.log — is the
      // user's alone, whatever umask den was started with.
      process.umask(0o077);
      const exitCode = await runHostAgent({ denHome: ctx.denHome, name, env: ctx.env, logger: ctx.logger, startDeadline: options.startDeadline });
      if (exitCode !== 0) throw new ExitError(exitCode);
    });
}

/**
 * What `den start X` means: an existing instance X (edit flags apply to it), a new instance from template X, or, with
 * nothing given, the instance "default" (created from the default template the first time, as Lima does).
 */
async function resolveInstance(ctx: CliContext, target: string | undefined, nameOption: string | undefined, flags: ReturnType<typeof editFlagsFrom>): Promise<string> {
  const name = target ?? nameOption ?? DefaultInstanceName;
  const looksLikeName = target === undefined || /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/.test(target);
  if (looksLikeName && existsSync(instanceDirOf(ctx.denHome, name))) {
    for (const warning of await editInstance(ctx.denHome, name, flags, { cwd: ctx.cwd })) ctx.logger.warn(warning);
    return name;
  }
  if (looksLikeName && name !== DefaultInstanceName) {
    validateInstanceName(name, { denHome: ctx.denHome });
    const created = await createFromTemplate(DefaultTemplateLocator, templateContextFrom(ctx), { name, flags });
    reportCreated(created, ctx.logger);
    return created.name;
  }
  const locator = target === undefined || target === DefaultInstanceName ? DefaultTemplateLocator : target;
  const created = await createFromTemplate(locator, templateContextFrom(ctx), { name: nameOption ?? (target === undefined ? DefaultInstanceName : undefined), flags });
  reportCreated(created, ctx.logger);
  return created.name;
}

function parseEpochMs(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new DenError("USAGE", `Cannot use --start-deadline "${excerpt(text)}": not a time in milliseconds since the epoch`, { hint: "den start passes it; run den start instead" });
  }
  return value;
}
