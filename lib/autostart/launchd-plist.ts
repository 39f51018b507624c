// The launchd agent that starts an instance at login on macOS, as Lima's io.lima-vm.autostart.INSTANCE.plist does,
// with den's names. Pure.
import { join } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import { LaunchdStderrLog, LaunchdStdoutLog } from "../store/filenames.ts";
import type { AutostartUnitParams } from "./systemd-unit.ts";

/** `io.den.autostart.NAME` (Lima: `io.lima-vm.autostart.NAME`). */
export function launchdLabel(instance: string): string {
  return `io.den.autostart.${instance}`;
}

/** The plist's text; `instanceDir` is the working folder and holds the two logs. */
export function renderLaunchdPlist(params: AutostartUnitParams & { instanceDir: string }): string {
  const string = (text: string) => `<string>${xmlEscaped(text)}</string>`;
  const programArguments = [...params.command, "start", params.instance, "--foreground"].map((word) => `\t\t${string(word)}`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "\t<key>Label</key>",
    `\t${string(launchdLabel(params.instance))}`,
    "\t<key>ProgramArguments</key>",
    "\t<array>",
    ...programArguments,
    "\t</array>",
    // launchd does not pass the login shell's environment to an agent.
    "\t<key>EnvironmentVariables</key>",
    "\t<dict>",
    "\t\t<key>DEN_HOME</key>",
    `\t\t${string(params.denHome)}`,
    "\t</dict>",
    "\t<key>RunAtLoad</key>",
    "\t<true/>",
    "\t<key>StandardErrorPath</key>",
    `\t${string(join(params.instanceDir, LaunchdStderrLog))}`,
    "\t<key>StandardOutPath</key>",
    `\t${string(join(params.instanceDir, LaunchdStdoutLog))}`,
    "\t<key>WorkingDirectory</key>",
    `\t${string(params.instanceDir)}`,
    "\t<key>ProcessType</key>",
    "\t<string>Background</string>",
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

function xmlEscaped(text: string): string {
  // XML 1.0 has no way to write these characters, escaped or not.
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(text)) {
    throw new DenError("USAGE", `Cannot write "${excerpt(text)}" into a launchd plist: it contains a control character`, {
      hint: "move DEN_HOME (or den itself) to a path without control characters",
    });
  }
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}
