// The user's text editor for `den edit`, found as Lima finds it ($VISUAL, $EDITOR, then editor, vim, vi, emacs on
// PATH) and run on a temporary copy of the text with the terminal handed over, so nothing of den.yaml changes while it
// is open. The copy lives in a private temporary folder and is named after the instance, so the editor shows YAML.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DenError, excerpt } from "../errors.ts";
import type { EditorResult, TextEditor } from "./edit.ts";

export interface EditorContext {
  env: Record<string, string | undefined>;
  /** Finds a program on PATH (Bun.which); only the first word of $VISUAL / $EDITOR is looked up. */
  which: (program: string, options?: { PATH?: string }) => string | null;
}

const FallbackEditors = ["editor", "vim", "vi", "emacs"] as const;

/** The editor command to run (it may carry arguments, e.g. "code --wait"), or undefined when none is found. */
export function detectEditor(ctx: EditorContext): string | undefined {
  const candidates = [ctx.env.VISUAL, ctx.env.EDITOR, ...FallbackEditors];
  for (const candidate of candidates) {
    const command = candidate?.trim();
    if (!command) continue;
    const program = command.split(/\s+/, 1)[0] as string;
    if (ctx.which(program, ctx.env.PATH === undefined ? {} : { PATH: ctx.env.PATH })) return command;
  }
  return undefined;
}

/** A TextEditor that runs the detected editor in this terminal. */
export function terminalEditor(ctx: EditorContext): TextEditor {
  return async (text, about) => {
    const command = detectEditor(ctx);
    if (command === undefined) {
      throw new DenError("EDITOR_FAILED", "Cannot find a text editor", {
        hint: "set VISUAL or EDITOR, e.g. export EDITOR=nano; or edit with flags such as --cpus 4 or --set '.cpus = 4'",
      });
    }
    const folder = await mkdtemp(join(tmpdir(), "den-edit-"));
    const file = join(folder, `${about.name}.yaml`);
    try {
      await writeFile(file, text, { mode: 0o600 });
      const error = await runEditor(command, file, ctx.env);
      return { text: await readFile(file, "utf8"), ...(error && { error }) } satisfies EditorResult;
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  };
}

/** Runs `command FILE` through the shell, as git runs $EDITOR, so a value with arguments works; the failure, if any. */
function runEditor(command: string, file: string, env: Record<string, string | undefined>): Promise<DenError | undefined> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", `${command} "$1"`, command, file], { stdio: "inherit", env });
    child.once("error", (error) => resolve(new DenError("EDITOR_FAILED", `Cannot run the editor "${excerpt(command)}": ${error.message}`, { cause: error, hint: "check VISUAL and EDITOR" })));
    child.once("exit", (code, signal) => {
      if (code === 0) return resolve(undefined);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve(new DenError("EDITOR_FAILED", `Cannot edit: the editor "${excerpt(command)}" ${how}`, { hint: "nothing was changed; check VISUAL and EDITOR" }));
    });
  });
}
