// `den completion bash|zsh|fish`
import { Argument, Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { completionShells, renderCompletion } from "./completion-script.ts";
import { writeStdout } from "./write-stdout.ts";

export function createCompletionCommand(root: () => CommandUnknownOpts) {
  return new Command("completion")
    .summary("print a shell completion script")
    .description("Print a completion script for bash, zsh or fish.\nExample: source <(den completion bash)")
    .addArgument(new Argument("<shell>", "the shell").choices(completionShells))
    .action((shell) => {
      writeStdout(renderCompletion(shell, root()));
    });
}
