// The declaration of `den prune [--keep-referred]`; what it does is in prune.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

function declarePrune() {
  return new Command("prune")
    .summary("free the download cache")
    .description(
      "Remove the downloaded images (and kernels, initrds, firmware) from den's cache. With --keep-referred, keep the\n" +
        "files that instances or templates still name, and remove only unfinished downloads from those.",
    )
    .option("--keep-referred", "keep files referred to by instances or templates");
}

export type PruneOptions = ReturnType<ReturnType<typeof declarePrune>["opts"]>;

export function createPruneCommand() {
  return declarePrune().action(async (options, self) => (await import("./prune.ts")).runPrune(options, self));
}
