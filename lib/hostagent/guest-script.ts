// How the host agent runs a readiness script (a template's probe, a container-engine check) in the guest, as Lima
// runs its requirement scripts: the interpreter named on the `#!` line runs in the guest with the script on its
// standard input, after the template's `param:` values are exported (PARAM_<KEY>, from the seed's param.env).
// The host agent's SSH session has no stdin channel, so the script travels base64-encoded inside the command and is
// decoded into the interpreter's stdin in the guest; base64 keeps every byte of it out of the shell's reach.
import { GuestCidataMount } from "../../cidata/user-data.ts";
import { DenError } from "../errors.ts";
import { shellQuote } from "../shell/quote.ts";

/**
 * The largest script den sends: the whole command is one argument of the guest's `sh -c`, which Linux limits to
 * 128 KiB (MAX_ARG_STRLEN); base64 makes 64 KiB into about 87 KiB.
 */
export const MaxGuestScriptBytes = 64 * 1024;

/** The seed's param.env in the guest: readable by root only (the seed is mounted mode 0700), hence `sudo`. */
export const GuestParamEnv = `${GuestCidataMount}/param.env`;

/** The command line of the script's `#!` line (`/bin/bash -eux`, `/usr/bin/env python3`). */
export function scriptInterpreter(script: string): string {
  const first = script.split("\n", 1)[0] ?? "";
  const interpreter = first.startsWith("#!") ? first.slice(2).trim() : "";
  if (interpreter === "") {
    throw new DenError("CONFIG_INVALID", `Cannot run the script: its first line ${JSON.stringify(first.slice(0, 80))} names no interpreter`, {
      hint: 'begin the script with an interpreter line such as "#!/bin/bash"',
    });
  }
  return interpreter;
}

export interface GuestScriptOptions {
  /** Export the template's params (PARAM_*) first; only worth the `sudo` when the template has any. */
  exportParams: boolean;
}

/**
 * The command (for the guest user's login shell) that runs `script`: `printf %s '<base64>' | base64 -d | sh -c '…'`,
 * where the `sh -c` part exports the params (param.env is shell-quoted by den, so sourcing it is safe) and then
 * execs the interpreter, which inherits the decoded script as its stdin.
 */
export function guestScriptCommand(script: string, options: GuestScriptOptions): string {
  const interpreter = scriptInterpreter(script);
  const bytes = Buffer.byteLength(script);
  if (bytes > MaxGuestScriptBytes) {
    throw new DenError("FILE_TOO_LARGE", `Cannot run the script: it is ${bytes} bytes; the limit is ${MaxGuestScriptBytes}`, {
      hint: "move the work into a provision script and keep the probe a short check",
    });
  }
  const exportParams = options.exportParams ? `set -a; eval "$(sudo -n cat ${GuestParamEnv} 2>/dev/null)"; set +a; ` : "";
  const encoded = Buffer.from(script).toString("base64");
  return `printf %s ${shellQuote(encoded)} | base64 -d | /bin/sh -c ${shellQuote(`${exportParams}exec ${interpreter}`)}`;
}
