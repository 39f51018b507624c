// The declaration of `den copy|cp [-r] [-v] [--backend scp|rsync|auto] SOURCE… TARGET`; what it does is in copy.ts,
// loaded when it runs.
import { Command, Option } from "@commander-js/extra-typings";

export const CopyBackends = ["auto", "scp", "rsync"] as const;
export type RequestedCopyBackend = (typeof CopyBackends)[number];

function declareCopy() {
  return new Command("copy")
    .alias("cp")
    .summary("copy files between the host and instances")
    .description(
      'Copy with scp or rsync. Write guest paths as INSTANCE:PATH, e.g. "den copy ./notes.txt default:/tmp/".\n' +
        "--backend auto (the default) uses rsync when the host and the guest both have it and only one side is a guest, else scp.",
    )
    .argument("<paths...>", "SOURCE... TARGET")
    .option("-r, --recursive", "copy folders recursively")
    .option("-v, --verbose", "show the copy program's progress and debug output")
    .addOption(new Option("--backend <backend>", "scp, rsync or auto").choices(CopyBackends).default("auto" as RequestedCopyBackend));
}

export type CopyOptions = ReturnType<ReturnType<typeof declareCopy>["opts"]>;

export function createCopyCommand() {
  return declareCopy().action(async (args, options, self) => (await import("./copy.ts")).runCopy(args, options, self));
}
