// The systemd user unit that starts an instance at login, as Lima's lima-vm@INSTANCE.service does, with den's
// names: `den-NAME.service`, `den start NAME --foreground` as the service and `den stop NAME` to end it. Pure.
import { DenError, excerpt } from "../errors.ts";

export interface AutostartUnitParams {
  instance: string;
  /** The argv prefix that runs den (`[den]`, or `[bun, /path/main.ts]` from source); absolute paths. */
  command: readonly string[];
  /** DEN_HOME, carried in the unit: systemd does not pass the login shell's environment to it. */
  denHome: string;
}

/** `den-NAME.service` */
export function systemdUnitName(instance: string): string {
  return `den-${instance}.service`;
}

/** The unit file's text. */
export function renderSystemdUnit(params: AutostartUnitParams): string {
  const den = params.command.map(execWord);
  return [
    `# Written by "den start-at-login ${params.instance}"; "den start-at-login ${params.instance} --enabled=false" removes it.`,
    "[Unit]",
    `Description=den instance ${params.instance} (Linux virtual machine)`,
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[...den, "start", execWord(params.instance), "--foreground"].join(" ")}`,
    `ExecStop=${[...den, "stop", execWord(params.instance)].join(" ")}`,
    `Environment=${quoted(specifiersEscaped(`DEN_HOME=${params.denHome}`))}`,
    "WorkingDirectory=%h",
    // den stop shuts the guest down cleanly, which takes longer than systemd's default of 90 s on a slow guest.
    "TimeoutStopSec=5min",
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/**
 * One word of an ExecStart= line: `%` and `$` doubled (systemd expands specifiers and variables even inside
 * quotes), and quoted with `\` escapes unless it is a plain word. A line break cannot be written at all.
 */
function execWord(word: string): string {
  const escaped = specifiersEscaped(word).replaceAll("$", "$$$$");
  return /^[A-Za-z0-9_\-./:@+,=%$]+$/.test(escaped) && escaped !== ";" ? escaped : quoted(escaped);
}

function specifiersEscaped(text: string): string {
  if (/[\n\r\0]/.test(text)) {
    throw new DenError("USAGE", `Cannot write "${excerpt(text)}" into a systemd unit: it contains a line break`, {
      hint: "move DEN_HOME (or den itself) to a path without line breaks",
    });
  }
  return text.replaceAll("%", "%%");
}

function quoted(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
