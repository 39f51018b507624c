// The declaration of `den copy|cp [-r] [-v] SOURCE… TARGET`; what it does is in copy.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

function declareCopy() {
  return new Command("copy")
    .alias("cp")
    .summary("copy files between the host and instances")
    .description('Copy with scp. Write guest paths as INSTANCE:PATH, e.g. "den copy ./notes.txt default:/tmp/".')
    .argument("<paths...>", "SOURCE... TARGET")
    .option("-r, --recursive", "copy folders recursively")
    .option("-v, --verbose", "show scp's progress and debug output");
}

export type CopyOptions = ReturnType<ReturnType<typeof declareCopy>["opts"]>;

export function createCopyCommand() {
  return declareCopy().action(async (args, options, self) => (await import("./copy.ts")).runCopy(args, options, self));
}
