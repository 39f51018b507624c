// Where the start-at-login file of an instance goes and which commands register it, per host OS, as Lima's
// pkg/autostart does: a systemd user unit under $XDG_CONFIG_HOME/systemd/user on Linux, a launchd agent under
// ~/Library/LaunchAgents on macOS. Pure: the environment and the user id come in as values.
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { launchdLabel, renderLaunchdPlist } from "./launchd-plist.ts";
import { type AutostartUnitParams, renderSystemdUnit, systemdUnitName } from "./systemd-unit.ts";

export interface AutostartHost {
  /** `process.platform`. */
  platform: string;
  /** HOME and XDG_CONFIG_HOME are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** The user id, for launchd's `gui/UID` domain. */
  uid: number;
}

export interface AutostartPlan {
  /** The file to write (enable) or remove (disable). */
  path: string;
  content: string;
  /** The service manager: the program the commands run, which may be missing on this host. */
  manager: "systemctl" | "launchctl";
  /** Run in order after the file is written. */
  enable: string[][];
  /** Run in order before the file is removed. */
  disable: string[][];
  /** Run in order after the file is removed. */
  afterRemove: string[][];
}

/** The plan for one instance on `host`; `instanceDir` is where launchd's logs go. */
export function autostartPlan(host: AutostartHost, params: AutostartUnitParams & { instanceDir: string }): AutostartPlan {
  const home = host.env.HOME ?? "";
  if (host.platform === "darwin") {
    const label = launchdLabel(params.instance);
    const service = `gui/${host.uid}/${label}`;
    return {
      path: join(home, "Library", "LaunchAgents", `${label}.plist`),
      content: renderLaunchdPlist(params),
      manager: "launchctl",
      // As Lima: `enable` clears a disabled override; launchd loads the agent at the next login.
      enable: [["launchctl", "enable", service]],
      disable: [["launchctl", "disable", service]],
      afterRemove: [],
    };
  }
  if (host.platform === "linux") {
    const unit = systemdUnitName(params.instance);
    const configHome = host.env.XDG_CONFIG_HOME || join(home, ".config");
    return {
      path: join(configHome, "systemd", "user", unit),
      content: renderSystemdUnit(params),
      manager: "systemctl",
      // daemon-reload first, so that systemd reads a unit file that changed since it last looked.
      enable: [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", unit],
      ],
      disable: [["systemctl", "--user", "disable", unit]],
      afterRemove: [["systemctl", "--user", "daemon-reload"]],
    };
  }
  throw new DenError("USAGE", `Cannot register an instance to start at login on ${host.platform}`, { hint: "start-at-login works on Linux (systemd) and macOS (launchd)" });
}
