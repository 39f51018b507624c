// Running a command plugin: `den NAME ARGS…` becomes `den-NAME ARGS…` with den's stdin, stdout and stderr, and den
// exits with the plugin's status, as Lima does. Ctrl-C reaches the plugin through the terminal's process group; den
// itself only waits for it, so the plugin decides what an interrupt means and den reports its status.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { DenError, excerptPath } from "../errors.ts";

export interface RunCommandPluginOptions {
  args: readonly string[];
  env: Record<string, string>;
}

/** The terminal sends these to the whole process group: the plugin has them already, den only must not die of them. */
const TerminalSignals = ["SIGINT", "SIGQUIT"] as const;
/** Sent to den alone (kill PID), these are passed on, so the plugin does not outlive den's wait for it. */
const ForwardedSignals = ["SIGTERM", "SIGHUP"] as const;

/** The plugin's exit status; 128 + the signal number when a signal ended it, as a shell reports it. */
export async function runCommandPlugin(path: string, options: RunCommandPluginOptions): Promise<number> {
  const child = spawn(path, [...options.args], { stdio: "inherit", env: options.env });
  const handlers = [
    ...TerminalSignals.map((signal) => [signal, () => undefined] as const),
    ...ForwardedSignals.map((signal) => [signal, () => void child.kill(signal)] as const),
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new DenError("PLUGIN_FAILED", `Cannot run plugin "${excerptPath(path)}": ${error.message}`, {
            hint: "check that the plugin is an executable program or a script with a #! line",
            cause: error,
          }),
        );
      });
      child.once("exit", (code, signal) => {
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      });
    });
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
