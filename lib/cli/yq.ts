// What `den yq` does: read each input (bounded), evaluate, print as yq does, or with -i write each file back in
// place through a temporary file and a rename, so a failure never leaves a half-written file.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { rename, rm, stat, writeFile } from "node:fs/promises";
import { DenError, excerpt, excerptPath, toDenError } from "../errors.ts";
import { readRegularFileBounded, readStreamBounded } from "../fs/read-bounded.ts";
import { evaluateYqText, type YqOutputFormat } from "./evaluate-yq-text.ts";
import { contextFrom } from "./context.ts";
import type { YqOptions } from "./yq-command.ts";

/** Largest input den yq reads; YAML beyond this is not a configuration file. */
const MaxInputBytes = 16 * 1024 * 1024;

/** The parsed command line: yq's `eval`/`e` subcommand word dropped, -o and -I read. */
export interface YqPlan {
  expr: string;
  /** `"-"` is stdin; empty with nullInput. */
  inputs: string[];
  inPlace: boolean;
  nullInput: boolean;
  format: YqOutputFormat;
  indent: number;
}

/** Reads the words and flags of `den yq` into a plan, refusing combinations yq refuses. */
export function planYq(expr: string, files: readonly string[], options: YqOptions): YqPlan {
  let words = [expr, ...files];
  // yq's default subcommand, as `limactl yq eval …` passes it; no expression is spelt "eval" or "e".
  if ((words[0] === "eval" || words[0] === "e") && words.length > 1) words = words.slice(1);
  const [first, ...rest] = words as [string, ...string[]];
  const indent = Number(options.indent);
  if (!/^\d+$/.test(options.indent) || indent > 16) {
    throw new DenError("USAGE", `Cannot use --indent "${excerpt(options.indent)}": not a number from 0 to 16`, { hint: "yq indents by 2 spaces; -I 0 prints JSON on one line" });
  }
  const nullInput = Boolean(options.nullInput);
  const inPlace = Boolean(options.inplace);
  if (inPlace && (nullInput || rest.length === 0 || rest.includes("-"))) {
    throw new DenError("USAGE", "Cannot use --inplace without files to update", { hint: "name the files: den yq -i '.a = 1' file.yaml (stdin cannot be updated in place)" });
  }
  if (nullInput && rest.length > 0) {
    throw new DenError("USAGE", "Cannot combine --null-input with input files", { hint: "drop -n to read the files, or the files to evaluate on null" });
  }
  const format: YqOutputFormat = options.outputFormat === "json" || options.outputFormat === "j" ? "json" : "yaml";
  return { expr: first, inputs: nullInput ? [] : rest.length > 0 ? rest : ["-"], inPlace, nullInput, format, indent };
}

/** What `den yq` does (declared in yq-command.ts). */
export async function runYq(expr: string, files: string[], options: YqOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const plan = planYq(expr, files, options);
  const textOptions = { format: plan.format, indent: plan.indent };
  if (plan.nullInput) {
    ctx.stdout(evaluateYqText(null, plan.expr, textOptions));
    return;
  }
  if (plan.inPlace) {
    // Every file is evaluated before any is written: an expression that fails on the third leaves all three as they were.
    const updated: { path: string; text: string }[] = [];
    for (const path of plan.inputs) updated.push({ path, text: evaluateYqText(await readInput(path), plan.expr, { ...textOptions, file: path }) });
    for (const { path, text } of updated) await replaceFile(path, text);
    return;
  }
  const outputs: string[] = [];
  for (const path of plan.inputs) outputs.push(evaluateYqText(await readInput(path), plan.expr, { ...textOptions, file: path === "-" ? "stdin" : path }));
  // As yq prints several documents: YAML results of different inputs apart by `---`.
  ctx.stdout(outputs.filter((text) => text !== "").join(plan.format === "yaml" ? "---\n" : ""));
}

async function readInput(path: string): Promise<string> {
  const options = { maxBytes: MaxInputBytes, what: path === "-" ? "stdin" : `file "${excerptPath(path)}"` };
  try {
    return path === "-" ? await readStreamBounded(Bun.stdin.stream(), options) : await readRegularFileBounded(path, options);
  } catch (error) {
    throw toDenError(error);
  }
}

/** Writes `text` over `path` keeping its mode: a temporary file beside it, renamed over it. */
async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const { mode } = await stat(path);
    await writeFile(temporary, text, { mode: mode & 0o7777, flag: "wx" });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw toDenError(error);
  }
}
