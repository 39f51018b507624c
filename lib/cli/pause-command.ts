// The declarations of `den pause NAME` / `den resume NAME`; what they do is in pause.ts, loaded when they run.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";

export function createPauseCommand() {
  return directionCommand("pause", "pause a running instance (its memory stays allocated)");
}

export function createResumeCommand() {
  return directionCommand("resume", "resume a paused instance");
}

function directionCommand(verb: "pause" | "resume", summary: string) {
  return new Command(verb)
    .summary(summary)
    .argument("[instance]", "instance name", DefaultInstanceName)
    .action(async (name, _options, self) => (await import("./pause.ts")).runPauseOrResume(verb, name, self));
}
