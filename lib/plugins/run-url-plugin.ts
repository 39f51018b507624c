// Running a URL scheme plugin: `den-url-S REST` (or Lima's `limactl-url-S REST`, so Lima's own templates that use
// such schemes work) prints the locator that `S:REST` stands for. Its stdin is empty, its stderr is kept for the
// error, and it has a time limit: resolving a template must not hang `den create`.
import { DenError, excerpt, excerptPath } from "../errors.ts";
import { run } from "../process/run.ts";
import { findExecutable, PluginPrefix, UrlPluginPrefix } from "./find-plugin.ts";
import { isPluginName } from "./plugin-name.ts";

/** How long one URL plugin may run. */
export const DefaultUrlPluginTimeoutMs = 30_000;

/** A locator is one short line; more output is no locator. */
const MaxUrlPluginOutputBytes = 64 * 1024;

export interface RunUrlPluginOptions {
  dirs: readonly string[];
  env: Record<string, string>;
  timeoutMs?: number | undefined;
}

/** The file names that handle `scheme`, den's first. */
export function urlPluginFileNames(scheme: string): string[] {
  const name = `${UrlPluginPrefix}${scheme.toLowerCase()}`;
  return isPluginName(name) ? [`${PluginPrefix}${name}`, `limactl-${name}`] : [];
}

/** The plugin's answer for `scheme:rest`, trimmed; undefined when no plugin handles `scheme`. */
export async function runUrlPlugin(scheme: string, rest: string, options: RunUrlPluginOptions): Promise<string | undefined> {
  const path = await findExecutable(urlPluginFileNames(scheme), options.dirs);
  if (path === undefined) return undefined;
  const timeoutMs = options.timeoutMs ?? DefaultUrlPluginTimeoutMs;
  const shown = `${scheme}:${rest}`;
  let result;
  try {
    result = await run([path, rest], { env: options.env, timeoutMs, maxStdoutBytes: MaxUrlPluginOutputBytes, stderrTailBytes: 2048 });
  } catch (error) {
    const reason = error instanceof DenError && error.code === "COMMAND_TIMEOUT" ? `it did not finish within ${timeoutMs / 1000} s` : error instanceof Error ? error.message : String(error);
    throw new DenError("PLUGIN_FAILED", `Cannot resolve locator "${excerpt(shown, 120)}" with plugin "${excerptPath(path)}": ${reason}`, {
      hint: `run "${excerptPath(path)} ${excerpt(rest, 60)}" yourself to see what it does`,
      cause: error,
    });
  }
  if (result.code !== 0) {
    const stderr = result.stderrTail.trim();
    const status = result.code === null ? `was ended by ${result.signal}` : `exited with status ${result.code}`;
    throw new DenError("PLUGIN_FAILED", `Cannot resolve locator "${excerpt(shown, 120)}": plugin "${excerptPath(path)}" ${status}${stderr ? `: ${excerpt(stderr, 400)}` : ""}`, {
      hint: "the plugin's message above says why; check its argument",
    });
  }
  const answer = result.stdout.trim();
  if (answer === "" || answer.includes("\n")) {
    throw new DenError("PLUGIN_FAILED", `Cannot resolve locator "${excerpt(shown, 120)}": plugin "${excerptPath(path)}" printed ${answer === "" ? "nothing" : "more than one line"}`, {
      hint: "a URL scheme plugin prints one URL or file path on stdout",
    });
  }
  return answer;
}
