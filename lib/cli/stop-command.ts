// The declaration of `den stop [NAME…] [-f]`; what it does is in stop.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";

function declareStop() {
  return new Command("stop")
    .summary("stop instances (default: default)")
    .description("Shut the guest down cleanly and stop its host agent. With -f, kill both at once: use it on a Broken instance.")
    .argument("[instances...]", "instance names", [DefaultInstanceName])
    .option("-f, --force", "kill the VM and the host agent, and remove their pid and socket files");
}

export type StopOptions = ReturnType<ReturnType<typeof declareStop>["opts"]>;

export function createStopCommand() {
  return declareStop().action(async (names, options, self) => (await import("./stop.ts")).runStop(names, options, self));
}
