// The declaration of `den watch [INSTANCE...] [--json] [--history]` (Lima's `limactl watch`); what it does is in
// watch.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

function declareWatch() {
  return new Command("watch")
    .summary("watch the events of instances (boot stages, status, ports, mounts)")
    .description(
      "Print the events of the instances' host agents as they happen: boot stages, the SSH port, services such as " +
        "mounts and port forwards, errors, running and exiting. Without names, every instance is watched, including " +
        "ones created later. Runs until interrupted (Ctrl-C).",
    )
    .argument("[instances...]", "instance names (default: all)")
    .option("--json", "print one JSON object {instance, event} per line")
    .option("--history", "include the events already logged before den watch started");
}

export type WatchOptions = ReturnType<ReturnType<typeof declareWatch>["opts"]>;

export function createWatchCommand() {
  return declareWatch().action(async (names, options, self) => (await import("./watch.ts")).runWatch(names, options, self));
}
