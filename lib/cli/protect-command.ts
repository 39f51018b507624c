// The declarations of `den protect NAME…` / `den unprotect NAME…`; what they do is in protect.ts, loaded when they run.
import { Command } from "@commander-js/extra-typings";

export function createProtectCommand() {
  return markerCommand("protect", "protect instances from deletion");
}

export function createUnprotectCommand() {
  return markerCommand("unprotect", "allow instances to be deleted again");
}

function markerCommand(verb: "protect" | "unprotect", summary: string) {
  return new Command(verb)
    .summary(summary)
    .argument("<instances...>", "instance names")
    .action(async (names, _options, self) => (await import("./protect.ts")).runProtect(verb, names, self));
}
