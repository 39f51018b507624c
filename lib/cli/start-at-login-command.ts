// The declaration of `den start-at-login [INSTANCE] [--enabled[=false]]`; what it does is in start-at-login.ts,
// loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { DenError, excerpt } from "../errors.ts";
import { DefaultInstanceName } from "../store/instance-name.ts";

/**
 * `--enabled`'s value as Lima's boolean flag takes it: none (true), or `=true|false|1|0`. A value that is no
 * boolean is refused rather than taken for the instance name commander would otherwise swallow.
 */
export function parseEnabled(value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new DenError("USAGE", `Cannot use --enabled "${excerpt(value)}": not true or false`, {
    hint: "write --enabled=false to unregister; put the instance name before the flag (den start-at-login NAME --enabled=false)",
  });
}

function declareStartAtLogin() {
  return new Command("start-at-login")
    .summary("register (or with --enabled=false unregister) an instance to start when you log in")
    .description(
      "Linux: a systemd user unit den-NAME.service in $XDG_CONFIG_HOME/systemd/user, enabled with systemctl --user.\n" +
        "macOS: a launchd agent ~/Library/LaunchAgents/io.den.autostart.NAME.plist, enabled with launchctl.",
    )
    .argument("[instance]", "instance name", DefaultInstanceName)
    .option("--enabled [bool]", "start the instance at login (true) or stop doing so (false)", parseEnabled);
}

export type StartAtLoginOptions = ReturnType<ReturnType<typeof declareStartAtLogin>["opts"]>;

export function createStartAtLoginCommand() {
  return declareStartAtLogin().action(async (name, options, self) => (await import("./start-at-login.ts")).runStartAtLogin(name, options, self));
}
