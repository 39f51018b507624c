// The declaration of `den delete|remove|rm NAME… [-f]`; what it does is in delete.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

function declareDelete() {
  return new Command("delete")
    .aliases(["remove", "rm"])
    .summary("delete instances")
    .description("Delete the instance folders, disks included. Protected instances are refused; running ones need -f.")
    .argument("<instances...>", "instance names")
    .option("-f, --force", "delete even when not stopped (kills the VM first)");
}

export type DeleteOptions = ReturnType<ReturnType<typeof declareDelete>["opts"]>;

export function createDeleteCommand() {
  return declareDelete().action(async (names, options, self) => (await import("./delete.ts")).runDelete(names, options, self));
}
