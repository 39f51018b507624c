// What `den start [NAME|TEMPLATE]`, `den restart [NAME]` and the hidden `den hostagent NAME` they launch do
// (declared in start-command.ts).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { ExitError } from "../errors.ts";
import { runHostAgent } from "../hostagent/host-agent.ts";
import { createFromTemplate } from "../instance/create-from-template.ts";
import { editInstance } from "../instance/edit.ts";
import { startInstance } from "../instance/start.ts";
import { stopInstance } from "../instance/stop.ts";
import { DefaultInstanceName, existingInstanceDir, instanceDirOf, validateInstanceName } from "../store/instance-name.ts";
import { type CliContext, contextFrom } from "./context.ts";
import { reportCreated } from "./create.ts";
import { DefaultTemplateLocator } from "./create-command.ts";
import { parseDuration } from "./duration.ts";
import { editFlagsFrom } from "./edit-flags-from.ts";
import type { HostAgentOptions, RestartOptions, StartOptions } from "./start-command.ts";
import { templateContextFrom } from "./template-context.ts";
import { startOptionsFrom } from "./start-options.ts";

/** What `den start` does. */
export async function runStart(target: string | undefined, options: StartOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = warningOnce(contextFrom(self));
  const timeoutMs = parseDuration(options.timeout);
  const name = await resolveInstance(ctx, target, options.name, editFlagsFrom(options));
  await startInstance(ctx.denHome, name, startOptionsFrom(ctx, { timeoutMs, foreground: Boolean(options.foreground) }));
}

/** What `den restart` does. */
export async function runRestart(name: string, options: RestartOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  await stopInstance(ctx.denHome, name, { logger: ctx.logger, force: Boolean(options.force) });
  await startInstance(ctx.denHome, name, startOptionsFrom(ctx, { timeoutMs: parseDuration(options.timeout) }));
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

/** What the hidden `den hostagent` does; its stdout is ha.stdout.log and its stderr ha.stderr.log. */
export async function runHostAgentCommand(name: string, options: HostAgentOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  // The host agent writes ha.pid and sockets into the folder: only a real instance folder inside DEN_HOME.
  await existingInstanceDir(ctx.denHome, name, { action: "run the host agent of" });
  // Everything the host agent and its children (QEMU, virtiofsd) create — sockets, pid files, serial.log — is the
  // user's alone, whatever umask den was started with.
  process.umask(0o077);
  const exitCode = await runHostAgent({ denHome: ctx.denHome, name, env: ctx.env, logger: ctx.logger, startDeadline: options.startDeadline });
  if (exitCode !== 0) throw new ExitError(exitCode);
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
