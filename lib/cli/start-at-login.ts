// What `den start-at-login` does: the instance's systemd unit or launchd agent written and enabled, or disabled and
// removed (lib/autostart/).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { autostartPlan } from "../autostart/autostart-plan.ts";
import { type AutostartContext, registerAutostart, unregisterAutostart } from "../autostart/register-autostart.ts";
import { toDenError } from "../errors.ts";
import { selfCommand } from "../instance/self-command.ts";
import { run } from "../process/run.ts";
import { checkInstanceName, existingInstanceDir, instanceDirOf } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { StartAtLoginOptions } from "./start-at-login-command.ts";

/** The real host: files under the user's home and systemctl / launchctl, each bounded in time. */
const hostAutostart: AutostartContext = {
  writeFile: (path, content) => writeFile(path, content, { mode: 0o644 }),
  removeFile: async (path) => {
    try {
      await rm(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  },
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  exists: (path) => access(path).then(() => true, () => false),
  which: (program) => Bun.which(program),
  run: (argv) => run(argv, { timeoutMs: 30_000 }),
};

/** What `den start-at-login` does (declared in start-at-login-command.ts). */
export async function runStartAtLogin(name: string, options: StartAtLoginOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const enabled = options.enabled ?? true;
  // Unregistering needs no instance: the files of one deleted by hand can still be removed.
  checkInstanceName(name);
  const instanceDir = enabled ? await existingInstanceDir(ctx.denHome, name, { hint: "see den list for the instances" }) : instanceDirOf(ctx.denHome, name);
  const env = { ...ctx.env, HOME: ctx.env.HOME || homedir() };
  const plan = autostartPlan({ platform: process.platform, env, uid: process.getuid?.() ?? 0 }, { instance: name, command: selfCommand(), denHome: ctx.denHome, instanceDir });
  try {
    if (enabled) {
      const outcome = await registerAutostart(plan, hostAutostart);
      ctx.logger.info(`The autostart file "${plan.path}" has been created or updated`);
      if (outcome.managerMissing) ctx.logger.warn(`${plan.manager} was not found, so nothing was enabled; the file takes effect where ${plan.manager} reads it`);
    } else {
      const outcome = await unregisterAutostart(plan, hostAutostart);
      if (outcome.changed) ctx.logger.info(`The autostart file "${plan.path}" has been deleted`);
      else ctx.logger.info(`Instance "${name}" was not registered to start at login`);
    }
  } catch (error) {
    throw toDenError(error);
  }
}
